using Striate.Functional;
using Striate.Optim;

namespace Striate.Tests.Optim;

public class OptimizerBehaviourTests
{
    [Fact]
    public void StepSkipsParametersWithoutGradient()
    {
        var a = Tensor.FromArray([1f, 2f]).RequireGrad();
        var b = Tensor.FromArray([3f, 4f]).RequireGrad();
        a.Grad = Tensor.FromArray([1f, 1f]);
        var optimizer = new Adam([a, b], lr: 0.1f);
        optimizer.Step();
        Assert.Equal([3f, 4f], b.ToArray());
        Assert.NotEqual([1f, 2f], a.ToArray());
        Assert.Equal(1, optimizer.StepCount(0));
        Assert.Equal(0, optimizer.StepCount(1));
        Assert.DoesNotContain("state.1.step", optimizer.StateDict().Keys);
    }

    [Fact]
    public void ZeroGradWithoutSetToNoneFillsExistingGradientsInPlace()
    {
        var a = Tensor.FromArray([1f, 2f]).RequireGrad();
        var b = Tensor.FromArray([3f]).RequireGrad();
        var grad = Tensor.FromArray([5f, -6f]);
        a.Grad = grad;
        new Sgd([a, b], lr: 0.1f).ZeroGrad(setToNone: false);
        Assert.Same(grad, a.Grad);
        Assert.Equal([0f, 0f], grad.ToArray());
        Assert.Null(b.Grad);
    }

    // PyTorch's default since 2.0: zero_grad sets .grad to None. Striate keeps the array and lets the next backward
    // write over it: the new gradient is the new pass's alone (not added to the old one), in the same array.
    [Fact]
    public void ZeroGradSetsGradientsToNoneAndTheNextBackwardWritesOverTheirArray()
    {
        var w = Tensor.FromArray([1f, 2f]).RequireGrad();
        var optimizer = new Sgd([w], lr: 0.1f);
        F.Sum(F.Mul(w, 3f)).Backward();
        var old = w.Grad!;
        float[] array = old.Storage;
        optimizer.ZeroGrad();
        Assert.Null(w.Grad);

        F.Sum(F.Mul(w, 5f)).Backward();
        Assert.Equal([5f, 5f], w.Grad!.ToArray());
        Assert.Same(array, w.Grad.Storage);
        // The old gradient tensor no longer holds its values: reading it fails instead of showing the new ones.
        var e = Assert.Throws<InvalidOperationException>(() => old.ToArray());
        Assert.Contains("ZeroGrad", e.Message);

        F.Sum(F.Mul(w, 1f)).Backward(); // without ZeroGrad, passes still add up
        Assert.Equal([6f, 6f], w.Grad.ToArray());
    }

    [Fact]
    public void AfterZeroGradStepLeavesAParameterTheBackwardDidNotReach()
    {
        var used = Tensor.FromArray([1f, 2f]).RequireGrad();
        var unused = Tensor.FromArray([3f, 4f]).RequireGrad();
        var optimizer = new Sgd([used, unused], lr: 0.1f, momentum: 0.9f, weightDecay: 0.5f);
        F.Sum(F.Add(used, unused)).Backward();
        optimizer.Step();
        float[] unusedAfterFirst = unused.ToArray();

        optimizer.ZeroGrad();
        F.Sum(F.Mul(used, 2f)).Backward();
        optimizer.Step();
        Assert.Null(unused.Grad);
        Assert.Equal(unusedAfterFirst, unused.ToArray()); // with zero-filled gradients momentum and decay would move it
        Assert.Equal(2, optimizer.StepCount(0));
        Assert.Equal(1, optimizer.StepCount(1));
    }

    [Fact]
    public void AGradientSetByHandIsNotReusedAfterItIsReplaced()
    {
        var w = Tensor.FromArray([1f, 2f]).RequireGrad();
        var optimizer = new Sgd([w], lr: 0.1f);
        F.Sum(w).Backward();
        var first = w.Grad!;
        optimizer.ZeroGrad();
        var mine = Tensor.FromArray([7f, 7f]);
        w.Grad = mine; // replacing the gradient drops the parked array
        F.Sum(w).Backward();
        Assert.Same(mine, w.Grad);
        Assert.Equal([8f, 8f], mine.ToArray());
        Assert.Equal([1f, 1f], first.ToArray()); // never reused, so still readable
    }

    [Fact]
    public void StepRejectsGradientOfAnotherShape()
    {
        var p = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2).RequireGrad();
        p.Grad = Tensor.FromArray([1f, 2f, 3f, 4f], 4);
        var ex = Assert.Throws<InvalidOperationException>(() => new Sgd([p], 0.1f).Step());
        Assert.Contains("[2, 2]", ex.Message);
        Assert.Contains("[4]", ex.Message);
    }

    [Fact]
    public void PlainSgdStepIsLearningRateTimesGradient()
    {
        var p = Tensor.FromArray([1f, -2f]).RequireGrad();
        p.Grad = Tensor.FromArray([0.5f, 4f]);
        var optimizer = new Sgd([p], lr: 0.25f);
        optimizer.Step();
        Assert.Equal([1f - 0.125f, -3f], p.ToArray());
        optimizer.LearningRate = 0.5f;
        optimizer.Step();
        Assert.Equal([1f - 0.125f - 0.25f, -5f], p.ToArray());
    }

    [Fact]
    public void SteppingAfterWarmUpAllocatesNothing()
    {
        var ps = Enumerable.Range(0, 3).Select(i => Tensor.FromArray(new float[37 + i]).RequireGrad()).ToArray();
        foreach (var p in ps) p.Grad = Tensor.FromArray(Enumerable.Repeat(0.5f, p.Numel).ToArray());
        Optimizer[] optimizers = [new Sgd(ps, 0.1f, momentum: 0.9f, nesterov: true), new Adam(ps, amsgrad: true), new AdamW(ps)];
        foreach (var o in optimizers)
        {
            for (int i = 0; i < 3; i++) { o.Step(); o.ZeroGrad(); }
            long before = GC.GetAllocatedBytesForCurrentThread();
            o.Step();
            o.ZeroGrad();
            long after = GC.GetAllocatedBytesForCurrentThread();
            Assert.True(after == before, $"{o.GetType().Name}: a warm step allocated {after - before} bytes");
        }
    }
}
