using Striate.Autograd;
using Striate.Graph;
using Striate.Kernels;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// An RGB convolution → ReLU and the max pool that alone reads it run as one step (the stems of VGG, GoogLeNet, ResNet):
/// the prepared model still computes the eager model's output and the output of the session that runs the two steps
/// apart, at batch 1 and 2, on odd maps, in ceil mode and with a padded pool; a convolution without ReLU, with a second
/// reader, or on more than four input channels stays two steps (those tests keep blocked convolutions' pools apart);
/// with blocked convolutions' 2×2/2 pools fused as well (VGG's blocks), and their 3×3/2 ones (GoogLeNet's conv3), the same outputs.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionConvPoolTests
{
    [Theory]
    [InlineData(1, 32, 32, 3, 1, 2, 2, 0, false)]   // VGG: 3×3 conv, 2×2/2 pool
    [InlineData(2, 29, 31, 3, 1, 2, 2, 0, false)]
    [InlineData(1, 45, 43, 7, 2, 3, 2, 0, true)]    // GoogLeNet: 7×7/2 conv, 3×3/2 pool in ceil mode
    [InlineData(2, 40, 38, 7, 2, 3, 2, 1, false)]   // ResNet: 7×7/2 conv, 3×3/2 pool padded by one
    public void StemPoolsInsideTheConvolution(int batch, int h, int w, int k, int stride, int pk, int ps, int pp, bool ceil)
    {
        var g = new Generator(31);
        var model = new Sequential(
            new Conv2d(3, 24, k, stride: stride, padding: k / 2, generator: g), new ReLU(), new MaxPool2d(pk, ps, pp, ceil),
            new Conv2d(24, 16, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2, 2));
        model.Eval();
        Compare(model, batch, h, w, expectedFused: 1);
    }

    [Theory]
    [InlineData(1, 64, 64)]
    [InlineData(2, 45, 51)]   // odd maps: the last row and column of an odd conv output are not pooled
    [InlineData(5, 32, 32)]   // per-image tasks
    public void BlockedConvolutionsPoolInsideTheConvolutionToo(int batch, int h, int w)
    {
        // VGG's pattern: conv → ReLU → 2×2/2 pool after the stem and after a pair of convolutions.
        var g = new Generator(34);
        var model = new Sequential(
            new Conv2d(3, 16, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2, 2),
            new Conv2d(16, 48, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2, 2),
            new Conv2d(48, 64, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(64, 64, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2, 2));
        model.Eval();
        // Each convolution before a pool fuses with it where it takes the direct kernel (small maps may take another).
        var convs = new[]
        {
            new Conv2dGeometry(batch, 3, h, w, 16, 3, 3, 1, 1, 1, 1), new Conv2dGeometry(batch, 16, h / 2, w / 2, 48, 3, 3, 1, 1, 1, 1),
            new Conv2dGeometry(batch, 64, h / 4, w / 4, 64, 3, 3, 1, 1, 1, 1),
        };
        int Fuses(Conv2dGeometry c)
        {
            var pool = new Pool2dGeometry(c.Batch * c.OutChannels, c.OutHeight, c.OutWidth, c.OutHeight / 2, c.OutWidth / 2, 2, 2, 2, 2, 0, 0);
            return Conv2dKernels.Choose(c) == Conv2dAlgorithm.Direct
                && (Conv2dDirect.TakesPixelsPool(c, pool) || Conv2dDirect.TakesBlockedPool(Conv2dDirect.BestWidth, c, pool)) ? 1 : 0;
        }
        if (Conv2dDirect.IsSupported(Conv2dDirect.BestWidth)) Assert.True(Fuses(convs[1]) + Fuses(convs[2]) > 0, "no blocked convolution of the test takes the direct kernel");
        Compare(model, batch, h, w, expectedFused: convs.Sum(Fuses), direct: true);
    }

    [Theory]
    [InlineData(1, 56, 56)]   // GoogLeNet's conv3 → maxpool2 at a quarter of its channels: 56 → 28 in ceil mode
    [InlineData(2, 27, 29)]   // odd maps: the last windows cut by the plane's edge
    public void BlockedConvolutionsPoolThreeByThreeWindowsInside(int batch, int h, int w)
    {
        // GoogLeNet's stem: conv1 → ReLU → 3×3/2 pool (ceil), conv2 (1×1), conv3 (3×3) → ReLU → 3×3/2 pool (ceil).
        var g = new Generator(35);
        var model = new Sequential(
            new Conv2d(3, 16, 7, stride: 2, padding: 3, generator: g), new ReLU(), new MaxPool2d(3, 2, 0, true),
            new Conv2d(16, 16, 1, generator: g), new ReLU(),
            new Conv2d(16, 48, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(3, 2, 0, true));
        model.Eval();
        int h1 = Pool2dGeometry.OutputSize((h + 1) / 2, 3, 2, 0, true), w1 = Pool2dGeometry.OutputSize((w + 1) / 2, 3, 2, 0, true);
        var conv3 = new Conv2dGeometry(batch, 16, h1, w1, 48, 3, 3, 1, 1, 1, 1);
        var pool = new Pool2dGeometry(batch * 48, h1, w1, Pool2dGeometry.OutputSize(h1, 3, 2, 0, true), Pool2dGeometry.OutputSize(w1, 3, 2, 0, true), 3, 3, 2, 2, 0, 0);
        int fused = Conv2dKernels.Choose(conv3) == Conv2dAlgorithm.Direct && Conv2dDirect.TakesBlockedPool(Conv2dDirect.BestWidth, conv3, pool) ? 1 : 0;
        Compare(model, batch, h, w, expectedFused: 1 + fused, direct: true);
    }

    [Fact]
    public void OtherConvolutionsStayApart()
    {
        var g = new Generator(32);
        // A convolution without ReLU, one whose output is also read by a concatenation, one on 24 channels (blocked input).
        Compare(new Sequential(new Conv2d(3, 16, 3, padding: 1, generator: g), new MaxPool2d(2, 2)).Eval(), 1, 20, 20, expectedFused: 0);
        Compare(new TwoReaders(g).Eval(), 1, 20, 20, expectedFused: 0);
        Compare(new Sequential(new Conv2d(3, 24, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2, 2),
            new Conv2d(24, 8, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2, 2)).Eval(), 1, 20, 20, expectedFused: 1);
    }

    private sealed class TwoReaders(Generator g) : Module
    {
        private readonly Conv2d _conv = new(3, 16, 3, padding: 1, generator: g);

        public override Tensor Forward(Tensor x)
        {
            var y = Striate.Functional.F.Relu(_conv.Call(x));
            var pooled = Striate.Functional.F.MaxPool2d(y, 2, 2);
            return Striate.Functional.F.Concat(pooled.Flatten(1), y.Flatten(1));
        }
    }

    private static void Compare(Module model, int batch, int h, int w, int expectedFused, bool direct = false)
    {
        var input = Tensor.Rand([batch, 3, h, w], new Generator(33), -1f, 1f);
        var expected = EagerOutput.Of(model, input);
        InferenceSession fused, apart;
        using (Switches.Set(() => InferenceSession.PoolIntoDirectConvolution, direct))
        {
            fused = model.PrepareForInference(batch, 3, h, w);
            using (Switches.Set(() => InferenceSession.PoolIntoConvolution, false))
                apart = model.PrepareForInference(batch, 3, h, w);
        }
        int pairs = fused.StepNodes.Count(s => s.Contains("(ConvPool ", StringComparison.Ordinal));
        Assert.True((Conv2dDirect.IsSupported(Conv2dDirect.BestWidth) ? expectedFused : 0) == pairs, $"{pairs} fused pools, steps: {string.Join("; ", fused.StepNodes)}");
        Assert.Equal(apart.StepCount - pairs, fused.StepCount);
        var actual = fused.Run(input);
        Close.Assert(expected, actual, 1e-3, 1e-4, $"b{batch} {h}×{w}: fused session against eager");
        Close.Assert(apart.Run(input), actual, 1e-6, 1e-6, $"b{batch} {h}×{w}: fused session against the two steps apart");
    }
}
