using Striate.Autograd;
using Striate.Functional;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Functional;

/// <summary>F.Conv2d argument handling, overloads and gradient plumbing.</summary>
public class Conv2dTests
{
    private static Tensor Random(Generator g, params int[] shape) => Tensor.FromArray(Close.RandomArray(shape.Aggregate(1, (a, b) => a * b), g), shape);

    [Fact]
    public void TupleOverloadMatchesReferenceWithDifferentAxes()
    {
        var r = new Generator(5);
        var x = Random(r, 2, 4, 11, 9);
        var w = Random(r, 6, 2, 3, 2);
        var b = Random(r, 6);
        var y = F.Conv2d(x, w, b, stride: (2, 1), padding: (1, 2), dilation: (1, 3), groups: 2);
        var g = new Conv2dGeometry(2, 4, 11, 9, 6, 3, 2, 2, 1, 1, 2, 1, 3, 2);
        Assert.Equal(new[] { 2, 6, g.OutHeight, g.OutWidth }, y.ShapeArray);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x.ReadOnlySpan, w.ReadOnlySpan, b.ReadOnlySpan, expected);
        Close.Assert(expected, y.ReadOnlySpan, 1e-4, 1e-5, "conv2d with per-axis arguments");
    }

    [Fact]
    public void UnbatchedInputGivesUnbatchedOutputAndGradient()
    {
        var r = new Generator(6);
        var x = Random(r, 3, 8, 8).RequireGrad();
        var w = Random(r, 4, 3, 3, 3);
        var y = F.Conv2d(x, w, padding: 1);
        Assert.Equal(new[] { 4, 8, 8 }, y.ShapeArray);
        var batched = F.Conv2d(x.Detach().Reshape(1, 3, 8, 8), w, padding: 1);
        Close.Assert(batched.ReadOnlySpan, y.ReadOnlySpan, 0, 0, "unbatched vs batch of one");
        y.Backward(Tensor.Ones(4, 8, 8));
        Assert.Equal(new[] { 3, 8, 8 }, x.Grad!.ShapeArray);
    }

    [Fact]
    public void GradientsMatchKernelsAndSkipInputsThatDoNotNeedThem()
    {
        var r = new Generator(7);
        var x = Random(r, 2, 3, 7, 7);
        var w = Random(r, 5, 3, 3, 3).RequireGrad();
        var b = Random(r, 5).RequireGrad();
        var y = F.Conv2d(x, w, b, stride: 2);
        var dy = Random(r, y.ShapeArray);
        y.Backward(dy);
        Assert.Null(x.Grad);
        var g = new Conv2dGeometry(2, 3, 7, 7, 5, 3, 3, 2, 2);
        var dw = new float[g.WeightLength];
        Conv2dReference.BackwardWeight(g, x.ReadOnlySpan, dy.ReadOnlySpan, dw);
        Close.Assert(dw, w.Grad!.ReadOnlySpan, 1e-4, 1e-5, "grad weight");
        var db = new float[5];
        Conv2dReference.BackwardBias(g, dy.ReadOnlySpan, db);
        Close.Assert(db, b.Grad!.ReadOnlySpan, 1e-4, 1e-5, "grad bias");
    }

    /// <summary>
    /// Reordered weights are kept (TransformedWeights) where they will be reused — inference, frozen weights — and not
    /// while training, where every step changes them; results are the same either way.
    /// </summary>
    [Fact]
    public void WeightsAreKeptReorderedForInferenceAndFrozenLayersOnly()
    {
        var r = new Generator(21);
        var x = Random(r, 2, 16, 9, 9);
        var w = Random(r, 32, 16, 3, 3).RequireGrad();
        var g = new Conv2dGeometry(2, 16, 9, 9, 32, 3, 3, 1, 1, 1, 1);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x.ReadOnlySpan, w.ReadOnlySpan, default, expected);
        var kinds = new[] { WeightTransformKind.DirectForward, WeightTransformKind.GemmWeights };
        bool Kept(Tensor t, params WeightTransformKind[] ks) => ks.Any(k => TransformedWeights.Holds(t, k));

        Close.Assert(expected, F.Conv2d(x, w, padding: 1).ReadOnlySpan, 1e-4, 1e-5, "training forward");
        Assert.False(Kept(w, kinds), "a weight that trains is reordered per call");
        using (GradMode.NoGrad())
            Close.Assert(expected, F.Conv2d(x, w, padding: 1).ReadOnlySpan, 1e-4, 1e-5, "inference forward");
        bool cacheable = Conv2dKernels.Choose(g) is Conv2dAlgorithm.Direct or Conv2dAlgorithm.Im2ColGemm;
        if (cacheable) Assert.True(Kept(w, kinds), "inference keeps the reordered weight");

        // A frozen weight keeps its input-gradient copy too (fine-tuning a head on a frozen backbone).
        var frozen = Random(r, 32, 16, 3, 3);
        var xg = x.Detach().RequireGrad();
        F.Conv2d(xg, frozen, padding: 1).Backward(Tensor.Ones(2, 32, 9, 9));
        var dxExpected = new float[g.InputLength];
        var ones = new float[g.OutputLength];
        Array.Fill(ones, 1f);
        Conv2dReference.BackwardData(g, ones, frozen.ReadOnlySpan, dxExpected);
        Close.Assert(dxExpected, xg.Grad!.ReadOnlySpan, 1e-4, 1e-4, "input gradient through a frozen weight");
        if (cacheable) Assert.True(Kept(frozen, WeightTransformKind.DirectBackwardData, WeightTransformKind.GemmWeightsTransposed), "frozen weights keep the input-gradient copy");
    }

    [Fact]
    public void WrongInputRankIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(3, 8), Tensor.Zeros(4, 3, 3, 3)));
        Assert.Contains("input must be 4-D", e.Message);
        Assert.Contains("[3, 8]", e.Message);
    }

    [Fact]
    public void ChannelMismatchNamesBothShapesAndGroups()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 6, 8, 8), Tensor.Zeros(4, 2, 3, 3), groups: 2));
        Assert.Contains("has 6 channels", e.Message);
        Assert.Contains("[4, 2, 3, 3]", e.Message);
        Assert.Contains("expects 4", e.Message);
    }

    [Fact]
    public void GroupsThatDoNotDivideOutputChannelsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 4, 8, 8), Tensor.Zeros(3, 2, 3, 3), groups: 2));
        Assert.Contains("groups = 2 does not divide", e.Message);
    }

    [Fact]
    public void WrongBiasShapeIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 8, 8), Tensor.Zeros(4, 3, 3, 3), Tensor.Zeros(3)));
        Assert.Contains("bias must be 1-D [4]", e.Message);
    }

    [Fact]
    public void TooSmallInputSaysSoAndGivesTheMinimum()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 6, 6), Tensor.Zeros(8, 3, 11, 11), stride: 4, padding: 2));
        Assert.Contains("too small", e.Message);
        Assert.Contains("at least 7×7", e.Message);
    }

    [Fact]
    public void NonPositiveStrideIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros(1, 3, 8, 8), Tensor.Zeros(4, 3, 3, 3), stride: 0));
        Assert.Contains("stride must be positive", e.Message);
    }
}
