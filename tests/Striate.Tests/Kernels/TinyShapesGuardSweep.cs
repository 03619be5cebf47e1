using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// Tiny planes and rows shorter than one vector, where a whole-vector store runs past a buffer: the vector depthwise
/// kernels, pooling, channel affine and every forced convolution algorithm, all into guarded outputs.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class TinyShapesGuardSweep
{
    [Fact]
    public void DepthwiseVectorOnTinyPlanes()
    {
        Assert.SkipUnless(DepthwiseConv2d.VectorWidth() > 0, "the vector depthwise path needs AVX-512 or AVX2 + FMA (hardware intrinsics are off or absent)");
        ulong seed = 1;
        for (int n = 1; n <= 2; n++)
        for (int c = 1; c <= 3; c++)
        for (int mult = 1; mult <= 2; mult++)
        for (int stride = 1; stride <= 2; stride++)
        for (int h = 1; h <= 11; h++)
        for (int w = 1; w <= 19; w++)
        {
            var g = new Conv2dGeometry(n, c, h, w, c * mult, 3, 3, stride, stride, 1, 1, 1, 1, c);
            foreach (bool rows in new[] { true, false })
            using (Switches.Set(() => DepthwiseConv2d.Stride2RowsEnabled, rows))
                DepthwiseConv2dKernelTests.CheckForward(g, DepthwiseAlgorithm.Vector3x3, seed, $"rows {rows}");
            DepthwiseConv2dKernelTests.CheckGradients(g, DepthwiseAlgorithm.Vector3x3, seed++);
        }
    }

    [Fact]
    public void PoolingOnTinyPlanes()
    {
        var gen = new Generator(9);
        foreach (int k in new[] { 2, 3 })
        foreach (int s in new[] { 1, 2 })
        foreach (int p in new[] { 0, 1 })
        foreach (bool ceil in new[] { false, true })
        foreach (int planes in new[] { 1, 3 })
        for (int h = 1; h <= 12; h++)
        for (int w = 1; w <= 19; w++)
        {
            if (p > k / 2 || h + 2 * p < k || w + 2 * p < k) continue;
            int oh = Pool2dGeometry.OutputSize(h, k, s, p, ceil), ow = Pool2dGeometry.OutputSize(w, k, s, p, ceil);
            if (oh < 1 || ow < 1) continue;
            var geo = new Pool2dGeometry(planes, h, w, oh, ow, k, k, s, s, p, p);
            var x = Close.RandomArray(planes * h * w, gen);
            int outLen = planes * oh * ow;
            var (yRef, idxRef) = (new float[outLen], new int[outLen]);
            PoolingReference.MaxPool2dForward(geo, x, yRef, idxRef);
            var y = Guarded.Nan(outLen);
            var idx = Guarded.Ints(outLen);
            Pooling.MaxPool2dForward(geo, x, y, idx);
            Close.Assert(yRef, y, 0, 0, $"max {geo}");
            idx.Check($"max idx {geo}");
            var y2 = Guarded.Nan(outLen);
            Pooling.MaxPool2dForward(geo, x, y2, Span<int>.Empty);
            Close.Assert(yRef, y2, 0, 0, $"max noidx {geo}");
            var dy = Close.RandomArray(outLen, gen);
            var dx = Guarded.Nan(x.Length);
            var dxRef = new float[x.Length];
            Pooling.MaxPool2dBackward(geo.Planes, geo.InPlane, geo.OutPlane, dy, idx, dx);
            PoolingReference.MaxPool2dBackward(geo.Planes, geo.InPlane, geo.OutPlane, dy, idxRef, dxRef);
            Close.Assert(dxRef, dx, 1e-6, 1e-6, $"max bwd {geo}");
            var a = Guarded.Nan(outLen);
            var aRef = new float[outLen];
            Pooling.AvgPool2dForward(geo, true, 0, x, a);
            PoolingReference.AvgPool2dForward(geo, true, 0, x, aRef);
            Close.Assert(aRef, a, 1e-5, 1e-6, $"avg {geo}");
            var adx = Guarded.Nan(x.Length);
            var adxRef = new float[x.Length];
            Pooling.AvgPool2dBackward(geo, true, 0, dy, adx);
            PoolingReference.AvgPool2dBackward(geo, true, 0, dy, adxRef);
            Close.Assert(adxRef, adx, 1e-5, 1e-6, $"avg bwd {geo}");
        }
    }

    [Fact]
    public void ChannelAffinePoolOnTinyPlanes()
    {
        var gen = new Generator(10);
        for (int n = 1; n <= 2; n++)
        for (int c = 1; c <= 3; c++)
        for (int h = 2; h <= 9; h++)
        for (int w = 2; w <= 19; w++)
        foreach (bool relu in new[] { false, true })
        {
            var x = Close.RandomArray(n * c * h * w, gen);
            var scale = Close.RandomArray(c, gen);
            var shift = Close.RandomArray(c, gen);
            var expected = new float[n * c * (h / 2) * (w / 2)];
            ChannelAffineReference.ForwardAvgPool2x2(n, c, h, w, x, scale, shift, relu, expected);
            var y = Guarded.Nan(expected.Length);
            ChannelAffine.ForwardAvgPool2x2(n, c, h, w, x, scale, shift, relu, y);
            Close.Assert(expected, y, 1e-5, 1e-6, $"affine pool {n} {c} {h} {w}");
            var z = Guarded.Nan(x.Length);
            var ze = new float[x.Length];
            ChannelAffineReference.Forward(n, c, h * w, x, scale, shift, relu, ze);
            ChannelAffine.Forward(n, c, h * w, x, scale, shift, relu, z);
            Close.Assert(ze, z, 1e-6, 1e-6, $"affine {n} {c} {h} {w}");
        }
    }

    /// <summary>The algorithms the sweep forces: all but Depthwise, whose tiny planes have a sweep of their own above.</summary>
    public static TheoryData<Conv2dAlgorithm> SweptAlgorithms() => new(Enum.GetValues<Conv2dAlgorithm>().Where(a => a != Conv2dAlgorithm.Depthwise));

    /// <summary>
    /// One algorithm, forced on every tiny shape it says it can run (<see cref="Conv2dKernels.CanRun"/>), forward and
    /// gradients against the reference into guarded outputs. Any exception fails, and the algorithm must have run on a
    /// fair share of the 300 shapes, so one that wrongly refuses every shape cannot pass.
    /// </summary>
    [Theory, MemberData(nameof(SweptAlgorithms))]
    public void ConvolutionAlgorithmOnTinyShapes(Conv2dAlgorithm algorithm)
    {
        var width = Conv2dDirect.BestWidth;
        Assert.SkipWhen(algorithm == Conv2dAlgorithm.Direct && !Conv2dDirect.IsSupported(width),
            "the direct kernel needs AVX-512 or AVX2 (hardware intrinsics are off or absent)");
        Assert.SkipWhen(algorithm == Conv2dAlgorithm.SmallDirect && Conv2dFlat.BestWidth == GemmPath.Scalar,
            "the flat small-direct kernel needs 128-bit vectors or wider (hardware intrinsics are off or absent)");
        var r = new Generator(11);
        int ran = 0, shapes = 300;
        for (int t = 0; t < shapes; t++)
        {
            int k = r.NextInt(2) == 0 ? 1 : 3, s = 1 + r.NextInt(2), p = k == 1 ? 0 : r.NextInt(2);
            int cin = new[] { 1, 2, 3, 8 }[r.NextInt(4)], cout = new[] { 1, 3, 8, 9, 16 }[r.NextInt(5)];
            int h = Math.Max(k - 2 * p, 1) + r.NextInt(8), w = Math.Max(k - 2 * p, 1) + r.NextInt(12);
            var g = new Conv2dGeometry(1 + r.NextInt(2), cin, h, w, cout, k, k, s, s, p, p);
            if (!Conv2dKernels.CanRun(g, algorithm, width)) continue;
            Conv2dKernelsTests.CheckAgainstReference(g, (ulong)t, 1e-4, 1e-3, algorithm);
            ran++;
        }
        Assert.True(ran >= MinShapes[algorithm], $"{algorithm} ran on {ran} of {shapes} tiny shapes, expected at least {MinShapes[algorithm]}");
    }

    // Of the sweep's 300 shapes (all groups 1, stride ≤ 2) Direct, Im2ColGemm and BatchedIm2Col run all 300 today,
    // SmallDirect the 163 of stride 1, Pointwise the 80 that are 1×1 of stride 1: the floors are half of that.
    private static readonly Dictionary<Conv2dAlgorithm, int> MinShapes = new()
    {
        [Conv2dAlgorithm.Pointwise] = 40, [Conv2dAlgorithm.Im2ColGemm] = 150, [Conv2dAlgorithm.BatchedIm2Col] = 150,
        [Conv2dAlgorithm.SmallDirect] = 80, [Conv2dAlgorithm.Direct] = 150,
    };
}
