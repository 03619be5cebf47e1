using Striate.Functional;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Functional;

/// <summary>F.Linear: y = x·Wᵀ + b over any leading batch dimensions, and its three gradients.</summary>
public class LinearTests
{
    private static Tensor Random(Generator g, params int[] shape) => Tensor.FromArray(Close.RandomArray(shape.Aggregate(1, (a, b) => a * b), g), shape);

    [Fact]
    public void ForwardAndGradientsMatchHandLoops()
    {
        var r = new Generator(11);
        int n = 3, inF = 5, outF = 4;
        var x = Random(r, n, inF).RequireGrad();
        var w = Random(r, outF, inF).RequireGrad();
        var b = Random(r, outF).RequireGrad();
        var dy = Random(r, n, outF);
        var y = F.Linear(x, w, b);
        y.Backward(dy);
        var yExp = new float[n * outF]; var dxExp = new float[n * inF]; var dwExp = new float[outF * inF]; var dbExp = new float[outF];
        for (int i = 0; i < n; i++)
        for (int o = 0; o < outF; o++)
        {
            double s = b[o];
            for (int k = 0; k < inF; k++)
            {
                s += x[i, k] * w[o, k];
                dxExp[i * inF + k] += dy[i, o] * w[o, k];
                dwExp[o * inF + k] += dy[i, o] * x[i, k];
            }
            yExp[i * outF + o] = (float)s;
            dbExp[o] += dy[i, o];
        }
        Close.Assert(yExp, y.ReadOnlySpan, 1e-5, 1e-6, "y");
        Close.Assert(dxExp, x.Grad!.ReadOnlySpan, 1e-5, 1e-6, "dx");
        Close.Assert(dwExp, w.Grad!.ReadOnlySpan, 1e-5, 1e-6, "dw");
        Close.Assert(dbExp, b.Grad!.ReadOnlySpan, 1e-5, 1e-6, "db");
    }

    [Fact]
    public void WeightGradientWrittenInPlaceSumsAcrossBackwardsAndRestartsAfterZeroGrad()
    {
        // dW goes straight into the weight's gradient array (overwrite after ZeroGrad, add otherwise); a hooked weight
        // still sees its own contribution. Rows past Gemv's 16 and below, so both forward kernels run.
        foreach (int n in new[] { 3, 20 })
        {
            var r = new Generator(13);
            var x = Random(r, n, 7);
            var w = Random(r, 5, 7).RequireGrad();
            var dy = Random(r, n, 5);
            var once = new float[5 * 7];
            for (int o = 0; o < 5; o++)
            for (int k = 0; k < 7; k++)
            for (int i = 0; i < n; i++) once[o * 7 + k] += dy[i, o] * x[i, k];
            F.Linear(x, w).Backward(dy);
            Close.Assert(once, w.Grad!.ReadOnlySpan, 1e-5, 1e-6, $"n={n} first backward");
            F.Linear(x, w).Backward(dy);
            Close.Assert(once.Select(v => 2 * v).ToArray(), w.Grad!.ReadOnlySpan, 1e-5, 1e-6, $"n={n} summed over two backwards");
            w.ParkGrad(); // ZeroGrad(setToNone: true): the next backward overwrites the parked array
            F.Linear(x, w).Backward(dy);
            Close.Assert(once, w.Grad!.ReadOnlySpan, 1e-5, 1e-6, $"n={n} after ZeroGrad");
            Tensor? seen = null;
            var hooked = Random(r, 5, 7).RequireGrad();
            hooked.RegisterHook(g => seen = g.Clone());
            F.Linear(x, hooked).Backward(dy);
            Close.Assert(once, seen!.ReadOnlySpan, 1e-5, 1e-6, $"n={n} hook's view");
            Close.Assert(once, hooked.Grad!.ReadOnlySpan, 1e-5, 1e-6, $"n={n} hooked weight's gradient");
        }
    }

    [Fact]
    public void LeadingDimensionsAreBatchDimensions()
    {
        var r = new Generator(12);
        var x = Random(r, 2, 3, 6).RequireGrad();
        var w = Random(r, 4, 6);
        var b = Random(r, 4);
        var y = F.Linear(x, w, b);
        Assert.Equal(new[] { 2, 3, 4 }, y.ShapeArray);
        var flat = F.Linear(x.Detach().Reshape(6, 6), w, b);
        Close.Assert(flat.ReadOnlySpan, y.ReadOnlySpan, 0, 0, "rank-3 vs flattened");
        y.Backward(Tensor.Ones(2, 3, 4));
        Assert.Equal(new[] { 2, 3, 6 }, x.Grad!.ShapeArray);
        // d(sum y)/dx[.., k] = Σ_o w[o, k]
        for (int k = 0; k < 6; k++)
        {
            float colSum = 0;
            for (int o = 0; o < 4; o++) colSum += w[o, k];
            Assert.Equal(colSum, x.Grad[1, 2, k], 5);
        }
    }

    [Fact]
    public void VectorInputGivesVectorOutput()
    {
        var w = Tensor.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        var y = F.Linear(Tensor.FromArray([1, 0, -1]), w);
        Assert.Equal(new[] { 2 }, y.ShapeArray);
        Assert.Equal([-2f, -2f], y.ToArray());
    }

    [Fact]
    public void FeatureMismatchNamesBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Linear(Tensor.Zeros(4, 7), Tensor.Zeros(5, 6)));
        Assert.Contains("[4, 7]", e.Message);
        Assert.Contains("[5, 6]", e.Message);
        Assert.Contains("expects 6", e.Message);
    }

    [Fact]
    public void WrongBiasShapeIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Linear(Tensor.Zeros(4, 7), Tensor.Zeros(5, 7), Tensor.Zeros(4)));
        Assert.Contains("bias must be 1-D [5]", e.Message);
    }
}
