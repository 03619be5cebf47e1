using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The planar stem and the 3×3 depthwise after it as one kernel (<see cref="Conv2dDirect.ForwardPlanarDepthwise"/>)
/// against its plain twin — the reference stem, its clamp, the reference depthwise, its clamp — forced on each SIMD
/// width: MobileNet-V2's features.0 → features.1 depthwise on a smaller map, odd sizes, bands of 1 to 5 rows (the rows
/// kept from the band above, a short last band), one output row, batches, no biases; and with the 1×1 projection after
/// the depthwise inside the kernel (features.1 whole), against the reference 1×1 on the twin's depthwise output.
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

    [Theory]
    [InlineData((int)GemmPath.Vector512)]
    [InlineData((int)GemmPath.Vector256)]
    public void MobileNetStemWithItsProjectionOnASmallerMapMatchesReference(int width)
    {
        var g = new Conv2dGeometry(1, 3, 64, 64, 32, 3, 3, 2, 2, 1, 1);
        Check(g, (GemmPath)width, 0, withBias: true, 30002, projectChannels: 16);
        Check(g, (GemmPath)width, 3, withBias: false, 30003, projectChannels: 16);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void WithProjectionMatchesReferenceOnRandomGeometry(int width, int seed)
    {
        var r = new Generator(3200 + (ulong)seed);
        // Projections of 5..40 rows (past one and two 14-row strips, the tall 16-row tile), maps from 1 to 35 columns
        // wide (bands narrower than a 32-column strip, packed edges).
        var g = new Conv2dGeometry(1 + r.NextInt(2), 1 + r.NextInt(4), 1 + r.NextInt(30), 1 + r.NextInt(70), 1 + r.NextInt(40), 3, 3, 2, 2, 1, 1);
        Check(g, (GemmPath)width, r.NextInt(6), withBias: r.NextInt(3) != 0, 33000 + (ulong)seed, projectChannels: 5 + r.NextInt(36));
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

    /// <summary>
    /// The kernel against the reference convolutions apart; with <paramref name="projectChannels"/> &gt; 0 a 1×1
    /// convolution to that many channels (clamped to [-1, 2]) runs inside it, its product on <paramref name="width"/>'s GEMM path.
    /// </summary>
    private static unsafe void Check(Conv2dGeometry g, GemmPath width, int bandRows, bool withBias, ulong seed, int projectChannels = 0)
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
        var actual = Guarded.Nan(d.OutputLength);
        double atol = 1e-5 * Math.Sqrt(g.InChannels * 9 + 1) * 4 * 3;
        if (projectChannels == 0)
        {
            fixed (float* xp = x, wp = w, bp = b, wdp = wd, bdp = bd, yp = actual.Span)
                Conv2dDirect.ForwardPlanarDepthwise(width, g, xp, wp, bp, 0f, 6f, wdp, bdp, -0.5f, 0.7f, yp, bandRows);
            Close.Assert(expected, actual, 1e-4, atol, $"{g} → depthwise, {width}, band rows {bandRows}, bias {withBias}");
            return;
        }
        // Third convolution of the twin: the reference 1×1 on the depthwise's (clamped) output, clamped to [-1, 2].
        var p = new Conv2dGeometry(d.Batch, d.OutChannels, d.OutHeight, d.OutWidth, projectChannels, 1, 1);
        var wp1 = Close.RandomArray((int)p.WeightLength, r);
        var bp1 = withBias ? Close.RandomArray(projectChannels, r) : null;
        var expectedZ = new float[p.OutputLength];
        Conv2dReference.Forward(p, expected, wp1, bp1 ?? ReadOnlySpan<float>.Empty, expectedZ);
        for (int i = 0; i < expectedZ.Length; i++) expectedZ[i] = Math.Min(Math.Max(expectedZ[i], -1f), 2f);
        var actualZ = Guarded.Nan(p.OutputLength);
        var packed = new float[Gemm.PackedALength(width, projectChannels, d.OutChannels) + 16];
        fixed (float* xp = x, wp = w, bp = b, wdp = wd, bdp = bd, yp = actual.Span, pw = wp1, pa = packed, pb = bp1, zp = actualZ.Span)
        {
            float* aligned = CacheLine.Align(pa);
            Gemm.PackA(width, false, projectChannels, d.OutChannels, 1f, pw, d.OutChannels, aligned);
            var projection = new PlanarProjection(width, aligned, projectChannels, pb, -1f, 2f, zp);
            Conv2dDirect.ForwardPlanarDepthwise(width, g, xp, wp, bp, 0f, 6f, wdp, bdp, -0.5f, 0.7f, yp, projection, bandRows);
        }
        actual.Check($"{g} → depthwise (unwritten) → 1×1 to {projectChannels}, {width}, band rows {bandRows}");
        Assert.All(actual.ToArray(), v => Assert.True(float.IsNaN(v), "the depthwise's output is not written when a projection runs"));
        Close.Assert(expectedZ, actualZ, 1e-4, atol * Math.Sqrt(d.OutChannels) * 2,
            $"{g} → depthwise → 1×1 to {projectChannels}, {width}, band rows {bandRows}, bias {withBias}");
    }
}
