using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 products that pack A themselves cut their depth in blocks of up to <see cref="Avx2GemmTunables.SelfPackedDepth"/>
/// (512) while a pre-packed A keeps KC (256): both depths against the three-loop twin, on depths that take one, two and
/// three blocks of either, on one and two threads, with edge rows and columns and every transpose.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmSelfPackedDepthTests
{
    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    public void EveryDepthBlockingMatchesReference(int depth)
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        using var _ = Switches.Set(() => Avx2GemmTunables.SelfPackedDepth, depth);
        ulong seed = 900;
        foreach (int threads in new[] { 1, 2 })
        foreach (var (m, n, k) in new[] { (70, 37, 300), (45, 50, 512), (13, 81, 513), (66, 33, 1100), (100, 130, 257) })
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        {
            var gen = new Generator(seed++);
            float beta = seed % 2 == 0 ? 0f : 0.5f;
            int lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 2;
            var ops = GemmOperands.Draw(gen, transA, transB, m, n, k, lda, ldb, ldc, nanC: beta == 0);
            var expected = ops.CopyOfC();
            var actual = ops.GuardedC();
            GemmReference.Sgemm(transA, transB, m, n, k, 1.5f, ops.A, lda, ops.B, ldb, beta, expected, ldc);
            Gemm.Sgemm(GemmPath.Vector256, threads, transA, transB, m, n, k, 1.5f, ops.A, lda, ops.B, ldb, beta, actual, ldc);
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * 3,
                $"depth={depth} threads={threads} transA={transA} transB={transB} m={m} n={n} k={k} beta={beta}");
        }
    }
}
