using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// <see cref="Conv2dDirect.ForwardBlocked"/> (blocked padded input and/or blocked padded output, bias, residual and ReLU
/// applied in place) against the NCHW reference forward and epilogue: the interior equals it, a blocked output's border
/// and missing channels stay zero, nothing is written past the buffer (Guarded). And the in-place epilogue
/// <see cref="ChannelBlocked.EpilogueRowsInPlace"/> against its plain twin on random shapes, both vector widths.
/// </summary>
public class Conv2dDirectForwardBlockedTests
{
    /// <summary>Which sides are blocked: 0 both, 1 NCHW in and blocked out, 2 blocked in and NCHW out.</summary>
    public static TheoryData<int, int, int, int, int, bool, bool, int> Cases()
    {
        var data = new TheoryData<int, int, int, int, int, bool, bool, int>();
        (int Cin, int Cout, int Size, int Stride, bool Residual, bool Relu)[] shapes =
        [
            (16, 16, 14, 1, false, true), (16, 16, 14, 1, true, true), (12, 20, 9, 2, false, true), (24, 16, 15, 2, true, false),
            (64, 64, 28, 1, true, true), (64, 128, 28, 2, false, true), (40, 24, 7, 1, true, true),
        ];
        foreach (var s in shapes)
        foreach (int layout in new[] { 0, 1, 2 })
        foreach (int batch in new[] { 1, 2 })
            data.Add(batch, s.Cin, s.Cout, s.Size, s.Stride, s.Residual, s.Relu, layout);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void MatchesNchwReference(int batch, int cin, int cout, int size, int stride, bool withResidual, bool relu, int layout)
    {
        var width = Conv2dDirect.BestWidth;
        Assert.SkipUnless(Conv2dDirect.IsSupported(width), "no direct kernel on this machine");
        var g = new Conv2dGeometry(batch, cin, size, size, cout, 3, 3, stride, stride, 1, 1);
        Assert.SkipUnless(Conv2dDirect.TakesBlocked(width, g), $"{g} takes a per-image schedule here (no blocked hand-off)");
        bool blockedIn = layout != 1, blockedOut = layout != 2;
        var r = new Generator((ulong)(cin * 131 + cout * 7 + size + stride + 1000 * layout + 5000 * batch));
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(cout, r);
        var res = Close.RandomArray((int)g.OutputLength, r);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i] + (withResidual ? res[i] : 0f);
            expected[i] = relu ? MathF.Max(e, 0f) : e;
        }

