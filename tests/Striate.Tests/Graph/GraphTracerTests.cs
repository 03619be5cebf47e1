using Striate.Autograd;
using Striate.Functional;
using Striate.Graph;
using Striate.Models;
using Striate.Models.Torchvision;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// The tracer records every functional op a forward runs — including residual adds, concatenations and flattens
/// written inline in a Forward — with parameters under their state-dict names and the module path that ran each op;
/// running the traced graph reproduces the model.
/// </summary>
public sealed class GraphTracerTests
{
    [Theory]
    [MemberData(nameof(RegistryModels.Names), MemberType = typeof(RegistryModels))]
    public void TracedGraphRunsToTheModelsOwnLogits(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        var input = Tensor.Rand([2, c, h, w], new Generator(7), -1f, 1f);
        var graph = GraphTracer.Trace(model, input);
        graph.Validate();

        // Every parameter and buffer the forward reads appears once under its state-dict name, holding the model's tensor.
        var state = model.StateDict().ToDictionary(p => p.Key, p => p.Value);
        foreach (var v in graph.Parameters.Concat(graph.Buffers))
            Assert.Same(state[v.Name], v.Data);
        Assert.Equal(model.NamedParameters().Count(), graph.Parameters.Count());
        Assert.Empty(graph.Constants);

        // The model's own forward as it was traced: with grad mode on, so that no inference-only fusion (DenseNet's
        // feature list, taken without a graph) changes the rounding; the replay must match it bit for bit.
        var expected = model.Call(input);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var actual = new GraphModule(graph).Eval().Call(input);
        Assert.Equal(graph.Outputs[0].ShapeArray, expected.ShapeArray);
        Close.Assert(expected, actual, 0, 0, $"{name}: graph against model");
    }

    [Fact]
    public void ArithmeticOperatorsAreTracedAndReplayed()
    {
        var model = new Striate.Tests.Onnx.OnnxExportTests.Arithmetic();
        var input = Tensor.Rand([2, 3, 4, 5], new Generator(8), -1f, 1f);
        var graph = GraphTracer.Trace(model, input);
        graph.Validate();
        var ops = graph.Nodes.Select(n => n.Op.GetType()).ToHashSet();
        foreach (var t in new[] { typeof(SubOp), typeof(DivOp), typeof(MulOp), typeof(AddOp), typeof(AddScalarOp), typeof(RSubScalarOp),
            typeof(ScaleOp), typeof(NegOp), typeof(RDivScalarOp), typeof(DivScalarOp) })
            Assert.Contains(t, ops);
        Assert.Equal(2, graph.Constants.Count());

        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        Close.Assert(model.Call(input), new GraphModule(graph).Call(input), 0, 0, "arithmetic graph against model");
    }

    [Fact]
    public void ResidualAddsAreRecordedWithTheBlockThatRanThem()
    {
        var model = ResNet.ResNet18(3, 10, new Generator(1));
        var graph = GraphTracer.Trace(model, 1, 3, 32, 32);

        var adds = graph.Nodes.Where(n => n.Op is AddOp).ToList();
        Assert.Equal(8, adds.Count);
        Assert.Equal("layer1.0", adds[0].ModulePath);
        Assert.Equal("BasicBlock", adds[0].ModuleType);
        // The first block adds its convolution path to the block's input: the output of the stem's max pool.
        Assert.IsType<MaxPool2dOp>(adds[0].Inputs[1]!.Producer!.Op);
        Assert.IsType<BatchNormOp>(adds[0].Inputs[0]!.Producer!.Op);

        var conv = graph.Nodes.First(n => n.ModulePath == "layer2.0.downsample.0");
        Assert.Equal(new Conv2dOp(2, 0, 1, 1), conv.Op);
        Assert.Equal("layer2.0.downsample.0.weight", conv.Inputs[1]!.Name);
        Assert.Null(conv.Inputs[2]);
        Assert.Equal([1, 128, 4, 4], conv.Output.ShapeArray);

        var bn = graph.Nodes.First(n => n.ModulePath == "bn1");
        Assert.Equal(new BatchNormOp(1e-5f, 0.1f, false), bn.Op);
        Assert.Equal(["bn1.running_mean", "bn1.running_var", "bn1.weight", "bn1.bias"], bn.Inputs.Skip(1).Select(v => v!.Name));
        Assert.Equal(ValueKind.Buffer, bn.Inputs[1]!.Kind);
        Assert.Equal(ValueKind.Parameter, bn.Inputs[3]!.Kind);

        var flatten = Assert.Single(graph.Nodes, n => n.Op is FlattenOp);
        Assert.Equal(new FlattenOp(1, -1), flatten.Op);
        Assert.Equal("", flatten.ModulePath);
        Assert.Equal("ResNet", flatten.ModuleType);
        Assert.IsType<LinearOp>(graph.Outputs[0].Producer!.Op);
    }

