using Striate.Autograd;
using Striate.Functional;

namespace Striate.Tests.Autograd;

/// <summary>
/// Post-accumulate gradient hooks (tensor.register_post_accumulate_grad_hook) and backward-pass callbacks, which
/// data-parallel training uses to reduce each parameter's gradient as soon as it is final.
/// </summary>
public sealed class PostAccumulateGradHookTests
{
    [Fact]
    public void ALeafUsedTwiceGetsItsHookOnceWithTheFullSum()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var seen = new List<float[]>();
        x.RegisterPostAccumulateGradHook(leaf => seen.Add(leaf.Grad!.ToArray()));
        // loss = Σ(3x) + Σ(x·x) → dx = 3 + 2x
        F.Add(F.Sum(F.Mul(x, 3f)), F.Sum(F.Mul(x, x))).Backward();
        Assert.Single(seen);
        Assert.Equal([5f, 7f], seen[0]);
    }

    [Fact]
    public void HooksRunInReverseOrderOfUseWhileBackwardIsStillRunning()
    {
        // h = w1·x; y = w2·h: backward reaches w2 first, and w2's hook runs before w1's gradient exists.
        var x = Tensor.FromArray([2f]);
        var w1 = Tensor.FromArray([3f]).RequireGrad();
        var w2 = Tensor.FromArray([5f]).RequireGrad();
        var events = new List<string>();
        w1.RegisterPostAccumulateGradHook(_ => events.Add("w1"));
        w2.RegisterPostAccumulateGradHook(_ => events.Add($"w2 (w1 grad {(w1.Grad == null ? "none" : "set")})"));
        F.Sum(F.Mul(w2, F.Mul(w1, x))).Backward();
        Assert.Equal(["w2 (w1 grad none)", "w1"], events);
        Assert.Equal(10f, w1.Grad!.Item());
        Assert.Equal(6f, w2.Grad!.Item());
    }

    [Fact]
    public void EachPassRunsTheHookAgainOnTheAccumulatedGradient()
    {
        var x = Tensor.FromArray([1f]).RequireGrad();
        var seen = new List<float>();
        x.RegisterPostAccumulateGradHook(leaf => seen.Add(leaf.Grad!.Item()));
        F.Sum(F.Mul(x, 2f)).Backward();
        F.Sum(F.Mul(x, 2f)).Backward();
        Assert.Equal([2f, 4f], seen);
    }

    [Fact]
    public void ALeafThePassDoesNotReachGetsNoHook()
    {
        var used = Tensor.FromArray([1f]).RequireGrad();
        var unused = Tensor.FromArray([1f]).RequireGrad();
        int calls = 0;
        unused.RegisterPostAccumulateGradHook(_ => calls++);
        _ = F.Mul(unused, 2f); // recorded, but not part of the loss below
        F.Sum(F.Mul(used, 2f)).Backward();
        Assert.Equal(0, calls);
        Assert.Null(unused.Grad);
    }

    [Fact]
    public void ALeafWhoseOtherConsumerPassesNothingBackGetsItsHookAtTheEndOfThePass()
    {
        // x feeds Mul (which passes a gradient) and NoGradientOp (which passes none): two edges, one contribution.
        var x = Tensor.FromArray([1f, 1f]).RequireGrad();
        int calls = 0;
        float atHook = float.NaN;
        x.RegisterPostAccumulateGradHook(leaf => { calls++; atHook = leaf.Grad![0]; });
        var blocked = new NoGradientOp().Record(Tensor.FromArray([0f, 0f]), x);
        F.Add(F.Sum(F.Mul(x, 4f)), F.Sum(blocked)).Backward();
        Assert.Equal(1, calls);
        Assert.Equal(4f, atHook);
    }

    [Fact]
    public void DisposingTheHandleRemovesTheHook()
    {
        var x = Tensor.FromArray([1f]).RequireGrad();
        int calls = 0;
        var handle = x.RegisterPostAccumulateGradHook(_ => calls++);
        F.Sum(F.Mul(x, 2f)).Backward();
        handle.Dispose();
        F.Sum(F.Mul(x, 2f)).Backward();
        Assert.Equal(1, calls);
    }

    [Fact]
    public void OnlyLeavesTakeThisHook()
    {
        var y = F.Mul(Tensor.FromArray([1f]).RequireGrad(), 2f);
        var e = Assert.Throws<InvalidOperationException>(() => y.RegisterPostAccumulateGradHook(_ => { }));
        Assert.Contains("only leaves", e.Message);
    }

    [Fact]
    public void QueuedCallbacksRunAfterEveryHookOfThePass()
    {
        var w1 = Tensor.FromArray([3f]).RequireGrad();
        var w2 = Tensor.FromArray([5f]).RequireGrad();
        var events = new List<string>();
        bool queued = false;
        w2.RegisterPostAccumulateGradHook(_ =>
        {
            events.Add("w2");
            if (!queued) { queued = true; BackwardPass.QueueCallback(() => events.Add($"done, running {BackwardPass.IsRunning}")); }
        });
        w1.RegisterPostAccumulateGradHook(_ => events.Add("w1"));
        F.Sum(F.Mul(w2, F.Mul(w1, 2f))).Backward();
        Assert.Equal(["w2", "w1", "done, running True"], events);
        Assert.False(BackwardPass.IsRunning);
    }

    [Fact]
    public void QueueingOutsideBackwardIsAnError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => BackwardPass.QueueCallback(() => { }));
        Assert.Contains("no backward pass is running", e.Message);
    }

    [Fact]
    public void AFailedPassDropsItsCallbacksAndLeavesNoStateBehind()
    {
        var x = Tensor.FromArray([1f]).RequireGrad();
        int callbacks = 0, hooks = 0;
        var handle = x.RegisterPostAccumulateGradHook(_ =>
        {
            hooks++;
            BackwardPass.QueueCallback(() => callbacks++);
            throw new InvalidOperationException("boom");
        });
        Assert.Throws<InvalidOperationException>(() => F.Sum(F.Mul(x, 2f)).Backward());
        Assert.Equal(0, callbacks);
        Assert.False(BackwardPass.IsRunning);
        handle.Dispose();
        x.RegisterPostAccumulateGradHook(_ => hooks++);
        F.Sum(F.Mul(x, 2f)).Backward();
        Assert.Equal(2, hooks);
    }

    /// <summary>An op whose backward passes no gradient to its input (as an integer-valued op would).</summary>
    private sealed class NoGradientOp : GradFn
    {
        protected internal override void Backward(Tensor gradOutput) { }
    }
}
