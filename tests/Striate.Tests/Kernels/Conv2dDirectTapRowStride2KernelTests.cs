using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 batch-1 tile of stride-2 3-tap rows that broadcasts each even input column once for two taps
/// (<see cref="Conv2dDirectTapRowStride2Tile{TS, TV, TR}"/>, <see cref="DirectPlan.SharedTapsStride2MinWidthAvx2"/>) against
/// the reference twin, with the switch each way: ResNet's stride-2 rows cut down (28, 14, 7 pixels), random shapes with
/// odd and even input widths and heights (the right edge reads the border or not), padding 0–2, channels not a multiple
/// of 8, several input-channel passes; outputs guarded.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dDirectTapRowStride2KernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(1, 16, 8, 56, 24, 3, 3, 2, 2, 1, 1),     // 28-wide rows: 10, 9, 9
        new(1, 20, 9, 28, 17, 3, 3, 2, 2, 1, 1),     // 14: 7, 7
        new(1, 136, 14, 14, 12, 3, 3, 2, 2, 1, 1),   // 7: one tile; 17 input blocks in passes that add onto the stored tiles
        new(1, 12, 7, 57, 9, 3, 3, 2, 2, 1, 1),      // odd width: the last pixel's tap 2 reads the right border
        new(1, 9, 9, 25, 11, 3, 3, 2, 2, 0, 0),      // no padding: no edge taps left out
        new(1, 10, 10, 30, 8, 3, 3, 2, 2, 2, 2),     // padding 2: the first pixel's taps 0 and 1 read the border
        new(1, 8, 6, 50, 16, 2, 3, 1, 2, 1, 1),      // two kernel rows, row stride 1
    ];

    public static TheoryData<int> NamedCases() => new(Enumerable.Range(0, Named.Length));

    public static TheoryData<int> RandomCases() => new(Enumerable.Range(0, 24));

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int index) => CheckBothWays(Named[index], 47000 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int seed)
    {
        var r = new Generator(4700 + (ulong)seed);
        int kH = 1 + r.NextInt(3), sH = 1 + r.NextInt(2), pH = r.NextInt(3), pW = r.NextInt(3);
        int h = Conv2dGeometry.MinInputSize(kH, pH, 1) + r.NextInt(9);
        int w = Math.Max(3, 1 + r.NextInt(60)); // output width 1–31 at padding 1
        var g = new Conv2dGeometry(1, 5 + r.NextInt(70), h, w, 1 + r.NextInt(30), kH, 3, sH, 2, pH, pW);
        CheckBothWays(g, 48000 + (ulong)seed);
    }

    /// <summary>Which shapes take the tile: AVX2, batch 1, three taps, column stride 2, dilation 1, rows of at least the switch's width.</summary>
    [Fact]
    public void Avx2BatchOneStrideTwoRowsTakeTheTileWhenSwitchedOn()
    {
        var g = new Conv2dGeometry(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1);
        // By default rows of 16 pixels or more: ResNet's stride-2 3×3s on 56×56 (28-pixel rows), not on 28×28 or 14×14.
        Assert.Equal(16, DirectPlan.SharedTapsStride2MinWidthAvx2);
        Assert.True(DirectPlan.For(g, 8).SharedTaps);
        Assert.True(DirectPlan.For(new Conv2dGeometry(1, 128, 56, 56, 128, 3, 3, 2, 2, 1, 1), 8).SharedTaps);
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1), 8).SharedTaps);
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1), 8).SharedTaps);
        using (Switches.Set(() => DirectPlan.SharedTapsStride2MinWidthAvx2, 0))
            Assert.False(DirectPlan.For(g, 8).SharedTaps);
        using (Switches.Set(() => DirectPlan.SharedTapsStride2MinWidthAvx2, 7))
        {
            var plan = DirectPlan.For(g, 8);
            Assert.Equal((true, 10, 1, 1, 1, 9), (plan.SharedTaps, plan.R, plan.Rows, plan.GroupBlocks, plan.NarrowFrom(g), plan.NarrowWidth(g))); // 10, 9, 9
            var g14 = new Conv2dGeometry(1, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1);
            Assert.Equal((true, 7), DirectPlan.For(g14, 8) is var p ? (p.SharedTaps, p.R) : default);
            Assert.True(DirectPlan.For(new Conv2dGeometry(1, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1), 8).SharedTaps);   // 7 wide
            Assert.False(DirectPlan.For(new Conv2dGeometry(1, 256, 12, 12, 512, 3, 3, 2, 2, 1, 1), 8).SharedTaps);  // 6 wide
            Assert.False(DirectPlan.For(g, 16).SharedTaps);                                                         // AVX-512
            Assert.False(DirectPlan.For(g with { Batch = 2 }, 8).SharedTaps);                                       // batches
            Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 56, 56, 128, 5, 5, 2, 2, 2, 2), 8).SharedTaps);  // five taps
            Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 56, 56, 128, 3, 3, 2, 2, 2, 2, 2, 2), 8).SharedTaps); // dilated
        }
    }

    /// <summary>Forward (bias; bias + residual + ReLU) with the tile (from rows of 1 pixel) and without.</summary>
    private static void CheckBothWays(Conv2dGeometry g, ulong seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector256), "the AVX2 direct kernel is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        g.Validate();
        Assert.False(Conv2dDirect.TakesPixels(g));
        var (x, w, b, res, _, atol) = Conv2dDirectKernelTests.DirectInputs.Draw(g, seed);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        var fused = new float[g.OutputLength];
        for (int i = 0; i < fused.Length; i++) fused[i] = MathF.Max(expected[i] + res[i], 0f);
        foreach (int min in new[] { 1, 0 })
            using (Switches.Set(() => DirectPlan.SharedTapsStride2MinWidthAvx2, min))
            {
                string what = $"{g} stride-2 shared taps from {min}";
                Assert.Equal(min > 0 && g.KernelWidth == 3, DirectPlan.For(g, 8).SharedTaps);
                var y = Guarded.Nan(g.OutputLength);
                Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, GemmPath.Vector256, x, w, b, y, default);
                Close.Assert(expected, y, 1e-4, atol, $"forward {what}");
                y = Guarded.Nan(g.OutputLength);
                Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, GemmPath.Vector256, x, w, b, y, new Conv2dEpilogue { Residual = res, Relu = true });
                Close.Assert(fused, y, 1e-4, atol, $"forward with residual and ReLU {what}");
            }
    }
}
