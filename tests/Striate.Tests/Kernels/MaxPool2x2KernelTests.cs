using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The vectorized 2×2/stride-2 max pooling (forward with indices, and the backward that writes each window once)
/// against the reference twin, on every vector width (16, 8, 4 lanes) and the scalar loop, with odd sizes (a right
/// column or bottom row outside every window), rows narrower than a vector, ReLU-like ties and NaNs.
/// </summary>
public class MaxPool2x2KernelTests
{
    private static IEnumerable<Pool2dGeometry> Geometries(ulong seed)
    {
        // LeNet's two poolings first, then random sizes (odd ones leave a column or row outside every window).
        yield return new Pool2dGeometry(12, 28, 28, 14, 14, 2, 2, 2, 2, 0, 0);
        yield return new Pool2dGeometry(32, 10, 10, 5, 5, 2, 2, 2, 2, 0, 0);
        var r = new Generator(seed);
        for (int i = 0; i < 120; i++)
        {
            int h = 2 + r.NextInt(40), w = 2 + r.NextInt(70);
            yield return new Pool2dGeometry(1 + r.NextInt(6), h, w, h / 2, w / 2, 2, 2, 2, 2, 0, 0);
        }
    }

    [Theory, MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))]
    public void ForwardMatchesReferenceOnEveryWidth(int lanes)
    {
        VectorLanes.SkipUnlessAccelerated(lanes);
        var gen = new Generator(5);
        int trial = 0;
        foreach (var g in Geometries(50))
        {
            var x = Input(g, trial++, gen);
            MaxPoolInputs.CheckForward(g, x, $"forward {g}, {lanes} lanes", (y, idx) => Pooling.MaxPlanes2x2Vector(g, x, y, idx, 0, g.Planes, lanes));
        }
    }

    [Theory, MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))]
    public void BackwardMatchesReferenceOnEveryWidth(int lanes)
    {
        VectorLanes.SkipUnlessAccelerated(lanes);
        var gen = new Generator(6);
        int trial = 0;
        foreach (var g in Geometries(60))
        {
            var x = Input(g, trial++, gen);
            int outLen = g.Planes * g.OutPlane;
            var y = new float[outLen];
            var idx = new int[outLen];
            PoolingReference.MaxPool2dForward(g, x, y, idx);
            var dy = Close.RandomArray(outLen, gen);
            var (dx, dxRef) = (Guarded.Nan(x.Length), new float[x.Length]); // every element must be written, including those outside every window
            Pooling.MaxBackwardPlanes2x2(g, dy, idx, dx, 0, g.Planes, lanes);
            PoolingReference.MaxPool2dBackward(g.Planes, g.InPlane, g.OutPlane, dy, idx, dxRef);
            Close.Assert(dxRef, dx, 0, 0, $"backward {g}, {lanes} lanes");
        }
    }

    [Fact]
    public void PublicEntryPointsMatchReferenceOnSplitPlanes()
    {
        // Enough planes for the work to be split over the kernel threads.
        var g = new Pool2dGeometry(97, 28, 28, 14, 14, 2, 2, 2, 2, 0, 0);
        var gen = new Generator(7);
        var x = Input(g, 1, gen);
        var (idx, idxRef) = MaxPoolInputs.CheckForward(g, x, $"forward {g}", (y, i) => Pooling.MaxPool2dForward(g, x, y, i));
        var dy = Close.RandomArray(g.Planes * g.OutPlane, gen);
        var (dx, dxRef) = (Guarded.Zeros(x.Length), new float[x.Length]);
        Pooling.MaxPool2dBackward(g, dy, idx, dx);
        PoolingReference.MaxPool2dBackward(g.Planes, g.InPlane, g.OutPlane, dy, idxRef, dxRef);
        Close.Assert(dxRef, dx, 0, 0, "backward");
    }

    // A third of the inputs look like ReLU output (many tied zeros), a third also hold NaNs.
    private static float[] Input(Pool2dGeometry g, int trial, Generator gen)
    {
        var x = Close.RandomArray(g.Planes * g.InPlane, gen);
        if (trial % 3 != 0) for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f);
        if (trial % 3 == 2) for (int i = 0; i < x.Length; i += 5) x[i] = float.NaN;
        return x;
    }
}
