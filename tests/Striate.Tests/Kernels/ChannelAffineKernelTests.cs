using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>The per-channel multiply-add (folded eval batch norm) against its plain twin, out of place and in place, with and without ReLU.</summary>
public sealed class ChannelAffineKernelTests
{
    [Theory]
    [InlineData(1, 3, 7, false)]
    [InlineData(2, 5, 33, true)]
    [InlineData(1, 64, 56 * 56, true)]
    [InlineData(3, 17, 1, false)]
    [InlineData(2, 8, 16, true)]
    public void MatchesTheReferenceOnEveryElement(int n, int c, int s, bool relu)
    {
        var g = new Generator((ulong)(n * 1000 + c * 10 + s));
        var x = Close.RandomArray(n * c * s, g);
        var scale = Close.RandomArray(c, g);
        var shift = Close.RandomArray(c, g);
        var expected = new float[x.Length];
        ChannelAffineReference.Forward(n, c, s, x, scale, shift, relu, expected);

        var actual = Guarded.Nan(x.Length); // an element the kernel skips cannot pass
        ChannelAffine.Forward(n, c, s, x, scale, shift, relu, actual);
        Close.Assert(expected, actual, 1e-6, 1e-6, "out of place");

        var inPlace = Guarded.Of(x);
        ChannelAffine.Forward(n, c, s, inPlace, scale, shift, relu, inPlace);
        Close.Assert(expected, inPlace, 1e-6, 1e-6, "in place");
        if (relu) Assert.All(actual.ToArray(), v => Assert.True(v >= 0));
    }

    [Theory]
    [InlineData(1, 3, 7, 3, 0, false)]
    [InlineData(2, 5, 33, 12, 7, true)]
    [InlineData(3, 32, 49, 96, 64, true)]
    [InlineData(2, 4, 17, 9, 0, true)]
    public void WritesIntoItsChannelSliceOfAWiderOutputAndNothingElse(int n, int c, int s, int yChannels, int offset, bool relu)
    {
        var g = new Generator((ulong)(n * 7919 + c * 31 + s + yChannels));
        var x = Close.RandomArray(n * c * s, g);
        var scale = Close.RandomArray(c, g);
        var shift = Close.RandomArray(c, g);
        var expected = new float[n * yChannels * s];
        Array.Fill(expected, 42f);
        ChannelAffineReference.ForwardInto(n, c, s, x, scale, shift, relu, expected, yChannels, offset);

        var actual = new float[expected.Length];
        Array.Fill(actual, 42f); // channels outside the slice must keep this
        ChannelAffine.ForwardInto(n, c, s, x, scale, shift, relu, actual, yChannels, offset);
        Close.Assert(expected, actual, 1e-6, 1e-6, "into a slice");
        for (int i = 0; i < n; i++)
        for (int ch = 0; ch < yChannels; ch++)
            if (ch < offset || ch >= offset + c)
                Assert.All(actual.AsSpan((i * yChannels + ch) * s, s).ToArray(), v => Assert.Equal(42f, v));
    }

    [Fact]
    public void ASliceOutsideTheOutputIsRefusedNamingBoth()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            ChannelAffine.ForwardInto(1, 4, 2, new float[8], new float[4], new float[4], true, new float[12], 6, 3));
        Assert.Contains("[3, 7)", e.Message);
        Assert.Contains("[1, 6, 2]", e.Message);
    }

    [Fact]
    public void WrongLengthsAreRefusedNamingTheShape()
    {
        var e = Assert.Throws<ArgumentException>(() => ChannelAffine.Forward(1, 2, 3, new float[6], new float[3], new float[2], false, new float[6]));
        Assert.Contains("[1, 2, 3]", e.Message);
    }
}
