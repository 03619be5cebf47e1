using Striate.Autograd;
using Striate.Functional;
using Striate.Models.Torchvision;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Models;

/// <summary>
/// DenseNet's inference path that normalizes the feature list straight into conv1's input (no concatenation per
/// layer) gives the same numbers as the module-by-module path, and steps aside when hooks or gradients need the
/// modules' own calls.
/// </summary>
public sealed class DenseNetFeatureListTests
{
    private static DenseNet SmallDenseNet(Generator g)
    {
        var model = new DenseNet(growthRate: 6, blockConfig: [3, 2], numInitFeatures: 8, bnSize: 2, inChannels: 3, numClasses: 5, generator: g);
        // Non-trivial running statistics and affine parameters, so that a wrong channel offset changes the output.
        foreach (var m in model.NamedModules().Select(p => p.Value).OfType<BatchNorm2d>())
        {
            for (int c = 0; c < m.NumFeatures; c++)
            {
                m.RunningMean.Span[c] = 0.3f * g.NextFloat() - 0.15f;
                m.RunningVar.Span[c] = 0.5f + g.NextFloat();
                m.Weight!.Span[c] = 0.5f + g.NextFloat();
                m.Bias!.Span[c] = 0.2f * g.NextFloat() - 0.1f;
            }
        }
        return model;
    }

    [Fact]
    public void EvalWithoutGradMatchesTheModuleByModulePath()
    {
        var g = new Generator(11);
        var model = SmallDenseNet(g);
        model.Eval();
        var x = Tensor.Randn([2, 3, 32, 32], g);

        Tensor expected = model.Call(x); // grad mode on: parameters require grad, so every module runs through Call
        Tensor actual;
        using (GradMode.NoGrad())
        {
            var layer = model.NamedModules().Select(p => p.Value).OfType<DenseLayer>().First();
            Assert.True(layer.CanTakeFeatureList);
            actual = model.Call(x);
        }
        Close.Assert(expected, actual, 1e-5, 1e-5, "DenseNet logits, feature list vs concatenation");
    }

    [Fact]
    public void AHookOnTheNormStillSeesEveryCall()
    {
        var g = new Generator(12);
        var model = SmallDenseNet(g);
        model.Eval();
        var layer = model.NamedModules().Select(p => p.Value).OfType<DenseLayer>().First();
        var norm1 = layer.NamedModules().Select(p => p.Value).OfType<BatchNorm2d>().First();
        int calls = 0;
        using var hook = norm1.RegisterForwardHook((_, _, _) => calls++);
        using (GradMode.NoGrad())
        {
            Assert.False(layer.CanTakeFeatureList);
            model.Call(Tensor.Randn([1, 3, 32, 32], g));
        }
        Assert.Equal(1, calls);
    }

    [Fact]
    public void TrainingModeNeverTakesTheFeatureList()
    {
        var model = SmallDenseNet(new Generator(13));
        using var noGrad = GradMode.NoGrad();
        Assert.All(model.NamedModules().Select(p => p.Value).OfType<DenseLayer>(), l => Assert.False(l.CanTakeFeatureList));
    }

    [Fact]
    public void ConcatBatchNormReluMatchesTheCompositionAndKeepsItsGradient()
    {
        var g = new Generator(14);
        var a = Tensor.Randn([2, 3, 5, 4], g);
        var b = Tensor.Randn([2, 5, 5, 4], g);
        Tensor mean = Tensor.Randn([8], g), variance = Tensor.Randn([8], g), weight = Tensor.Randn([8], g), bias = Tensor.Randn([8], g);
        for (int c = 0; c < 8; c++) variance.Span[c] = 0.5f + Math.Abs(variance.Span[c]);
        var expected = F.ReluInPlace(F.BatchNorm(F.Concat([a, b], dim: 1), mean, variance, weight, bias, training: false));

        Tensor fused;
        using (GradMode.NoGrad()) fused = F.ConcatBatchNormRelu([a, b], mean, variance, weight, bias);
        Close.Assert(expected, fused, 1e-5, 1e-6, "fused without a graph");

        // With a tensor that requires grad it is the composition, gradient included.
        weight.RequiresGrad = true;
        var composed = F.ConcatBatchNormRelu([a, b], mean, variance, weight, bias);
        Close.Assert(expected, composed, 1e-6, 1e-6, "composed");
        F.Sum(composed).Backward();
        Assert.NotNull(weight.Grad);
    }

    [Fact]
    public void InputsOfDifferentSizesAreRefusedNamingTheShape()
    {
        var a = Tensor.Zeros([1, 2, 4, 4]);
        var b = Tensor.Zeros([1, 2, 5, 4]);
        var stats = Tensor.Ones([4]);
        using var noGrad = GradMode.NoGrad();
        var e = Assert.Throws<ArgumentException>(() => F.ConcatBatchNormRelu([a, b], stats, stats));
        Assert.Contains("inputs[1]", e.Message);
        Assert.Contains("[1, 2, 5, 4]", e.Message);
    }
}
