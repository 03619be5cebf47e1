using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The pixel-input direct convolution with ReLU and a max pool in its store (<see cref="Conv2dDirect.ForwardPixelsReluPool"/>)
/// against its plain twin (the three reference ops one after another), forced on each SIMD width: the stems of VGG
/// (2×2/2), GoogLeNet (3×3/2, ceil mode), ResNet (3×3/2, padding 1), odd output sizes, partial channel blocks,
/// batches, strides, random windows, no bias; and a NaN input reaching the windows it touches.
/// </summary>
public class Conv2dDirectPixelPoolKernelTests
{
    // Convolution (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW) and pooling (kernel, stride, padding, ceil mode).
    private static readonly (Conv2dGeometry Conv, int K, int S, int P, bool Ceil)[] Named =
    [
        (new(1, 3, 30, 30, 64, 3, 3, 1, 1, 1, 1), 2, 2, 0, false),      // VGG's first layer (smaller map)
        (new(2, 3, 23, 37, 40, 3, 3, 1, 1, 1, 1), 2, 2, 0, false),      // odd output: last row and column not pooled; a partial block
        (new(1, 3, 40, 37, 64, 7, 7, 2, 2, 3, 3), 3, 2, 0, true),       // GoogLeNet's stem, odd width, ceil mode
        (new(1, 3, 38, 42, 64, 7, 7, 2, 2, 3, 3), 3, 2, 1, false),      // ResNet's stem: the pool pads by one
        (new(2, 3, 47, 47, 64, 11, 11, 4, 4, 2, 2), 3, 2, 0, false),    // AlexNet's stem: pixel step 12
        (new(1, 1, 9, 60, 16, 5, 5, 1, 1, 2, 2), 2, 2, 0, false),       // grey input, one block, 60 wide (several column tiles)
        (new(1, 4, 5, 3, 33, 3, 3, 1, 1, 1, 1), 2, 2, 0, false),        // 3-pixel rows (one pooled column), three groups
        (new(1, 3, 34, 34, 8, 3, 3, 1, 1, 1, 1), 3, 1, 1, false),       // eight outputs (half a block on AVX-512), stride-1 pool
    ];

    public static TheoryData<int, int> NamedCases() => DirectWidthCases.Of(Named.Length);

