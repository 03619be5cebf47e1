using Striate.Functional;
using Striate.Nn;

namespace Striate.Tests.Functional;

/// <summary>
/// ReluInPlace and AddInPlace (torch.relu_, Tensor.add_): the values and gradients of their out-of-place twins, no new
/// array, and PyTorch's refusals — a leaf that requires grad, or a tensor a backward saved, cannot be overwritten.
/// </summary>
public sealed class InPlaceOpTests
{
    private static (Tensor X, Tensor W, Tensor Bias) Leaves()
    {
        var g = new Generator(5);
        return (Tensor.Randn([3, 4], g), Tensor.Randn([4, 4], g).RequireGrad(), Tensor.Randn([4], g).RequireGrad());
    }

    // y = relu(relu(xWᵀ + b)Wᵀ + xWᵀ), a residual block's pattern: each in-place op writes over a tensor that no
    // backward saved (a linear's output; the sum), never over the ReLU's output, which the second linear reads.
    private static Tensor Net(Tensor x, Tensor w, Tensor bias, bool inPlace)
    {
        var h = F.Linear(x, w, bias);
        var skip = F.Linear(x, w);
        var a = inPlace ? F.ReluInPlace(h) : F.Relu(h);
        var z = F.Linear(a, w);
        var s = inPlace ? F.AddInPlace(z, skip) : F.Add(z, skip);
        return inPlace ? F.ReluInPlace(s) : F.Relu(s);
    }

    [Fact]
    public void InPlaceOpsGiveTheValuesAndGradientsOfTheOutOfPlaceOnesWithoutANewArray()
    {
        var (x, w, b) = Leaves();
        var expected = Net(x, w, b, inPlace: false);
        F.Sum(F.Mul(expected, expected)).Backward();
        float[] gw = w.Grad!.ToArray(), gb = b.Grad!.ToArray();

        var (x2, w2, b2) = Leaves();
        var h = F.Linear(x2, w2, b2);
        var r = F.ReluInPlace(h);
        Assert.Equal(h.Version, r.Version); // one storage: the ReLU wrote over h
        var y = Net(x2, w2, b2, inPlace: true);
        Assert.Equal(expected.ToArray(), y.ToArray());
        F.Sum(F.Mul(y, y)).Backward();
        Assert.Equal(gw, w2.Grad!.ToArray());
        Assert.Equal(gb, b2.Grad!.ToArray());
    }

    [Fact]
    public void ALeafThatRequiresGradCannotBeOverwrittenButAPlainTensorCan()
    {
        var leaf = Tensor.FromArray([-1f, 2f]).RequireGrad();
        Assert.Contains("leaf that requires grad", Assert.Throws<InvalidOperationException>(() => F.ReluInPlace(leaf)).Message);
        Assert.Throws<InvalidOperationException>(() => F.AddInPlace(leaf, Tensor.Ones(2)));

        var plain = Tensor.FromArray([-1f, 2f]);
        F.AddInPlace(F.ReluInPlace(plain), Tensor.Ones(2));
        Assert.Equal([1f, 3f], plain.ToArray());
        Assert.Throws<ArgumentException>(() => F.AddInPlace(plain, Tensor.Ones(1)));
    }

    // The failure in-place ops can cause: overwriting an activation another op saved (here the sigmoid's output; as
    // in PyTorch, adding in place to a ReLU's output fails alike).
    [Fact]
    public void OverwritingATensorABackwardSavedFailsAtBackwardInsteadOfAWrongGradient()
    {
        var w = Tensor.FromArray([0.5f, -2f]).RequireGrad();
        var s = F.Sigmoid(F.Mul(w, 3f));
        var y = F.ReluInPlace(F.AddInPlace(s, Tensor.Ones(2)));
        var e = Assert.Throws<InvalidOperationException>(() => F.Sum(y).Backward());
        Assert.Contains("modified by an inplace operation", e.Message);
    }

    [Fact]
    public void AnInplaceReluModuleWritesOverItsInputAndPrintsAsPyTorch()
    {
        var relu = new ReLU(inplace: true);
        var x = Tensor.FromArray([-3f, 4f]);
        relu.Call(x);
        Assert.Equal([0f, 4f], x.ToArray());
        Assert.Equal("ReLU(inplace=True)", relu.ToString());
        Assert.Equal("ReLU()", new ReLU().ToString());
    }
}
