using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The planar stem and the 3×3 depthwise after it as one kernel (<see cref="Conv2dDirect.ForwardPlanarDepthwise"/>)
/// against its plain twin — the reference stem, its clamp, the reference depthwise, its clamp — forced on each SIMD
/// width: MobileNet-V2's features.0 → features.1 depthwise on a smaller map, odd sizes, bands of 1 to 5 rows (the rows
/// kept from the band above, a short last band), one output row, batches, no biases.
/// </summary>
public class Conv2dDirectPlanarDepthwiseKernelTests
{
    public static TheoryData<int, int> RandomCases() => DirectWidthCases.Of(20);

    [Theory]
    [InlineData((int)GemmPath.Vector512)]
    [InlineData((int)GemmPath.Vector256)]
    public void MobileNetStemOnASmallerMapMatchesReference(int width)
    {
        var g = new Conv2dGeometry(1, 3, 64, 64, 32, 3, 3, 2, 2, 1, 1);
        Check(g, (GemmPath)width, 0, withBias: true, 30000);
        Check(g, (GemmPath)width, 3, withBias: true, 30001);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed)
    {
        var r = new Generator(3100 + (ulong)seed);
        var g = new Conv2dGeometry(1 + r.NextInt(2), 1 + r.NextInt(4), 1 + r.NextInt(30), 1 + r.NextInt(70), 1 + r.NextInt(40), 3, 3, 2, 2, 1, 1);
        Check(g, (GemmPath)width, r.NextInt(6), withBias: r.NextInt(3) != 0, 32000 + (ulong)seed);
    }

    [Fact]
    public void TakesOnlyAThreeByThreeStrideOneDepthwiseOfTheStem()
    {
        Assert.SkipUnless(DepthwiseConv2d.VectorWidth() > 0, "the depthwise vector kernels are not available here (or are disabled by DOTNET_Enable* settings).");
        var stem = new Conv2dGeometry(1, 3, 224, 224, 32, 3, 3, 2, 2, 1, 1);
        Assert.True(Conv2dDirect.TakesPlanarDepthwise(stem, Depthwise(stem)));
        Assert.False(Conv2dDirect.TakesPlanarDepthwise(stem, Depthwise(stem) with { StrideH = 2, StrideW = 2 }));                 // stride 2
        Assert.False(Conv2dDirect.TakesPlanarDepthwise(stem, new Conv2dGeometry(1, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1)));      // not depthwise
        Assert.False(Conv2dDirect.TakesPlanarDepthwise(stem with { KernelHeight = 7, KernelWidth = 7, PadH = 3, PadW = 3 }, Depthwise(stem)));
    }

    private static Conv2dGeometry Depthwise(in Conv2dGeometry g) =>
        new(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.OutChannels, 3, 3, 1, 1, 1, 1, 1, 1, g.OutChannels);

    private static unsafe void Check(Conv2dGeometry g, GemmPath width, int bandRows, bool withBias, ulong seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(width) && DepthwiseConv2d.VectorWidth() > 0,
            $"the direct kernel at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var d = Depthwise(g);
        Assert.True(Conv2dDirect.TakesPlanarDepthwise(g, d), $"{g} → {d} should run as one");
        var r = new Generator(seed);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = withBias ? Close.RandomArray(g.OutChannels, r) : null;
        var wd = Close.RandomArray((int)d.WeightLength, r);
        var bd = withBias ? Close.RandomArray(d.OutChannels, r) : null;
        // Plain twin: the two convolutions apart, each clamped (ReLU6 after the stem, [-0.5, 0.7] after the depthwise).
        var stemOut = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b ?? ReadOnlySpan<float>.Empty, stemOut);
        for (int i = 0; i < stemOut.Length; i++) stemOut[i] = Math.Min(Math.Max(stemOut[i], 0f), 6f);
        var expected = new float[d.OutputLength];
        Conv2dReference.Forward(d, stemOut, wd, bd ?? ReadOnlySpan<float>.Empty, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = Math.Min(Math.Max(expected[i], -0.5f), 0.7f);
        var actual = new float[d.OutputLength];
        Array.Fill(actual, float.NaN);
        fixed (float* xp = x, wp = w, bp = b, wdp = wd, bdp = bd, yp = actual)
            Conv2dDirect.ForwardPlanarDepthwise(width, g, xp, wp, bp, 0f, 6f, wdp, bdp, -0.5f, 0.7f, yp, bandRows);
        double atol = 1e-5 * Math.Sqrt(g.InChannels * 9 + 1) * 4 * 3;
        Close.Assert(expected, actual, 1e-4, atol, $"{g} → depthwise, {width}, band rows {bandRows}, bias {withBias}");
    }
}
