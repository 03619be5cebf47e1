using Striate.Graph;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// Activations kept channel-blocked through the 1×1s (<see cref="PointwiseBlocked"/>) and direct 3×3s of a session
/// (<see cref="InferenceSession.BlockedThroughMaxBatch"/>): ResNet-50's bottlenecks end to end (a pack after the stem, an
/// unpack before the pooling), ResNet-18's basic blocks with their 1×1 downsamples. The 1×1s sum in another order than
/// the GEMM, so outputs agree with the plain session's to rounding (the tolerance of the prepared session against eager), and a second run (the blocked buffers' borders read
/// again) gives the first run's output bit for bit.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionBlockedThroughTests(ITestOutputHelper output)
{
    /// <summary>
    /// The same on 16-channel blocks (<see cref="PointwiseBlocked.BlockedThrough16"/> forced on; Skipped where the direct
    /// 3×3 does not run 16-channel blocks or the AVX-512 1×1 tiles cannot run): every 1×1 runs blocked, outputs as plain.
    /// </summary>
    [Theory]
    [InlineData("resnet50", 1, 64)]
    [InlineData("resnet50", 2, 64)]
    [InlineData("resnet18", 1, 112)]
    public void OutputsEqualThePlainSessionOn16ChannelBlocks(string name, int batch, int size)
    {
        Assert.SkipUnless(PointwiseBlocked.UsesTiles16 && Conv2dDirect.VectorLength(Conv2dDirect.BestWidth) == PointwiseBlocked.V16,
            $"no 16-channel direct 3×3 or AVX-512 1×1 tiles here ({Conv2dDirect.BestWidth})");
        var (model, _) = RegistryModels.Build(name);
        var input = Tensor.Rand([batch, 3, size, size], new Generator(71), -1f, 1f);
        InferenceSession through, plain;
        using (Switches.Set(() => PointwiseBlocked.BlockedThrough16, true))
        using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, int.MaxValue))
        using (Switches.Set(() => InferenceSession.BlockedThroughRule, false))
            through = model.PrepareForInference([batch, 3, size, size], warmUp: false);
        using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 0))
        using (Switches.Set(() => InferenceSession.BlockedActivationsMaxBatch, 0))
            plain = model.PrepareForInference([batch, 3, size, size], warmUp: false);
        var first = through.Run(input).Clone();
        Close.Assert(plain.Run(input), first, 1e-3, 1e-4, $"{name} b{batch} @{size}: blocked through on 16-channel blocks against plain");
        Close.Assert(first, through.Run(input), 0, 0, $"{name} b{batch} @{size}: second run");
        int pointwise = through.Graph.Nodes.Count(n => n.Op is FusedConv2dOp { Groups: 1 } && n.Inputs[1]!.Shape[2] == 1 && n.Inputs[1]!.Shape[3] == 1);
        Assert.Equal(pointwise, through.BlockedPointwiseSteps);
    }

    [Theory]
    [InlineData("resnet50", 1, 64)]
    [InlineData("resnet50", 2, 64)]
    [InlineData("resnet18", 1, 112)]
    [InlineData("resnet18", 2, 112)]
    public void OutputsEqualThePlainSession(string name, int batch, int size)
    {
        var (model, _) = RegistryModels.Build(name);
        var input = Tensor.Rand([batch, 3, size, size], new Generator(71), -1f, 1f);
        InferenceSession through, plain;
        using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, int.MaxValue))
        using (Switches.Set(() => InferenceSession.BlockedThroughRule, false))
            through = model.PrepareForInference([batch, 3, size, size], warmUp: false);
        using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 0))
        using (Switches.Set(() => InferenceSession.BlockedActivationsMaxBatch, 0))
            plain = model.PrepareForInference([batch, 3, size, size], warmUp: false);
        Assert.Equal(0, plain.BlockedPointwiseSteps);
        Assert.Equal(0, plain.LayoutSteps);
        foreach (var s in through.StepNodes) output.WriteLine(s);
        var first = through.Run(input).Clone();
        var expected = plain.Run(input);
        // As the prepared session against eager (InferenceSessionTests): 53 layers summed in another order.
        Close.Assert(expected, first, 1e-3, 1e-4, $"{name} b{batch} @{size}: blocked through against plain");
        Close.Assert(first, through.Run(input), 0, 0, $"{name} b{batch} @{size}: second run");
        if (!PointwiseBlocked.TakesBlocks(Conv2dDirect.VectorLength(Conv2dDirect.BestWidth)))
            Assert.Skip($"no blocked 1×1 tiles for the direct 3×3's block here ({Conv2dDirect.BestWidth}): nothing stays blocked, the outputs above are the plain plan's");
        int pointwise = through.Graph.Nodes.Count(n => n.Op is FusedConv2dOp { Groups: 1 } && n.Inputs[1]!.Shape[2] == 1 && n.Inputs[1]!.Shape[3] == 1);
        Assert.Equal(pointwise, through.BlockedPointwiseSteps);
        // ResNet-50: one pack (the stem's pooled output) and one unpack (layer4's output for the pooling); ResNet-18's
        // blocks end in direct 3×3s, which write NCHW where the pooling or a packing 1×1 reads.
        if (name == "resnet50") Assert.Equal(2, through.LayoutSteps);
        long extra = through.BufferFloats - plain.BufferFloats;
        Assert.Equal(through.BlockedHandOffFloats, extra);
        long largest = through.Graph.Nodes.Max(n => (long)n.Output.Shape.Aggregate(1, (a, b) => a * b));
        output.WriteLine($"blocked buffers {through.BlockedHandOffFloats} floats; planned {plain.BufferFloats}; largest value {largest}");
        Assert.True(through.BlockedHandOffFloats < 8 * largest, $"{through.BlockedHandOffFloats} blocked floats for values of at most {largest}");
    }

    /// <summary>
    /// Every registry model at its small input, batch 1: wherever its 1×1s and direct 3×3s sit (concatenations, pooled
    /// branches, inverted residuals, the graph's output), the session with the switch on computes what the plain one does.
    /// </summary>
    [Theory]
    [MemberData(nameof(RegistryModels.Names), MemberType = typeof(RegistryModels))]
    public void EveryModelComputesThePlainSessionsOutput(string name)
    {
        foreach (bool rule in new[] { false, true })
        {
            output.WriteLine($"rule {rule}");
            using (Switches.Set(() => InferenceSession.BlockedThroughRule, rule))
                ComputesThePlainSessionsOutput(name);
        }
    }

    private void ComputesThePlainSessionsOutput(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        var input = Tensor.Rand([1, c, h, w], new Generator(72), -1f, 1f);
        InferenceSession through, plain;
        using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 1))
            through = model.PrepareForInference([1, c, h, w], warmUp: false);
        using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 0))
            plain = model.PrepareForInference([1, c, h, w], warmUp: false);
        output.WriteLine($"{name}: {through.BlockedPointwiseSteps} blocked 1×1s, {through.LayoutSteps} layout steps");
        var first = through.Run(input).Clone();
        Close.Assert(plain.Run(input), first, 1e-3, 1e-4, $"{name}: blocked through against plain");
        Close.Assert(first, through.Run(input), 0, 0, $"{name}: second run");
    }

    /// <summary>
    /// The rule's choice per registry model at batch 1 (<see cref="InferenceSession.BlockedThroughRule"/>, each blocked 1×1
    /// counted as <see cref="InferenceSession.BlockedThroughPointwiseCost"/> 0): (blocked 1×1s, layout steps) where the plan
    /// stays, (0, 0) where it falls back to the direct pairs. ResNet-50 flips off at cost 1.
    /// </summary>
    [Theory]
    [MemberData(nameof(RegistryModels.Names), MemberType = typeof(RegistryModels))]
    public void TheRuleKeepsThePlanWhereItSavesMorePassesThanItAdds(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        InferenceSession ruled;
        using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 1))
        using (Switches.Set(() => InferenceSession.BlockedThroughRule, true))
            ruled = model.PrepareForInference([1, c, h, w], warmUp: false);
        output.WriteLine($"{name}: {ruled.BlockedPointwiseSteps} blocked 1×1s, {ruled.LayoutSteps} layout steps, {ruled.BlockedHandOffs} blocked hand-offs");
        if (!PointwiseBlocked.TakesBlocks(Conv2dDirect.VectorLength(Conv2dDirect.BestWidth)))
            Assert.Skip($"no blocked 1×1 tiles for the direct 3×3's block here ({Conv2dDirect.BestWidth}): the plan never stays");
        var expected = RuleChoices.GetValueOrDefault(name);
        Assert.Equal(expected, (ruled.BlockedPointwiseSteps, ruled.LayoutSteps));
        if (name == "resnet50")
        {
            using (Switches.Set(() => InferenceSession.BlockedThroughMaxBatch, 1))
            using (Switches.Set(() => InferenceSession.BlockedThroughPointwiseCost, 1))
                ruled = model.PrepareForInference([1, c, h, w], warmUp: false);
            Assert.Equal((0, 0), (ruled.BlockedPointwiseSteps, ruled.LayoutSteps));
        }
    }

    /// <summary>Models where the rule keeps the plan (blocked 1×1s, layout steps); every other registry model (0, 0).</summary>
    private static readonly Dictionary<string, (int, int)> RuleChoices = new()
    {
        ["resnet18"] = (3, 2),
        ["resnet50"] = (36, 2),
        ["resnet34"] = (3, 2),
        ["d2l-resnet18"] = (3, 2),
    };

    /// <summary>
    /// On by default at batch 1 where the rule keeps it: ResNet-18 runs its three downsamples blocked (a pack after the
    /// stem, an unpack before the pooling), ResNet-50 its 36 1×1s; batch 2 the plain plan.
    /// </summary>
    [Fact]
    public void OnByDefaultAtBatchOneWhereTheRuleKeepsIt()
    {
        var (resnet50, _) = RegistryModels.Build("resnet50");
        var twoFifty = resnet50.PrepareForInference([2, 3, 64, 64], warmUp: false);
        Assert.Equal((0, 0), (twoFifty.BlockedPointwiseSteps, twoFifty.LayoutSteps));
        var (resnet18, _) = RegistryModels.Build("resnet18");
        var two = resnet18.PrepareForInference([2, 3, 112, 112], warmUp: false);
        Assert.Equal((0, 0), (two.BlockedPointwiseSteps, two.LayoutSteps));
        var one = resnet18.PrepareForInference([1, 3, 112, 112], warmUp: false);
        var oneFifty = resnet50.PrepareForInference([1, 3, 64, 64], warmUp: false);
        if (!PointwiseBlocked.TakesBlocks(Conv2dDirect.VectorLength(Conv2dDirect.BestWidth)))
            Assert.Skip($"no blocked 1×1 tiles for the direct 3×3's block here ({Conv2dDirect.BestWidth}): the plan never stays");
        Assert.Equal((3, 2), (one.BlockedPointwiseSteps, one.LayoutSteps));
        Assert.Equal((36, 2), (oneFifty.BlockedPointwiseSteps, oneFifty.LayoutSteps));
    }
}
