using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The planar stride-2 stem (<see cref="Conv2dDirect.ForwardPlanar"/>: 3×3, stride 2, padding 1, at most 4 input
/// channels, computed in NCHW from per-row im2col columns) against its plain twin, the reference convolution then the
/// clamp, forced on each SIMD width: MobileNet-V2's stem on a smaller map, odd and even sizes (the last output column
/// reading past an odd row), rows narrower than a vector, output channels that fill no tile, batches, no bias; through
/// the dispatch with ReLU6, ReLU and no epilogue; and a NaN input reaching exactly the outputs its taps touch.
/// </summary>
public class Conv2dDirectPlanarKernelTests
{
    // (Batch, Cin, H, W, Cout, 3, 3, 2, 2, 1, 1)
    private static readonly (int N, int C, int H, int W, int Cout)[] Named =
    [
        (1, 3, 64, 64, 32),      // MobileNet-V2's stem on a 64×64 map (32-pixel rows: several rows per im2col block)
        (1, 3, 224, 224, 32),    // the stem itself: 112-pixel rows, two per block, seven whole vectors per row
        (2, 3, 33, 35, 24),      // odd sizes: the last output column's odd tap is the padding
        (1, 1, 9, 60, 13),       // grey input, 13 outputs (a partial channel tile on both widths)
        (3, 2, 5, 3, 5),         // 2-pixel rows, five outputs
        (1, 4, 2, 41, 40),       // four channels, one output row
        (1, 3, 1, 1, 8),         // a single pixel: only the centre tap is inside
        (1, 3, 40, 100, 70),     // 50-pixel rows (one tail pixel past three vectors of 16), 70 outputs
    ];

    public static TheoryData<int, int> NamedCases() => DirectWidthCases.Of(Named.Length);

    public static TheoryData<int, int> RandomCases() => DirectWidthCases.Of(25);

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int width, int index)
    {
        var (n, c, h, w, cout) = Named[index];
        Check(new Conv2dGeometry(n, c, h, w, cout, 3, 3, 2, 2, 1, 1), (GemmPath)width, 27000 + (ulong)index);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed)
    {
        var r = new Generator(2700 + (ulong)seed);
        var g = new Conv2dGeometry(1 + r.NextInt(3), 1 + r.NextInt(4), 1 + r.NextInt(40), 1 + r.NextInt(90), 1 + r.NextInt(70), 3, 3, 2, 2, 1, 1);
        Check(g, (GemmPath)width, 28000 + (ulong)seed);
    }

    // Through Conv2dKernels.Forward: ReLU6 (the stem's fused epilogue), ReLU and none take the planar path; a residual
    // stays on the pixel path. All against the reference with the epilogue applied after.
    [Theory]
    [InlineData((int)GemmPath.Vector512)]
    [InlineData((int)GemmPath.Vector256)]
    public void DispatchMatchesReferenceWithEachEpilogue(int width)
    {
        SkipUnlessSupported((GemmPath)width);
        var g = new Conv2dGeometry(2, 3, 46, 52, 32, 3, 3, 2, 2, 1, 1);
        Assert.True(Conv2dDirect.TakesPlanar(g));
        var (x, w, b, res, plain) = Conv2dEpilogueTests.Operands(g, new Generator(29000));
        // Conv2dEpilogue is a ref struct (it holds the residual span): built per case in the loop.
        var cases = new (string Name, Func<float, int, float> Apply)[]
        {
            ("ReLU6", (v, _) => Math.Min(Math.Max(v, 0f), 6f)),
            ("clamp", (v, _) => Math.Min(Math.Max(v, -0.3f), 0.4f)),
            ("ReLU", (v, _) => Math.Max(v, 0f)),
            ("none", (v, _) => v),
            ("residual ReLU6", (v, i) => Math.Min(Math.Max(v + res[i], 0f), 6f)),
        };
        foreach (var (name, apply) in cases)
        {
            var epilogue = name switch
            {
                "ReLU6" => new Conv2dEpilogue { Clamp = (0f, 6f) },
                "clamp" => new Conv2dEpilogue { Clamp = (-0.3f, 0.4f) },
                "ReLU" => new Conv2dEpilogue { Relu = true },
                "none" => default,
                _ => new Conv2dEpilogue { Residual = res, Clamp = (0f, 6f) },
            };
            var expected = plain.Select(apply).ToArray();
            var actual = Guarded.Nan(g.OutputLength);
            Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, (GemmPath)width, x, w, b, actual, epilogue);
            Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} {(GemmPath)width} {name}");
        }
    }

    // A NaN input makes the outputs whose taps reach it NaN (the clamp keeps NaN, as torch.clamp) and no others.
    [Theory]
    [InlineData((int)GemmPath.Vector512)]
    [InlineData((int)GemmPath.Vector256)]
    public void NaNInputReachesOnlyTheOutputsItsTapsTouch(int width)
    {
        SkipUnlessSupported((GemmPath)width);
        var g = new Conv2dGeometry(1, 3, 20, 37, 16, 3, 3, 2, 2, 1, 1);
        var (x, w, b, _, _) = Conv2dEpilogueTests.Operands(g, new Generator(29100));
        x[(1 * 20 + 7) * 37 + 9] = float.NaN;
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = Clamp(expected[i], 0f, 6f);
        Assert.Contains(expected, float.IsNaN);
        var actual = Run(g, (GemmPath)width, x, w, b, 0f, 6f);
        Close.Assert(expected, actual, 1e-4, Tolerance(g), $"{g} {(GemmPath)width} with a NaN input");
    }

    [Fact]
    public void TakesOnlyThreeByThreeStrideTwoStems()
    {
        Assert.True(Conv2dDirect.TakesPlanar(new Conv2dGeometry(1, 3, 224, 224, 32, 3, 3, 2, 2, 1, 1)));   // MobileNet-V2
        Assert.False(Conv2dDirect.TakesPlanar(new Conv2dGeometry(1, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3)));  // ResNet: 7×7
        Assert.False(Conv2dDirect.TakesPlanar(new Conv2dGeometry(1, 3, 224, 224, 64, 3, 3, 1, 1, 1, 1)));  // VGG: stride 1
        Assert.False(Conv2dDirect.TakesPlanar(new Conv2dGeometry(1, 5, 32, 32, 64, 3, 3, 2, 2, 1, 1)));    // five channels
        Assert.False(Conv2dDirect.TakesPlanar(new Conv2dGeometry(1, 3, 32, 32, 64, 3, 3, 2, 2, 0, 0)));    // no padding
    }

    private static void Check(Conv2dGeometry g, GemmPath width, ulong seed)
    {
        SkipUnlessSupported(width);
        Assert.True(Conv2dDirect.TakesPlanar(g), $"{g} should take the planar path");
        var (x, w, b, _, plain) = Conv2dEpilogueTests.Operands(g, new Generator(seed));
        foreach (var (lo, hi) in new[] { (float.NegativeInfinity, float.PositiveInfinity), (0f, 6f) })
        {
            var expected = plain.Select(v => Clamp(v, lo, hi)).ToArray();
            Close.Assert(expected, Run(g, width, x, w, b, lo, hi), 1e-4, Tolerance(g), $"{g} {width} clamp [{lo}, {hi}]");
        }
        var unbiased = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, ReadOnlySpan<float>.Empty, unbiased);
        Close.Assert(unbiased, Run(g, width, x, w, null, float.NegativeInfinity, float.PositiveInfinity), 1e-4, Tolerance(g), $"{g} {width} without bias");
    }

    private static unsafe float[] Run(in Conv2dGeometry g, GemmPath width, float[] x, float[] w, float[]? b, float lo, float hi)
    {
        var y = Guarded.Nan(g.OutputLength);
        fixed (float* xp = x, wp = w, bp = b, yp = y.Span)
            Conv2dDirect.ForwardPlanar(width, g, xp, wp, bp, lo, hi, yp);
        y.Check($"ForwardPlanar {g} {width} clamp [{lo}, {hi}] bias {b != null}");
        return y.ToArray();
    }

    /// <summary>torch.clamp: NaN stays NaN.</summary>
    private static float Clamp(float v, float lo, float hi) => v < lo ? lo : v > hi ? hi : v;

    private static void SkipUnlessSupported(GemmPath width) =>
        Assert.SkipUnless(Conv2dDirect.IsSupported(width), $"the direct kernel at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");

    private static double Tolerance(in Conv2dGeometry g) => 1e-5 * Math.Sqrt(g.InChannels * 9 + 1) * 4;
}
