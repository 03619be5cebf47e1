using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The batched small-convolution path (<see cref="Conv2dAlgorithm.BatchedIm2Col"/>: whole image chunks per thread,
/// row-combination forward, dot-product weight gradient summed over per-task partials) against the reference twin,
/// on batches large enough to split into many chunks and tasks, including odd sizes and uneven splits.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dBatchedKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW, groups)
    private static readonly Conv2dGeometry[] Named =
    [
        new(37, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2),                   // LeNet conv1, odd batch (chunks of 2, last one short)
        new(29, 6, 14, 14, 16, 5, 5),                              // LeNet conv2 (16 rows: GEMM forward), odd batch
        new(50, 3, 9, 11, 7, 3, 3, 2, 1, 1, 0),                    // odd planes, non-square stride, many chunks
        new(41, 4, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2),            // groups 2
        new(33, 2, 12, 10, 3, 3, 2, 1, 1, 2, 1, 2, 1),             // dilation along the height
        new(150, 2, 5, 5, 3, 3, 3),                                // 3×3 output planes: 114 images per chunk, 2 chunks
    ];

    public static TheoryData<int> NamedCases() => new(Enumerable.Range(0, Named.Length));
    public static TheoryData<int> RandomCases() => new(Enumerable.Range(0, 24));

    // Small stride-1 convolutions take the flat direct path where it has vectors (its input gradient stays here).
    private static Conv2dAlgorithm SmallStrideOne => Conv2dFlat.BestWidth == GemmPath.Scalar ? Conv2dAlgorithm.BatchedIm2Col : Conv2dAlgorithm.SmallDirect;

    private static bool IsSmall(Conv2dAlgorithm a) => a is Conv2dAlgorithm.BatchedIm2Col or Conv2dAlgorithm.SmallDirect;

    [Fact]
    public void LeNetConvolutionsTakeTheSmallPaths()
    {
        Assert.Equal(SmallStrideOne, Conv2dKernels.Choose(new Conv2dGeometry(256, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2)));
        Assert.Equal(SmallStrideOne, Conv2dKernels.Choose(new Conv2dGeometry(256, 6, 14, 14, 16, 5, 5)));
        Assert.Equal(Conv2dAlgorithm.Im2ColGemm, Conv2dKernels.Choose(new Conv2dGeometry(1, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2))); // one chunk
    }

    [Theory, MemberData(nameof(NamedCases))]
    public void AllFourMatchReferenceOnNamedGeometry(int index)
    {
        Assert.True(IsSmall(Conv2dKernels.Choose(Named[index])));
        CheckAgainstReference(Named[index], 500 + (ulong)index);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void AllFourMatchReferenceOnRandomGeometry(int seed)
    {
        var r = new Generator(9000 + (ulong)seed);
        Conv2dGeometry g;
        do
        {
            int groups = 1 + r.NextInt(2);
            int cin = groups * (1 + r.NextInt(4)), cout = groups * (1 + r.NextInt(10));
            int kH = 1 + r.NextInt(5), kW = 1 + r.NextInt(5);
            int sH = 1 + r.NextInt(2), sW = 1 + r.NextInt(2), pH = r.NextInt(3), pW = r.NextInt(3), dH = 1 + r.NextInt(2), dW = 1 + r.NextInt(2);
            int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(20), w = Conv2dGeometry.MinInputSize(kW, pW, dW) + r.NextInt(20);
            g = new Conv2dGeometry(2 + r.NextInt(60), cin, h, w, cout, kH, kW, sH, sW, pH, pW, dH, dW, groups);
        } while (!IsSmall(Conv2dKernels.Choose(g)));
        CheckAgainstReference(g, (ulong)seed);
    }

    [Fact]
    public void WeightGradientDoesNotDependOnTheThreadCount()
    {
        var g = Named[0];
        var r = new Generator(3);
        var x = Close.RandomArray((int)g.InputLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        var one = new float[g.WeightLength];
        var two = new float[g.WeightLength];
        using (Switches.Set(() => KernelThreads.Count, 1))
            Conv2dKernels.BackwardWeight(g, x, dy, one);
        using (Switches.Set(() => KernelThreads.Count, 2))
            Conv2dKernels.BackwardWeight(g, x, dy, two);
        Assert.Equal(one, two);
    }

    // The batched path sums over whole chunks of images: tolerances as wide as those sums need.
    private static void CheckAgainstReference(Conv2dGeometry g, ulong seed) =>
        Conv2dKernelsTests.CheckAgainstReference(g, seed, atol: 1e-4, weightGradAtol: 1e-3, algorithm: Conv2dAlgorithm.BatchedIm2Col);
}
