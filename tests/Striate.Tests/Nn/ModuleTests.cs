using Striate.Nn;

namespace Striate.Tests.Nn;

public sealed class ModuleTests
{
    private sealed class Block : Module
    {
        public Block()
        {
            RegisterModule("conv1", new Conv2d(3, 4, 3, padding: 1, bias: false));
            RegisterModule("bn1", new BatchNorm2d(4));
        }
        public override Tensor Forward(Tensor input) => input;
    }

    private static Sequential Net() => new(("layer1", new Sequential(new Block(), new Block())), ("fc", new Linear(4, 2)));

    [Fact]
    public void StateDictUsesTorchvisionDottedNamesInOrder()
    {
        var names = Net().StateDict().Select(e => e.Key).ToArray();
        Assert.Equal(new[]
        {
            "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean",
            "layer1.0.bn1.running_var", "layer1.0.bn1.num_batches_tracked",
            "layer1.1.conv1.weight", "layer1.1.bn1.weight", "layer1.1.bn1.bias", "layer1.1.bn1.running_mean",
            "layer1.1.bn1.running_var", "layer1.1.bn1.num_batches_tracked",
            "fc.weight", "fc.bias",
        }, names);
        Assert.Equal(["layer1.0.bn1.num_batches_tracked", "layer1.1.bn1.num_batches_tracked"], Net().IntegerBufferNames().ToArray());
    }

    [Fact]
    public void LoadStateDictCopiesValuesByName()
    {
        var source = Net();
        var target = Net();
        target.LoadStateDict(source.StateDict());
        foreach (var ((name, a), (_, b)) in source.StateDict().Zip(target.StateDict()))
            Assert.True(a.ToArray().SequenceEqual(b.ToArray()), name);
    }

    [Fact]
    public void LoadStateDictNamesEveryMissingUnexpectedAndMisshapenKey()
    {
        var state = Net().StateDict().Where(e => e.Key != "fc.bias").ToList();
        state.Add(new("fc.extra", Tensor.Zeros(1)));
        state[state.FindIndex(e => e.Key == "fc.weight")] = new("fc.weight", Tensor.Zeros(3, 4));
        var e = Assert.Throws<ArgumentException>(() => Net().LoadStateDict(state));
        Assert.Contains("Missing keys (1): fc.bias", e.Message);
        Assert.Contains("Unexpected keys (1): fc.extra", e.Message);
        Assert.Contains("fc.weight: checkpoint [3, 4], model [2, 4]", e.Message);
    }

    [Fact]
    public void NonStrictLoadSkipsMissingKeysButNotShapeMismatches()
    {
        var net = Net();
        net.LoadStateDict([new("fc.bias", Tensor.FromArray([1f, 2f]))], strict: false);
        Assert.Equal([1f, 2f], ((Linear)((Sequential)net)[1]).Bias!.ToArray());
        Assert.Throws<ArgumentException>(() => net.LoadStateDict([new("fc.bias", Tensor.Zeros(3))], strict: false));
    }

    [Fact]
    public void TrainAndEvalReachEveryDescendant()
    {
        var net = Net();
        net.Eval();
        Assert.All(net.NamedModules(), m => Assert.False(m.Value.Training));
        net.Train();
        Assert.All(net.NamedModules(), m => Assert.True(m.Value.Training));
    }

    [Fact]
    public void ParameterCountsMatchPyTorch()
    {
        Assert.Equal(3 * 4 * 9 + 8 + 3 * 4 * 9 + 8 + 4 * 2 + 2, Net().ParameterCount());
        Assert.Equal(64 * 3 * 7 * 7, new Conv2d(3, 64, 7, 2, 3, bias: false).ParameterCount());
        Assert.Equal(32 * 9 + 32, new Conv2d(32, 32, 3, groups: 32).ParameterCount());
    }

    [Fact]
    public void DefaultInitIsUniformWithinOneOverRootFanIn()
    {
        var conv = new Conv2d(16, 8, 3, generator: new Generator(1));
        double bound = 1 / Math.Sqrt(16 * 9);
        Assert.All(conv.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(conv.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        // A uniform distribution on (−b, b) has standard deviation b/√3: the init is not a constant or a narrow band.
        var w = conv.Weight.ToArray();
        double std = Math.Sqrt(w.Average(v => (double)v * v));
        Assert.InRange(std, bound / Math.Sqrt(3) * 0.9, bound / Math.Sqrt(3) * 1.1);
    }

    [Fact]
    public void KaimingNormalAndXavierUniformHaveTheirStandardDeviations()
    {
        var w = Tensor.Zeros(256, 128, 3, 3);
        Init.KaimingNormal(w, mode: "fan_out", nonlinearity: "relu", generator: new Generator(2));
        double std = Math.Sqrt(w.ToArray().Average(v => (double)v * v));
        Assert.InRange(std, Math.Sqrt(2.0 / (256 * 9)) * 0.98, Math.Sqrt(2.0 / (256 * 9)) * 1.02);
        var x = Tensor.Zeros(100, 200);
        Init.XavierUniform(x, generator: new Generator(3));
        double bound = Math.Sqrt(6.0 / 300);
        Assert.All(x.ToArray(), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void ConstructorsRejectNonsenseNamingTheArgument()
    {
        Assert.Contains("groups (3)", Assert.Throws<ArgumentException>(() => new Conv2d(4, 8, 3, groups: 3)).Message);
        Assert.Contains("kernelSize", Assert.Throws<ArgumentException>(() => new Conv2d(4, 8, 0)).Message);
        Assert.Contains("p must be in [0, 1]", Assert.Throws<ArgumentException>(() => new Dropout(1.5)).Message);
        Assert.Contains("numFeatures", Assert.Throws<ArgumentException>(() => new BatchNorm2d(0)).Message);
    }

    [Fact]
    public void ForwardHooksSeeInputsAndOutputsAndCanBeRemoved()
    {
        var relu = new ReLU();
        int calls = 0;
        using (relu.RegisterForwardHook((m, input, output) => { calls++; Assert.Same(relu, m); Assert.Equal(0f, output[0]); }))
            relu.Call(Tensor.FromArray([-1f]));
        relu.Call(Tensor.FromArray([-1f]));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void ZeroGradWithoutSetToNoneKeepsBuffersAndClearsValues()
    {
        var fc = new Linear(3, 2);
        var loss = Striate.Functional.F.Sum(fc.Call(Tensor.Ones(4, 3)));
        loss.Backward();
        var grad = fc.Weight.Grad!;
        Assert.All(grad.ToArray(), v => Assert.Equal(4f, v));
        fc.ZeroGrad(setToNone: false);
        Assert.Same(grad, fc.Weight.Grad);
        Assert.All(grad.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ZeroGradSetsEveryGradientToNoneAndTheNextBackwardReusesTheArrays()
    {
        var fc = new Linear(3, 2);
        Striate.Functional.F.Sum(fc.Call(Tensor.Ones(4, 3))).Backward();
        float[] weightArray = fc.Weight.Grad!.Storage;
        fc.ZeroGrad();
        Assert.All(fc.Parameters(), p => Assert.Null(p.Grad));
        Striate.Functional.F.Sum(fc.Call(Tensor.Ones(2, 3))).Backward();
        Assert.All(fc.Weight.Grad!.ToArray(), v => Assert.Equal(2f, v));
        Assert.Same(weightArray, fc.Weight.Grad.Storage);
    }
}
