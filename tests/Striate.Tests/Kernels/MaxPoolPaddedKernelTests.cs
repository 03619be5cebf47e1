using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The max pooling on −∞-padded rows, values only (inference) and with indices (training), against the reference twin, on every vector width (16,
/// 8, 4 lanes) and the scalar loop: random windows, strides (1, 2, and 3, which reads columns one output at a time),
/// padding up to half the window, ceil mode (a last window past the input), sizes from 1 (narrower than every vector:
/// scalar) to 70, ReLU-like ties and NaNs; then the pools of GoogLeNet, AlexNet, ResNet and VGG.
/// </summary>
public class MaxPoolPaddedKernelTests
{
    private static IEnumerable<Pool2dGeometry> Geometries(ulong seed)
    {
        foreach (var (c, size, k, s, p, ceil) in ModelPools)
        {
            int o = Pool2dGeometry.OutputSize(size, k, s, p, ceil);
            yield return new Pool2dGeometry(c, size, size, o, o, k, k, s, s, p, p);
        }
        var r = new Generator(seed);
        for (int made = 0; made < 250;)
        {
            int kh = 1 + r.NextInt(5), kw = 1 + r.NextInt(5);
            int sh = 1 + r.NextInt(3), sw = 1 + r.NextInt(3);
            int ph = r.NextInt(kh / 2 + 1), pw = r.NextInt(kw / 2 + 1);
            int h = 1 + r.NextInt(40), w = 1 + r.NextInt(70);
            bool ceil = r.NextInt(2) == 1;
            int oh = Pool2dGeometry.OutputSize(h, kh, sh, ph, ceil), ow = Pool2dGeometry.OutputSize(w, kw, sw, pw, ceil);
            if (oh < 1 || ow < 1) continue;
            made++;
            yield return new Pool2dGeometry(1 + r.NextInt(4), h, w, oh, ow, kh, kw, sh, sw, ph, pw);
        }
    }

    // (channels cut to a few, size, kernel, stride, padding, ceil mode)
    private static readonly (int C, int Size, int K, int S, int P, bool Ceil)[] ModelPools =
    [
        (2, 112, 3, 2, 0, true), (2, 56, 3, 2, 0, true), (2, 28, 3, 2, 0, true), (2, 28, 3, 1, 1, true), (2, 14, 3, 1, 1, true),
        (2, 14, 2, 2, 0, true), (2, 7, 3, 1, 1, true),                                          // GoogLeNet
        (2, 55, 3, 2, 0, false), (2, 27, 3, 2, 0, false), (2, 13, 3, 2, 0, false),             // AlexNet
        (2, 112, 3, 2, 1, false),                                                               // ResNet
        (2, 224, 2, 2, 0, false), (2, 28, 2, 2, 0, false), (2, 14, 2, 2, 0, false),             // VGG
    ];

    [Theory, MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))]
    public void ValuesMatchReferenceOnEveryWidth(int lanes)
    {
        VectorLanes.SkipUnlessAccelerated(lanes);
        var gen = new Generator(8);
        int trial = 0;
        foreach (var g in Geometries(80))
        {
            var x = Input(g, trial++, gen);
            int outLen = g.Planes * g.OutPlane;
            var (y, yRef) = (Guarded.Nan(outLen), new float[outLen]); // NaN inputs aside, an output the kernel skips stays NaN and fails
            PoolingReference.MaxPool2dForward(g, x, yRef, new int[outLen]);
            Pooling.MaxPlanesPadded(g, x, y, 0, g.Planes, lanes);
            Close.Assert(yRef, y, 0, 0, $"max pool values {g}, {lanes} lanes");
        }
    }

    [Theory, MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))]
    public void ValuesAndIndicesMatchReferenceOnEveryWidth(int lanes)
    {
        VectorLanes.SkipUnlessAccelerated(lanes);
        var gen = new Generator(10);
        int trial = 0;
        foreach (var g in Geometries(90))
        {
            var x = Input(g, trial++, gen);
            MaxPoolInputs.CheckForward(g, x, $"max pool values {g}, {lanes} lanes", (y, idx) => Pooling.MaxPlanesPaddedIndices(g, x, y, idx, 0, g.Planes, lanes));
        }
    }

    [Theory, MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))]
    public void RealNegativeInfinityWinsOverThePadding(int lanes)
    {
        // The padding holds −∞ too: a window of real −∞ must name its first real element, never a padding column.
        VectorLanes.SkipUnlessAccelerated(lanes);
        var g = new Pool2dGeometry(1, 5, 37, 3, 19, 3, 3, 2, 2, 1, 1);
        var x = new float[g.InPlane];
        Array.Fill(x, float.NegativeInfinity);
        x[2 * 37 + 7] = 4;
        MaxPoolInputs.CheckForward(g, x, $"−∞ input {g}, {lanes} lanes", (y, idx) => Pooling.MaxPlanesPaddedIndices(g, x, y, idx, 0, 1, lanes));
    }

    [Fact]
    public void AllNegativeInfinityWindowsGiveNegativeInfinity()
    {
        // −∞ is the padding's value: a window of real −∞ (and one next to the padding) must still give −∞, not garbage.
        var g = new Pool2dGeometry(1, 5, 19, 3, 10, 3, 3, 2, 2, 1, 1);
        var x = new float[g.InPlane];
        Array.Fill(x, float.NegativeInfinity);
        x[2 * 19 + 7] = 4;
        var (y, yRef) = (Guarded.Zeros(g.OutPlane), new float[g.OutPlane]);
        PoolingReference.MaxPool2dForward(g, x, yRef, new int[g.OutPlane]);
        Pooling.MaxPlanesPadded(g, x, y, 0, 1, 16);
        Close.Assert(yRef, y, 0, 0, "−∞ input");
    }

    [Fact]
    public void PublicEntryPointSplitsPlanesOverThreadsAndMatchesReference()
    {
        // GoogLeNet's 480-plane 3×3/2 ceil-mode pool: enough work to split over the kernel threads.
        var g = new Pool2dGeometry(480, 28, 28, 14, 14, 3, 3, 2, 2, 0, 0);
        var gen = new Generator(9);
        var x = Input(g, 1, gen);
        int outLen = g.Planes * g.OutPlane;
        var (y, yRef) = (Guarded.Zeros(outLen), new float[outLen]);
        var (idx, idxRef) = (Guarded.Ints(outLen), new int[outLen]);
        Pooling.MaxPool2dForward(g, x, y, Span<int>.Empty);
        PoolingReference.MaxPool2dForward(g, x, yRef, idxRef);
        Close.Assert(yRef, y, 0, 0, "forward without indices");
        y.Span.Fill(float.NaN);
        Pooling.MaxPool2dForward(g, x, y, idx);
        Close.Assert(yRef, y, 0, 0, "forward with indices");
        idx.Check($"indices {g}");
        Assert.Equal(idxRef, idx.ToArray());
    }

    // A third of the inputs look like ReLU output (many tied zeros), a third also hold NaNs.
    private static float[] Input(Pool2dGeometry g, int trial, Generator gen)
    {
        var x = Close.RandomArray(g.Planes * g.InPlane, gen);
        if (trial % 3 != 0) for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f);
        if (trial % 3 == 2) for (int i = 3; i < x.Length; i += 11) x[i] = float.NaN;
        return x;
    }
}
