using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The gathered 1×1 forward (<see cref="GemmImages"/>: B̃ packed straight from the strided input, C tiles stored straight
/// into NCHW, tiles straddling two images through a scratch tile) against the reference twin: strides 1–3, planes
/// narrower and wider than a tile, groups, depths past one packed block (a later depth block adds onto C), and batches
/// whose columns end inside a tile. B̃'s two packings (runs of 8 stride-1/stride-2 columns as vectors, channel by channel;
/// and the scalar twin, strip by strip) give bit-identical outputs.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
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
        new(3, 64, 56, 56, 24, 1, 1, 2, 2),      // layer2.0.downsample's rows: 28 columns, runs of 8 stride-2 floats and a tail
        new(2, 40, 15, 31, 20, 1, 1, 1, 2),      // sH 1, sW 2, odd width: a row's last run ends on the row's last float
        new(3, 33, 12, 12, 20, 1, 1, 1, 1),      // stride 1: a plane is one run across its rows (144 columns)
        new(2, 20, 9, 17, 14, 1, 1, 2, 2),       // 9-pixel output rows: one run of 8 and a float
    ];

    /// <summary>Geometries whose columns hold runs of 8 (stride 1 or 2) and broken ones, for the two packings.</summary>
    private static readonly Conv2dGeometry[] Runs =
    [
        new(3, 64, 56, 56, 24, 1, 1, 2, 2),
        new(4, 30, 28, 28, 13, 1, 1, 2, 2),
        new(2, 40, 15, 31, 20, 1, 1, 1, 2),
        new(3, 33, 12, 12, 20, 1, 1, 1, 1),
        new(5, 17, 7, 9, 11, 1, 1, 1, 1),
        new(2, 600, 18, 17, 9, 1, 1, 2, 2),      // two depth blocks
        new(3, 6, 20, 23, 10, 1, 1, 3, 2, 0, 0, 1, 1, 2),
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

    /// <summary>
    /// The vector packing against its scalar twin (<see cref="GemmImages.VectorGather"/> off), bit for bit, on 1 and 2
    /// threads and with 1, 3 or all strips per pass over the channels (<see cref="GemmImages.GatherStrips"/>).
    /// </summary>
    [Fact]
    public void VectorGatherMatchesTheScalarPackingBitForBit()
    {
        // Without AVX2 both arms run the scalar packing: nothing would be compared.
        Assert.SkipUnless(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "the vector gather needs AVX2 (absent here or disabled by DOTNET_Enable* settings).");
        for (int i = 0; i < Runs.Length; i++)
        {
            var g = Runs[i];
            Assert.True(Conv2dKernels.TakesGatheredPointwise(g) && Conv2dKernels.ImagesPerGemm(g) > 1, $"{g} takes the gathered product");
            var r = new Generator(7300 + (ulong)i);
            var x = Close.RandomArray((int)g.InputLength, r);
            var w = Close.RandomArray((int)g.WeightLength, r);
            var expected = new float[g.OutputLength];
            using (Switches.Set(() => GemmImages.VectorGather, false))
                Conv2dKernels.Forward(g, Conv2dAlgorithm.Im2ColGemm, Conv2dDirect.BestWidth, x, w, default, expected, default);
            foreach (int strips in new[] { 0, 1, 3 })
            foreach (int threads in new[] { 1, 2 })
            {
                var actual = Guarded.Nan(g.OutputLength);
                using (Switches.Set(() => GemmImages.GatherStrips, strips))
                using (Switches.Set(() => KernelThreads.Count, threads))
                    Conv2dKernels.Forward(g, Conv2dAlgorithm.Im2ColGemm, Conv2dDirect.BestWidth, x, w, default, actual, default);
                actual.Check($"{g} strips {strips} threads {threads}");
                for (int e = 0; e < actual.Length; e++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[e]) == BitConverter.SingleToInt32Bits(actual[e]),
                        $"{g} strips {strips} threads {threads}: y[{e}] = {actual[e]}, scalar packing {expected[e]}");
            }
        }
    }

    private static void Check(Conv2dGeometry g, ulong seed) =>
        Conv2dKernelsTests.CheckAgainstReference(g, seed, atol: 1e-4, weightGradAtol: 1e-3, algorithm: Conv2dAlgorithm.Im2ColGemm);
}
