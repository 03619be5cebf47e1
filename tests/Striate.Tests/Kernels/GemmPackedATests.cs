using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// GEMM with its left operand packed once (<see cref="Gemm.PackA"/>, as convolutions keep their weights) against the
/// three-loop twin, on every path this machine runs: both storage orders of A, alpha folded into the packing, beta,
/// several depth blocks, and row counts around the tile height.
/// </summary>
public class GemmPackedATests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    [Theory, MemberData(nameof(Paths))]
    public unsafe void PackedAMatchesReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 40;
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        foreach (var (m, n, k) in new[] { (5, 7, 3), (14, 32, 256), (29, 45, 300), (64, 100, 513), (6, 17, 1) })
        foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f) })
        {
            if (!Gemm.UsesPackedA(path, m)) continue;
            var gen = new Generator(seed++);
            int lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 3;
            var a = Close.RandomArray((transA ? k : m) * lda, gen);
            var b = Close.RandomArray((transB ? n : k) * ldb, gen);
            var c0 = Close.RandomArray(m * ldc, gen);
            if (beta == 0) Array.Fill(c0, float.NaN);
            var expected = (float[])c0.Clone();
            var actual = (float[])c0.Clone();
            GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
            var packed = new float[Gemm.PackedALength(path, m, k)];
            fixed (float* pa = a, pp = packed, pb = b, pc = actual)
            {
                Gemm.PackA(path, transA, m, k, alpha, pa, lda, pp);
                Gemm.Sgemm(path, 2, pp, m, k, transB, n, pb, ldb, beta, pc, ldc);
            }
            // Only C's n columns are compared; the reference leaves the 3 padding columns as they were, and so must Sgemm.
            if (beta == 0)
                for (int i = 0; i < m; i++)
                for (int j = n; j < ldc; j++) { expected[i * ldc + j] = 0; actual[i * ldc + j] = float.IsNaN(actual[i * ldc + j]) ? 0 : 1; }
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * (Math.Abs(alpha) + Math.Abs(beta) + 1),
                $"{path} packed A transA={transA} transB={transB} m={m} n={n} k={k} alpha={alpha} beta={beta}");
        }
    }

    [Fact]
    public void FewRowsAreRefusedBecauseThatPathReadsAUnpacked()
    {
        Assert.False(Gemm.UsesPackedA(GemmPath.Vector256, 4));
        Assert.True(Gemm.UsesPackedA(GemmPath.Vector256, 5));
    }
}
