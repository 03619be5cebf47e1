using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The channel-blocked direct convolution with ReLU and a 2×2/2 or 3×3/2 max pool in its tasks' store
/// (<see cref="Conv2dDirect.ForwardReluPool"/> off the pixel path) against its plain twin (the three reference ops one after
/// another), forced on each SIMD width: VGG's blocks (smaller maps), odd output sizes whose last row and column no window
/// reads, partial channel blocks, several input-channel passes, every schedule (per image, batch-blocked with image and
/// group chunks, row chunks that must start on a window's first row), random shapes; GoogLeNet's 3×3/2 windows in ceil
/// mode (overlapping, the last cut by the plane's edge: row chunks share a row) and in floor mode; and a NaN input.
/// </summary>
public class Conv2dDirectBlockedPoolKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(1, 64, 28, 28, 128, 3, 3, 1, 1, 1, 1),          // VGG-11's 64→128 block (smaller map): AVX2 rows 6,6,6,5,5
        new(1, 16, 56, 56, 32, 3, 3, 1, 1, 1, 1),           // 56-wide rows, one group per thread
        new(2, 20, 13, 15, 24, 3, 3, 1, 1, 1, 1),           // odd output: the last row and column are not pooled; partial blocks
        new(1, 300, 8, 8, 40, 3, 3, 1, 1, 1, 1),            // deep input: passes add onto the stored tiles before the pool
        new(1, 24, 14, 14, 48, 3, 3, 1, 1, 1, 1),           // a small call: row chunks of the 7 pooled rows
        new(1, 40, 4, 4, 72, 3, 3, 1, 1, 1, 1),             // 4×4 map: stacked rows in a tile (two per window)
        new(1, 16, 15, 17, 16, 3, 3, 2, 2, 1, 1),           // stride-2 convolution, 8×9 output
        new(5, 12, 12, 12, 24, 3, 3, 1, 1, 1, 1),           // a batch of five: per-image tasks
    ];

    // 3×3/2 windows: (geometry, ceil mode)
    private static readonly (Conv2dGeometry G, bool Ceil)[] Overlapping =
    [
        (new(1, 64, 56, 56, 192, 3, 3, 1, 1, 1, 1), true),   // GoogLeNet's conv3 → maxpool2: 56 → 28, the last window two rows
        (new(1, 16, 27, 27, 40, 3, 3, 1, 1, 1, 1), false),   // AlexNet-like 27 → 13 (floor): the last row no window reads
        (new(1, 20, 13, 15, 24, 3, 3, 1, 1, 1, 1), true),    // odd output, partial blocks: 13 → 6 rows, 15 → 7 columns
        (new(2, 300, 9, 9, 40, 3, 3, 1, 1, 1, 1), true),     // deep input: passes add onto the stored tiles before the pool
        (new(1, 24, 14, 14, 48, 3, 3, 1, 1, 1, 1), true),    // a small call: row chunks of the 7 pooled rows overlap by a row
        (new(1, 16, 15, 17, 16, 3, 3, 2, 2, 1, 1), true),    // stride-2 convolution, 8×9 output → 4×4
    ];

    public static TheoryData<int, int> NamedCases() => DirectWidthCases.Of(Named.Length);

    public static TheoryData<int, int> OverlappingCases() => DirectWidthCases.Of(Overlapping.Length);

    public static TheoryData<int, int> RandomCases() => DirectWidthCases.Of(25);

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int width, int index) => Check(Named[index], PoolOf(Named[index]), (GemmPath)width, 27000 + (ulong)index);

    [Theory, MemberData(nameof(OverlappingCases))]
    public void MatchesReferenceWithOverlappingWindows(int width, int index)
    {
        var (g, ceil) = Overlapping[index];
        Check(g, PoolOf3(g, ceil), (GemmPath)width, 27500 + (ulong)index);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported((GemmPath)width), $"the direct kernel at {(GemmPath)width} is not hardware-accelerated here.");
        var r = new Generator(2700 + (ulong)seed);
        Conv2dGeometry g;
        Pool2dGeometry pool;
        int kind = seed % 3; // 2×2/2; 3×3/2 in floor mode; 3×3/2 in ceil mode
        do // tiny maps that stack 3 or 4 rows in a tile are not taken (a window's two rows would straddle tiles)
        {
            int k = 1 + r.NextInt(3), s = 1 + r.NextInt(2), p = r.NextInt(k / 2 + 1);
            int h = Conv2dGeometry.MinInputSize(k, p, 1) + 2 * s + r.NextInt(20), w = Conv2dGeometry.MinInputSize(k, p, 1) + 2 * s + r.NextInt(40);
            g = new Conv2dGeometry(1 + r.NextInt(3), 5 + r.NextInt(40), h, w, 1 + r.NextInt(50), k, k, s, s, p, p);
            pool = kind == 0 ? PoolOf(g) : PoolOf3(g, ceil: kind == 2);
        }
        while (g.OutHeight < 3 || g.OutWidth < 3 || !Conv2dDirect.TakesBlockedPool((GemmPath)width, g, pool));
        Check(g, pool, (GemmPath)width, 28000 + (ulong)seed);
    }

    private static readonly DirectSchedule[] Schedules =
    [
        new(true, 1, 1, 1),    // one image per task
        new(false, 1, 1, 1),   // batch blocked, one image and one group per task
        new(false, 2, 2, 3),   // two images, two groups, rows in three chunks
        new(false, 1, 9, 5),   // every group, rows in five chunks (more chunks than some maps have windows)
    ];

    public static TheoryData<int, int, int> ScheduleCases() => ScheduleCasesOf(0, 2, 4, 5);

    public static TheoryData<int, int, int> OverlappingScheduleCases() => ScheduleCasesOf(1, 2, 4, 5);

    /// <summary>(width, case index, schedule) for both vector widths, the given cases and every schedule.</summary>
    private static TheoryData<int, int, int> ScheduleCasesOf(params int[] indices)
    {
        var data = new TheoryData<int, int, int>();
        foreach (int w in new[] { (int)GemmPath.Vector512, (int)GemmPath.Vector256 })
            foreach (int i in indices)
                for (int s = 0; s < Schedules.Length; s++) data.Add(w, i, s);
        return data;
    }

    /// <summary>Every schedule gives the reference's result with 3×3/2 windows: neighbouring row chunks both compute the row their windows share.</summary>
    [Theory, MemberData(nameof(OverlappingScheduleCases))]
    public void ForcedScheduleMatchesReferenceWithOverlappingWindows(int width, int index, int schedule)
    {
        var (g0, ceil) = Overlapping[index];
        var g = g0 with { Batch = 3 };
        using (Switches.Set(() => DirectSchedule.Override, Schedules[schedule]))
            Check(g, PoolOf3(g, ceil), (GemmPath)width, 29500 + (ulong)(index * 10 + schedule));
    }

    /// <summary>Every schedule gives the reference's result: each task pools only whole windows of the rows it computed.</summary>
    [Theory, MemberData(nameof(ScheduleCases))]
    public void ForcedScheduleMatchesReference(int width, int index, int schedule)
    {
        var g = Named[index] with { Batch = 3 };
        using (Switches.Set(() => DirectSchedule.Override, Schedules[schedule]))
            Check(g, PoolOf(g), (GemmPath)width, 29000 + (ulong)(index * 10 + schedule));
    }

    // A NaN input pixel makes every output its taps reach NaN; ReLU keeps it and the pool passes it on, as the ops apart.
    [Theory]
    [InlineData((int)GemmPath.Vector512)]
    [InlineData((int)GemmPath.Vector256)]
    public void NaNInputReachesThePooledWindowsItTouches(int width)
    {
        var g = new Conv2dGeometry(1, 24, 20, 21, 40, 3, 3, 1, 1, 1, 1);
        var (x, w, b) = Operands(g, new Generator(29900));
        x[(5 * 20 + 7) * 21 + 9] = float.NaN;
        var (expected, actual) = Run(g, PoolOf(g), (GemmPath)width, x, w, b);
        Assert.Contains(expected, float.IsNaN);
        (expected, actual) = Run(g, PoolOf3(g, ceil: true), (GemmPath)width, x, w, b);
        Assert.Contains(expected, float.IsNaN);
        Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} ReLU pool with a NaN input, {(GemmPath)width}");
    }

    [Fact]
    public void TakesBlockedShapesWithUnpaddedStrideTwoWindowsOnly()
    {
        var vgg = new Conv2dGeometry(1, 64, 112, 112, 128, 3, 3, 1, 1, 1, 1);
        var width = Conv2dDirect.BestWidth;
        Assert.SkipUnless(Conv2dDirect.IsSupported(width), "no direct kernel on this machine");
        Assert.True(Conv2dDirect.TakesBlockedPool(width, vgg, PoolOf(vgg)));
        var pixels = new Conv2dGeometry(1, 3, 224, 224, 64, 3, 3, 1, 1, 1, 1);
        Assert.False(Conv2dDirect.TakesBlockedPool(width, pixels, PoolOf(pixels)));   // the pixel path pools on its own
        var overlapping = new Pool2dGeometry(128, 112, 112, 55, 55, 3, 3, 2, 2, 0, 0);
        Assert.Equal(Conv2dDirect.OverlappingBlockedPool, Conv2dDirect.TakesBlockedPool(width, vgg, overlapping)); // 3×3/2 windows overlap
        var ceil = new Conv2dGeometry(1, 64, 13, 13, 128, 3, 3, 1, 1, 1, 1);
        Assert.True(Conv2dDirect.TakesBlockedPool(width, ceil, new Pool2dGeometry(128, 13, 13, 7, 7, 2, 2, 2, 2, 0, 0)));  // ceil mode: the last window one row
        Assert.False(Conv2dDirect.TakesBlockedPool(width, ceil, new Pool2dGeometry(128, 13, 13, 8, 8, 2, 2, 2, 2, 0, 0))); // a window past the plane
        Assert.False(Conv2dDirect.TakesBlockedPool(width, vgg, new Pool2dGeometry(128, 112, 112, 56, 56, 3, 3, 2, 2, 1, 1))); // padded
        Assert.False(Conv2dDirect.TakesBlockedPool(width, vgg, new Pool2dGeometry(128, 112, 112, 110, 110, 3, 3, 1, 1, 0, 0))); // stride 1
    }

    private static void Check(Conv2dGeometry g, Pool2dGeometry pool, GemmPath width, ulong seed)
    {
        var (x, w, b) = Operands(g, new Generator(seed));
        var (expected, actual) = Run(g, pool, width, x, w, b);
        Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} ReLU pool {pool} {width}");
        (expected, actual) = Run(g, pool, width, x, w, ReadOnlySpan<float>.Empty);
        Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} ReLU pool {pool} without bias {width}");
    }

    /// <summary>The 2×2/2 max pool of <paramref name="g"/>'s output planes (floor mode).</summary>
    private static Pool2dGeometry PoolOf(in Conv2dGeometry g) =>
        new(g.Batch * g.OutChannels, g.OutHeight, g.OutWidth, g.OutHeight / 2, g.OutWidth / 2, 2, 2, 2, 2, 0, 0);

    /// <summary>The 3×3/2 max pool of <paramref name="g"/>'s output planes, in ceil mode (GoogLeNet's) or floor mode (AlexNet's).</summary>
    private static Pool2dGeometry PoolOf3(in Conv2dGeometry g, bool ceil)
    {
        int oh = Pool2dGeometry.OutputSize(g.OutHeight, 3, 2, 0, ceil), ow = Pool2dGeometry.OutputSize(g.OutWidth, 3, 2, 0, ceil);
        return new(g.Batch * g.OutChannels, g.OutHeight, g.OutWidth, oh, ow, 3, 3, 2, 2, 0, 0);
    }

    private static (float[] X, float[] W, float[] B) Operands(in Conv2dGeometry g, Generator r) =>
        (Close.RandomArray((int)g.InputLength, r), Close.RandomArray((int)g.WeightLength, r), Close.RandomArray(g.OutChannels, r));

    private static (float[] Expected, Guarded<float> Actual) Run(in Conv2dGeometry g, in Pool2dGeometry pool, GemmPath width, float[] x, float[] w, ReadOnlySpan<float> b)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(width), $"the direct kernel at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        Assert.True(Conv2dDirect.TakesBlockedPool(width, g, pool), $"{g} with {pool} should take the pooled blocked path");
        var expected = new float[pool.Planes * pool.OutPlane];
        Conv2dReference.ForwardReluMaxPool(g, pool, x, w, b, expected);
        var actual = Guarded.Nan(expected.Length);
        Conv2dDirect.ForwardReluPool(width, g, pool, x, w, b, actual);
        return (expected, actual);
    }

    private static double Tolerance(in Conv2dGeometry g) => 1e-5 * Math.Sqrt(Math.Max(g.InChannels, g.OutChannels) * g.KernelHeight * g.KernelWidth + 1) * 4;
}
