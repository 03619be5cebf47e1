using Striate.Optim;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Optim;

/// <summary>
/// Parameter groups behave as PyTorch's param_groups: each group updates exactly as an optimizer of its own with the
/// group's learning rate and weight decay would; schedulers scale every group; the groups survive a state dict.
/// </summary>
public sealed class ParamGroupTests
{
    private static Tensor[] RandomParams(Generator g, int n) =>
        Enumerable.Range(0, n).Select(i => Tensor.FromArray(Close.RandomArray(5 + i, g), 5 + i).RequireGrad()).ToArray();

    private static void SetGrads(IEnumerable<Tensor> ps, Generator g)
    {
        foreach (var p in ps) p.Grad = Tensor.FromArray(Close.RandomArray(p.Numel, g), p.ShapeArray);
    }

    private static Tensor[] Clone(Tensor[] ps) => ps.Select(p => p.Clone().RequireGrad()).ToArray();

    public static TheoryData<string> Kinds => new() { "sgd", "adam", "adamw" };

    /// <summary>One optimizer over two groups, or (<paramref name="only"/> 0 or 1) the same kind over one group alone with that group's settings.</summary>
    private static Optimizer Make(string kind, Tensor[] backbone, Tensor[] head, int? only = null)
    {
        const float lr = 0.01f, headLr = 0.1f, wd = 1e-3f, headWd = 0.05f;
        ParamGroup[] groups = only switch
        {
            null => [new ParamGroup(backbone), new ParamGroup(head, headLr, headWd)],
            0 => [new ParamGroup(backbone, lr, wd)],
            _ => [new ParamGroup(head, headLr, headWd)],
        };
        float defaultLr = only == 1 ? headLr : lr, defaultWd = only == 1 ? headWd : wd;
        return kind switch
        {
            "sgd" => new Sgd(groups, defaultLr, momentum: 0.9f, weightDecay: defaultWd),
            "adam" => new Adam(groups, defaultLr, weightDecay: defaultWd),
            _ => new AdamW(groups, defaultLr, weightDecay: defaultWd),
        };
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EachGroupStepsAsItsOwnOptimizerWould(string kind)
    {
        var g = new Generator(7);
        var backbone = RandomParams(g, 2);
        var head = RandomParams(g, 1);
        var (backbone2, head2) = (Clone(backbone), Clone(head));
        var both = Make(kind, backbone, head);
        var alone0 = Make(kind, backbone2, head2, only: 0);
        var alone1 = Make(kind, backbone2, head2, only: 1);
        for (int step = 0; step < 3; step++)
        {
            var seed = new Generator((ulong)step + 100);
            SetGrads(backbone.Concat(head), seed);
            seed = new Generator((ulong)step + 100);
            SetGrads(backbone2.Concat(head2), seed);
            both.Step();
            alone0.Step();
            alone1.Step();
        }
        for (int i = 0; i < backbone.Length; i++) Assert.Equal(backbone2[i].ReadOnlySpan.ToArray(), backbone[i].ReadOnlySpan.ToArray());
        Assert.Equal(head2[0].ReadOnlySpan.ToArray(), head[0].ReadOnlySpan.ToArray());
        Assert.Equal(2, both.GroupCount);
        Assert.Equal(1, both.GroupOf(2));
        Assert.Equal(0.1f, both.GroupLearningRate(1));
    }

    [Fact]
    public void ASchedulerScalesEveryGroup()
    {
        var g = new Generator(1);
        var sgd = new Sgd([new ParamGroup(RandomParams(g, 1)), new ParamGroup(RandomParams(g, 1), 0.5f)], 0.1f);
        var step = new StepLR(sgd, 1, 0.1);
        step.Step();
        Assert.Equal(0.01f, sgd.GroupLearningRate(0), 6);
        Assert.Equal(0.05f, sgd.GroupLearningRate(1), 6);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void GroupsSurviveAStateDict(string kind)
    {
        var g = new Generator(3);
        var backbone = RandomParams(g, 2);
        var head = RandomParams(g, 1);
        var original = Make(kind, backbone, head);
        SetGrads(backbone.Concat(head), g);
        original.Step();
        var saved = original.StateDict();
        Assert.Equal(0.1f, saved["param_groups.1.initial_lr"].ReadOnlySpan[0]);
        Assert.Equal(0.01f, saved["param_groups.1.base_lr"].ReadOnlySpan[0]);
        Assert.Equal(1f, saved["param_groups.1.params"].ReadOnlySpan[0]);

        // A fresh optimizer over the same groups with other settings takes the saved ones.
        var (b2, h2) = (Clone(backbone), Clone(head));
        Optimizer restored = kind == "sgd" ? new Sgd([new ParamGroup(b2), new ParamGroup(h2)], 1f, momentum: 0.9f)
            : kind == "adam" ? new Adam([new ParamGroup(b2), new ParamGroup(h2)], 1f) : new AdamW([new ParamGroup(b2), new ParamGroup(h2)], 1f);
        restored.LoadStateDict(saved);
        Assert.Equal(original.GroupLearningRate(1), restored.GroupLearningRate(1));
        Assert.Equal(0.05f, restored.GroupWeightDecay(1));
        Assert.Null(restored.GroupWeightDecay(0));
        var gen1 = new Generator(9);
        var gen2 = new Generator(9);
        SetGrads(backbone.Concat(head), gen1);
        SetGrads(b2.Concat(h2), gen2);
        original.Step();
        restored.Step();
        Assert.Equal(head[0].ReadOnlySpan.ToArray(), h2[0].ReadOnlySpan.ToArray());
        Assert.Equal(backbone[1].ReadOnlySpan.ToArray(), b2[1].ReadOnlySpan.ToArray());
    }

    [Fact]
    public void AStateOfOtherGroupsIsRefusedByName()
    {
        var g = new Generator(4);
        var ps = RandomParams(g, 3);
        var grouped = new Sgd([new ParamGroup(ps[..2]), new ParamGroup(ps[2..], 0.2f)], 0.1f).StateDict();
        var single = new Sgd(ps, 0.1f).StateDict();

        var e = Assert.Throws<ArgumentException>(() => new Sgd(Clone(ps), 0.1f).LoadStateDict(grouped));
        Assert.Contains("belongs to parameter group", e.Message);
        var qs = Clone(ps);
        e = Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup(qs[..1]), new ParamGroup(qs[1..])], 0.1f).LoadStateDict(grouped));
        Assert.Contains("had 2 parameters, but here it has 1", e.Message);
        qs = Clone(ps);
        e = Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup(qs[..2]), new ParamGroup(qs[2..])], 0.1f).LoadStateDict(single));
        Assert.Contains("missing key 'param_groups.0.params'", e.Message);
    }

    [Fact]
    public void GroupSettingsAreChecked()
    {
        var ps = RandomParams(new Generator(5), 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([new ParamGroup(ps[..1], -1f), new ParamGroup(ps[1..])], 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([new ParamGroup(ps[..1], WeightDecay: -1f), new ParamGroup(ps[1..])], 0.1f));
        Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup(ps[..1]), new ParamGroup([])], 0.1f));
        Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup(ps), new ParamGroup(ps[..1])], 0.1f)); // a parameter in two groups
    }
}
