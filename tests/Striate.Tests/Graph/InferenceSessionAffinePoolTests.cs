using Striate.Autograd;
using Striate.Graph;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A 1×1 convolution → average pool runs as pool → convolution at inference (both linear: DenseNet's transitions do a
/// quarter of their multiply-adds), and a channel affine (+ ReLU) read only by a 2×2/2 average pool runs inside it. The
/// prepared model still computes the eager model's output and, within rounding, that of the session with both left
/// as they were; a convolution with an activation, a padded pool or a 3×3 convolution keeps its order.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionAffinePoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DenseNetTransitionsPoolBeforeTheirConvolution(int batch)
    {
        var (model, _) = RegistryModels.Build("densenet121");
        var input = Tensor.Rand([batch, 3, 64, 64], new Generator(41), -1f, 1f);
        var expected = EagerOutput.Of(model, input);

        var fused = model.PrepareForInference(batch, 3, 64, 64);
        var (apart, unswapped) = (Prepare(model, batch, 64, 64, swap: true, fuse: false), Prepare(model, batch, 64, 64, swap: false, fuse: false));
        // DenseNet-121's three transitions: norm → ReLU → pool as one step, then the 1×1 on the pooled map.
        Assert.Equal(3, fused.StepNodes.Count(s => s.Contains("(AffinePool ", StringComparison.Ordinal)));
        Assert.Equal(0, apart.StepNodes.Count(s => s.Contains("(AffinePool ", StringComparison.Ordinal)));
        Assert.Equal(apart.StepCount - 3, fused.StepCount);
        var transitionConvs = fused.Graph.Nodes.Where(n => n.ModulePath.EndsWith("conv", StringComparison.Ordinal) && n.ModulePath.Contains("transition", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, transitionConvs.Count);
        Assert.All(transitionConvs, n => Assert.IsType<AvgPool2dOp>(n.Inputs[0]!.Producer!.Op));
        Assert.DoesNotContain(unswapped.Graph.Nodes, n => n.Op is FusedConv2dOp && n.Inputs[0]!.Producer?.Op is AvgPool2dOp);

        var actual = fused.Run(input);
        Close.Assert(expected, actual, 1e-3, 1e-4, $"densenet121 b{batch}: session against eager");
        Close.Assert(apart.Run(input), actual, 1e-6, 1e-6, $"densenet121 b{batch}: fused affine + pool against the two steps");
        Close.Assert(unswapped.Run(input), actual, 1e-4, 1e-5, $"densenet121 b{batch}: pool → 1×1 against 1×1 → pool");
    }

    [Fact]
    public void OnlyALinearPointwiseConvolutionBeforeAnUnpaddedPoolMoves()
    {
        var g = new Generator(42);
        // Moves: 1×1 (with bias) → 2×2/2 average, and 1×1 → 3×3/2 average in ceil mode (odd map).
        Check(new Sequential(new Conv2d(6, 4, 1, generator: g), new AvgPool2d(2)), 1, 12, 10, moved: 1);
        Check(new Sequential(new Conv2d(6, 4, 1, generator: g), new AvgPool2d(3, 2, ceilMode: true)), 2, 13, 11, moved: 1);
        // Stays: a ReLU between, a padded pool, a 3×3 convolution, a stride-1 pool that keeps the map's size.
        Check(new Sequential(new Conv2d(6, 4, 1, generator: g), new ReLU(), new AvgPool2d(2)), 1, 12, 10, moved: 0);
        Check(new Sequential(new Conv2d(6, 4, 1, generator: g), new AvgPool2d(3, 2, 1)), 1, 12, 10, moved: 0);
        Check(new Sequential(new Conv2d(6, 4, 3, padding: 1, generator: g), new AvgPool2d(2)), 1, 12, 10, moved: 0);
        Check(new Sequential(new Conv2d(6, 4, 1, generator: g), new AvgPool2d(2, 1)), 1, 12, 10, moved: 0);
    }

    private static void Check(Module model, int batch, int h, int w, int moved)
    {
        model.Eval();
        var input = Tensor.Rand([batch, 6, h, w], new Generator(43), -1f, 1f);
        var graph = GraphTracer.Trace(model, input);
        InferencePasses.FoldBatchNorm(graph);
        Assert.Equal(moved, InferencePasses.PoolBeforePointwise(graph));
        graph.Validate();
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        Close.Assert(model.Call(input), new GraphModule(graph).Eval().Call(input), 1e-4, 1e-5, $"{h}×{w} b{batch}: rewritten graph against eager");
        var session = model.PrepareForInference(batch, 6, h, w);
        Close.Assert(model.Call(input), session.Run(input), 1e-4, 1e-5, $"{h}×{w} b{batch}: session against eager");
    }

    private static InferenceSession Prepare(Module model, int batch, int h, int w, bool swap, bool fuse)
    {
        using (Switches.Set(() => InferencePasses.PoolsBeforePointwise, swap))
        using (Switches.Set(() => InferenceSession.AffineIntoPool, fuse))
            return model.PrepareForInference(batch, 3, h, w);
    }
}
