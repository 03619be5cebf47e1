using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// Strided 1×1 convolutions at batch 1 as the input subsampled and then the pixels × channels product
/// (<see cref="Conv2dKernels.SubsampledPointwiseForward"/>) against <see cref="Conv2dReference"/> with a plain epilogue,
/// on every GEMM path this machine runs (the transposed product has AVX-512, AVX2 and scalar stores): random strides,
/// maps, channel counts past whole tiles, depths of several blocks, groups and two images; then ResNet-50's downsampling
/// shapes through <see cref="Conv2dKernels.Forward(in Conv2dGeometry, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dSubsampledPointwiseTests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    [Theory, MemberData(nameof(Paths))]
    public void SubsampledProductMatchesReferenceWithEpilogue(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var r = new Generator(8300 + (ulong)pathIndex);
        for (int trial = 0; trial < 10; trial++)
        {
            int groups = trial % 4 == 3 ? 2 : 1, batch = trial % 5 == 4 ? 2 : 1;
            int cin = groups * (trial % 3 == 0 ? 300 + r.NextInt(300) : 1 + r.NextInt(80)), cout = groups * (1 + r.NextInt(90));
            int sh = 2 + r.NextInt(2), sw = 1 + r.NextInt(3), h = 1 + r.NextInt(29), w = 1 + r.NextInt(29);
            var g = new Conv2dGeometry(batch, cin, h, w, cout, 1, 1, sh, sw, 0, 0, 1, 1, groups);
            var (x, wt, b, res, expected) = Conv2dEpilogueTests.Operands(g, r);
            bool residual = trial % 2 == 0;
            (float Lo, float Hi)? clamp = trial % 3 == 1 ? (0f, 0.5f) : null;
            for (int i = 0; i < expected.Length; i++)
            {
                float v = expected[i] + (residual ? res[i] : 0f);
                expected[i] = clamp is { } c ? MathF.Min(MathF.Max(v, c.Lo), c.Hi) : MathF.Max(v, 0f);
            }
            var actual = Guarded.Nan(g.OutputLength);
            var epilogue = new Conv2dEpilogue { Residual = residual ? res : default, Relu = clamp == null, Clamp = clamp };
            Conv2dKernels.SubsampledPointwiseForward(path, 1 + trial % 3, g, x, wt, b, epilogue, actual, null); // 1, 2 or 3 parts
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin) * 4, $"{path} {g} residual={residual} clamp={clamp}");
        }
    }

    [Theory]
    [InlineData(512, 28, 1024)]   // ResNet-50 layer3.0.downsample: 14×14 output, 196 pixels
    [InlineData(1024, 14, 2048)]  // layer4.0.downsample: 7×7 output, 49 pixels
    [InlineData(256, 56, 512)]    // layer2.0.downsample: 28×28 output, past the transposed product's maps (im2col + GEMM)
    public void ResNetDownsamplingAtBatchOneMatchesReference(int cin, int size, int cout)
    {
        var g = new Conv2dGeometry(1, cin, size, size, cout, 1, 1, 2, 2);
        Assert.Equal(Conv2dAlgorithm.Im2ColGemm, Conv2dKernels.Choose(g));
        Assert.Equal(Conv2dKernels.SubsampledPointwiseEnabled
            && PointwiseTransposed.Takes(Gemm.BestPath, cout, g.OutHeight * g.OutWidth, cin), Conv2dKernels.TakesSubsampledPointwise(g));
        var (x, w, b, _, expected) = Conv2dEpilogueTests.Operands(g, new Generator(8310 + (ulong)cin));
        var actual = Guarded.Nan(g.OutputLength);
        using (Switches.Set(() => KernelThreads.Count, Math.Max(2, KernelThreads.Count)))
            Conv2dKernels.Forward(g, x, w, b, actual);
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin) * 4, $"1×1 s2 {cin}→{cout} @{size}×{size}");
    }

    [Fact]
    public void StridedPointwiseAtLargerBatchesKeepsTheGatheredProduct()
    {
        // Several images share one product there (GemmImages), which pads no pixels.
        Assert.False(Conv2dKernels.TakesSubsampledPointwise(new Conv2dGeometry(8, 1024, 14, 14, 2048, 1, 1, 2, 2)));
        Assert.False(Conv2dKernels.TakesSubsampledPointwise(new Conv2dGeometry(1, 1024, 14, 14, 2048, 1, 1, 2, 2, 1, 1)));
    }
}
