using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class PoolingKernelTests
{
    private static IEnumerable<Pool2dGeometry> RandomGeometries(int count, ulong seed)
    {
        var g = new Generator(seed);
        int made = 0;
        while (made < count)
        {
            int kh = 1 + g.NextInt(5), kw = 1 + g.NextInt(5);
            int sh = 1 + g.NextInt(3), sw = 1 + g.NextInt(3);
            int ph = g.NextInt(kh / 2 + 1), pw = g.NextInt(kw / 2 + 1);
            int h = 1 + g.NextInt(17), w = 1 + g.NextInt(17);
            bool ceil = g.NextInt(2) == 1;
            int oh = Pool2dGeometry.OutputSize(h, kh, sh, ph, ceil), ow = Pool2dGeometry.OutputSize(w, kw, sw, pw, ceil);
            if (oh < 1 || ow < 1) continue;
            made++;
            yield return new Pool2dGeometry(1 + g.NextInt(5), h, w, oh, ow, kh, kw, sh, sw, ph, pw);
        }
    }

    [Fact]
    public void MaxPoolMatchesReferenceOnRandomGeometries()
    {
        var gen = new Generator(1);
        int trial = 0;
        foreach (var geo in RandomGeometries(300, 11))
        {
            var x = Close.RandomArray(geo.Planes * geo.InPlane, gen);
            // A third of the trials look like ReLU output (many tied zeros), a third also hold NaNs.
            if (trial % 3 != 0) for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f);
            if (trial % 3 == 2) for (int i = 0; i < x.Length; i += 7) x[i] = float.NaN;
            trial++;
            int outLen = geo.Planes * geo.OutPlane;
            var (idx, idxRef) = MaxPoolInputs.CheckForward(geo, x, $"max forward {geo}", (y, i) => Pooling.MaxPool2dForward(geo, x, y, i), out var yRef);
            var dy = Close.RandomArray(outLen, gen);
            var (dx, dxRef) = (Guarded.Zeros(x.Length), new float[x.Length]);
            Pooling.MaxPool2dBackward(geo.Planes, geo.InPlane, geo.OutPlane, dy, idx, dx);
            PoolingReference.MaxPool2dBackward(geo.Planes, geo.InPlane, geo.OutPlane, dy, idxRef, dxRef);
            Close.Assert(dxRef, dx, 1e-6, 1e-6, $"max backward {geo}");
            var yNoIndex = Guarded.Nan(outLen);
            Pooling.MaxPool2dForward(geo, x, yNoIndex, Span<int>.Empty);
            Close.Assert(yRef, yNoIndex, 0, 0, $"max forward without indices {geo}");
        }
    }

    [Fact]
    public void AvgPoolMatchesReferenceOnRandomGeometriesForEveryDivisorRule()
    {
        var gen = new Generator(2);
        foreach (var geo in RandomGeometries(150, 12))
            foreach (var (include, divisor) in new[] { (true, 0), (false, 0), (true, 7) })
            {
                var x = Close.RandomArray(geo.Planes * geo.InPlane, gen);
                int outLen = geo.Planes * geo.OutPlane;
                var (y, yRef) = (Guarded.Nan(outLen), new float[outLen]);
                Pooling.AvgPool2dForward(geo, include, divisor, x, y);
                PoolingReference.AvgPool2dForward(geo, include, divisor, x, yRef);
                Close.Assert(yRef, y, 1e-5, 1e-6, $"avg forward {geo} include={include} divisor={divisor}");
                var dy = Close.RandomArray(outLen, gen);
                var (dx, dxRef) = (Guarded.Zeros(x.Length), new float[x.Length]);
                Pooling.AvgPool2dBackward(geo, include, divisor, dy, dx);
                PoolingReference.AvgPool2dBackward(geo, include, divisor, dy, dxRef);
                Close.Assert(dxRef, dx, 1e-5, 1e-6, $"avg backward {geo} include={include} divisor={divisor}");
            }
    }

    [Theory]
    [InlineData(9, 3, 2, 0, false, 4)]
    [InlineData(9, 3, 2, 0, true, 4)]
    [InlineData(10, 3, 2, 0, true, 5)]   // ceil adds a partial last window starting inside the input
    [InlineData(5, 2, 2, 1, true, 3)]    // ceil's extra window would start in the right padding: dropped
    [InlineData(6, 2, 2, 1, false, 4)]
    [InlineData(2, 3, 1, 0, false, 0)]   // kernel larger than input: no window
    public void OutputSizeFollowsPyTorchRule(int input, int kernel, int stride, int pad, bool ceil, int expected) =>
        Assert.Equal(expected, Pool2dGeometry.OutputSize(input, kernel, stride, pad, ceil));

    [Fact]
    public void MaxPool2x2Stride2FastPathMatchesReference()
    {
        // The direct 2×2/2 path (no padding, windows inside): odd and even sizes, floor and ceil mode (ceil with an
        // odd size leaves the last window half outside, which must take the general path), ties, NaNs, many planes.
        var gen = new Generator(21);
        int trial = 0;
        foreach (int planes in new[] { 1, 3, 96 * 6 })
        foreach (int h in new[] { 2, 5, 10, 28 })
        foreach (int w in new[] { 2, 7, 14, 33 })
        foreach (bool ceil in new[] { false, true })
        {
            int oh = Pool2dGeometry.OutputSize(h, 2, 2, 0, ceil), ow = Pool2dGeometry.OutputSize(w, 2, 2, 0, ceil);
            var geo = new Pool2dGeometry(planes, h, w, oh, ow, 2, 2, 2, 2, 0, 0);
            var x = Close.RandomArray(geo.Planes * geo.InPlane, gen);
            if (trial % 3 != 0) for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f);
            if (trial % 3 == 2) for (int i = 0; i < x.Length; i += 5) x[i] = float.NaN;
            trial++;
            int outLen = geo.Planes * geo.OutPlane;
            MaxPoolInputs.CheckForward(geo, x, $"max forward {geo}", (y, i) => Pooling.MaxPool2dForward(geo, x, y, i), out var yRef);
            var yNoIndex = Guarded.Nan(outLen);
            Pooling.MaxPool2dForward(geo, x, yNoIndex, Span<int>.Empty);
            Close.Assert(yRef, yNoIndex, 0, 0, $"max forward without indices {geo}");
        }
    }

    [Theory]
    [InlineData(28, 28, 3, 1, 1, true)]   // GoogLeNet's inception branch pool: the vectorized stride-1 pass
    [InlineData(57, 61, 3, 1, 1, false)]  // rows that leave a scalar tail after the vectors
    [InlineData(112, 112, 3, 2, 1, false)] // ResNet's stem pool
    [InlineData(55, 55, 3, 2, 0, true)]   // GoogLeNet's and AlexNet's stride-2 pools
    [InlineData(20, 9, 5, 1, 2, false)]
    [InlineData(14, 14, 3, 1, 1, true)]   // GoogLeNet's 14×14 and 7×7 branch pools: whole-plane passes
    [InlineData(7, 7, 3, 1, 1, true)]
    [InlineData(2, 1, 3, 1, 1, false)]    // planes narrower than the window
    [InlineData(9, 11, 5, 1, 2, false)]
    [InlineData(224, 224, 2, 2, 0, false)] // VGG's 2×2/2 pools: even and odd columns
    [InlineData(13, 37, 2, 2, 0, true)]   // odd sizes: ceil's last window is one column
    [InlineData(30, 45, 4, 2, 1, false)]
    [InlineData(3, 2, 3, 2, 1, true)]     // rows shorter than the window
    public void MaxPoolWithoutIndicesMatchesReferenceOnWideRows(int h, int w, int k, int stride, int pad, bool ceil)
    {
        var geo = new Pool2dGeometry(3, h, w, Pool2dGeometry.OutputSize(h, k, stride, pad, ceil), Pool2dGeometry.OutputSize(w, k, stride, pad, ceil),
            k, k, stride, stride, pad, pad);
        var gen = new Generator((ulong)(h * 100 + w));
        var x = Close.RandomArray(geo.Planes * geo.InPlane, gen);
        for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f); // ReLU output: ties
        for (int i = 5; i < x.Length; i += 97) x[i] = float.NaN;
        int outLen = geo.Planes * geo.OutPlane;
        var (yRef, y) = (new float[outLen], Guarded.Nan(outLen));
        y.Span.Fill(-7f);
        PoolingReference.MaxPool2dForward(geo, x, yRef, new int[outLen]);
        Pooling.MaxPool2dForward(geo, x, y, Span<int>.Empty);
        Close.Assert(yRef, y, 0, 0, $"max forward without indices {geo}");
    }

    [Fact]
    public void MaxPoolPicksFirstMaximumOnTiesAndPropagatesNaN()
    {
        var geo = new Pool2dGeometry(1, 2, 4, 1, 2, 2, 2, 2, 2, 0, 0);
        float[] x = [5, 5, 1, float.NaN, 5, 5, 9, 2];
        float[] y = new float[2];
        int[] idx = new int[2];
        Pooling.MaxPool2dForward(geo, x, y, idx);
        Assert.Equal(5f, y[0]);
        Assert.Equal(0, idx[0]);
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(3, idx[1]);
    }

    [Fact]
    public void LargeInputsSplitAcrossThreadsMatchReference()
    {
        // 40 planes of 33x31 pooled 3x3/2: enough work for the parallel path; odd plane count splits unevenly.
        var geo = new Pool2dGeometry(41, 33, 31, 17, 16, 3, 3, 2, 2, 1, 1);
        var gen = new Generator(21);
        var x = Close.RandomArray(geo.Planes * geo.InPlane, gen);
        int outLen = geo.Planes * geo.OutPlane;
        var (idx, idxRef) = MaxPoolInputs.CheckForward(geo, x, $"max forward {geo}", (o, i) => Pooling.MaxPool2dForward(geo, x, o, i));
        var dy = Close.RandomArray(outLen, gen);
        var (dx, dxRef) = (Guarded.Zeros(x.Length), new float[x.Length]);
        Pooling.MaxPool2dBackward(geo.Planes, geo.InPlane, geo.OutPlane, dy, idx, dx);
        PoolingReference.MaxPool2dBackward(geo.Planes, geo.InPlane, geo.OutPlane, dy, idxRef, dxRef);
        Close.Assert(dxRef, dx, 1e-6, 1e-6, "max backward");
        var (y, yRef) = (Guarded.Nan(outLen), new float[outLen]);
        Pooling.AvgPool2dForward(geo, false, 0, x, y);
        PoolingReference.AvgPool2dForward(geo, false, 0, x, yRef);
        Close.Assert(yRef, y, 1e-5, 1e-6, "avg forward");
        Pooling.AvgPool2dBackward(geo, false, 0, dy, dx);
        PoolingReference.AvgPool2dBackward(geo, false, 0, dy, dxRef);
        Close.Assert(dxRef, dx, 1e-5, 1e-6, "avg backward");
    }
}
