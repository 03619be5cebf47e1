using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The direct convolution's pixel-input path (<see cref="Conv2dDirect.TakesPixels"/>: at most 4 input channels, kept
/// interleaved per pixel instead of padded to a block) against its reference twin, forced on each SIMD width: the
/// stems of ResNet (7×7 stride 2), AlexNet (11×11 stride 4) and VGG (3×3), 1–4 channels, every pixel step
/// (stride × channels) up to 14, output channels that do not fill a block, row dilation, and the fused epilogue.
/// </summary>
public class Conv2dDirectPixelKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(1, 3, 40, 37, 64, 7, 7, 2, 2, 3, 3),                   // ResNet stem, odd width
        new(2, 3, 47, 47, 64, 11, 11, 4, 4, 2, 2),                 // AlexNet stem: pixel step 12
        new(1, 3, 30, 30, 64, 3, 3, 1, 1, 1, 1),                   // VGG's first layer
        new(1, 1, 29, 33, 20, 5, 5, 1, 1, 2, 2),                   // grey input, 20 outputs (a partial block)
        new(3, 2, 17, 19, 40, 3, 4, 1, 3, 0, 1),                   // two channels, column stride 3, non-square kernel
        new(1, 4, 21, 23, 33, 3, 3, 2, 3, 1, 1, 2, 1),             // four channels, pixel step 12, row dilation 2
        new(1, 3, 7, 5, 96, 3, 3, 1, 1, 1, 1),                     // a 5-pixel row, three groups of blocks
        new(2, 3, 9, 60, 16, 3, 3, 1, 1, 0, 1),                    // one output block; 60 wide (tiles of 12 or 6 with edges)
    ];

    public static TheoryData<int, int> NamedCases() => DirectWidthCases.Of(Named.Length);

    public static TheoryData<int, int> RandomCases() => DirectWidthCases.Of(25);

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int width, int index)
    {
        Assert.True(Conv2dDirect.TakesPixels(Named[index]), $"{Named[index]} should take the pixel-input path");
        Conv2dDirectKernelTests.Check(Named[index], (GemmPath)width, 21000 + (ulong)index);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed)
    {
        var g = RandomGeometry(new Generator(2200 + (ulong)seed));
        Assert.True(Conv2dDirect.TakesPixels(g), $"{g} should take the pixel-input path");
        Conv2dDirectKernelTests.Check(g, (GemmPath)width, 22000 + (ulong)seed);
    }

    // A clamp other than ReLU (MobileNet-V2's stem ends in ReLU6) is applied where the tasks unblock their rows, after
    // bias and residual: against the reference, clamped, with and without residual.
    [Theory, MemberData(nameof(RandomCases))]
    public void ClampMatchesReferenceOnRandomGeometry(int width, int seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported((GemmPath)width), $"the direct kernel at {(GemmPath)width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var g = RandomGeometry(new Generator(2300 + (ulong)seed));
        var (x, w, b, res, plain) = Conv2dEpilogueTests.Operands(g, new Generator(23000 + (ulong)seed));
        double atol = 1e-5 * Math.Sqrt(Math.Max(g.InChannels, g.OutChannels) * g.KernelHeight * g.KernelWidth + 1) * 4;
        foreach (var (lo, hi) in new[] { (0f, 6f), (-0.3f, 0.4f) })
        foreach (bool withResidual in new[] { false, true })
        {
            var expected = plain.Select((v, i) => Math.Min(Math.Max(v + (withResidual ? res[i] : 0f), lo), hi)).ToArray();
            var actual = Guarded.Nan(g.OutputLength);
            Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, (GemmPath)width, x, w, b, actual,
                new Conv2dEpilogue { Residual = withResidual ? res : default, Clamp = (lo, hi) });
            Close.Assert(expected, actual, 1e-4, atol, $"{g} Direct {(GemmPath)width} clamp [{lo}, {hi}] residual {withResidual}");
        }
    }

    [Fact]
    public void StemsTakeThePixelPathAndDeeperLayersDoNot()
    {
        Assert.True(Conv2dDirect.TakesPixels(new Conv2dGeometry(1, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3)));
        Assert.True(Conv2dDirect.TakesPixels(new Conv2dGeometry(1, 3, 224, 224, 64, 11, 11, 4, 4, 2, 2)));
        Assert.False(Conv2dDirect.TakesPixels(new Conv2dGeometry(1, 5, 32, 32, 64, 3, 3, 1, 1, 1, 1)));     // five channels: blocked
        Assert.False(Conv2dDirect.TakesPixels(new Conv2dGeometry(1, 3, 32, 32, 64, 3, 3, 1, 5, 1, 1)));     // step 15 has no tile
        Assert.False(Conv2dDirect.TakesPixels(new Conv2dGeometry(1, 3, 32, 32, 64, 3, 3, 1, 1, 2, 2, 1, 2))); // column dilation
    }

    private static Conv2dGeometry RandomGeometry(Generator r)
    {
        int cin = 1 + r.NextInt(4);
        int kH = 1 + r.NextInt(7), kW = 1 + r.NextInt(7);
        int sH = 1 + r.NextInt(3), sW = 1 + r.NextInt(Math.Min(4, 14 / cin)), pH = r.NextInt(3), pW = r.NextInt(3), dH = 1 + r.NextInt(2);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(12), w = Conv2dGeometry.MinInputSize(kW, pW, 1) + r.NextInt(50);
        return new Conv2dGeometry(1 + r.NextInt(3), cin, h, w, 1 + r.NextInt(70), kH, kW, sH, sW, pH, pW, dH, 1);
    }
}
