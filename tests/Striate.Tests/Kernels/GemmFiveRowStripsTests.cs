using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// AVX2 products that pack A themselves cut each block's rows into whole 6-row strips and 5-row strips
/// (<see cref="Avx2GemmTunables.FiveRowStrips"/>, <see cref="Gemm256x6x16.RunFiveRows"/>), and two threads split rows
/// evenly instead of in whole strips. Every element takes the same multiply-adds in the same order as under the 6- and
/// 4-row tiles, so the result must match the switch turned off bit for bit (where the last column strip is 16 wide or
/// more than 8: the narrow column tiles sum their own way) and the three-loop twin within rounding — for every row
/// count mod 6, blocks too short for 5-row strips, several row blocks (MC) and depth blocks, beta 0 and not, A
/// transposed, alpha ≠ 1, one and two threads, the packing paths that ride on the first tiles, and the 5-row strips packed
/// row by row (FiveRowWholePack off) as well as whole.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmFiveRowStripsTests
{
    [Fact]
    public void MatchesTheSixRowStripsBitForBitAndTheReference()
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 5150;
        var shapes = new[]
        {
            (256, 256, 256), (25, 32, 40), (26, 48, 17), (27, 16, 64), (28, 35, 9), (29, 20, 100), (31, 64, 33),
            (11, 16, 20), (9, 40, 12), (5, 16, 8), (149, 50, 70), (301, 33, 530), (160, 100, 64), (64, 3, 50), (62, 23, 31),
        };
        foreach (int threads in new[] { 1, 2 })
        foreach (var (m, n, k) in shapes)
        foreach (var (transA, alpha) in new[] { (false, 1f), (false, 0.75f), (true, 1f) })
        {
            var gen = new Generator(seed++);
            float beta = seed % 2 == 0 ? 0f : 0.5f;
            int lda = (transA ? m : k) + 3, ldb = n + 2, ldc = n + 1;
            var ops = GemmOperands.Draw(gen, transA, transB: false, m, n, k, lda, ldb, ldc, nanC: beta == 0);
            var (a, b) = (ops.A, ops.B);
            var expected = ops.CopyOfC();
            var sixes = ops.GuardedC();
            var actual = ops.GuardedC();
            GemmReference.Sgemm(transA, false, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
            using (Switches.Set(() => Avx2GemmTunables.FiveRowStrips, false))
                Gemm.Sgemm(GemmPath.Vector256, threads, transA, false, m, n, k, alpha, a, lda, b, ldb, beta, sixes, ldc);
            using (Switches.Set(() => Avx2GemmTunables.FiveRowStrips, true))
                Gemm.Sgemm(GemmPath.Vector256, threads, transA, false, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc);
            // The 5-row strips packed row by row (no sixth row read from A) must give the same bits: the tile never
            // reads the strip's sixth row.
            var rowByRow = ops.GuardedC();
            using (Switches.Set(() => Avx2GemmTunables.FiveRowStrips, true))
            using (Switches.Set(() => Avx2GemmTunables.FiveRowWholePack, false))
                Gemm.Sgemm(GemmPath.Vector256, threads, transA, false, m, n, k, alpha, a, lda, b, ldb, beta, rowByRow, ldc);
            string what = $"threads={threads} transA={transA} alpha={alpha} m={m} n={n} k={k} beta={beta}";
            sixes.Check($"6-row strips {what}");
            rowByRow.Check($"5-row strips packed row by row {what}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * 3, what);
            if (n % 16 == 0 || n % 16 > 8)
                Assert.True(sixes.Span.SequenceEqual(actual.Span), $"not bit-identical to the 6-row strips: {what}");
            Assert.True(rowByRow.Span.SequenceEqual(actual.Span), $"the row-by-row pack of the 5-row strips is not bit-identical to the whole-strip pack: {what}");
        }
    }

    [Fact]
    public void TakesFiveRowStripsOnlyWhereTheRestIsWholeSixRowStrips()
    {
        for (int rows = 0; rows <= 200; rows++)
        {
            int fives = Gemm256x6x16.FiveRowStripsIn(rows), sixes = rows - 5 * fives;
            Assert.True(fives == 0 || (sixes >= 6 && sixes % 6 == 0), $"rows={rows}: {fives} five-row strips leave {sixes} rows");
            if (rows >= 26) Assert.True(sixes % 6 == 0, $"rows={rows} should split into whole 6- and 5-row strips");
        }
    }
}
