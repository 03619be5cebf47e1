using Striate.Optim;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Optim;

public class OptimizerStateDictTests
{
    public static TheoryData<string> Kinds => new() { "sgd_momentum", "sgd_nesterov", "adam", "adam_amsgrad", "adamw" };

    // The fresh optimizer is deliberately built with other hyperparameters: loading must restore them.
    private static Optimizer Make(string kind, Tensor[] ps, bool fresh) => kind switch
    {
        "sgd_momentum" => fresh ? new Sgd(ps, 1f) : new Sgd(ps, 0.05f, momentum: 0.9f, dampening: 0.1f, weightDecay: 1e-3f),
        "sgd_nesterov" => fresh ? new Sgd(ps, 1f, momentum: 0.1f, nesterov: true) : new Sgd(ps, 0.05f, momentum: 0.8f, nesterov: true),
        "adam" => fresh ? new Adam(ps) : new Adam(ps, 0.01f, 0.85, 0.99, 1e-6f, 1e-2f),
        "adam_amsgrad" => fresh ? new Adam(ps) : new Adam(ps, 0.01f, amsgrad: true),
        "adamw" => fresh ? new AdamW(ps) : new AdamW(ps, 0.02f, weightDecay: 0.1f),
        _ => throw new ArgumentException(kind),
    };

    private static Tensor[] RandomParams(Generator g) =>
        [Tensor.FromArray(Close.RandomArray(6, g), 2, 3).RequireGrad(), Tensor.FromArray(Close.RandomArray(17, g)).RequireGrad()];

    private static void SetGrads(Tensor[] ps, Generator g)
    {
        foreach (var p in ps) p.Grad = Tensor.FromArray(Close.RandomArray(p.Numel, g), p.ShapeArray);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void LoadedOptimizerContinuesExactlyLikeTheOriginal(string kind)
    {
        var g = new Generator(42);
        var original = RandomParams(g);
        var optimizer = Make(kind, original, fresh: false);
        for (int s = 0; s < 2; s++) { SetGrads(original, g); optimizer.Step(); }

        var saved = optimizer.StateDict();
        var copies = original.Select(p => p.Clone().RequireGrad()).ToArray();
        var restored = Make(kind, copies, fresh: true);
        restored.LoadStateDict(saved);
        Assert.Equal(optimizer.LearningRate, restored.LearningRate);

        SetGrads(original, g);
        for (int i = 0; i < copies.Length; i++) copies[i].Grad = original[i].Grad!.Clone();
        optimizer.Step();
        restored.Step();
        for (int i = 0; i < copies.Length; i++)
            Assert.Equal(original[i].ToArray(), copies[i].ToArray());
        Assert.Equal(3, restored.StepCount(0));
    }

    [Fact]
    public void StateDictUsesPyTorchNamesAndCopies()
    {
        var p = Tensor.FromArray([1f, 2f]).RequireGrad();
        p.Grad = Tensor.FromArray([0.5f, -0.5f]);
        var adam = new Adam([p], amsgrad: true);
        adam.Step();
        var dict = adam.StateDict();
        Assert.Equal(new[] { "amsgrad", "beta1", "beta2", "eps", "lr", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.0.step", "weight_decay" },
            dict.Keys.Order());
        Assert.Equal(1f, dict["state.0.step"].Item());
        Assert.Equal(1e-3f, dict["lr"].Item());
        var expAvg = dict["state.0.exp_avg"].ToArray();
        Assert.Equal([0.05f, -0.05f], expAvg, (a, b) => MathF.Abs(a - b) < 1e-7f);
        adam.Step();
        Assert.Equal(expAvg, dict["state.0.exp_avg"].ToArray());

        var sgd = new Sgd([p], 0.1f, momentum: 0.9f);
        sgd.Step();
        Assert.Equal(new[] { "dampening", "lr", "momentum", "nesterov", "state.0.momentum_buffer", "state.0.step", "weight_decay" },
            sgd.StateDict().Keys.Order());
    }

    private static (Adam Adam, Dictionary<string, Tensor> Dict) SteppedAdam()
    {
        var ps = new[] { Tensor.FromArray([1f, 2f, 3f]).RequireGrad(), Tensor.FromArray([4f]).RequireGrad() };
        foreach (var p in ps) p.Grad = Tensor.Full(0.25f, p.ShapeArray);
        var adam = new Adam(ps);
        adam.Step();
        return (adam, adam.StateDict().ToDictionary());
    }

    [Fact]
    public void LoadRejectsMissingKeyNamingIt()
    {
        var (adam, dict) = SteppedAdam();
        dict.Remove("state.1.exp_avg_sq");
        Assert.Contains("'state.1.exp_avg_sq'", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict)).Message);
        (adam, dict) = SteppedAdam();
        dict.Remove("beta2");
        Assert.Contains("'beta2'", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict)).Message);
        (adam, dict) = SteppedAdam();
        dict.Remove("state.0.step");
        Assert.Contains("'state.0.step'", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict)).Message);
    }

    [Fact]
    public void LoadRejectsUnknownKeyNamingIt()
    {
        var (adam, dict) = SteppedAdam();
        dict["state.0.momentum_buffer"] = Tensor.Zeros(3);
        Assert.Contains("'state.0.momentum_buffer'", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict)).Message);
        (adam, dict) = SteppedAdam();
        dict["state.2.step"] = Tensor.Ones(1);
        Assert.Contains("'state.2.step'", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict)).Message);
        (adam, dict) = SteppedAdam();
        dict["momentum"] = Tensor.Ones(1);
        Assert.Contains("'momentum'", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict)).Message);
    }

    [Fact]
    public void LoadRejectsWrongShapeAndLeavesStateUntouched()
    {
        var (adam, dict) = SteppedAdam();
        var before = adam.StateDict();
        dict["lr"] = Tensor.Full(0.5f, 1);
        dict["state.0.exp_avg"] = Tensor.Zeros(4);
        var ex = Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict));
        Assert.Contains("'state.0.exp_avg'", ex.Message);
        Assert.Contains("[4]", ex.Message);
        Assert.Contains("[3]", ex.Message);
        Assert.Equal(before["lr"].Item(), adam.LearningRate);
        Assert.Equal(before["state.0.exp_avg"].ToArray(), adam.StateDict()["state.0.exp_avg"].ToArray());
    }

    [Fact]
    public void LoadRejectsInvalidHyperparameterNamingIt()
    {
        var (adam, dict) = SteppedAdam();
        dict["beta1"] = Tensor.Full(1.5f, 1);
        Assert.Contains("'beta1'", Assert.Throws<ArgumentException>(() => adam.LoadStateDict(dict)).Message);

        var p = Tensor.FromArray([1f]).RequireGrad();
        var sgd = new Sgd([p], 0.1f, momentum: 0.9f, nesterov: true);
        var sgdDict = sgd.StateDict().ToDictionary();
        sgdDict["momentum"] = Tensor.Zeros(1);
        Assert.Contains("'nesterov'", Assert.Throws<ArgumentException>(() => sgd.LoadStateDict(sgdDict)).Message);
    }
}
