using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The banded inverted-residual block (<see cref="InvertedResidualBands"/>) against its plain twin
/// (<see cref="InvertedResidualReference"/>: three whole convolutions), on every GEMM path this machine runs and with the
/// depthwise's vector and plain band loops: random sizes (odd widths and heights, stride 2 on odd sizes, maps narrower
/// than a vector), band heights from one row to the whole map, one to three threads, with and without residual,
/// biases and clamps. CI reruns this class without AVX-512 and without intrinsics (the 8-lane and plain loops).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class InvertedResidualBandsTests
{
    public static TheoryData<int, bool> Paths() => new()
    {
        { (int)GemmPath.Scalar, false }, { (int)GemmPath.Vector128, false }, { (int)GemmPath.Vector256, true },
        { (int)GemmPath.Vector512, true }, { (int)GemmPath.Vector512, false },
    };

    [Theory, MemberData(nameof(Paths))]
    public void BandsMatchReference(int pathIndex, bool vectorDepthwise)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(1515 + (ulong)pathIndex);
        for (int trial = 0; trial < 14; trial++)
        {
            int stride = 1 + trial % 2;
            int cin = 1 + (int)(gen.NextFloat() * 40), hidden = 5 + (int)(gen.NextFloat() * 70), cout = 5 + (int)(gen.NextFloat() * 40);
            int h = 1 + (int)(gen.NextFloat() * 30), w = 1 + (int)(gen.NextFloat() * 40);
            var g = new InvertedResidualGeometry(cin, hidden, cout, h, w, stride);
            bool residual = trial % 3 == 0;
            int bandRows = trial % 4 == 0 ? 0 : 1 + (int)(gen.NextFloat() * g.OutHeight);
            int threads = 1 + trial % 3;
            var clamps = trial % 2 == 0
                ? new InvertedResidualBands.Clamps(0f, 6f, 0f, 6f, float.NegativeInfinity, float.PositiveInfinity)
                : new InvertedResidualBands.Clamps(-0.5f, 0.75f, float.NegativeInfinity, float.PositiveInfinity, -1f, 1f);
            Check(path, g, gen, residual, clamps, bandRows, threads, vectorDepthwise, $"{path} vector={vectorDepthwise} {g} residual={residual} bandRows={bandRows} threads={threads}");
        }
    }

    // The AVX2 stride-2 bands read their window's rows in place (DepthwiseConv2d.Stride2Rows); here the phase copies they replaced.
    [Theory, MemberData(nameof(Paths))]
    public void BandsMatchReferenceWithStride2PhaseCopies(int pathIndex, bool vectorDepthwise)
    {
        using (Switches.Set(() => DepthwiseConv2d.Stride2RowsEnabled, false))
            BandsMatchReference(pathIndex, vectorDepthwise);
    }

    [Theory]
    [InlineData(16, 96, 24, 112, 2)]  // MobileNet-V2's features.2 (the band of one or two rows)
    [InlineData(24, 144, 24, 56, 1)]  // features.3, with the residual
    [InlineData(32, 192, 32, 28, 1)]
    public void MobileNetBlocksMatchReference(int cin, int hidden, int cout, int size, int stride)
    {
        var g = new InvertedResidualGeometry(cin, hidden, cout, size, size, stride);
        var clamps = new InvertedResidualBands.Clamps(0f, 6f, 0f, 6f, float.NegativeInfinity, float.PositiveInfinity);
        Check(Gemm.BestPath, g, new Generator(1516), residual: cin == cout && stride == 1, clamps, bandRows: 0, threads: 2, vectorDepthwise: true, $"{g}");
    }

    private static unsafe void Check(GemmPath path, InvertedResidualGeometry g, Generator gen, bool residual, InvertedResidualBands.Clamps clamps,
        int bandRows, int threads, bool vectorDepthwise, string what)
    {
        int ho = g.OutHeight, wo = g.OutWidth;
        var x = Close.RandomArray(g.InChannels * g.Height * g.Width, gen);
        var we = Close.RandomArray(g.Hidden * g.InChannels, gen);
        var be = Close.RandomArray(g.Hidden, gen);
        var wd = Close.RandomArray(g.Hidden * 9, gen);
        var bd = Close.RandomArray(g.Hidden, gen);
        var wp = Close.RandomArray(g.OutChannels * g.Hidden, gen);
        var bp = Close.RandomArray(g.OutChannels, gen);
        var res = residual ? Close.RandomArray(g.OutChannels * ho * wo, gen) : [];
        var expected = new float[g.OutChannels * ho * wo];
        InvertedResidualReference.Forward(g, x, we, be, wd, bd, wp, bp, res, clamps, expected);
        var actual = Guarded.Nan(expected.Length);
        var packedE = Guarded.Zeros(Gemm.PackedALength(path, g.Hidden, g.InChannels));
        var packedP = Guarded.Zeros(Gemm.PackedALength(path, g.OutChannels, g.Hidden));
        fixed (float* px = x, pwe = we, pbe = be, pwd = wd, pbd = bd, pwp = wp, pbp = bp, pres = res, py = actual.Span, ppe = packedE.Span, ppp = packedP.Span)
        {
            Gemm.PackA(path, false, g.Hidden, g.InChannels, 1f, pwe, g.InChannels, ppe);
            Gemm.PackA(path, false, g.OutChannels, g.Hidden, 1f, pwp, g.Hidden, ppp);
            InvertedResidualBands.Forward(path, threads, g, px, ppe, pbe, pwd, pbd, ppp, pbp, residual ? pres : null, clamps, py, vectorDepthwise, bandRows);
        }
        Guarded.CheckAll($"PackA {what}", packedE, packedP);
        Close.Assert(expected, actual, 1e-4, 2e-5 * Math.Sqrt(g.InChannels + 9 + g.Hidden) * 8, what);
    }
}
