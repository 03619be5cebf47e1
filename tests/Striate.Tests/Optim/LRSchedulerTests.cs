using Striate.Optim;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Optim;

/// <summary>
/// Learning-rate sequences checked against torch 1.13. Every expected array was printed by this harness
/// (the lr in effect for each of n epochs: recorded before each optimizer step, then scheduler.step()):
/// <code>
/// def run(make_opt, make_sched, n):
///     p = torch.nn.Parameter(torch.zeros(1)); opt = make_opt([p]); s = make_sched(opt); lrs, ms = [], []
///     for i in range(n):
///         g = opt.param_groups[0]; lrs.append(g['lr'])
///         ms.append(g['betas'][0] if 'betas' in g else g.get('momentum'))
///         if i &lt; n - 1: opt.step(); s.step()
/// S = lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)
/// A = lambda ps: torch.optim.Adam(ps, lr=1e-3)
/// </code>
/// </summary>
public class LRSchedulerTests
{
    private static Sgd MakeSgd() => new([Tensor.FromArray([0f]).RequireGrad()], lr: 0.1f, momentum: 0.9f);

    private static double[] Run(LRScheduler scheduler, int n, List<double>? momenta = null)
    {
        var lrs = new double[n];
        for (int i = 0; i < n; i++)
        {
            lrs[i] = scheduler.Optimizer.LearningRate;
            Assert.Equal(scheduler.LastLearningRate, scheduler.Optimizer.LearningRate);
            if (momenta != null)
                momenta.Add(scheduler.Optimizer switch { Sgd s => s.Momentum, Adam a => a.Beta1, _ => double.NaN });
            if (i < n - 1) scheduler.Step();
        }
        return lrs;
    }

    private static void AssertSequence(double[] expected, IReadOnlyList<double> actual, string what)
    {
        // The optimizer holds float32 learning rates; PyTorch holds doubles.
        Close.Assert(expected.Select(x => (float)x).ToArray(), actual.Select(x => (float)x).ToArray(), 1e-6, 1e-9, what);
    }

