using Striate.Autograd;
using Striate.Functional;

namespace Striate.Tests.Autograd;

public sealed class AutogradTests
{
    [Fact]
    public void GradientsAccumulateAcrossBackwardCallsAsInPyTorch()
    {
        var x = Tensor.FromArray([1f, -2f, 3f]).RequireGrad();
        F.Sum(F.Mul(x, 3f)).Backward();
        F.Sum(F.Mul(x, 3f)).Backward();
        Assert.Equal([6f, 6f, 6f], x.Grad!.ToArray());
    }

    [Fact]
    public void ATensorUsedTwiceGetsTheSumOfBothPaths()
    {
        // y = x + 2x → dy/dx = 3; the pass-through gradient of Add must not be overwritten by the second path.
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var y = F.Add(x, F.Mul(x, 2f));
        F.Sum(y).Backward();
        Assert.Equal([3f, 3f], x.Grad!.ToArray());
    }

    [Fact]
    public void DiamondGraphRunsEachNodeOnceWithTheFullGradient()
    {
        var x = Tensor.FromArray([0.5f, -1f]).RequireGrad();
        var h = F.Tanh(x);
        var y = F.Add(F.Mul(h, 2f), F.Sigmoid(h));
        F.Sum(y).Backward();
        for (int i = 0; i < 2; i++)
        {
            double t = Math.Tanh(x[i]);
            double s = 1 / (1 + Math.Exp(-t));
            double expected = (2 + s * (1 - s)) * (1 - t * t);
            Assert.Equal(expected, x.Grad![i], 5);
        }
    }

    [Fact]
    public void NoGradScopeRecordsNothing()
    {
        var x = Tensor.FromArray([1f]).RequireGrad();
        Tensor y;
        using (GradMode.NoGrad()) y = F.Mul(x, 2f);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        Assert.True(GradMode.IsEnabled);
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("does not require grad", e.Message);
    }

    [Fact]
    public void BackwardOfANonScalarNeedsAGradientOfTheSameShape()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var y = F.Mul(x, 2f);
        Assert.Contains("non-scalar", Assert.Throws<ArgumentException>(() => y.Backward()).Message);
        Assert.Contains("[3]", Assert.Throws<ArgumentException>(() => y.Backward(Tensor.Zeros(3))).Message);
        y.Backward(Tensor.FromArray([1f, 10f]));
        Assert.Equal([2f, 20f], x.Grad!.ToArray());
    }

    [Fact]
    public void RetainGradAndHooksSeeIntermediateGradients()
    {
        var x = Tensor.FromArray([1f, 2f]).RequireGrad();
        var h = F.Mul(x, 3f).RetainGrad();
        Tensor? seen = null;
        h.RegisterHook(g => seen = g.Clone());
        F.Sum(F.Mul(h, 5f)).Backward();
        Assert.Equal([5f, 5f], h.Grad!.ToArray());
        Assert.Equal([5f, 5f], seen!.ToArray());
        Assert.Equal([15f, 15f], x.Grad!.ToArray());
    }

    [Fact]
    public void ReshapeViewsPassGradientsThrough()
    {
        var x = Tensor.Arange(0, 6).Reshape(2, 3).RequireGrad();
        F.Sum(F.Mul(x.Reshape(3, 2).Flatten(), 2f)).Backward();
        Assert.Equal([2, 3], x.Grad!.ShapeArray);
        Assert.All(x.Grad.ToArray(), v => Assert.Equal(2f, v));
    }

    [Fact]
    public void DeepChainsDoNotOverflowTheStack()
    {
        var x = Tensor.FromArray([1f]).RequireGrad();
        var y = x;
        for (int i = 0; i < 20_000; i++) y = F.Mul(y, 1f);
        y.Backward();
        Assert.Equal(1f, x.Grad!.Item());
    }

    [Fact]
    public void DetachCutsTheGraph()
    {
        var x = Tensor.FromArray([1f]).RequireGrad();
        var y = F.Add(F.Mul(x, 2f).Detach(), x);
        y.Backward();
        Assert.Equal(1f, x.Grad!.Item());
    }
}
