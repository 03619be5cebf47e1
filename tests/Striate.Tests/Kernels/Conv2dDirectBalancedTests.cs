using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The direct forward's balanced batch-1 schedule (<see cref="Conv2dDirect.Balance"/>, Conv2dDirect.Balanced.cs) against
/// the reference twin, forced each way: random batch-1 shapes (odd sizes, channels not multiples of 8, 1–3 kernel rows and
/// columns, padding 0–2, stride 2 with <see cref="Conv2dDirect.BalanceStrided"/>), items of one group over a thread's rows
/// and items of row chunks, 1–3 threads, NCHW and blocked input and output, and every fourth case called from inside a
/// parallel loop so one thread runs every item (its own from the front, the others' from the back). Outputs are Guarded.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dDirectBalancedTests
{
    public static TheoryData<int> Seeds() => new(Enumerable.Range(0, 32));

    [Theory, MemberData(nameof(Seeds))]
    public void BalancedScheduleMatchesReference(int seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector256), "the AVX2 direct kernel is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var r = new Generator(47000 + (ulong)seed);
        int threads = 1 + seed % 3;
        bool strided = seed % 5 == 4, byRows = seed % 2 == 1, nested = seed % 4 == 3;
        int k = seed % 7 == 2 ? 1 + r.NextInt(2) : 3, stride = strided ? 2 : 1, pad = Math.Min(k - 1, r.NextInt(3)) + (k == 3 ? 0 : r.NextInt(2));
        int cin = 5 + r.NextInt(seed % 3 == 0 ? 150 : 50), cout = 1 + r.NextInt(seed % 3 == 1 ? 100 : 40);
        int h = 5 + r.NextInt(24), w = 5 + r.NextInt(24);
        if (seed < 4) { (h, w, cin, cout) = seed < 2 ? (14, 14, 144, 288 / 6) : (28, 28, 96, 128 / 4); k = 3; pad = 1; stride = 1; } // GoogLeNet's @14 and @28 rows, cut down
        var g = new Conv2dGeometry(1, cin, h, w, cout, k, k, stride, stride, pad, pad);
        g.Validate();
        var (x, wts, b, res, _, atol) = Conv2dDirectKernelTests.DirectInputs.Draw(g, 48000 + (ulong)seed);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, wts, b, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i] + res[i], 0f);
        foreach (bool on in new[] { true, false })
            using (Switches.Set(() => KernelThreads.Count, threads))
            using (Switches.Set(() => Conv2dDirect.Balance, on))
            using (Switches.Set(() => Conv2dDirect.BalanceStrided, strided))
            using (Switches.Set(() => Conv2dDirect.BalanceMinPixels, 0)) // small maps too (by default not below 100 pixels)
            using (Switches.Set(() => Conv2dDirect.BalanceRowItemsMaxWeightBytes, byRows ? long.MaxValue : 0))
            using (Switches.Set(() => Conv2dDirect.BalanceRowChunks, 1 + seed % 5))
            {
                var plan = DirectPlan.For(g, 8);
                string what = $"{g} balanced {on} threads {threads} row items {byRows} chunks {Conv2dDirect.BalanceRowChunks}{(nested ? " nested" : "")}";
                bool takes = Conv2dDirect.Balanced(g, plan, threads);
                if (on && threads > 1 && g.ForwardFlops >= 1 << 16) Assert.True(takes, what);
                if (!on || threads == 1) Assert.False(takes, what);
                var actual = Guarded.Nan(g.OutputLength);
                void Call() => Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, GemmPath.Vector256, x, wts, b, actual.Span, new Conv2dEpilogue { Residual = res, Relu = true });
                if (nested) NestedCall.Run(Call);
                else Call();
                actual.Check(what);
                Close.Assert(expected, actual, 1e-4, atol, what);
            }
    }

    /// <summary>Which calls balance (the rule with the switch on): batch 1 on two threads, 14×14 and 28×28 maps (GoogLeNet's, ResNet's 3×3s), not 7×7 or 56×56, not strided, not batches.</summary>
    [Fact]
    public void DefaultRuleTakesFourteenAndTwentyEightPixelMaps()
    {
        bool Takes(Conv2dGeometry g, int threads = 2) => Conv2dDirect.Balanced(g, DirectPlan.For(g, 8), threads);
        using var on = Switches.Set(() => Conv2dDirect.Balance, true);
        Assert.True(Takes(new Conv2dGeometry(1, 96, 28, 28, 128, 3, 3, 1, 1, 1, 1)));
        Assert.True(Takes(new Conv2dGeometry(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1)));
        Assert.True(Takes(new Conv2dGeometry(1, 16, 28, 28, 32, 3, 3, 1, 1, 1, 1)));
        Assert.False(Takes(new Conv2dGeometry(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1), 1));   // one thread
        Assert.False(Takes(new Conv2dGeometry(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1)));         // 7×7
        Assert.False(Takes(new Conv2dGeometry(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1)));         // 56×56
        Assert.False(Takes(new Conv2dGeometry(1, 128, 56, 56, 128, 3, 3, 2, 2, 1, 1)));       // stride 2
        Assert.False(Takes(new Conv2dGeometry(2, 96, 28, 28, 128, 3, 3, 1, 1, 1, 1)));        // batch 2
        Assert.False(Takes(new Conv2dGeometry(1, 1024, 28, 28, 64, 3, 3, 1, 1, 1, 1)));       // a thread's rows of input past L2
        using (Switches.Set(() => Conv2dDirect.Balance, false))
            Assert.False(Takes(new Conv2dGeometry(1, 96, 28, 28, 128, 3, 3, 1, 1, 1, 1)));
    }

    /// <summary>The blocked hand-off (<see cref="Conv2dDirect.ForwardBlocked"/>: blocked input, blocked output with a border, bias, residual and ReLU in place) under the balanced schedule.</summary>
    [Theory]
    [InlineData(40, 36, 14, 2, false)]
    [InlineData(24, 20, 15, 3, true)]
    [InlineData(17, 64, 28, 2, false)]
    [InlineData(72, 16, 11, 2, true)]
    public unsafe void BlockedHandOffMatchesReference(int cin, int cout, int size, int threads, bool byRows)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector256), "the AVX2 direct kernel is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var g = new Conv2dGeometry(1, cin, size, size, cout, 3, 3, 1, 1, 1, 1);
        var (x, w, b, res, _, atol) = Conv2dDirectKernelTests.DirectInputs.Draw(g, 49000 + (ulong)(cin + size));
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i] + res[i], 0f);
        using var count = Switches.Set(() => KernelThreads.Count, threads);
        using var rows = Switches.Set(() => Conv2dDirect.BalanceRowItemsMaxWeightBytes, byRows ? long.MaxValue : 0);
        Assert.True(Conv2dDirect.TakesBlocked(GemmPath.Vector256, g));
        Assert.True(Conv2dDirect.Balanced(g, DirectPlan.For(g, 8), threads));
        int pad = 1 + size % 2;
        var inShape = new BlockedShape(1, cin, size, size, 8, 1, 1);
        var outShape = new BlockedShape(1, cout, size, size, 8, pad, pad);
        var xb = new float[inShape.Length];
        var rb = new float[outShape.Length];
        var y = Guarded.Zeros(outShape.Length);
        fixed (float* px = x, pxb = xb, pr = res, prb = rb, pw = w, pb = b)
        fixed (float* py = y.Array)
        {
            ChannelBlocked.Pack(px, inShape, pxb);
            ChannelBlocked.Pack(pr, outShape, prb);
            Conv2dDirect.ForwardBlocked(GemmPath.Vector256, g, pxb, true, pw, pb, prb, true, py + y.Offset, pad);
        }
        string what = $"ForwardBlocked balanced {g} threads {threads} row items {byRows}";
        y.Check(what);
        var ys = y.Span;
        var actual = new float[expected.Length];
        for (int c = 0; c < outShape.Blocks * 8; c++)
        for (int hp = 0; hp < outShape.PaddedHeight; hp++)
        for (int wp = 0; wp < outShape.PaddedWidth; wp++)
        {
            float value = ys[(int)((c / 8) * outShape.BlockStride + hp * outShape.RowPitch + wp * 8 + c % 8)];
            int hh = hp - pad, ww = wp - pad;
            if (c >= cout || hh < 0 || hh >= size || ww < 0 || ww >= size) Assert.True(value == 0f, $"{what}: border or missing channel {c} ({hp}, {wp}) = {value}");
            else actual[(c * size + hh) * size + ww] = value;
        }
        Close.Assert(expected, actual, 1e-4, atol, what);
    }
}
