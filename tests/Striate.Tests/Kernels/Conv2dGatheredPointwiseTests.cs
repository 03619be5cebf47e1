using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The gathered 1×1 forward (<see cref="GemmImages"/>: B̃ packed straight from the strided input, C tiles stored straight
/// into NCHW, tiles straddling two images through a scratch tile) against the reference twin: strides 1–3, planes
/// narrower and wider than a tile, groups, depths past one packed block (a later depth block adds onto C), and batches
/// whose columns end inside a tile.
/// </summary>
public class Conv2dGatheredPointwiseTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW, groups)
    private static readonly Conv2dGeometry[] Named =
    [
        new(6, 128, 28, 28, 256, 1, 1, 2, 2),    // ResNet layer3.0.downsample (14×14 planes: 196 columns each)
        new(9, 256, 14, 14, 512, 1, 1, 2, 2),    // layer4.0.downsample (7×7 planes: most tiles straddle two images)
        new(5, 600, 6, 5, 20, 1, 1, 2, 2),       // two depth blocks: the second adds onto straddling tiles too
        new(7, 6, 9, 11, 10, 1, 1, 3, 2, 0, 0, 1, 1, 2), // groups 2, uneven strides, odd plane
        new(40, 3, 2, 3, 17, 1, 1, 1, 1),        // 6-pixel planes: a tile spans several images
    ];

    public static TheoryData<int> NamedCases() => new(Enumerable.Range(0, Named.Length));
    public static TheoryData<int> RandomCases() => new(Enumerable.Range(0, 16));

    [Fact]
    public void ResNetDownsamplingAtBatch32TakesTheGatheredForward()
    {
        foreach (var g in new Conv2dGeometry[] { new(32, 128, 28, 28, 256, 1, 1, 2, 2), new(32, 256, 14, 14, 512, 1, 1, 2, 2) })
        {
            Assert.Equal(Conv2dAlgorithm.Im2ColGemm, Conv2dKernels.Choose(g));
            Assert.True(Conv2dKernels.ImagesPerGemm(g) > 1);
            Assert.Equal(Gemm.UsesPackedA(Gemm.BestPath, g.OutChannels), Conv2dKernels.TakesGatheredPointwise(g));
        }
    }

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int index) => Check(Named[index], 700 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int seed)
    {
        var r = new Generator(7100 + (ulong)seed);
        int groups = 1 + r.NextInt(2);
        int cin = groups * (1 + r.NextInt(40)), cout = groups * (5 + r.NextInt(40));
        int s = 1 + r.NextInt(3), h = 1 + r.NextInt(16), w = 1 + r.NextInt(16);
        Check(new Conv2dGeometry(2 + r.NextInt(30), cin, h, w, cout, 1, 1, s, 1 + r.NextInt(3), 0, 0, 1, 1, groups), (ulong)seed);
    }

    private static void Check(Conv2dGeometry g, ulong seed) =>
        Conv2dKernelsTests.CheckAgainstReference(g, seed, atol: 1e-4, weightGradAtol: 1e-3, algorithm: Conv2dAlgorithm.Im2ColGemm);
}
