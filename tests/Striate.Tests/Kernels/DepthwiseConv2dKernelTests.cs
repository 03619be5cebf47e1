using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The depthwise paths (vector 3×3 and plane loops) against <see cref="Conv2dReference"/>, each forced, on MobileNet
/// shapes and random ones: odd widths and channel counts, planes smaller than one vector, stride 2 on odd sizes,
/// channel multipliers, with bias and clamps fused. CI reruns this class without AVX-512 (the 8-lane path) and without
/// intrinsics (where the vector path reports Skipped and the plane loops still run).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class DepthwiseConv2dKernelTests
{
    private static readonly (float Lo, float Hi)[] Clamps = [(float.NegativeInfinity, float.PositiveInfinity), (0f, float.PositiveInfinity), (0f, 6f), (-0.5f, 0.25f)];

    // (batch, channels, H, W, multiplier, stride)
    public static TheoryData<int, int, int, int, int, int> Shapes() => new()
    {
        { 1, 32, 112, 112, 1, 1 },  // MobileNet-V2's first block
        { 1, 96, 112, 112, 1, 2 },  // … its first stride 2
        { 2, 17, 7, 7, 1, 1 },      // 7×7 maps: three vectors cover two rows each
        { 1, 21, 14, 14, 1, 2 },    // 14 → 7
        { 3, 5, 1, 1, 1, 1 },       // a plane of one pixel
        { 2, 3, 1, 9, 1, 2 },       // one row
        { 2, 3, 9, 1, 2, 1 },       // one column, multiplier 2
        { 1, 4, 3, 5, 3, 1 },       // a plane smaller than one vector
        { 2, 6, 13, 11, 1, 2 },     // odd height and width at stride 2 (the last odd row and column are padding)
        { 1, 3, 33, 35, 2, 2 },     // a row longer than two vectors, split by the vector path
        { 1, 2, 17, 16, 1, 1 },     // plane a multiple of 16
        { 4, 9, 5, 9, 1, 1 },
        { 1, 5, 16, 16, 1, 1 },     // rows of exactly one 16-lane vector, four row blocks
        { 1, 3, 6, 8, 1, 1 },       // rows of one 8-lane vector; the last block overlaps the first
        { 1, 4, 13, 56, 1, 1 },     // 56-wide rows: the last vector of a row overlaps the one before
    };

    public static TheoryData<int> RandomCases() => new(Enumerable.Range(0, 30));

    [Theory, MemberData(nameof(Shapes))]
    public void VectorForwardMatchesReference(int n, int c, int h, int w, int mult, int stride)
    {
        SkipWithoutVectors();
        var g = new Conv2dGeometry(n, c, h, w, c * mult, 3, 3, stride, stride, 1, 1, 1, 1, c);
        CheckForward(g, DepthwiseAlgorithm.Vector3x3, (ulong)(n * 1000 + c * 31 + h * 7 + w + stride));
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void VectorForwardMatchesReferenceOnRandomShapes(int seed)
    {
        SkipWithoutVectors();
        var r = new Generator(500 + (ulong)seed);
        int c = 1 + r.NextInt(20), mult = 1 + (r.NextInt(4) == 0 ? 1 : 0), stride = 1 + r.NextInt(2);
        var g = new Conv2dGeometry(1 + r.NextInt(3), c, 1 + r.NextInt(30), 1 + r.NextInt(30), c * mult, 3, 3, stride, stride, 1, 1, 1, 1, c);
        CheckForward(g, DepthwiseAlgorithm.Vector3x3, (ulong)seed);
    }

    // Stride-1 planes with rows of one to four vectors (8 or 16 lanes) and heights that are or are not multiples of
    // four: the four-row blocks (their edge vectors, the overlapping last vector of a row and last block of a plane).
    [Theory, MemberData(nameof(RandomCases))]
    public void RowBlocksMatchReferenceOnRandomWidePlanes(int seed)
    {
        SkipWithoutVectors();
        var r = new Generator(1300 + (ulong)seed);
        int c = 1 + r.NextInt(6), h = 4 + r.NextInt(20), w = 8 + r.NextInt(60);
        var g = new Conv2dGeometry(1 + r.NextInt(2), c, h, w, c, 3, 3, 1, 1, 1, 1, 1, 1, c);
        Assert.True(DepthwiseConv2d.RowBlocksEnabled);
        // The session takes them with 16 lanes only; the 8-lane block is checked all the same.
        using (Switches.Set(() => DepthwiseConv2d.RowBlocksOn8Lanes, true))
            CheckForward(g, DepthwiseAlgorithm.Vector3x3, (ulong)seed);
    }

    // Stride 2 with 8 lanes reads the input rows in place (Stride2Rows): odd and even sizes, rows of one to four output
    // vectors (the last one partial or whole, masked loads past the row, the odd width's padding column), channel
    // counts not a multiple of 8; and the four phase copies it replaced (switch off). With 16 lanes both runs take the
    // phase copies; CI reruns the class without AVX-512.
    [Theory, MemberData(nameof(RandomCases))]
    public void Stride2RowsMatchReferenceOnRandomShapes(int seed)
    {
        SkipWithoutVectors();
        var r = new Generator(2100 + (ulong)seed);
        int c = 1 + r.NextInt(13), mult = 1 + (r.NextInt(4) == 0 ? 1 : 0);
        var g = new Conv2dGeometry(1 + r.NextInt(2), c, 1 + r.NextInt(40), 1 + r.NextInt(64), c * mult, 3, 3, 2, 2, 1, 1, 1, 1, c);
        Assert.Equal(DepthwiseConv2d.VectorWidth() == 8, DepthwiseConv2d.Stride2RowsTake(DepthwiseConv2d.VectorWidth()));
        foreach (bool rows in new[] { true, false })
            using (Switches.Set(() => DepthwiseConv2d.Stride2RowsEnabled, rows))
                CheckForward(g, DepthwiseAlgorithm.Vector3x3, (ulong)seed);
    }

    // Rows of 1 to 7 outputs: a whole-vector store of a row reaches several rows on, and must stop at the plane's end
    // (a store past the output corrupted the heap once). The output is a guarded slice (Guarded: sentinels before and after it).
    [Theory]
    [InlineData(576, 4)]
    [InlineData(7, 3)]
    [InlineData(5, 6)]
    [InlineData(3, 13)]
    public void VectorStride2WritesNothingPastTheOutput(int c, int hw)
    {
        SkipWithoutVectors();
        var g = new Conv2dGeometry(2, c, hw, hw, c, 3, 3, 2, 2, 1, 1, 1, 1, c);
        var r = new Generator((ulong)(c * 100 + hw));
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, default, expected);
        foreach (bool rows in new[] { true, false })
            using (Switches.Set(() => DepthwiseConv2d.Stride2RowsEnabled, rows))
            {
                var actual = Guarded.Nan(g.OutputLength);
                DepthwiseConv2d.Forward(g, x, w, default, actual, algorithm: DepthwiseAlgorithm.Vector3x3);
                Close.Assert(expected, actual, 1e-4, 1e-5, $"stride 2 {g} rows {rows}");
            }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void PlaneForwardMatchesReference(int n, int c, int h, int w, int mult, int stride)
    {
        var g = new Conv2dGeometry(n, c, h, w, c * mult, 3, 3, stride, stride, 1, 1, 1, 1, c);
        CheckForward(g, DepthwiseAlgorithm.Planes, (ulong)(n * 1000 + c * 31 + h * 7 + w + stride));
    }

    [Theory, MemberData(nameof(Shapes))]
    public void VectorGradientsMatchReference(int n, int c, int h, int w, int mult, int stride)
    {
        SkipWithoutVectors();
        var g = new Conv2dGeometry(n, c, h, w, c * mult, 3, 3, stride, stride, 1, 1, 1, 1, c);
        CheckGradients(g, DepthwiseAlgorithm.Vector3x3, (ulong)(n * 1000 + c * 31 + h * 7 + w + stride));
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void VectorGradientsMatchReferenceOnRandomShapes(int seed)
    {
        SkipWithoutVectors();
        var r = new Generator(900 + (ulong)seed);
        int c = 1 + r.NextInt(20), mult = 1 + (r.NextInt(4) == 0 ? 1 : 0), stride = 1 + r.NextInt(2);
        var g = new Conv2dGeometry(1 + r.NextInt(3), c, 1 + r.NextInt(30), 1 + r.NextInt(30), c * mult, 3, 3, stride, stride, 1, 1, 1, 1, c);
        CheckGradients(g, DepthwiseAlgorithm.Vector3x3, (ulong)seed);
    }

    [Theory, MemberData(nameof(Shapes))]
    public void PlaneGradientsMatchReference(int n, int c, int h, int w, int mult, int stride)
    {
        var g = new Conv2dGeometry(n, c, h, w, c * mult, 3, 3, stride, stride, 1, 1, 1, 1, c);
        CheckGradients(g, DepthwiseAlgorithm.Planes, (ulong)(n * 1000 + c * 31 + h * 7 + w + stride));
    }

    [Fact]
    public void VectorPathTakesMobileNetShapesOnly()
    {
        SkipWithoutVectors();
        Assert.True(DepthwiseConv2d.VectorSupports(new Conv2dGeometry(1, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32)));
        Assert.True(DepthwiseConv2d.VectorSupports(new Conv2dGeometry(1, 32, 112, 112, 32, 3, 3, 2, 2, 1, 1, 1, 1, 32)));
        Assert.False(DepthwiseConv2d.VectorSupports(new Conv2dGeometry(1, 32, 112, 112, 32, 5, 5, 1, 1, 2, 2, 1, 1, 32)));
        Assert.False(DepthwiseConv2d.VectorSupports(new Conv2dGeometry(1, 32, 112, 112, 32, 3, 3, 2, 1, 1, 1, 1, 1, 32)));
        Assert.False(DepthwiseConv2d.VectorSupports(new Conv2dGeometry(1, 32, 112, 112, 32, 3, 3, 1, 1, 2, 2, 2, 2, 32)));
        var e = Assert.Throws<ArgumentException>(() => DepthwiseConv2d.Forward(new Conv2dGeometry(1, 2, 5, 5, 2, 5, 5, 1, 1, 2, 2, 1, 1, 2),
            new float[50], new float[50], default, new float[50], algorithm: DepthwiseAlgorithm.Vector3x3));
        Assert.Contains("vector 3×3", e.Message);
        Assert.False(DepthwiseConv2d.VectorSupportsBackwardData(new Conv2dGeometry(1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 4)));
    }

    [Theory]
    [InlineData(1), InlineData(2)]
    public void ClampKeepsNaNAsTorchClampDoes(int stride)
    {
        var g = new Conv2dGeometry(1, 2, 6, 6, 2, 3, 3, stride, stride, 1, 1, 1, 1, 2);
        var x = new float[g.InputLength];
        x[14] = float.NaN; // channel 0, row 2, column 2: reaches every output whose window covers it
        var w = Enumerable.Repeat(1f, (int)g.WeightLength).ToArray();
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, default, expected);
        foreach (var algorithm in Algorithms())
        {
            var y = Guarded.Zeros(g.OutputLength);
            DepthwiseConv2d.Forward(g, x, w, default, y, 0f, 6f, algorithm);
            y.Check($"{algorithm} clamp {g}");
            for (int i = 0; i < y.Length; i++)
                Assert.True(float.IsNaN(expected[i]) ? float.IsNaN(y[i]) : y[i] == 0f, $"{algorithm} output {i}: {y[i]}, reference {expected[i]}");
        }
    }

    [Fact]
    public void ConvolutionKernelsFuseReluIntoTheDepthwiseStore()
    {
        var g = new Conv2dGeometry(2, 7, 9, 10, 7, 3, 3, 1, 1, 1, 1, 1, 1, 7);
        var r = new Generator(3);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = Math.Max(expected[i], 0f);
        var y = Guarded.Nan((int)g.OutputLength);
        Conv2dKernels.Forward(g, x, w, b, y, new Conv2dEpilogue { Relu = true });
        Close.Assert(expected, y, 1e-4, 1e-5, "Conv2dKernels.Forward depthwise with ReLU");
    }

    private static IEnumerable<DepthwiseAlgorithm> Algorithms()
    {
        yield return DepthwiseAlgorithm.Planes;
        if (DepthwiseConv2d.VectorWidth() > 0) yield return DepthwiseAlgorithm.Vector3x3;
    }

    private static void SkipWithoutVectors() =>
        Assert.SkipUnless(DepthwiseConv2d.VectorWidth() > 0, "the vector depthwise path needs AVX-512 or AVX2 + FMA (hardware intrinsics are off or absent)");

    /// <summary>
    /// Forward with and without bias under every clamp, against the reference then clamped; outputs start as NaN
    /// between guard bands (also the tiny-shape sweep's, <see cref="TinyShapesGuardSweep"/>; <paramref name="note"/> joins its messages).
    /// </summary>
    internal static void CheckForward(Conv2dGeometry g, DepthwiseAlgorithm algorithm, ulong seed, string note = "")
    {
        g.Validate();
        var r = new Generator(seed);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var plain = new float[g.OutputLength];
        foreach (bool withBias in new[] { true, false })
        {
            Conv2dReference.Forward(g, x, w, withBias ? b : default, plain);
            foreach (var (lo, hi) in Clamps)
            {
                var expected = plain.Select(v => Math.Min(Math.Max(v, lo), hi)).ToArray();
                var actual = Guarded.Nan((int)g.OutputLength);
                DepthwiseConv2d.Forward(g, x, w, withBias ? b : default, actual, lo, hi, algorithm);
                Close.Assert(expected, actual, 1e-4, 1e-5, $"{algorithm} forward {g} bias {withBias} clamp [{lo}, {hi}] {note}");
            }
        }
    }

    /// <summary>
    /// Input gradient (where the path has one: the vector path takes multiplier 1) and weight gradient against the
    /// reference; outputs start as NaN between guard bands. The weight gradient sums a whole plane per image, hence its
    /// wider atol. Also the tiny-shape sweep's (<see cref="TinyShapesGuardSweep"/>).
    /// </summary>
    internal static void CheckGradients(Conv2dGeometry g, DepthwiseAlgorithm algorithm, ulong seed)
    {
        g.Validate();
        var r = new Generator(seed + 77);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        if (algorithm != DepthwiseAlgorithm.Vector3x3 || DepthwiseConv2d.VectorSupportsBackwardData(g))
        {
            var expected = new float[g.InputLength];
            var actual = Guarded.Nan((int)g.InputLength);
            Conv2dReference.BackwardData(g, dy, w, expected);
            DepthwiseConv2d.BackwardData(g, dy, w, actual, algorithm);
            Close.Assert(expected, actual, 1e-4, 1e-5, $"{algorithm} gradInput {g}");
        }
        var dwExpected = new float[g.WeightLength];
        var dwActual = Guarded.Nan((int)g.WeightLength);
        Conv2dReference.BackwardWeight(g, x, dy, dwExpected);
        DepthwiseConv2d.BackwardWeight(g, x, dy, dwActual, algorithm);
        Close.Assert(dwExpected, dwActual, 1e-4, 1e-3, $"{algorithm} gradWeight {g}");
    }
}
