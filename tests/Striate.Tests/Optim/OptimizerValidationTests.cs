using Striate.Optim;

namespace Striate.Tests.Optim;

public class OptimizerValidationTests
{
    private static Tensor Param() => Tensor.FromArray([1f, 2f]).RequireGrad();

    [Fact]
    public void NegativeLearningRateIsRejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([Param()], lr: -0.1f));
        Assert.Contains("learning rate", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([Param()], lr: -1e-3f));
        var optimizer = new AdamW([Param()]);
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.LearningRate = -1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.LearningRate = float.NaN);
    }

    [Fact]
    public void NegativeMomentumDampeningOrWeightDecayIsRejected()
    {
        Assert.Contains("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([Param()], 0.1f, momentum: -0.5f)).Message);
        Assert.Contains("dampening", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([Param()], 0.1f, dampening: -0.5f)).Message);
        Assert.Contains("weightDecay", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([Param()], weightDecay: -1f)).Message);
        Assert.Contains("eps", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([Param()], eps: -1e-8f)).Message);
    }

    [Theory]
    [InlineData(-0.1, 0.999)]
    [InlineData(1.0, 0.999)]
    [InlineData(0.9, 1.0)]
    [InlineData(0.9, -0.5)]
    [InlineData(double.NaN, 0.999)]
    public void BetasOutsideZeroToOneAreRejected(double beta1, double beta2)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([Param()], beta1: beta1, beta2: beta2));
        Assert.Contains("[0, 1)", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([Param()], beta1: beta1, beta2: beta2));
    }

    [Fact]
    public void NesterovNeedsMomentumAndNoDampening()
    {
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(() => new Sgd([Param()], 0.1f, nesterov: true)).Message);
        Assert.Contains("dampening", Assert.Throws<ArgumentException>(() => new Sgd([Param()], 0.1f, momentum: 0.9f, dampening: 0.1f, nesterov: true)).Message);
        var sgd = new Sgd([Param()], 0.1f, momentum: 0.9f, nesterov: true);
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.Momentum = 0f);
    }

    [Fact]
    public void NonLeafParameterIsRejected()
    {
        var leaf = Param();
        var view = leaf.Reshape(2, 1);
        var ex = Assert.Throws<ArgumentException>(() => new Sgd([leaf, view], 0.1f));
        Assert.Contains("parameter 1", ex.Message);
        Assert.Contains("not a leaf", ex.Message);
    }

    [Fact]
    public void ParameterNotRequiringGradIsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Adam([Tensor.FromArray([1f])]));
        Assert.Contains("parameter 0", ex.Message);
        Assert.Contains("does not require grad", ex.Message);
    }

    [Fact]
    public void EmptyOrDuplicatedParameterListIsRejected()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new Sgd(Array.Empty<Tensor>(), 0.1f)).Message);
        var p = Param();
        var ex = Assert.Throws<ArgumentException>(() => new Sgd([p, Param(), p], 0.1f));
        Assert.Contains("parameter 2", ex.Message);
        Assert.Contains("more than once", ex.Message);
    }
}
