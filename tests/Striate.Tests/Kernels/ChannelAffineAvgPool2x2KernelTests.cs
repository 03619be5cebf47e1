using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The channel affine (+ ReLU) fused with the 2×2/2 average pool after it (DenseNet's transitions at inference) against
/// its plain twin, on every vector width (16, 8, 4 lanes) and the scalar loop, with odd sizes (a right column or bottom
/// row in no window) and rows narrower than a vector; and exactly equal to the two kernels it replaces run one after
/// the other.
/// </summary>
public sealed class ChannelAffineAvgPool2x2KernelTests
{
    private static IEnumerable<(int N, int C, int H, int W, bool Relu)> Shapes(ulong seed)
    {
        // DenseNet-121's three transitions at batch 1 (channels cut to keep the test short), then random sizes.
        yield return (1, 8, 56, 56, true);
        yield return (1, 8, 28, 28, true);
        yield return (1, 8, 14, 14, true);
        var r = new Generator(seed);
        for (int i = 0; i < 80; i++) yield return (1 + r.NextInt(2), 1 + r.NextInt(5), 2 + r.NextInt(30), 2 + r.NextInt(70), r.NextInt(2) == 1);
    }

    [Theory, MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))]
    public void MatchesTheReferenceOnEveryWidth(int lanes)
    {
        VectorLanes.SkipUnlessAccelerated(lanes);
        var gen = new Generator(71);
        foreach (var (n, c, h, w, relu) in Shapes(72))
        {
            var x = Close.RandomArray(n * c * h * w, gen);
            var scale = Close.RandomArray(c, gen);
            var shift = Close.RandomArray(c, gen);
            var expected = new float[n * c * (h / 2) * (w / 2)];
            ChannelAffineReference.ForwardAvgPool2x2(n, c, h, w, x, scale, shift, relu, expected);
            var actual = Guarded.Nan(expected.Length); // an output the kernel skips cannot pass
            ChannelAffine.ForwardAvgPool2x2(n, c, h, w, x, scale, shift, relu, actual, lanes);
            Close.Assert(expected, actual, 1e-5, 1e-6, $"[{n}, {c}, {h}, {w}] relu={relu}, {lanes} lanes");
        }
    }

    [Theory, MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))]
    public void EqualsTheAffineThenThePoolExactly(int lanes)
    {
        VectorLanes.SkipUnlessAccelerated(lanes);
        var gen = new Generator(73);
        foreach (var (n, c, h, w, relu) in Shapes(74))
        {
            var x = Close.RandomArray(n * c * h * w, gen);
            var scale = Close.RandomArray(c, gen);
            var shift = Close.RandomArray(c, gen);
            var normalized = new float[x.Length];
            ChannelAffine.Forward(n, c, h * w, x, scale, shift, relu, normalized);
            var g = new Pool2dGeometry(n * c, h, w, h / 2, w / 2, 2, 2, 2, 2, 0, 0);
            var expected = new float[n * c * (h / 2) * (w / 2)];
            Pooling.AvgPool2dForward(g, countIncludePad: true, divisorOverride: 0, normalized, expected);
            var actual = Guarded.Zeros(expected.Length);
            ChannelAffine.ForwardAvgPool2x2(n, c, h, w, x, scale, shift, relu, actual, lanes);
            Close.Assert(expected, actual, 0, 0, $"[{n}, {c}, {h}, {w}] relu={relu}, {lanes} lanes");
        }
    }

    [Fact]
    public void WrongLengthsAreRefusedNamingTheShapes()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            ChannelAffine.ForwardAvgPool2x2(1, 2, 4, 4, new float[32], new float[2], new float[2], true, new float[6]));
        Assert.Contains("[1, 2, 2, 2]", e.Message);
    }
}
