using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>The fast convolution kernels against their reference twin, on hand-picked and random geometries.</summary>
public class Conv2dKernelsTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW, groups)
    private static readonly Conv2dGeometry[] Named =
    [
        new(1, 5, 6, 7, 4, 1, 1),                                  // 1×1 pointwise, batch 1
        new(2, 3, 32, 33, 5, 1, 1),                                // 1×1 pointwise on a plane wider than one GEMM chunk
        new(3, 4, 5, 5, 6, 1, 1),                                  // 1×1 with images batched into one GEMM
        new(3, 4, 9, 8, 6, 1, 1, 2, 2),                            // 1×1 stride 2 (downsample): some pixels get no gradient
        new(3, 6, 9, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),            // depthwise, multiplier 1
        new(1, 4, 10, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 4),            // depthwise, multiplier 2, stride 2
        new(3, 3, 13, 12, 6, 5, 5, 1, 1, 4, 4, 2, 2, 3),           // depthwise, multiplier 2, 5×5 dilation 2
        new(3, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2),             // groups 2
        new(2, 6, 9, 12, 4, 3, 5, 2, 1, 1, 2, 1, 1, 2),            // groups 2, non-square kernel and stride
        new(3, 3, 12, 12, 4, 3, 3, 1, 1, 2, 2, 2, 2),              // dilation 2
        new(1, 3, 19, 17, 5, 5, 5, 4, 4, 1, 1),                    // stride 4
        new(1, 3, 35, 35, 8, 11, 11, 4, 4, 2, 2),                  // AlexNet conv1 (11×11 s4 p2), batch 1
        new(3, 3, 39, 39, 4, 11, 11, 4, 4, 2, 2),                  // AlexNet conv1, batch 3
        new(3, 3, 20, 18, 8, 7, 7, 2, 2, 3, 3),                    // ResNet stem (7×7 s2 p3)
        new(3, 2, 7, 15, 3, 2, 4, 1, 2, 0, 1),                     // non-square input, kernel, stride
        new(2, 3, 40, 40, 4, 3, 3, 1, 1, 1, 1),                    // 3×3 pad 1, one image per GEMM
        new(3, 2, 3, 3, 2, 5, 5, 1, 1, 2, 2),                      // kernel as large as the padded input
        new(3, 2, 10, 10, 3, 2, 2, 3, 3),                          // stride larger than the kernel
        new(2, 2, 9, 14, 3, 3, 3, 1, 1, 0, 3, 1, 3),               // dilation along the width only
        new(1, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2),                    // LeNet conv1: one input channel, no groups
    ];

    public static TheoryData<int> NamedCases() => new(Enumerable.Range(0, Named.Length));
    public static TheoryData<int> RandomCases() => new(Enumerable.Range(0, 40));

    [Theory, MemberData(nameof(NamedCases))]
    public void AllFourMatchReferenceOnNamedGeometry(int index) => CheckAgainstReference(Named[index], 1000 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void AllFourMatchReferenceOnRandomGeometry(int seed) => CheckAgainstReference(RandomGeometry(new Generator(77 + (ulong)seed)), (ulong)seed);

    private static Conv2dGeometry RandomGeometry(Generator r)
    {
        bool depthwise = r.NextInt(4) == 0;
        int groups = depthwise ? 1 + r.NextInt(5) : 1 + r.NextInt(3);
        int cin = depthwise ? groups : groups * (1 + r.NextInt(3));
        int cout = groups * (1 + r.NextInt(3));
        int kH = 1 + r.NextInt(5), kW = 1 + r.NextInt(5);
        int sH = 1 + r.NextInt(3), sW = 1 + r.NextInt(3), pH = r.NextInt(3), pW = r.NextInt(3), dH = 1 + r.NextInt(2), dW = 1 + r.NextInt(2);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(12), w = Conv2dGeometry.MinInputSize(kW, pW, dW) + r.NextInt(12);
        return new Conv2dGeometry(1 + r.NextInt(3), cin, h, w, cout, kH, kW, sH, sW, pH, pW, dH, dW, groups);
    }

    /// <summary>
    /// All four kernels against <see cref="Conv2dReference"/> on random data (rtol 1e-4). Larger shapes sum more terms, so
    /// callers may widen <paramref name="atol"/> and, for the weight gradient (a sum over the whole batch), <paramref name="weightGradAtol"/>.
    /// </summary>
    internal static void CheckAgainstReference(Conv2dGeometry g, ulong seed, double atol = 1e-5, double? weightGradAtol = null,
        Conv2dAlgorithm? algorithm = null, GemmPath? width = null)
    {
        // A forced algorithm (and width) runs through the internal overloads; otherwise the public dispatch decides.
        var a = algorithm ?? Conv2dKernels.Choose(g);
        var wd = width ?? Conv2dDirect.BestWidth;
        g.Validate();
        var r = new Generator(seed);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        string what = $"{g} ({a}{(width is { } ww ? $", {ww}" : "")})";

        // Outputs start as NaN: the kernels must overwrite every element (pooled buffers hold garbage).
        var expected = new float[g.OutputLength];
        var actual = Guarded.Nan((int)g.OutputLength);
        Conv2dReference.Forward(g, x, w, b, expected);
        if (algorithm == null) Conv2dKernels.Forward(g, x, w, b, actual);
        else Conv2dKernels.Forward(g, a, wd, x, w, b, actual, default);
        Close.Assert(expected, actual, 1e-4, atol, $"forward {what}");

        Conv2dReference.Forward(g, x, w, ReadOnlySpan<float>.Empty, expected);
        if (algorithm == null) Conv2dKernels.Forward(g, x, w, ReadOnlySpan<float>.Empty, actual);
        else Conv2dKernels.Forward(g, a, wd, x, w, ReadOnlySpan<float>.Empty, actual, default);
        Close.Assert(expected, actual, 1e-4, atol, $"forward without bias {what}");

        var dxExpected = new float[g.InputLength];
        var dxActual = Guarded.Nan((int)g.InputLength);
        Conv2dReference.BackwardData(g, dy, w, dxExpected);
        if (algorithm == null) Conv2dKernels.BackwardData(g, dy, w, dxActual);
        else Conv2dKernels.BackwardData(g, a, wd, dy, w, dxActual);
        Close.Assert(dxExpected, dxActual, 1e-4, atol, $"gradInput {what}");

        var dwExpected = new float[g.WeightLength];
        var dwActual = Guarded.Nan((int)g.WeightLength);
        Conv2dReference.BackwardWeight(g, x, dy, dwExpected);
        if (algorithm == null) Conv2dKernels.BackwardWeight(g, x, dy, dwActual);
        else Conv2dKernels.BackwardWeight(g, a, wd, x, dy, dwActual);
        Close.Assert(dwExpected, dwActual, 1e-4, weightGradAtol ?? atol, $"gradWeight {what}");

        var dbExpected = new float[g.OutChannels];
        var dbActual = Guarded.Nan(g.OutChannels);
        Conv2dReference.BackwardBias(g, dy, dbExpected);
        Conv2dKernels.BackwardBias(g, dy, dbActual);
        Close.Assert(dbExpected, dbActual, 1e-4, atol, $"gradBias {what}");
    }


    /// <summary>
    /// im2col + GEMM with images side by side in one product (small maps): two chunks of images, a last chunk short,
    /// and output channels that split into several copy tasks per image (the chunk's product is scattered back to the
    /// NCHW planes, and the output gradient gathered, on the kernel threads).
    /// </summary>
    [Theory]
    [InlineData(45, 8, 9, 9, 130, 1, 2, 0, 1)]   // 1×1 stride 2 (ResNet's downsample): 25 pixels, 41 images per product
    [InlineData(45, 8, 10, 10, 132, 3, 2, 1, 2)] // 3×3 stride 2, groups 2
    [InlineData(3, 4, 5, 5, 70, 1, 1, 0, 1)]     // 1×1 stride 1 on a small map: one chunk
    public void Im2ColWithImagesSideBySideMatchesReference(int batch, int cin, int h, int w, int cout, int k, int stride, int pad, int groups)
    {
        var g = new Conv2dGeometry(batch, cin, h, w, cout, k, k, stride, stride, pad, pad, 1, 1, groups);
        Assert.True(Conv2dKernels.ImagesPerGemm(g) > 1, $"{g} should put several images in one product");
        CheckAgainstReference(g, 4242, atol: 1e-4, weightGradAtol: 1e-3, algorithm: Conv2dAlgorithm.Im2ColGemm);
    }

    [Fact]
    public void ReferenceForwardMatchesHandComputedValues()
    {
        // 1×1×3×3 input 1..9, 2×2 kernel of ones, stride 1: each output is the sum of a 2×2 window.
        var g = new Conv2dGeometry(1, 1, 3, 3, 1, 2, 2);
        var y = new float[4];
        Conv2dReference.Forward(g, [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 1, 1], [0.5f], y);
        Assert.Equal([12.5f, 16.5f, 24.5f, 28.5f], y);
    }

    [Fact]
    public void EachShapeFamilyGetsItsAlgorithm()
    {
        Assert.Equal(Conv2dAlgorithm.Pointwise, Conv2dKernels.Choose(new Conv2dGeometry(32, 256, 56, 56, 64, 1, 1)));
        Assert.Equal(Conv2dAlgorithm.Depthwise, Conv2dKernels.Choose(new Conv2dGeometry(32, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32)));
        Assert.Equal(Conv2dAlgorithm.Depthwise, Conv2dKernels.Choose(new Conv2dGeometry(2, 16, 10, 10, 32, 3, 3, 1, 1, 1, 1, 1, 1, 16)));
        bool direct = Conv2dDirect.BestWidth is GemmPath.Vector512 or GemmPath.Vector256;
        Assert.Equal(direct ? Conv2dAlgorithm.Direct : Conv2dAlgorithm.Im2ColGemm, Conv2dKernels.Choose(new Conv2dGeometry(32, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1)));
        Assert.Equal(Conv2dAlgorithm.Im2ColGemm, Conv2dKernels.Choose(new Conv2dGeometry(32, 64, 56, 56, 128, 1, 1, 2, 2)));
    }

    [Theory]
    [InlineData(224, 7, 2, 3, 1, 112)]
    [InlineData(56, 3, 1, 1, 1, 56)]
    [InlineData(56, 1, 2, 0, 1, 28)]
    [InlineData(227, 11, 4, 0, 1, 55)]
    [InlineData(224, 11, 4, 2, 1, 55)]
    [InlineData(12, 3, 1, 2, 2, 12)]
    [InlineData(9, 3, 1, 0, 3, 3)]
    public void OutputSizeFollowsPyTorchFormula(int input, int kernel, int stride, int pad, int dilation, int expected)
    {
        var g = new Conv2dGeometry(1, 1, input, input, 1, kernel, kernel, stride, stride, pad, pad, dilation, dilation);
        Assert.Equal(expected, g.OutHeight);
        Assert.Equal(expected, g.OutWidth);
    }

    [Fact]
    public void InputTooSmallNamesTheMinimumSize()
    {
        var g = new Conv2dGeometry(1, 3, 4, 20, 8, 7, 7, 2, 2, 1, 1);
        var e = Assert.Throws<ArgumentException>(() => g.Validate());
        Assert.Contains("too small", e.Message);
        Assert.Contains("5×5", e.Message);
    }

    [Fact]
    public void GroupsThatDoNotDivideChannelsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new Conv2dGeometry(1, 6, 8, 8, 4, 3, 3, Groups: 4).Validate());
        Assert.Contains("groups = 4", e.Message);
    }

    [Fact]
    public void WrongSpanLengthIsRejected()
    {
        var g = new Conv2dGeometry(1, 2, 5, 5, 3, 3, 3);
        var e = Assert.Throws<ArgumentException>(() => Conv2dKernels.Forward(g, new float[49], new float[54], default, new float[27]));
        Assert.Contains("input span has 49 elements, expected 50", e.Message);
    }

    [Fact]
    public void BatchOfZeroGivesZeroWeightGradient()
    {
        var g = new Conv2dGeometry(0, 2, 5, 5, 3, 3, 3);
        var dw = Guarded.Nan((int)g.WeightLength);
        Conv2dKernels.BackwardWeight(g, [], [], dw);
        dw.Check($"BackwardWeight {g} with an empty batch");
        Assert.All(dw.ToArray(), v => Assert.Equal(0f, v));
    }
}
