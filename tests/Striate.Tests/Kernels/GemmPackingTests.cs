using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// B̃ packing of an untransposed B against its layout written out plainly, for every tile width: the AVX2 tile packs
/// groups of strips over passes of a few rows, the others whole rows; both must give the same B̃, with and without
/// a row affine (a batch norm → ReLU folded into the packing), for depths and widths that leave partial passes,
/// partial groups and a partial last strip — on the AVX2 tile with whole row pieces copied as eight loads then eight
/// stores (<see cref="Avx2GemmTunables.PackBPieces"/>) and as block copies.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmPackingTests
{
    /// <summary>B̃ [ceil(nc/NR), kc, NR]: element (p, j) of the block at strip j / NR, row p, lane j % NR; zero past nc.</summary>
    private static float[] PackBPlain(int nr, float[] b, int ldb, int p0, int kc, int j0, int nc, float[]? scale, float[]? shift, bool relu)
    {
        int strips = (nc + nr - 1) / nr;
        var dst = new float[strips * nr * kc];
        for (int p = 0; p < kc; p++)
        for (int j = 0; j < nc; j++)
        {
            float v = b[(p0 + p) * ldb + j0 + j];
            if (scale != null)
            {
                v = v * scale[p0 + p] + shift![p0 + p];
                if (relu) v = MathF.Max(v, 0f);
            }
            dst[j / nr * nr * kc + p * nr + j % nr] = v;
        }
        return dst;
    }

    private static unsafe void Check<TKernel>(ulong seed) where TKernel : struct, IGemmMicrokernel
    {
        var gen = new Generator(seed);
        foreach (var (kc, nc) in new[] { (1, 1), (7, 16), (8, 64), (9, 65), (17, 100), (33, 129), (256, 200) })
        foreach (int mode in new[] { 0, 1, 2 })
        {
            int p0 = gen.NextInt(3), j0 = gen.NextInt(5), ldb = j0 + nc + gen.NextInt(4);
            var b = Close.RandomArray((p0 + kc) * ldb, gen);
            float[]? scale = mode == 0 ? null : Close.RandomArray(p0 + kc, gen);
            float[]? shift = mode == 0 ? null : Close.RandomArray(p0 + kc, gen);
            bool relu = mode == 2;
            var expected = PackBPlain(TKernel.NR, b, ldb, p0, kc, j0, nc, scale, shift, relu);
            var actual = Guarded.Nan(expected.Length);
            fixed (float* pb = b, pd = actual.Span, ps = scale, ph = shift)
            {
                var rows = mode == 0 ? default : new GemmRowAffine(ps, ph, relu);
                GemmPacking<TKernel>.PackB(false, pb, ldb, p0, kc, j0, nc, pd, rows);
            }
            actual.Check($"PackB NR={TKernel.NR} kc={kc} nc={nc} p0={p0} j0={j0}");
            Assert.True(expected.AsSpan().SequenceEqual(actual.Span),
                $"NR={TKernel.NR} kc={kc} nc={nc} p0={p0} j0={j0} ldb={ldb} affine={mode != 0} relu={relu}");
        }
    }

    [Fact]
    public void PackBMatchesItsPlainLayoutOnEveryTileWidth()
    {
        Check<GemmScalar4x4>(1);
        Check<Gemm128x6x8>(2);
        Check<Gemm256x6x16>(3);
        Check<Gemm512x14x32>(4);
    }

    /// <summary>Ã [ceil(mc/MR), kc, MR]: element (i, p) at strip i / MR, depth p, lane i % MR, times alpha; zero past mc.</summary>
    private static float[] PackAPlain(int mr, float[] a, int lda, int i0, int mc, int p0, int kc, float alpha)
    {
        var dst = new float[(mc + mr - 1) / mr * mr * kc];
        for (int i = 0; i < mc; i++)
        for (int p = 0; p < kc; p++)
            dst[i / mr * mr * kc + p * mr + i % mr] = alpha * a[(i0 + i) * lda + p0 + p];
        return dst;
    }

    private static unsafe void CheckPackA<TKernel>(ulong seed) where TKernel : struct, IGemmMicrokernel
    {
        var gen = new Generator(seed);
        int mr = TKernel.MR;
        foreach (var (mc, kc) in new[] { (mr, 4), (mr, 5), (mr, 7), (mr, 8), (2 * mr, 9), (3 * mr + 1, 12), (2 * mr, 13), (4 * mr - 1, 256), (mr, 3), (1, 16) })
        foreach (float alpha in new[] { 1f, 0.75f })
        {
            int i0 = gen.NextInt(3), p0 = gen.NextInt(5), lda = p0 + kc + gen.NextInt(4);
            var a = Close.RandomArray((i0 + mc) * lda, gen);
            var expected = PackAPlain(mr, a, lda, i0, mc, p0, kc, alpha);
            var actual = Guarded.Nan(expected.Length);
            fixed (float* pa = a, pd = actual.Span)
                GemmPacking<TKernel>.PackA(false, pa, lda, i0, mc, p0, kc, alpha, pd);
            actual.Check($"PackA MR={mr} mc={mc} kc={kc}");
            Assert.True(expected.AsSpan().SequenceEqual(actual.Span), $"MR={mr} mc={mc} kc={kc} i0={i0} p0={p0} lda={lda} alpha={alpha}");
        }
    }

    [Fact]
    public void PackAMatchesItsPlainLayoutOnEveryTileHeightWithAndWithoutRowHalves()
    {
        CheckPackA<GemmScalar4x4>(11);
        CheckPackA<Gemm128x6x8>(12);
        CheckPackA<Gemm512x14x32>(13);
        foreach (bool halves in new[] { true, false })
        using (Switches.Set(() => Avx2GemmTunables.PackAHalves, halves))
            CheckPackA<Gemm256x6x16>(halves ? 14UL : 15UL);
    }

    [Fact]
    public void PackBGivesTheSameLayoutWithAndWithoutWholeRowPieces()
    {
        foreach (bool pieces in new[] { true, false })
        using (Switches.Set(() => Avx2GemmTunables.PackBPieces, pieces))
            Check<Gemm256x6x16>(pieces ? 5UL : 6UL);
    }
}
