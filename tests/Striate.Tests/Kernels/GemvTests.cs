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
        var actual = Guarded.Of(expected);
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

    private static void CheckMultiply(GemmPath path, int threads, int m, int n, int k, bool padded, ulong seed)
    {
        var gen = new Generator(seed);
        int lda = Math.Max(1, k) + (padded ? 3 : 0), ldb = n + (padded ? 5 : 0), ldc = n + (padded ? 2 : 0);
        var a = Close.RandomArray(Math.Max(1, m * lda), gen);
        var b = Close.RandomArray(Math.Max(1, k * ldb), gen);
        var expected = new float[m * ldc];
        // C is written before it is read back between row blocks: NaN left from a recycled buffer must not leak in.
        Array.Fill(expected, float.NaN);
        var actual = Guarded.Of(expected);
        GemmReference.Sgemm(false, false, m, n, k, 1f, a, lda, b, ldb, 0f, expected, ldc);
        Gemv.Multiply(path, threads, m, n, k, a, lda, b, ldb, actual, ldc);
        string what = $"Multiply {path} threads={threads} m={m} n={n} k={k} padded={padded}";
        for (int i = 0; i < m; i++)
        for (int j = n; j < ldc; j++)
            if (!float.IsNaN(actual[i * ldc + j])) Assert.Fail($"{what}: padding C[{i}, {j}] was written ({actual[i * ldc + j]}).");
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4, what);
    }

    [Theory, MemberData(nameof(Paths))]
    public void MultiplyMatchesReferenceOnRandomShapes(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        // Rows around the register tile of 6 and MaxRows; columns around the tile widths (8, 16, 64) with tails;
        // depths around the row block (32).
        int[] ms = { 1, 2, 5, 6, 7, 12, 13, 16 };
        int[] ns = { 1, 3, 8, 15, 16, 17, 33, 64, 65, 100, 200 };
        int[] ks = { 0, 1, 2, 31, 32, 33, 64, 97 };
        var gen = new Generator(12);
        for (int t = 0; t < 60; t++)
        {
            int m = ms[gen.NextInt(ms.Length)], n = ns[gen.NextInt(ns.Length)], k = ks[gen.NextInt(ks.Length)];
            CheckMultiply(path, 1 + t % 2, m, n, k, gen.NextInt(2) == 0, 200 + (ulong)t);
        }
        // A layer's input gradient at batch 16, cut into many column ranges, and 3 threads.
        CheckMultiply(path, 2, 16, 1030, 300, false, 1);
        CheckMultiply(path, 3, 11, 517, 129, true, 2);
    }

    private static void CheckTransposedTimes(GemmPath path, int threads, int m, int n, int k, bool add, bool padded, ulong seed)
    {
        var gen = new Generator(seed);
        int lda = n + (padded ? 3 : 0), ldb = k + (padded ? 5 : 0), ldc = k + (padded ? 2 : 0);
        var a = Close.RandomArray(Math.Max(1, m * lda), gen);
        var b = Close.RandomArray(Math.Max(1, m * ldb), gen);
        var start = Close.RandomArray(n * ldc, gen);
        // Overwriting must not read C: NaN there would show (padding keeps its NaN either way).
        if (!add) Array.Fill(start, float.NaN);
        for (int j = 0; j < n; j++)
        for (int p = k; p < ldc; p++) start[j * ldc + p] = float.NaN;
        var expected = (float[])start.Clone();
        var actual = Guarded.Of(start);
        GemmReference.Sgemm(true, false, n, k, m, 1f, a, lda, b, ldb, add ? 1f : 0f, expected, ldc);
        Gemv.TransposedTimes(path, threads, m, n, k, a, lda, b, ldb, add, actual, ldc);
        string what = $"TransposedTimes {path} threads={threads} m={m} n={n} k={k} add={add} padded={padded}";
        for (int j = 0; j < n; j++)
        for (int p = k; p < ldc; p++)
            if (!float.IsNaN(actual[j * ldc + p])) Assert.Fail($"{what}: padding C[{j}, {p}] was written ({actual[j * ldc + p]}).");
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(m + 1) * 8, what);
    }

    [Theory, MemberData(nameof(Paths))]
    public void TransposedTimesMatchesReferenceOnRandomShapes(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        // Rows of A and B (the batch) up to MaxRows and none; rows of C around the tile of 6; columns around 8, 16, 64.
        int[] ms = { 0, 1, 2, 3, 7, 15, 16 };
        int[] ns = { 1, 5, 6, 7, 12, 13, 40 };
        int[] ks = { 1, 3, 8, 15, 16, 17, 63, 64, 65, 130 };
        var gen = new Generator(13);
        for (int t = 0; t < 60; t++)
        {
            int m = ms[gen.NextInt(ms.Length)], n = ns[gen.NextInt(ns.Length)], k = ks[gen.NextInt(ks.Length)];
            CheckTransposedTimes(path, 1 + t % 2, m, n, k, gen.NextInt(2) == 0, gen.NextInt(2) == 0, 300 + (ulong)t);
        }
        // A weight gradient at batch 16 split over many row ranges, and 3 threads.
        CheckTransposedTimes(path, 2, 16, 301, 520, true, false, 1);
        CheckTransposedTimes(path, 3, 9, 125, 257, false, true, 2);
    }

    [Fact]
    public void MultiplyRefusesMoreRowsThanItIsFor()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemv.Multiply(GemmPath.Scalar, 1, Gemv.MaxRows + 1, 2, 2, new float[(Gemv.MaxRows + 1) * 2], 2, new float[4], 2, new float[(Gemv.MaxRows + 1) * 2], 2));
        Assert.Contains("at most 16", ex.Message);
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
            var actual = Guarded.Of(c);
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
