using Striate.Functional;
using Striate.Models;
using Striate.Nn;

namespace Striate.Tests.Nn;

/// <summary>ReplaceClassifier finds each zoo model's head as torchvision names it; Freeze stops gradients and keeps batch norm statistics.</summary>
public sealed class FineTuningTests
{
    private static Module Build(string name, int classes = 10, int channels = 3) =>
        ModelRegistry.Get(name).Build(new ModelOptions(channels, classes, 1.0, new Generator(1)));

    private static Tensor RandomInput(ulong seed)
    {
        var g = new Generator(seed);
        var values = new float[2 * 3 * 32 * 32];
        for (int i = 0; i < values.Length; i++) values[i] = g.NextFloat();
        return Tensor.FromArray(values, 2, 3, 32, 32);
    }

    [Theory]
    [InlineData("resnet18", "fc")]
    [InlineData("googlenet", "fc")]
    [InlineData("densenet121", "classifier")]
    [InlineData("mobilenet_v2", "classifier.1")]
    [InlineData("alexnet", "classifier.6")]
    [InlineData("lenet-relu", "11")]
    [InlineData("d2l-resnet18", "7")]
    [InlineData("d2l-densenet", "12")]
    [InlineData("nin", "7.4")]
    public void ReplaceClassifierSwapsTheHeadTorchvisionNames(string model, string head)
    {
        var m = Build(model, channels: model.StartsWith("d2l") || model is "nin" or "lenet-relu" ? 1 : 3);
        Assert.Equal(head, m.ClassifierName());
        var before = m.StateDict().ToDictionary(e => e.Key, e => e.Value.Shape.ToArray());
        var replaced = m.ReplaceClassifier(5, new Generator(2));
        Assert.Equal([head + ".weight", head + ".bias"], replaced);
        var after = m.StateDict().ToDictionary(e => e.Key, e => e.Value.Shape.ToArray());
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (key, shape) in before)
            if (replaced.Contains(key)) Assert.Equal(5, after[key][0]);
            else Assert.Equal(shape, after[key]);
        Assert.All(replaced, k => Assert.True(m.NamedParameters().First(p => p.Key == k).Value.RequiresGrad));
    }

    [Fact]
    public void AReplacedHeadProducesTheNewClassCount()
    {
        var m = Build("resnet18", classes: 1000);
        m.ReplaceClassifier(3, new Generator(2));
        using var noGrad = Striate.Autograd.GradMode.NoGrad();
        var x = Tensor.Zeros(2, 3, 32, 32);
        Assert.Equal([2, 3], m.Eval().Call(x).Shape.ToArray());
        Assert.Equal(3, ((Striate.Models.Torchvision.ResNet)m).Fc.OutFeatures);
    }

    [Fact]
    public void FreezeStopsGradientsForThePrefixOnly()
    {
        var m = Build("resnet18", classes: 4);
        var frozen = m.Freeze("layer1");
        Assert.Contains("layer1.0.conv1.weight", frozen);
        Assert.DoesNotContain(frozen, n => !n.StartsWith("layer1.", StringComparison.Ordinal));
        var x = RandomInput(3);
        var loss = F.Mean(m.Train().Call(x));
        loss.Backward();
        foreach (var (name, p) in m.NamedParameters())
            if (name.StartsWith("layer1.", StringComparison.Ordinal)) Assert.Null(p.Grad);
            else Assert.NotNull(p.Grad);
        Assert.Equal(m.Parameters().Count() - frozen.Count, m.TrainableParameters().Count());
    }

    [Fact]
    public void FrozenBatchNormStaysInEvalModeAndKeepsItsStatistics()
    {
        var m = Build("resnet18", classes: 4);
        m.Freeze();
        m.Unfreeze("fc");
        m.Train();
        var bn = (BatchNorm2d)m.NamedModules().First(e => e.Key == "layer2.0.bn1").Value;
        Assert.False(bn.Training);
        Assert.True(m.Training);
        float mean0 = bn.RunningMean.Span[0];
        var x = RandomInput(4);
        m.Call(x);
        Assert.Equal(mean0, bn.RunningMean.Span[0]);
        Assert.Equal(0f, bn.NumBatchesTracked.Span[0]);

        m.Unfreeze("layer2");
        Assert.True(bn.Training);
        Assert.Equal(["fc.weight", "fc.bias"], m.TrainableParameters().Select(p => m.NamedParameters().First(e => ReferenceEquals(e.Value, p)).Key).Where(k => !k.StartsWith("layer2")));
    }

    [Fact]
    public void FreezeNamesTheModulesWhenThePrefixMatchesNothing()
    {
        var e = Assert.Throws<ArgumentException>(() => Build("resnet18").Freeze("layer9"));
        Assert.Contains("no module named 'layer9'", e.Message);
        Assert.Contains("layer4, avgpool, fc", e.Message);
        // A prefix is a module name, not the start of one: "layer1" does not freeze "layer10".
        Assert.Throws<ArgumentException>(() => Build("resnet18").Freeze("layer"));
    }
}
