using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The flat direct path for small stride-1 convolutions (<see cref="Conv2dFlat"/>: forward and weight gradient on
/// zero-padded planes laid end to end) against the reference twin, on every vector width it has (AVX-512, AVX2,
/// 128-bit), for LeNet's shapes and random ones: 1–4 output channels per register tile, tap counts that leave a
/// partial tap tile, paddings, rows whose dropped columns wrap into the next row, batches split unevenly over tasks.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dFlatKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(37, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2),   // LeNet conv1, odd batch
        new(29, 6, 14, 14, 16, 5, 5),              // LeNet conv2, odd batch
        new(70, 6, 14, 14, 16, 5, 5),              // LeNet conv2, five weight-gradient tasks of 14 images
        new(3, 2, 5, 9, 7, 3, 1, 1, 1, 0, 2),      // Cout 7 = 4 + 3; 1-wide kernel with wide padding
        new(5, 3, 6, 6, 1, 1, 1),                  // 1×1, one output channel
    ];

    public static TheoryData<int, int> NamedCases() => FlatConvCases.ByWidth(Named.Length);

    public static TheoryData<int, int> RandomCases() => FlatConvCases.ByWidth(16);

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int width, int index) => Check(Named[index], (GemmPath)width, 100 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed)
    {
        var r = new Generator(4400 + (ulong)seed);
        var g = FlatConvCases.RandomStride1(r, 0, 24, c => Conv2dFlat.Supports(c));
        Check(g, (GemmPath)width, 200 + (ulong)seed);
    }

    [Fact]
    public void StridedDilatedAndGroupedConvolutionsAreNotTaken()
    {
        Assert.False(Conv2dFlat.Supports(new Conv2dGeometry(8, 6, 14, 14, 16, 5, 5, 2, 2)));
        Assert.False(Conv2dFlat.Supports(new Conv2dGeometry(8, 6, 14, 14, 16, 3, 3, 1, 1, 0, 0, 2, 2)));
        Assert.False(Conv2dFlat.Supports(new Conv2dGeometry(8, 6, 14, 14, 16, 3, 3, 1, 1, 1, 1, 1, 1, 2)));
        Assert.False(Conv2dFlat.Supports(new Conv2dGeometry(8, 3, 224, 224, 16, 3, 3)));  // planes too large
    }

    [Fact]
    public void WeightGradientDoesNotDependOnTheThreadCount()
    {
        Assert.SkipUnless(Conv2dFlat.BestWidth != GemmPath.Scalar, "no vector width for the flat path here.");
        var g = Named[2];
        var r = new Generator(8);
        var x = Close.RandomArray((int)g.InputLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        var one = new float[g.WeightLength];
        var two = new float[g.WeightLength];
        using (Switches.Set(() => KernelThreads.Count, 1))
            Conv2dFlat.BackwardWeight(Conv2dFlat.BestWidth, g, x, dy, one);
        using (Switches.Set(() => KernelThreads.Count, 2))
            Conv2dFlat.BackwardWeight(Conv2dFlat.BestWidth, g, x, dy, two);
        Assert.Equal(one, two);
    }

    private static void Check(Conv2dGeometry g, GemmPath width, ulong seed)
    {
        Assert.SkipUnless(Conv2dFlat.IsSupported(width), $"the flat path at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        // The weight gradient sums over the whole batch and every output pixel.
        double dwAtol = 1e-5 * Math.Sqrt(g.Batch * g.OutHeight * g.OutWidth) * 4;
        Conv2dKernelsTests.CheckAgainstReference(g, seed, atol: 1e-4, weightGradAtol: Math.Max(1e-4, dwAtol),
            algorithm: Conv2dAlgorithm.SmallDirect, width: width);
    }
}
