using Striate.Graph;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A direct 3×3 step hands its output to the direct step that alone reads it channel-blocked
/// (<see cref="InferenceSession.BlockedActivationsMaxBatch"/>): ResNet-18's conv1 → conv2 of each basic block. The same tiles
/// and the same epilogue arithmetic run either way, so the session's output is bit-identical to the session with the
/// switch off; ResNet-50 (its 3×3s sit between 1×1 GEMMs) has no such pair and must not move either.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionBlockedActivationsTests
{
    [Theory]
    [InlineData("resnet18", 1, 112)]
    [InlineData("resnet18", 2, 112)]
    [InlineData("resnet50", 1, 64)]
    [InlineData("resnet50", 2, 64)]
    public void OutputsEqualTheUnblockedSession(string name, int batch, int size)
    {
        var (model, _) = RegistryModels.Build(name);
        var input = Tensor.Rand([batch, 3, size, size], new Generator(61), -1f, 1f);
        InferenceSession blocked, plain;
        // The pairs alone: without InferenceSession.BlockedThroughMaxBatch's plan (on at batch 1 for ResNet-18 by default).
        using var through = Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 0);
        using (Switches.Set(() => InferenceSession.BlockedActivationsMaxBatch, int.MaxValue))
            blocked = model.PrepareForInference([batch, 3, size, size], warmUp: false);
        using (Switches.Set(() => InferenceSession.BlockedActivationsMaxBatch, 0))
            plain = model.PrepareForInference([batch, 3, size, size], warmUp: false);
        Assert.Equal(0, plain.BlockedHandOffs);
        var actual = blocked.Run(input).Clone();
        var expected = plain.Run(input);
        Close.Assert(expected, actual, 0, 0, $"{name} b{batch} @{size}: blocked hand-offs on against off");
        // A second run reads the blocked buffers' borders again: still zero, still the same output.
        Close.Assert(expected, blocked.Run(input), 0, 0, $"{name} b{batch} @{size}: second run");
        if (name == "resnet50")
        {
            Assert.Equal(0, blocked.BlockedHandOffs);
            return;
        }
        // ResNet-18 at 112: the eight basic blocks' conv1 → conv2 on 28×28 … 4×4 maps, where the direct kernel runs them batch-blocked.
        int pairs = blocked.Graph.Nodes.Count(n => n.ModulePath.EndsWith(".conv1", StringComparison.Ordinal) && n.Op is FusedConv2dOp
            && Conv2dDirect.TakesBlocked(Conv2dDirect.BestWidth, GeometryOf(n))
            && Conv2dKernels.Choose(GeometryOf(n)) == Conv2dAlgorithm.Direct);
        if (pairs == 0) Assert.Skip($"no batch-blocked direct 3×3 here ({Conv2dDirect.BestWidth}): nothing is handed on blocked, the outputs above are the plain plan's");
        Assert.True(blocked.BlockedHandOffs > 0, $"{name} b{batch}: {pairs} conv1 steps take the blocked kernel, none hands on blocked");
    }

    /// <summary>By default only batch 1 hands on blocked (the only batch measured).</summary>
    [Fact]
    public void DefaultHandsOnBlockedAtBatchOneOnly()
    {
        var (model, _) = RegistryModels.Build("resnet18");
        using var through = Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 0);
        var one = model.PrepareForInference([1, 3, 112, 112], warmUp: false);
        var two = model.PrepareForInference([2, 3, 112, 112], warmUp: false);
        Assert.Equal(0, two.BlockedHandOffs);
        if (one.BlockedHandOffs == 0) Assert.Skip($"no batch-blocked direct 3×3 here ({Conv2dDirect.BestWidth})");
    }

    private static Conv2dGeometry GeometryOf(Node n)
    {
        var f = (FusedConv2dOp)n.Op;
        var x = n.Inputs[0]!.Shape;
        var w = n.Inputs[1]!.Shape;
        return new Conv2dGeometry(x[0], x[1], x[2], x[3], w[0], w[2], w[3], f.Stride.H, f.Stride.W, f.Padding.H, f.Padding.W, f.Dilation.H, f.Dilation.W, f.Groups);
    }
}