    [Fact]
    public void DenseBlockConcatenationsAreRecorded()
    {
        var model = DenseNet.DenseNet121(3, 10, new Generator(1));
        var graph = GraphTracer.Trace(model, 1, 3, 32, 32);
        var concats = graph.Nodes.Where(n => n.Op is ConcatOp).ToList();
        // Each dense layer after the first reads a concatenation, and each block returns one: (6 + 12 + 24 + 16) layers, 4 blocks.
        Assert.Equal(6 - 1 + 12 - 1 + 24 - 1 + 16 - 1 + 4, concats.Count);
        Assert.All(concats, n => Assert.Equal(new ConcatOp(1), n.Op));
        var last = concats[^1];
        Assert.Equal("features.denseblock4", last.ModulePath);
        Assert.Equal(17, last.Inputs.Count);
    }

    [Fact]
    public void ModesAreRestoredAndTrainingModeTracesDropoutAndBatchStatistics()
    {
        var model = new Sequential(new Conv2d(1, 2, 3, generator: new Generator(1)), new BatchNorm2d(2), new Dropout(0.5), new Flatten(), new Linear(8, 3, generator: new Generator(2)));
        model.Train();
        var eval = GraphTracer.Trace(model, 2, 1, 4, 4);
        Assert.True(model.Training);
        Assert.All(model.NamedModules(), m => Assert.True(m.Value.Training));
        Assert.DoesNotContain(eval.Nodes, n => n.Op is DropoutOp);
        Assert.Equal(new BatchNormOp(1e-5f, 0.1f, false), eval.Nodes[1].Op);

        var training = GraphTracer.Trace(model, Tensor.Rand([2, 1, 4, 4], new Generator(3)), eval: false);
        Assert.Equal(new BatchNormOp(1e-5f, 0.1f, true), training.Nodes[1].Op);
        Assert.Equal(new DropoutOp(0.5f), training.Nodes[2].Op);
        Assert.Equal("2", training.Nodes[2].ModulePath);
    }

    [Fact]
    public void TensorsMadeInsideForwardBecomeConstants()
    {
        var graph = GraphTracer.Trace(new MaskedModel(), 1, 2, 3);
        var mul = Assert.Single(graph.Nodes, n => n.Op is MulOp);
        var constant = mul.Inputs[1]!;
        Assert.Equal(ValueKind.Constant, constant.Kind);
        Assert.Equal([0f, 1, 0, 1, 0, 1], constant.Data!.ToArray());
    }

    [Fact]
    public void AnOpWithNoGraphFormFailsNamingTheOpAndTheModulePath()
    {
        var model = new Sequential(("head", new Sequential(("loss", new LossInForward()))));
        var e = Assert.Throws<NotSupportedException>(() => GraphTracer.Trace(model, 2, 3));
        Assert.Contains("CrossEntropy in 'head.loss' (LossInForward)", e.Message);
        Assert.Null(GraphTracer.Current);
    }

    [Fact]
    public void AShapeErrorWhileTracingNamesTheModule()
    {
        var model = new Sequential(("features", new Sequential(new Conv2d(3, 4, 3, generator: new Generator(1)))));
        var e = Assert.Throws<ArgumentException>(() => GraphTracer.Trace(model, 1, 2, 8, 8));
        Assert.Contains("while tracing 'features.0' (Conv2d)", e.Message);
        Assert.Contains("expects 3", e.Message);
    }

    [Fact]
    public void UnbatchedConvolutionAndSpatialPyramidPoolingTraceThroughTheirParts()
    {
        var conv = new Conv2d(2, 3, 3, padding: 1, generator: new Generator(1));
        var unbatched = Tensor.Rand([2, 5, 5], new Generator(2));
        var convGraph = GraphTracer.Trace(conv, unbatched);
        Assert.Equal(["Reshape", "Conv2d", "Reshape"], convGraph.Nodes.Select(n => n.Op.Name));

        var spp = new SpatialPyramidPool(2, 1);
        var input = Tensor.Rand([2, 3, 5, 5], new Generator(3));
        var sppGraph = GraphTracer.Trace(spp, input);
        Assert.Equal(["AdaptiveMaxPool2d", "Reshape", "AdaptiveMaxPool2d", "Reshape", "Concat"], sppGraph.Nodes.Select(n => n.Op.Name));
        using var noGrad = GradMode.NoGrad();
        Close.Assert(conv.Call(unbatched), new GraphModule(convGraph).Call(unbatched), 0, 0, "unbatched conv graph");
        Close.Assert(spp.Call(input), new GraphModule(sppGraph).Call(input), 0, 0, "spp graph");
    }

