using Striate.Autograd;
using Striate.Graph;
using Striate.Models.Torchvision;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A prepared model (traced, batch norm folded, activations and residual adds fused, buffers planned) computes the
/// eager model's logits on every registry model; the passes rewrite what they should and nothing else; a session
/// refuses weights that changed after it was prepared.
/// </summary>
public sealed class InferenceSessionTests
{
    [Theory]
    [MemberData(nameof(RegistryModels.Names), MemberType = typeof(RegistryModels))]
    public void PreparedModelGivesTheEagerModelsLogits(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        var input = Tensor.Rand([2, c, h, w], new Generator(11), -1f, 1f);
        var expected = EagerOutput.Of(model, input);

        var session = model.PrepareForInference(2, c, h, w);
        Assert.DoesNotContain(session.Graph.Nodes, n => n.Op is BatchNormOp);
        var actual = session.Run(input);
        Close.Assert(expected, actual, 1e-3, 1e-4, $"{name}: prepared against eager");
        // A second run on the same buffers gives the same answer (nothing left over from the first).
        Close.Assert(actual, session.Run(input), 0, 0, $"{name}: second run");
    }

    [Theory]
    [MemberData(nameof(RegistryModels.Names), MemberType = typeof(RegistryModels))]
    public void OptimizedGraphRunsAsAModuleToTheSameLogits(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        var input = Tensor.Rand([1, c, h, w], new Generator(12), -1f, 1f);
        var graph = GraphTracer.Trace(model, input);
        InferencePasses.Optimize(graph);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        Close.Assert(model.Call(input), new GraphModule(graph).Eval().Call(input), 1e-3, 1e-4, $"{name}: optimized graph against eager");
    }

    [Fact]
    public void ResNetBlocksBecomeOneFusedConvolutionPerBranch()
    {
        var model = ResNet.ResNet18(3, 10, new Generator(1));
        RegistryModels.RandomizeStatistics(model, new Generator(2));
        var graph = GraphTracer.Trace(model, 1, 3, 32, 32);
        InferencePasses.Optimize(graph);

        var convs = graph.Nodes.Where(n => n.Op is FusedConv2dOp).ToList();
        Assert.Equal(20, convs.Count); // 1 stem + 8 blocks × 2 + 3 downsamples
        Assert.DoesNotContain(graph.Nodes, n => n.Op is BatchNormOp or ReluOp or AddOp or Conv2dOp);
        // Each block's second convolution adds the shortcut and applies ReLU in its store.
        var withResidual = convs.Where(n => n.Inputs[3] != null).ToList();
        Assert.Equal(8, withResidual.Count);
        Assert.All(withResidual, n => Assert.True(((FusedConv2dOp)n.Op).Relu));
        // Downsample convolutions have no activation.
        Assert.All(convs.Where(n => n.ModulePath.EndsWith("downsample.0", StringComparison.Ordinal)), n => Assert.False(((FusedConv2dOp)n.Op).HasActivation));
        // Folded weights are constants: the graph no longer reads the model's parameters except the classifier's.
        Assert.Equal(["fc.weight", "fc.bias"], graph.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void MobileNetReluSixIsClampedInTheConvolutionStep()
    {
        var (model, (c, h, w)) = RegistryModels.Build("mobilenet_v2");
        var graph = GraphTracer.Trace(model, 1, c, h, w);
        InferencePasses.Optimize(graph);
        Assert.DoesNotContain(graph.Nodes, n => n.Op is HardtanhOp);
        Assert.Contains(graph.Nodes, n => n.Op is FusedConv2dOp { ClampMin: 0f, ClampMax: 6f });
        // The inverted residual's add (no activation after it) rides on the projection convolution.
        Assert.Contains(graph.Nodes, n => n.Op is FusedConv2dOp { HasActivation: false } && n.Inputs[3] != null);
    }

    [Fact]
    public void DenseNetPreActivationBecomesAChannelAffineWithRelu()
    {
        var (model, (c, h, w)) = RegistryModels.Build("densenet121");
        var graph = GraphTracer.Trace(model, 1, c, h, w);
        InferencePasses.Optimize(graph);
        // norm1 → relu1 before each layer's first convolution cannot fold into it (ReLU between): one multiply-add + ReLU.
        Assert.Contains(graph.Nodes, n => n.Op is ChannelAffineOp { Relu: true });
        Assert.DoesNotContain(graph.Nodes, n => n.Op is BatchNormOp);
    }

    [Fact]
    public void BuffersAreSharedBetweenResultsThatDoNotLiveTogether()
    {
        var (model, (c, h, w)) = RegistryModels.Build("resnet18");
        var session = model.PrepareForInference(1, c, h, w);
        long all = session.Graph.Nodes.Sum(n => (long)n.Output.Shape.Aggregate(1, (a, b) => a * b));
        // The blocked hand-off buffers (InferenceSession.BlockedActivationsMaxBatch) are not shared: one per blocked shape.
        long planned = session.BufferFloats - session.BlockedHandOffFloats;
        Assert.True(planned * 2 < all, $"planned {planned} floats (and {session.BlockedHandOffFloats} blocked) for results of {all} floats in all");
    }

    [Fact]
    public void ChangedWeightsAfterPreparingAreRefused()
    {
        var (model, (c, h, w)) = RegistryModels.Build("resnet18");
        var session = model.PrepareForInference(1, c, h, w);
        var input = Tensor.Rand([1, c, h, w], new Generator(3));
        session.Run(input);
        model.NamedParameters().First(p => p.Key == "layer1.0.conv1.weight").Value.Span[0] += 1f;
        var e = Assert.Throws<InvalidOperationException>(() => session.Run(input));
        Assert.Contains("layer1.0.conv1.weight", e.Message);
        Assert.Contains("prepare the model again", e.Message);
    }

    [Fact]
    public void AnInputOfAnotherShapeIsRefusedNamingBothShapes()
    {
        var (model, (c, h, w)) = RegistryModels.Build("lenet");
        var session = model.PrepareForInference(1, c, h, w);
        var e = Assert.Throws<ArgumentException>(() => session.Run(Tensor.Zeros(2, c, h, w)));
        Assert.Contains($"[2, {c}, {h}, {w}]", e.Message);
        Assert.Contains($"[1, {c}, {h}, {w}]", e.Message);
    }

    [Fact]
    public void TheModelsModesAreLeftAsTheyWere()
    {
        var (model, (c, h, w)) = RegistryModels.Build("resnet18");
        model.Train();
        model.PrepareForInference(1, c, h, w);
        Assert.True(model.Training);
    }
}