    public static TheoryData<int, int> RandomCases() => DirectWidthCases.Of(25);

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int width, int index)
    {
        var (g, k, stride, pad, ceil) = Named[index];
        Check(g, PoolOf(g, k, k, stride, stride, pad, pad, ceil), (GemmPath)width, 24000 + (ulong)index);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed)
    {
        var r = new Generator(2400 + (ulong)seed);
        int cin = 1 + r.NextInt(4), kH = 1 + r.NextInt(5), kW = 1 + r.NextInt(5);
        int sH = 1 + r.NextInt(2), sW = 1 + r.NextInt(Math.Min(3, 14 / cin)), pH = r.NextInt(3), pW = r.NextInt(3);
        int h = Conv2dGeometry.MinInputSize(kH, pH, 1) + sH + r.NextInt(20), w = Conv2dGeometry.MinInputSize(kW, pW, 1) + sW + r.NextInt(50);
        var g = new Conv2dGeometry(1 + r.NextInt(2), cin, h, w, 1 + r.NextInt(70), kH, kW, sH, sW, pH, pW);
        int pk = 1 + r.NextInt(Math.Min(4, g.OutHeight)), qk = 1 + r.NextInt(Math.Min(4, g.OutWidth));
        var pool = PoolOf(g, pk, qk, 1 + r.NextInt(3), 1 + r.NextInt(3), r.NextInt(pk / 2 + 1), r.NextInt(qk / 2 + 1), r.NextInt(2) == 1);
        Check(g, pool, (GemmPath)width, 25000 + (ulong)seed);
    }

    // A NaN input pixel makes every output its taps reach NaN; ReLU keeps it and the pool passes it on, as the ops apart.
    [Theory]
    [InlineData((int)GemmPath.Vector512)]
    [InlineData((int)GemmPath.Vector256)]
    public void NaNInputReachesThePooledWindowsItTouches(int width)
    {
        var g = new Conv2dGeometry(1, 3, 20, 21, 24, 3, 3, 1, 1, 1, 1);
        var (x, w, b) = Operands(g, new Generator(26000));
        x[(1 * 20 + 7) * 21 + 9] = float.NaN;
        var (expected, actual) = Run(g, PoolOf(g, 3, 3, 2, 2, 1, 1, false), (GemmPath)width, x, w, b);
        Assert.Contains(expected, float.IsNaN);
        Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} ReLU pool with a NaN input, {(GemmPath)width}");
    }

    [Fact]
    public void TakesOnlyPixelShapesWithAWindow()
    {
        var vgg = new Conv2dGeometry(1, 3, 224, 224, 64, 3, 3, 1, 1, 1, 1);
        Assert.True(Conv2dDirect.TakesPixelsPool(vgg, PoolOf(vgg, 2, 2, 2, 2, 0, 0, false)));
        var blocked = new Conv2dGeometry(1, 8, 16, 16, 64, 3, 3, 1, 1, 1, 1);
        Assert.False(Conv2dDirect.TakesPixelsPool(blocked, PoolOf(blocked, 2, 2, 2, 2, 0, 0, false)));  // blocked input
        Assert.False(Conv2dDirect.TakesPixelsPool(vgg, PoolOf(vgg, 9, 2, 1, 1, 0, 0, false)));           // a window of 9 rows
    }

    private static void Check(Conv2dGeometry g, Pool2dGeometry pool, GemmPath width, ulong seed)
    {
        var (x, w, b) = Operands(g, new Generator(seed));
        var (expected, actual) = Run(g, pool, width, x, w, b);
        Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} ReLU {pool} {width}");
        (expected, actual) = Run(g, pool, width, x, w, ReadOnlySpan<float>.Empty);
        Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} ReLU {pool} without bias {width}");
    }

    /// <summary>The max pool of <paramref name="g"/>'s output planes with PyTorch's output size.</summary>
    private static Pool2dGeometry PoolOf(in Conv2dGeometry g, int kH, int kW, int sH, int sW, int pH, int pW, bool ceil) =>
        new(g.Batch * g.OutChannels, g.OutHeight, g.OutWidth, Pool2dGeometry.OutputSize(g.OutHeight, kH, sH, pH, ceil),
            Pool2dGeometry.OutputSize(g.OutWidth, kW, sW, pW, ceil), kH, kW, sH, sW, pH, pW);

    private static (float[] X, float[] W, float[] B) Operands(in Conv2dGeometry g, Generator r) =>
        (Close.RandomArray((int)g.InputLength, r), Close.RandomArray((int)g.WeightLength, r), Close.RandomArray(g.OutChannels, r));

    private static (float[] Expected, Guarded<float> Actual) Run(in Conv2dGeometry g, in Pool2dGeometry pool, GemmPath width, float[] x, float[] w, ReadOnlySpan<float> b)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(width), $"the direct kernel at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        Assert.True(Conv2dDirect.TakesPixelsPool(g, pool), $"{g} with {pool} should take the pooled pixel-input path");
        var expected = new float[pool.Planes * pool.OutPlane];
        Conv2dReference.ForwardReluMaxPool(g, pool, x, w, b, expected);
        var actual = Guarded.Nan(expected.Length);
        Conv2dDirect.ForwardPixelsReluPool(width, g, pool, x, w, b, actual);
        return (expected, actual);
    }

    private static double Tolerance(in Conv2dGeometry g) => 1e-5 * Math.Sqrt(Math.Max(g.InChannels, g.OutChannels) * g.KernelHeight * g.KernelWidth + 1) * 4;
}
