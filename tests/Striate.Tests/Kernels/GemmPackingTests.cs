using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// B̃ packing of an untransposed B against its layout written out plainly, for every tile width: the AVX2 tile packs
/// groups of strips over passes of a few rows, the others whole rows; both must give the same B̃, with and without
/// a row affine (a batch norm → ReLU folded into the packing), for depths and widths that leave partial passes,
/// partial groups and a partial last strip — on the AVX2 tile with whole row pieces copied as eight loads then eight
/// stores (<see cref="Gemm256x6x16.PackBPieces"/>) and as block copies.
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
            var actual = new float[expected.Length];
            Array.Fill(actual, float.NaN);
            fixed (float* pb = b, pd = actual, ps = scale, ph = shift)
            {
                var rows = mode == 0 ? default : new GemmRowAffine(ps, ph, relu);
                GemmPacking<TKernel>.PackB(false, pb, ldb, p0, kc, j0, nc, pd, rows);
            }
            Assert.True(expected.AsSpan().SequenceEqual(actual),
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

    [Fact]
    public void PackBGivesTheSameLayoutWithAndWithoutWholeRowPieces()
    {
        foreach (bool pieces in new[] { true, false })
        using (Switches.Set(() => Gemm256x6x16.PackBPieces, pieces))
            Check<Gemm256x6x16>(pieces ? 5UL : 6UL);
    }
}
