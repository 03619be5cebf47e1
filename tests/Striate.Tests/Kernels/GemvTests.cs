using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The few-rows product that reads a linear layer's weight in place (<see cref="Gemv"/>, C = A·Bᵀ + per-column bias)
/// against the double-accumulating <see cref="GemmReference"/> plus the bias, on every path this machine runs: every
/// register-tile height (1–4 rows of A and the rows past a tile), weight-row groups cut short, depths that are not
/// a multiple of any vector, strided operands, threads; C's padding must stay untouched and NaN in C must not leak
/// (C is written, never read).
/// </summary>
public class GemvTests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    private static void Check(GemmPath path, int threads, int m, int n, int k, bool bias, bool padded, ulong seed)
    {
        var gen = new Generator(seed);
        int lda = Math.Max(1, k) + (padded ? 3 : 0), ldb = Math.Max(1, k) + (padded ? 5 : 0), ldc = n + (padded ? 2 : 0);
        var a = Close.RandomArray(Math.Max(1, m * lda), gen);
        var b = Close.RandomArray(Math.Max(1, n * ldb), gen);
        var bv = bias ? Close.RandomArray(n, gen) : [];
        var expected = new float[m * ldc];
        Array.Fill(expected, float.NaN);
        var actual = (float[])expected.Clone();
        GemmReference.Sgemm(false, true, m, n, k, 1f, a, lda, b, ldb, 0f, expected, ldc);
        if (bias)
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) expected[i * ldc + j] += bv[j];
        Gemv.MultiplyTransposed(path, threads, m, n, k, a, lda, b, ldb, bv, actual, ldc);
        string what = $"{path} threads={threads} m={m} n={n} k={k} bias={bias} padded={padded}";
        for (int i = 0; i < m; i++)
        for (int j = n; j < ldc; j++)
            if (!float.IsNaN(actual[i * ldc + j])) Assert.Fail($"{what}: padding C[{i}, {j}] was written ({actual[i * ldc + j]}).");
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4, what);
    }

    [Theory, MemberData(nameof(Paths))]
    public void MatchesReferenceOnRandomShapes(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        // Rows of A around the register tiles (2 and 4) and MaxRows; rows of B around the groups of 4; depths around
        // the vector lengths 4, 8, 16 with tails.
        int[] ms = { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16 };
        int[] ns = { 1, 2, 3, 4, 5, 7, 8, 13, 31, 64, 100 };
        int[] ks = { 0, 1, 3, 4, 8, 15, 16, 17, 33, 64, 100, 257 };
        var gen = new Generator(11);
        for (int t = 0; t < 60; t++)
        {
            int m = ms[gen.NextInt(ms.Length)], n = ns[gen.NextInt(ns.Length)], k = ks[gen.NextInt(ks.Length)];
            Check(path, 1 + t % 2, m, n, k, gen.NextInt(3) != 0, gen.NextInt(2) == 0, 100 + (ulong)t);
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void LargeLayersSplitAcrossThreadsMatchReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        // A classifier-like layer at batch 1 and 16, cut into many tasks (n not a multiple of 4 per task), and 3 threads.
        Check(path, 2, 1, 1001, 1024, true, false, 1);
        Check(path, 2, 16, 250, 515, true, true, 2);
        Check(path, 3, 6, 131, 300, false, false, 3);
    }

    [Fact]
    public void SgemmSendsFewRowsTimesTransposedHere()
    {
        // Gemm.Sgemm routes x·Wᵀ with ≤ MaxRows rows, alpha 1 and beta 0 to Gemv; alpha or beta elsewhere.
        var gen = new Generator(4);
        int m = 3, n = 37, k = 70;
        var a = Close.RandomArray(m * k, gen);
        var b = Close.RandomArray(n * k, gen);
        var c = Close.RandomArray(m * n, gen);
        foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 0f), (1f, 0.25f) })
        {
            var expected = (float[])c.Clone();
            var actual = (float[])c.Clone();
            GemmReference.Sgemm(false, true, m, n, k, alpha, a, k, b, k, beta, expected, n);
            Gemm.Sgemm(false, true, m, n, k, alpha, a, k, b, k, beta, actual, n);
            Close.Assert(expected, actual, 1e-4, 1e-4, $"alpha={alpha} beta={beta}");
        }
    }

    [Fact]
    public void ShortBiasIsRefusedWithItsLength()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemv.MultiplyTransposed(GemmPath.Scalar, 1, 1, 4, 2, new float[2], 2, new float[8], 2, new float[3], new float[4], 4));
        Assert.Contains("bias has 3 elements for 4 columns", ex.Message);
    }
}
