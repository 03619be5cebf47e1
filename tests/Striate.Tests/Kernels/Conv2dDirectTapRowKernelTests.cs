using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 batch-1 tile of stride-1 3-tap rows that broadcasts each input value once for its three taps
/// (<see cref="Conv2dDirectTapRowTile{TS, TV, TR}"/>, <see cref="DirectPlan.SharedTapsAvx2"/>) against the reference twin,
/// with the switch each way: random shapes (1–3 kernel rows, row stride and dilation, padding 0–2 so that edge tiles
/// leave out the border's taps or not, partial channel blocks, several input-channel passes), VGG-like rows of 16–112
/// pixels, and the output a slice of a larger buffer whose guard values after it must stay untouched.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dDirectTapRowKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(1, 16, 6, 56, 24, 3, 3, 1, 1, 1, 1),     // 56-wide rows: 12, 11, 11, 11, 11 pixels
        new(1, 20, 5, 28, 16, 3, 3, 1, 1, 1, 1),     // 28: 10, 9, 9
        new(1, 8, 3, 112, 8, 3, 3, 1, 1, 1, 1),      // 112: 12, 12, 11 × 8
        new(1, 136, 4, 16, 20, 3, 3, 1, 1, 1, 1),    // 16: two tiles of 8; 17 input blocks in passes that add onto the stored tiles
        new(1, 12, 7, 24, 9, 3, 3, 1, 1, 0, 0),      // no padding: no edge taps left out, 22-wide output (11, 11)
        new(1, 12, 9, 21, 9, 3, 3, 2, 1, 2, 2),      // padding 2, row stride 2: the edge tiles' first and last columns read only the border
        new(1, 10, 8, 30, 17, 2, 3, 1, 1, 1, 1),     // two kernel rows
        new(1, 9, 12, 20, 11, 3, 3, 1, 1, 2, 1, 2, 1), // row dilation 2
    ];

    public static TheoryData<int> NamedCases()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Named.Length; i++) data.Add(i);
        return data;
    }

    public static TheoryData<int> RandomCases()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < 24; i++) data.Add(i);
        return data;
    }

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int index) => CheckBothWays(Named[index], 41000 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int seed)
    {
        var r = new Generator(4100 + (ulong)seed);
        int kH = 1 + r.NextInt(3), sH = 1 + r.NextInt(2), dH = 1 + r.NextInt(2), pH = r.NextInt(3), pW = r.NextInt(3);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(6);
        int w = 16 + 2 - 2 * pW + r.NextInt(60); // output width 16–75
        var g = new Conv2dGeometry(1, 1 + r.NextInt(70), h, w, 1 + r.NextInt(30), kH, 3, sH, 1, pH, pW, dH, 1);
        CheckBothWays(g, 42000 + (ulong)seed);
    }

    /// <summary>Which shapes take the tile: batch 1, three taps, column stride and dilation 1, rows of 16 pixels or more; the row split.</summary>
    [Fact]
    public void Avx2BatchOneStrideOneRowsOfSixteenOrMoreTakeTheTile()
    {
        var vgg = new Conv2dGeometry(1, 128, 56, 56, 256, 3, 3, 1, 1, 1, 1);
        var plan = DirectPlan.For(vgg, 8);
        Assert.True(plan.SharedTaps);
        Assert.Equal((12, 1, 1), (plan.R, plan.Rows, plan.GroupBlocks));
        Assert.Equal((1, 11), (plan.NarrowFrom(vgg), plan.NarrowWidth(vgg))); // 12, 11, 11, 11, 11
        var narrow = new Conv2dGeometry(1, 512, 28, 28, 512, 3, 3, 1, 1, 1, 1);
        Assert.Equal((10, 1, 9), DirectPlan.For(narrow, 8) is var p ? (p.R, p.NarrowFrom(narrow), p.NarrowWidth(narrow)) : default);
        Assert.False(DirectPlan.For(vgg, 16).SharedTaps);                                                     // AVX-512
        Assert.False(DirectPlan.For(vgg with { Batch = 2 }, 8).SharedTaps);                                    // batches
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 512, 14, 14, 512, 3, 3, 1, 1, 1, 1), 8).SharedTaps); // 14-wide rows
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1), 8).SharedTaps);  // column stride 2
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 56, 56, 128, 5, 5, 1, 1, 2, 2), 8).SharedTaps);  // five taps
        using (Switches.Set(() => DirectPlan.SharedTapsAvx2, false))
            Assert.False(DirectPlan.For(vgg, 8).SharedTaps);
    }

    /// <summary>Forward (bias; bias + residual + ReLU) and the input gradient (a stride-1 full convolution, the same tile) with the tile and without.</summary>
    private static void CheckBothWays(Conv2dGeometry g, ulong seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector256), "the AVX2 direct kernel is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        g.Validate();
        var r = new Generator(seed);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var res = Close.RandomArray((int)g.OutputLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        double atol = 1e-5 * Math.Sqrt(Math.Max(g.InChannels, g.OutChannels) * g.KernelHeight * g.KernelWidth + 1) * 4;
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        var fused = new float[g.OutputLength];
        for (int i = 0; i < fused.Length; i++) fused[i] = MathF.Max(expected[i] + res[i], 0f);
        var dxExpected = new float[g.InputLength];
        Conv2dReference.BackwardData(g, dy, w, dxExpected);
        foreach (bool on in new[] { true, false })
            using (Switches.Set(() => DirectPlan.SharedTapsAvx2, on))
            {
                string what = $"{g} shared taps {on}";
                Assert.Equal(on, DirectPlan.For(g, 8).SharedTaps);
                int n = (int)g.OutputLength;
                var buffer = Guarded(n);
                Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, GemmPath.Vector256, x, w, b, buffer.AsSpan(0, n), default);
                Close.Assert(expected, buffer[..n], 1e-4, atol, $"forward {what}");
                AssertGuards(buffer, n, $"forward {what}");

                buffer = Guarded(n);
                Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, GemmPath.Vector256, x, w, b, buffer.AsSpan(0, n), new Conv2dEpilogue { Residual = res, Relu = true });
                Close.Assert(fused, buffer[..n], 1e-4, atol, $"forward with residual and ReLU {what}");
                AssertGuards(buffer, n, $"forward with residual and ReLU {what}");

                if (!Conv2dDirect.SupportsBackwardData(g)) continue;
                int m = (int)g.InputLength;
                buffer = Guarded(m);
                Conv2dKernels.BackwardData(g, Conv2dAlgorithm.Direct, GemmPath.Vector256, dy, w, buffer.AsSpan(0, m));
                Close.Assert(dxExpected, buffer[..m], 1e-4, atol, $"gradInput {what}");
                AssertGuards(buffer, m, $"gradInput {what}");
            }
    }

    private const int GuardFloats = 64;
    private const float GuardValue = -12345.5f;

    /// <summary>A buffer of <paramref name="length"/> NaNs (every output must be written) and <see cref="GuardFloats"/> guard values after them.</summary>
    private static float[] Guarded(int length)
    {
        var a = new float[length + GuardFloats];
        a.AsSpan(0, length).Fill(float.NaN);
        a.AsSpan(length).Fill(GuardValue);
        return a;
    }

    private static void AssertGuards(float[] buffer, int length, string what)
    {
        for (int i = length; i < buffer.Length; i++)
            Assert.True(buffer[i] == GuardValue, $"{what}: written past the output at {i - length} ({buffer[i]})");
    }
}
