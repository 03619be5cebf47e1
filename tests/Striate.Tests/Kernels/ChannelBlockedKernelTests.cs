using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// ChannelBlocked.PackBlock (row-wise transposes for wide rows, runs of pixels along the flattened plane for rows
/// narrower than a vector, element by element otherwise) against its plain twin, on random shapes with padding,
/// partial last blocks and rows narrower and wider than V, for both block widths (16: AVX-512, 8: AVX2; without the
/// ISA the element-by-element path runs).
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
        var actual = new float[s.ImageStride];
        actual.AsSpan().Fill(float.NaN); // PackBlock must write every element, border included
        fixed (float* ps = src, pe = expected, pa = actual)
            for (int cb = 0; cb < s.Blocks; cb++)
            {
                ChannelBlocked.PackBlockReference(ps, s, cb, pe);
                ChannelBlocked.PackBlock(ps, s, cb, pa);
            }
        Close.Assert(expected, actual, 0, 0, $"PackBlock {s}");
    }
}
