using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// AVX2 products that pack A themselves let each whole row strip's first tile pack its Ã strip as it multiplies
/// (<see cref="Gemm256x6x16.RunPackingA"/>): the same values as the separate pack and the same multiply-adds, so the
/// result must match the switch turned off bit for bit, and the three-loop twin within rounding — on strips that are whole
/// and partial, several row and depth blocks, one and two threads, padded rows of A, and the cases that keep the
/// separate pack (A transposed, alpha ≠ 1, fewer than 16 columns).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmPackAWhileMultiplyingTests
{
    [Fact]
    public void MatchesTheSeparatePackBitForBitAndTheReference()
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 950;
        foreach (int threads in new[] { 1, 2 })
        foreach (var (m, n, k) in new[] { (6, 16, 8), (70, 37, 300), (300, 48, 513), (13, 81, 40), (150, 15, 100), (64, 100, 1100), (11, 16, 257) })
        foreach (var (transA, alpha) in new[] { (false, 1f), (false, 1.5f), (true, 1f) })
        {
            var gen = new Generator(seed++);
            float beta = seed % 2 == 0 ? 0f : 0.5f;
            int lda = (transA ? m : k) + 3, ldb = n, ldc = n + 1;
            var ops = GemmOperands.Draw(gen, transA, transB: false, m, n, k, lda, ldb, ldc, nanC: beta == 0);
            var (a, b) = (ops.A, ops.B);
            var expected = ops.CopyOfC();
            var separate = ops.GuardedC();
            var actual = ops.GuardedC();
            GemmReference.Sgemm(transA, false, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
            using (Switches.Set(() => Avx2GemmTunables.PackAWhileMultiplying, false))
                Gemm.Sgemm(GemmPath.Vector256, threads, transA, false, m, n, k, alpha, a, lda, b, ldb, beta, separate, ldc);
            using (Switches.Set(() => Avx2GemmTunables.PackAWhileMultiplyingFloats, 0L)) // every part, whatever its size
            using (Switches.Set(() => Avx2GemmTunables.PackAWhileMultiplying, true))
                Gemm.Sgemm(GemmPath.Vector256, threads, transA, false, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc);
            string what = $"threads={threads} transA={transA} alpha={alpha} m={m} n={n} k={k} beta={beta}";
            Guarded.CheckAll($"separate pack, packed while multiplying: {what}", separate, actual);
            Assert.True(separate.Span.SequenceEqual(actual.Span), $"not bit-identical to the separate pack: {what}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * 3, what);
        }
    }
}