    [Fact]
    public void StepLRMatchesPyTorch()
    {
        // run(S, lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5), 10)
        double[] expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125];
        AssertSequence(expected, Run(new StepLR(MakeSgd(), 3, 0.5), 10), "StepLR(3, 0.5)");
    }

    [Fact]
    public void MultiStepLRMatchesPyTorch()
    {
        // run(S, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2,5], 0.1), 10)
        double[] expected = [0.1, 0.1, 0.010000000000000002, 0.010000000000000002, 0.010000000000000002, 0.0010000000000000002,
            0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002, 0.0010000000000000002];
        AssertSequence(expected, Run(new MultiStepLR(MakeSgd(), [2, 5]), 10), "MultiStepLR([2, 5])");
    }

    [Fact]
    public void MultiStepLRWithRepeatedUnsortedMilestonesMatchesPyTorch()
    {
        // run(S, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3,3,7], 0.5), 10)
        double[] expected = [0.1, 0.1, 0.1, 0.025, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125];
        AssertSequence(expected, Run(new MultiStepLR(MakeSgd(), [7, 3, 3], 0.5), 10), "MultiStepLR([3, 3, 7], 0.5)");
    }

    [Fact]
    public void CosineAnnealingLRMatchesPyTorchIncludingPastTMax()
    {
        // run(S, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, 0.01), 14)
        double[] expected = [0.1, 0.09779754323328192, 0.09140576474687263, 0.08145033635316129, 0.06890576474687264,
            0.05500000000000001, 0.04109423525312737, 0.028549663646838717, 0.01859423525312737, 0.012202456766718092,
            0.01, 0.012202456766718092, 0.0185942352531274, 0.028549663646838794];
        AssertSequence(expected, Run(new CosineAnnealingLR(MakeSgd(), 10, 0.01), 14), "CosineAnnealingLR(10, 0.01)");
    }

    [Fact]
    public void OneCycleLRMatchesPyTorchWithSgdMomentum()
    {
        // run(S, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 0.1, 20), 21)  — 20 steps reach last_epoch == total_steps
        double[] expectedLr = [0.0040000000000000036, 0.013167184270002533, 0.037167184270002526, 0.06683281572999747,
            0.09083281572999748, 0.1, 0.09874640062350874, 0.09504846320134738, 0.089091617757105, 0.0811745653949763,
            0.07169430017913009, 0.06112620219362893, 0.0500002, 0.03887419780637107, 0.028306099820869922,
            0.0188258346050237, 0.010908782242895003, 0.004951936798652629, 0.0012539993764912555, 4e-07, 0.0012539993764912555];
        double[] expectedMomentum = [0.95, 0.9404508497187474, 0.9154508497187474, 0.8845491502812526, 0.8595491502812526,
            0.85, 0.8512536043909088, 0.854951556604879, 0.8609084258765984, 0.8688255099070633, 0.878305813044122,
            0.8888739533021842, 0.8999999999999999, 0.9111260466978157, 0.9216941869558779, 0.9311744900929366,
            0.9390915741234015, 0.945048443395121, 0.9487463956090911, 0.95, 0.9487463956090911];
        var momenta = new List<double>();
        var scheduler = new OneCycleLR(MakeSgd(), 0.1, 20);
        AssertSequence(expectedLr, Run(scheduler, 21, momenta), "OneCycleLR(0.1, 20) lr");
        AssertSequence(expectedMomentum, momenta, "OneCycleLR(0.1, 20) momentum");
        Assert.Equal(20, scheduler.LastEpoch);
    }

    [Fact]
    public void OneCycleLRThreePhaseLinearMatchesPyTorchWithAdamBeta1()
    {
        // run(A, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 0.01, 25, pct_start=0.2, anneal_strategy='linear',
        //     three_phase=True), 26)  — the last value overshoots below zero, as in PyTorch
        double[] expectedLr = [0.0004, 0.0028000000000000004, 0.005200000000000001, 0.007600000000000001, 0.01, 0.0076, 0.0052,
            0.0027999999999999995, 0.0003999999999999993, 0.0003750025, 0.000350005, 0.0003250075, 0.00030001, 0.0002750125,
            0.000250015, 0.0002250175, 0.00020002, 0.0001750225, 0.00015002499999999997, 0.0001250275, 0.00010002999999999998,
            7.50325e-05, 5.003499999999998e-05, 2.5037500000000005e-05, 3.999999999997929e-08, -2.4957500000000047e-05];
        double[] expectedMomentum = [0.95, 0.9249999999999999, 0.8999999999999999, 0.875, 0.85, 0.875, 0.8999999999999999,
            0.9249999999999999, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95];
        var momenta = new List<double>();
        var adam = new Adam([Tensor.FromArray([0f]).RequireGrad()], lr: 1e-3f);
        var scheduler = new OneCycleLR(adam, 0.01, 25, pctStart: 0.2, annealStrategy: "linear", threePhase: true);
        var lrs = Run(scheduler, 26, momenta);
        // The value near zero (4e-8 after cancellation) is only good to float rounding of the earlier terms.
        Close.Assert(expectedLr.Select(x => (float)x).ToArray(), lrs.Select(x => (float)x).ToArray(), 1e-6, 1e-11, "OneCycleLR three-phase lr");
        AssertSequence(expectedMomentum, momenta, "OneCycleLR three-phase beta1");
    }

    [Fact]
    public void OneCycleLRRefusesToStepPastTotalSteps()
    {
        var scheduler = new OneCycleLR(MakeSgd(), 0.1, 5);
        for (int i = 0; i < 5; i++) scheduler.Step();
        var ex = Assert.Throws<InvalidOperationException>(scheduler.Step);
        Assert.Contains("total steps is 5", ex.Message);
        Assert.Equal(5, scheduler.LastEpoch);
    }

    [Fact]
    public void SchedulerStateDictRoundTripResumesTheSchedule()
    {
        var a = new CosineAnnealingLR(MakeSgd(), 10, 0.01);
        for (int i = 0; i < 4; i++) a.Step();
        var state = a.StateDict();
        Assert.Equal(4, state["last_epoch"]);

        var optimizer = MakeSgd();
        var b = new CosineAnnealingLR(optimizer, 10, 0.01);
        b.LoadStateDict(state);
        Assert.Equal(4, b.LastEpoch);
        Assert.Equal(a.LastLearningRate, optimizer.LearningRate);
        a.Step();
        b.Step();
        Assert.Equal(a.LastLearningRate, b.LastLearningRate);

        var bad = state.ToDictionary();
        bad["gamma"] = 0.5;
        Assert.Contains("'gamma'", Assert.Throws<ArgumentException>(() => b.LoadStateDict(bad)).Message);
        bad = state.ToDictionary();
        bad.Remove("last_epoch");
        Assert.Contains("'last_epoch'", Assert.Throws<ArgumentException>(() => b.LoadStateDict(bad)).Message);
    }

    [Fact]
    public void SchedulerArgumentsAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(MakeSgd(), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MultiStepLR(MakeSgd(), [0, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealingLR(MakeSgd(), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(MakeSgd(), 0.1, 10, pctStart: 1.5));
        Assert.Throws<ArgumentException>(() => new OneCycleLR(MakeSgd(), 0.1, 10, annealStrategy: "exp"));
    }
}