        int v = Conv2dDirect.VectorLength(width), pad = blockedOut ? 1 + (cin + cout + size) % 2 : -1; // output borders of 1 and 2
        var inShape = new BlockedShape(batch, cin, size, size, v, 1, 1);
        var outShape = new BlockedShape(batch, cout, g.OutHeight, g.OutWidth, v, Math.Max(pad, 0), Math.Max(pad, 0));
        var xb = new float[inShape.Length];
        var rb = new float[outShape.Length];
        var y = blockedOut ? Guarded.Zeros(outShape.Length) : Guarded.Nan(g.OutputLength);
        fixed (float* px = x, pxb = xb, pr = res, prb = rb, pw = w, pb = b)
        {
            ChannelBlocked.Pack(px, inShape, pxb);
            ChannelBlocked.Pack(pr, outShape, prb);
            float* residual = !withResidual ? null : blockedOut ? prb : pr;
            fixed (float* py = y.Array)
                Conv2dDirect.ForwardBlocked(width, g, blockedIn ? pxb : px, blockedIn, pw, pb, residual, relu, py + y.Offset, pad);
        }
        y.Check($"ForwardBlocked {g} layout {layout}");
        string what = $"ForwardBlocked {g} residual={withResidual} relu={relu} layout {layout}";
        if (!blockedOut)
        {
            Close.Assert(expected, y, Tolerance(cin), Tolerance(cin), what);
            return;
        }
        var actual = new float[expected.Length];
        var ys = y.Span;
        for (int n = 0; n < batch; n++)
        for (int c = 0; c < outShape.Blocks * v; c++)
        for (int hp = 0; hp < outShape.PaddedHeight; hp++)
        for (int wp = 0; wp < outShape.PaddedWidth; wp++)
        {
            float value = ys[(int)(n * outShape.ImageStride + (c / v) * outShape.BlockStride + hp * outShape.RowPitch + wp * v + c % v)];
            int h = hp - pad, ww = wp - pad;
            bool inside = c < cout && (uint)h < (uint)g.OutHeight && (uint)ww < (uint)g.OutWidth;
            if (inside) actual[((n * cout + c) * g.OutHeight + h) * g.OutWidth + ww] = value;
            else Assert.True(value == 0f, $"{what}: border / missing channel {c} of image {n} at ({hp}, {wp}) is {value}, not 0");
        }
        Close.Assert(expected, actual, Tolerance(cin), Tolerance(cin), what);
    }

    private static double Tolerance(int cin) => 1e-5 * Math.Sqrt(cin * 9 + 1) * 4;

    /// <summary>The in-place epilogue equals its plain twin exactly (same additions in the same order) on random shapes: V 8 and 16, channels not a multiple of V, borders 0–2, any row range, each operand present or not; nothing outside the rows changes.</summary>
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public unsafe void EpilogueRowsInPlaceMatchesItsTwin(int V)
    {
        var r = new Generator((ulong)(977 * V));
        for (int trial = 0; trial < 60; trial++)
        {
            int channels = 1 + r.NextInt(3 * V), height = 1 + r.NextInt(9), width = 1 + r.NextInt(13), pad = r.NextInt(3);
            var s = new BlockedShape(1, channels, height, width, V, pad, pad);
            int cb = r.NextInt(s.Blocks), h0 = r.NextInt(height), h1 = h0 + 1 + r.NextInt(height - h0);
            bool withBias = r.NextInt(4) != 0, withResidual = r.NextInt(2) == 0, relu = r.NextInt(3) != 0;
            var start = Close.RandomArray((int)s.Length, r);
            var bias = Close.RandomArray(channels, r);
            var residual = Close.RandomArray((int)s.Length, r);
            var fast = Guarded.Of(start);
            var plain = Guarded.Of(start);
            long corner = cb * s.BlockStride + pad * s.RowPitch + (long)pad * V;
            fixed (float* pf = fast.Array, pp = plain.Array, pb = bias, pr = residual)
            {
                float* b = withBias ? pb : null, res = withResidual ? pr + corner : null;
                ChannelBlocked.EpilogueRowsInPlace(pf + fast.Offset + corner, s, cb, h0, h1, b, res, relu);
                ChannelBlocked.EpilogueRowsInPlaceReference(pp + plain.Offset + corner, s, cb, h0, h1, b, res, relu);
            }
            string what = $"EpilogueRowsInPlace V={V} {s} cb={cb} rows [{h0}, {h1}) bias={withBias} residual={withResidual} relu={relu}";
            Guarded.CheckAll(what, fast, plain);
            for (int i = 0; i < start.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(fast[i]) == BitConverter.SingleToInt32Bits(plain[i]), $"{what}: element {i} is {fast[i]}, the twin's {plain[i]}");
            // The twin is the spec; check it touched exactly the rows asked for.
            for (int i = 0; i < start.Length; i++)
            {
                long inBlock = i - cb * s.BlockStride;
                bool mine = inBlock >= 0 && inBlock < s.BlockStride && inBlock / s.RowPitch - pad is var h && h >= h0 && h < h1
                    && inBlock % s.RowPitch / V - pad is var x && x >= 0 && x < width;
                if (!mine) Assert.True(plain[i] == start[i], $"{what}: element {i} outside the rows changed");
            }
        }
    }
}
