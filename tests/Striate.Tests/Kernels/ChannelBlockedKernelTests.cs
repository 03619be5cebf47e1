using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// ChannelBlocked.PackBlock (row-wise transposes for wide rows, runs of pixels along the flattened plane for rows
/// narrower than a vector, element by element otherwise) against its plain twin, on random shapes with padding,
/// partial last blocks and rows narrower and wider than V, for both block widths (16: AVX-512, 8: AVX2; without the
/// ISA the element-by-element path runs); ChannelBlocked.UnpackRows (transposes with the epilogue: bias, residual,
/// ReLU, clamp; 8-channel blocks transposed in registers) against its plain twin the same way.
/// </summary>
public unsafe class ChannelBlockedKernelTests
{
    public static TheoryData<int> Seeds() => new(Enumerable.Range(0, 40));

    [Theory, MemberData(nameof(Seeds))]
    public void PackBlockMatchesReference(int seed)
    {
        var r = new Generator(5100 + (ulong)seed);
        int v = seed % 2 == 0 ? 16 : 8;
        int channels = 1 + r.NextInt(3 * v), h = 1 + r.NextInt(16), w = 1 + r.NextInt(20), pad = r.NextInt(3);
        if (seed % 4 < 2) { h = 3 + r.NextInt(12); w = 3 + r.NextInt(v - 3); channels = v * (1 + r.NextInt(3)); } // narrow rows, full blocks
        var s = new BlockedShape(1, channels, h, w, v, pad, r.NextInt(2) == 0 ? pad : r.NextInt(3));
        var src = Close.RandomArray(channels * h * w, r);
        var expected = new float[s.ImageStride];
        var actual = Guarded.Nan(s.ImageStride); // PackBlock must write every element, border included
        fixed (float* ps = src, pe = expected, pa = actual.Span)
            for (int cb = 0; cb < s.Blocks; cb++)
            {
                ChannelBlocked.PackBlockReference(ps, s, cb, pe);
                ChannelBlocked.PackBlock(ps, s, cb, pa);
            }
        Close.Assert(expected, actual, 0, 0, $"PackBlock {s}");
    }

    [Theory, MemberData(nameof(Seeds))]
    public void UnpackRowsMatchesReference(int seed)
    {
        var r = new Generator(5300 + (ulong)seed);
        int v = seed % 2 == 0 ? 8 : 16;
        int channels = 1 + r.NextInt(3 * v), h = 1 + r.NextInt(12), w = 1 + r.NextInt(20);
        if (seed % 4 < 2) channels = v * (1 + r.NextInt(3)); // full blocks: the transposing paths
        var s = new BlockedShape(1, channels, h, w, v);
        int h0 = r.NextInt(h), h1 = h0 + 1 + r.NextInt(h - h0);
        bool relu = r.NextInt(2) == 0, withBias = r.NextInt(3) > 0, withResidual = r.NextInt(2) == 0;
        (float Lo, float Hi) clamp = seed % 5 == 0 ? (0f, 0.5f) : (float.NegativeInfinity, float.PositiveInfinity);
        var src = Close.RandomArray((int)s.ImageStride, r);
        var bias = Close.RandomArray(channels, r);
        var residual = Close.RandomArray(channels * h * w, r);
        var expected = new float[channels * h * w];
        var actual = Guarded.Nan(channels * h * w);
        expected.AsSpan().Fill(float.NaN); // rows outside [h0, h1) must stay untouched
        fixed (float* ps = src, pb = bias, pr = residual, pe = expected, pa = actual.Span)
            for (int cb = 0; cb < s.Blocks; cb++)
            {
                float* b = withBias ? pb : null, res = withResidual ? pr : null;
                ChannelBlocked.UnpackRowsReference(ps, s, cb, h0, h1, pe, b, res, relu, clamp.Lo, clamp.Hi);
                ChannelBlocked.UnpackRows(ps, s, cb, h0, h1, pa, b, res, relu, clamp.Lo, clamp.Hi);
            }
        Close.Assert(expected, actual, 0, 0, $"UnpackRows {s} rows [{h0}, {h1}) relu {relu} bias {withBias} residual {withResidual} clamp {clamp}");
    }
}
