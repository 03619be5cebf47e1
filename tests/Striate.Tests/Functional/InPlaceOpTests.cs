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

    [Fact]
    public void InPlaceRelu6GivesTheValuesAndGradientOfTheOutOfPlaceOneAtAndBeyondItsEnds()
    {
        // Exactly 0 and 6, just inside and outside them, far outside, and NaN: every case of the strict-interior mask.
        float[] values = [-2f, 0f, 1e-7f, 3f, 6f - 1e-6f, 6f, 6f + 1e-6f, 9f, float.NaN, -0f];
        float[] weights = [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f];
        (float[] Y, float[] Grad) Run(bool inPlace)
        {
            var x = Tensor.FromArray(values).RequireGrad();
            var h = F.Mul(x, 1f); // a non-leaf with x's exact values, which the in-place op may overwrite
            var y = inPlace ? F.Relu6InPlace(h) : F.Relu6(h);
            if (inPlace) Assert.Equal(h.Version, y.Version); // one storage
            F.Sum(F.Mul(y, Tensor.FromArray(weights))).Backward();
            return (y.ToArray(), x.Grad!.ToArray());
        }
        var (y0, g0) = Run(inPlace: false);
        var (y1, g1) = Run(inPlace: true);
        Assert.Equal(y0, y1);
        Assert.Equal(g0, g1);
        Assert.Equal([0f, 0f, 3f, 4f, 5f, 0f, 0f, 0f, 9f, 0f], g1); // NaN passes the gradient through, as PyTorch
    }

    [Fact]
    public void AnInplaceRelu6ModuleWritesOverItsInputAndPrintsAsPyTorch()
    {
        var relu6 = new ReLU6(inplace: true);
        var x = Tensor.FromArray([-3f, 4f, 8f]);
        relu6.Call(x);
        Assert.Equal([0f, 4f, 6f], x.ToArray());
        Assert.Equal("ReLU6(inplace=True)", relu6.ToString());
        Assert.Equal("ReLU6()", new ReLU6().ToString());
        Assert.Throws<InvalidOperationException>(() => relu6.Call(Tensor.FromArray([1f]).RequireGrad()));
    }

    // MobileNetV2's block writes its ReLU6s and its residual sum in place; the same block spelled out with the
    // out-of-place ops on its own parameters must give the same output and the same gradient for every parameter.
    [Fact]
    public void AnInvertedResidualBlockGivesTheGradientsOfItsOutOfPlaceComposition()
    {
        var block = new Striate.Models.Torchvision.InvertedResidual(8, 8, stride: 1, expandRatio: 6, generator: new Generator(3));
        block.Train();
        Assert.True(block.UseResidual);
        var x = Tensor.Randn([2, 8, 5, 5], new Generator(4));
        var weights = Tensor.Randn([2, 8, 5, 5], new Generator(5));
        var p = block.NamedParameters().ToDictionary(e => e.Key, e => e.Value);
        var buffers = block.StateDict().ToDictionary(e => e.Key, e => e.Value.Clone());

        var y = block.Call(x.Clone().RequireGrad());
        F.Sum(F.Mul(y, weights)).Backward();
        var inPlaceGrads = p.ToDictionary(e => e.Key, e => e.Value.Grad!.ToArray());
        float[] yInPlace = y.ToArray();
        foreach (var t in p.Values) t.Grad = null;

        Tensor Bn(Tensor h, string name) => F.BatchNorm(h, buffers[name + ".running_mean"], buffers[name + ".running_var"],
            p[name + ".weight"], p[name + ".bias"], training: true);
        var xr = x.Clone().RequireGrad();
        var a = F.Relu6(Bn(F.Conv2d(xr, p["conv.0.0.weight"]), "conv.0.1"));
        var d = F.Relu6(Bn(F.Conv2d(a, p["conv.1.0.weight"], padding: 1, groups: 48), "conv.1.1"));
        var outOfPlace = F.Add(xr, Bn(F.Conv2d(d, p["conv.2.weight"]), "conv.3"));
        F.Sum(F.Mul(outOfPlace, weights)).Backward();

        Assert.Equal(outOfPlace.ToArray(), yInPlace);
        foreach (var (name, grad) in inPlaceGrads) Assert.Equal(p[name].Grad!.ToArray(), grad);
    }
}