    [Fact]
    public void GraphModuleTrainsLikeTheModel()
    {
        var model = new Sequential(new Conv2d(1, 2, 3, generator: new Generator(1)), new BatchNorm2d(2), new ReLU(), new Flatten(), new Linear(8, 3, generator: new Generator(2)));
        var graphModule = new GraphModule(GraphTracer.Trace(model, 1, 1, 4, 4));
        Assert.Equal(model.StateDict().Select(p => p.Key).Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            graphModule.StateDict().Select(p => p.Key).Order(StringComparer.Ordinal));

        var input = Tensor.Rand([4, 1, 4, 4], new Generator(3));
        graphModule.Train();
        var loss = F.CrossEntropy(graphModule.Call(input), [0, 1, 2, 0]);
        loss.Backward();
        var weight = model.StateDict().First(p => p.Key == "0.weight").Value;
        Assert.NotNull(weight.Grad);
        Assert.Contains(weight.Grad!.ToArray(), g => g != 0);
        // Training mode updated the shared running statistics.
        Assert.Contains(((BatchNorm2d)((Sequential)model)[1]).RunningMean.ToArray(), m => m != 0);
    }

    [Fact]
    public void APassCanFoldBatchNormIntoTheConvolutionBeforeIt()
    {
        var (model, (c, h, w)) = RegistryModels.Build("resnet18");
        var input = Tensor.Rand([1, c, h, w], new Generator(5), -1f, 1f);
        var graph = GraphTracer.Trace(model, input);
        int before = graph.Nodes.Count;
        FoldBatchNorm(graph);
        graph.Prune();
        graph.Validate();
        Assert.Equal(before - 20, graph.Nodes.Count);
        Assert.DoesNotContain(graph.Nodes, n => n.Op is BatchNormOp);

        using var noGrad = GradMode.NoGrad();
        Close.Assert(model.Call(input), new GraphModule(graph).Eval().Call(input), 1e-4, 1e-4, "folded resnet18");
    }

    /// <summary>What an inference pass looks like on the graph API: conv → batch norm becomes one conv with folded constants.</summary>
    private static void FoldBatchNorm(ForwardGraph graph)
    {
        foreach (var bn in graph.Nodes.Where(n => n.Op is BatchNormOp { Training: false }).ToList())
        {
            if (bn.Inputs[0]!.Producer is not { Op: Conv2dOp } conv || graph.Uses(conv.Output).Count != 1) continue;
            var op = (BatchNormOp)bn.Op;
            var weight = conv.Inputs[1]!.Data!;
            int cout = weight.Size(0), perChannel = weight.Numel / cout;
            var mean = bn.Inputs[1]!.Data!.ToArray();
            var variance = bn.Inputs[2]!.Data!.ToArray();
            var gamma = bn.Inputs[3]?.Data?.ToArray();
            var beta = bn.Inputs[4]?.Data?.ToArray();
            var bias = conv.Inputs[2]?.Data?.ToArray();
            var w = weight.ToArray();
            var b = new float[cout];
            for (int o = 0; o < cout; o++)
            {
                double scale = (gamma?[o] ?? 1) / Math.Sqrt(variance[o] + op.Eps);
                for (int i = 0; i < perChannel; i++) w[o * perChannel + i] = (float)(w[o * perChannel + i] * scale);
                b[o] = (float)(((bias?[o] ?? 0) - mean[o]) * scale + (beta?[o] ?? 0));
            }
            var foldedWeight = graph.AddConstant(Tensor.FromArray(w, weight.ShapeArray));
            var foldedBias = graph.AddConstant(Tensor.FromArray(b, cout));
            graph.SetInputs(conv, [conv.Inputs[0], foldedWeight, foldedBias]);
            graph.ReplaceUses(bn.Output, conv.Output);
            graph.Remove(bn);
        }
    }

    private sealed class MaskedModel : Module
    {
        public override Tensor Forward(Tensor input) => F.Mul(F.Relu(input), Tensor.FromArray([0f, 1, 0, 1, 0, 1], 1, 2, 3));
    }

    private sealed class LossInForward : Module
    {
        public override Tensor Forward(Tensor input) => F.CrossEntropy(input, [0, 1]);
    }
}
