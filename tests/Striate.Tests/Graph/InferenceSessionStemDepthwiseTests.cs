using Striate.Graph;
using Striate.Kernels;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A planar stem (3×3 stride-2 convolution of an RGB input → ReLU6) and the 3×3 depthwise convolution that alone reads
/// it run as one step (MobileNet-V2's features.0 and features.1's first convolution): the prepared model still computes
/// the eager model's output and the output of the session that runs the two apart, at batch 1 and 2, on odd maps, with
/// and without the 1×1 convolution after the depthwise inside the step; a stem whose output has a second reader stays
/// apart, and so does a 1×1 whose input has one.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionStemDepthwiseTests
{
    [Theory]
    [InlineData(1, 64, 64, false)]
    [InlineData(2, 37, 45, false)]
    [InlineData(1, 3, 90, false)]
    [InlineData(1, 64, 64, true)]
    [InlineData(2, 37, 45, true)]
    [InlineData(1, 3, 90, true)]
    public void DepthwiseRunsInsideTheStem(int batch, int h, int w, bool projection)
    {
        var g = new Generator(41);
        var model = new Sequential(
            new Conv2d(3, 16, 3, stride: 2, padding: 1, generator: g), new ReLU6(),
            new Conv2d(16, 16, 3, padding: 1, groups: 16, generator: g), new ReLU6(),
            new Conv2d(16, 8, 1, generator: g));
        model.Eval();
        using (Switches.Set(() => InferenceSession.ProjectionIntoStem, projection))
            Compare(model, batch, h, w, expectedFused: 1, expectedProjections: projection ? 1 : 0);
    }

    [Fact]
    public void ProjectionWithASecondReaderStaysOutside()
    {
        var g = new Generator(44);
        Compare(new ProjectionTwoReaders(g).Eval(), 1, 30, 30, expectedFused: 1, expectedProjections: 0);
    }

    private sealed class ProjectionTwoReaders(Generator g) : Module
    {
        private readonly Conv2d _stem = new(3, 16, 3, stride: 2, padding: 1, generator: g);
        private readonly Conv2d _dw = new(16, 16, 3, padding: 1, groups: 16, generator: g);
        private readonly Conv2d _project = new(16, 16, 1, generator: g);

        public override Tensor Forward(Tensor x)
        {
            var d = _dw.Call(_stem.Call(x));
            return Striate.Functional.F.Concat(_project.Call(d).Flatten(1), d.Flatten(1));
        }
    }

    [Fact]
    public void StemWithASecondReaderStaysApart()
    {
        var g = new Generator(42);
        Compare(new TwoReaders(g).Eval(), 1, 20, 20, expectedFused: 0);
    }

    private sealed class TwoReaders(Generator g) : Module
    {
        private readonly Conv2d _stem = new(3, 8, 3, stride: 2, padding: 1, generator: g);
        private readonly Conv2d _dw = new(8, 8, 3, padding: 1, groups: 8, generator: g);

        public override Tensor Forward(Tensor x)
        {
            var y = _stem.Call(x);
            return Striate.Functional.F.Concat(_dw.Call(y).Flatten(1), y.Flatten(1));
        }
    }

    private static void Compare(Module model, int batch, int h, int w, int expectedFused, int expectedProjections = 0)
    {
        var input = Tensor.Rand([batch, 3, h, w], new Generator(43), -1f, 1f);
        var expected = EagerOutput.Of(model, input);
        var fused = model.PrepareForInference(batch, 3, h, w);
        InferenceSession apart;
        using (Switches.Set(() => InferenceSession.DepthwiseIntoStem, false))
            apart = model.PrepareForInference(batch, 3, h, w);
        int pairs = fused.StepNodes.Count(s => s.Contains("(StemDepthwise ", StringComparison.Ordinal));
        int projections = fused.StepNodes.Count(s => s.Contains("→ depthwise → 1×1", StringComparison.Ordinal));
        bool here = Conv2dDirect.IsSupported(Conv2dDirect.BestWidth) && DepthwiseConv2d.VectorWidth() > 0;
        Assert.Equal(here ? expectedFused : 0, pairs);
        Assert.Equal(here ? expectedProjections : 0, projections);
        Assert.Equal(apart.StepCount - pairs - projections, fused.StepCount);
        var apartOut = apart.Run(input);
        Close.Assert(expected, apartOut, 1e-3, 1e-4, $"b{batch} {h}×{w}: apart session against eager");
        var actual = fused.Run(input);
        Close.Assert(expected, actual, 1e-3, 1e-4, $"b{batch} {h}×{w}: fused session against eager");
        Close.Assert(apartOut, actual, 1e-6, 1e-6, $"b{batch} {h}×{w}: fused session against the two steps apart");
    }
}
