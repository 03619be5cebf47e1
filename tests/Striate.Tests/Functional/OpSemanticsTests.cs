using Striate.Functional;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Functional;

/// <summary>Behaviour of the functional ops beyond the numbers: shapes, modes, state and error messages.</summary>
public class OpSemanticsTests
{
    [Fact]
    public void SpatialPyramidPoolConcatenatesFlattenedAdaptiveMaxLevelsInOrder()
    {
        var x = FiniteDifference.Random(1, 2, 3, 13, 11);
        var spp = F.SpatialPyramidPool(x, 4, 2, 1);
        Assert.Equal([2, 63], spp.ShapeArray);
        var l2 = F.AdaptiveMaxPool2d(x, 2);
        // Level 2 starts after the 3·16 level-4 features; channel-major within the level.
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 4; i++)
                    Assert.Equal(l2[n, c, i / 2, i % 2], spp[n, 48 + c * 4 + i]);
        var global = F.AdaptiveMaxPool2d(x, 1);
        Assert.Equal(global[1, 2, 0, 0], spp[1, 62]);
    }

    [Fact]
    public void BatchNormTrainingUpdatesRunningStatsInPlaceAndEvalLeavesThemAlone()
    {
        var x = FiniteDifference.Random(2, 8, 2);
        var rm = Tensor.Zeros(2);
        var rv = Tensor.Ones(2);
        F.BatchNorm(x, rm, rv, training: true, momentum: 0.5f);
        double mean0 = 0, sq0 = 0;
        for (int n = 0; n < 8; n++) mean0 += x[n, 0];
        mean0 /= 8;
        for (int n = 0; n < 8; n++) sq0 += (x[n, 0] - mean0) * (x[n, 0] - mean0);
        Assert.Equal(0.5 * mean0, rm[0], 5);
        Assert.Equal(0.5 + 0.5 * sq0 / 7, rv[0], 5);
        var before = rm.ToArray();
        F.BatchNorm(x, rm, rv, training: false);
        Assert.Equal(before, rm.ToArray());
    }

    [Fact]
    public void BatchNormTrainingRejectsOneValuePerChannel()
    {
        var ex = Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Zeros(1, 3), null, null, training: true));
        Assert.Contains("more than 1 value per channel", ex.Message);
        Assert.Contains("[1, 3]", ex.Message);
    }

    [Fact]
    public void DropoutIsIdentityInEvalOrAtZeroAndZeroAtOne()
    {
        var x = FiniteDifference.Random(3, 4, 5);
        Assert.Same(x, F.Dropout(x, 0.5f, training: false));
        Assert.Same(x, F.Dropout(x, 0f, training: true));
        var zero = F.Dropout(x.RequireGrad(), 1f, training: true, new Generator(1));
        Assert.All(zero.ToArray(), v => Assert.Equal(0f, v));
        F.Sum(zero).Backward();
        Assert.All(x.Grad!.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void DropoutGradientUsesTheForwardMaskAndSeedsRepeat()
    {
        var x = Tensor.Ones(1000).RequireGrad();
        var y = F.Dropout(x, 0.25f, training: true, new Generator(7));
        var again = F.Dropout(Tensor.Ones(1000), 0.25f, training: true, new Generator(7));
        Assert.Equal(y.ToArray(), again.ToArray());
        F.Sum(y).Backward();
        Assert.Equal(y.ToArray(), x.Grad!.ToArray());
        Assert.Contains(0f, y.ToArray());
        Assert.Contains(1f / 0.75f, y.ToArray());
    }

    [Fact]
    public void ConcatSplitsTheGradientBackToEachInput()
    {
        var a = Tensor.Zeros(2, 1, 2, 2).RequireGrad();
        var b = Tensor.Zeros(2, 3, 2, 2).RequireGrad();
        var y = F.Concat(a, b);
        Assert.Equal([2, 4, 2, 2], y.ShapeArray);
        var g = Tensor.Arange(0, 32).Reshape(2, 4, 2, 2);
        y.Backward(g);
        Assert.Equal([0f, 1, 2, 3, 16, 17, 18, 19], a.Grad!.ToArray());
        Assert.Equal(4f, b.Grad![0, 0, 0, 0]);
        Assert.Equal(20f, b.Grad![1, 0, 0, 0]);
    }

    [Fact]
    public void InterpolateByIntegerScaleMatchesSizeAndFractionalScaleUsesReciprocalStep()
    {
        var x = FiniteDifference.Random(4, 1, 2, 5, 7);
        Close.Assert(F.InterpolateBilinear(x, 10, 14), F.InterpolateBilinear(x, 2.0), 0, 0, "scale 2 vs size");
        // 5·1.7 = 8.5 → 8 rows; PyTorch steps 1/1.7 through the source, not 5/8.
        var y = F.InterpolateBilinear(x, 1.7, 1.0);
        Assert.Equal([1, 2, 8, 7], y.ShapeArray);
        var expected = new float[y.Numel];
        Striate.Kernels.BilinearReference.Forward(2, 5, 7, 8, 7, (float)(1 / 1.7), 1f, x.ReadOnlySpan, expected);
        Close.Assert(expected, y.ReadOnlySpan, 1e-6, 1e-7, "scale 1.7");
        var bySize = F.InterpolateBilinear(x, 8, 7);
        Assert.NotEqual(bySize.ToArray(), y.ToArray());
    }

    [Fact]
    public void SumAndMeanAreScalarsWithUniformGradients()
    {
        var x = Tensor.Arange(1, 7).Reshape(2, 3).RequireGrad();
        var s = F.Sum(x);
        Assert.Equal(0, s.Rank);
        Assert.Equal(21f, s.Item());
        var m = F.Mean(x);
        Assert.Equal(3.5f, m.Item());
        F.Add(F.Mul(s, 2f), m).Backward();
        Assert.All(x.Grad!.ToArray(), v => Assert.Equal(2f + 1f / 6, v, 6));
    }

    [Fact]
    public void GlobalAveragePoolingIsThePlaneMean()
    {
        var x = FiniteDifference.Random(5, 2, 3, 7, 9);
        var y = F.AdaptiveAvgPool2d(x, 1);
        double mean = 0;
        for (int h = 0; h < 7; h++) for (int w = 0; w < 9; w++) mean += x[1, 2, h, w];
        Assert.Equal(mean / 63, y[1, 2, 0, 0], 5);
    }

    [Fact]
    public void NoGraphIsRecordedForInputsWithoutGrad()
    {
        var y = F.MaxPool2d(FiniteDifference.Random(6, 1, 1, 4, 4), 2);
        Assert.Null(y.GradFn);
        Assert.False(y.RequiresGrad);
    }

    [Fact]
    public void MaxPoolingGivesTheSameValuesWithAndWithoutRecording()
    {
        var x = FiniteDifference.Random(7, 2, 3, 9, 8);
        for (int i = 0; i < x.Numel; i += 2) x.Span[i] = Math.Max(0f, x.Span[i]);
        Tensor pooled, adaptive;
        using (Striate.Autograd.GradMode.NoGrad())
        {
            pooled = F.MaxPool2d(x, 3, 2, 1);
            adaptive = F.AdaptiveMaxPool2d(x, 4, 3);
        }
        x.RequireGrad();
        Close.Assert(F.MaxPool2d(x, 3, 2, 1), pooled, 0, 0, "max_pool2d");
        Close.Assert(F.AdaptiveMaxPool2d(x, 4, 3), adaptive, 0, 0, "adaptive_max_pool2d");
    }

    [Fact]
    public void OperatorsAreTheFunctionalOpsAndBroadcastAsPyTorch()
    {
        var a = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var row = Tensor.FromArray([10f, 20f, 30f], 3);
        var column = Tensor.FromArray([100f, 200f], 2, 1);
        Assert.Equal([11f, 22f, 33f, 14f, 25f, 36f], (a + row).ToArray());
        Assert.Equal([99f, 98f, 97f, 196f, 195f, 194f], (column - a).ToArray());
        Assert.Equal([110f, 120f, 130f, 210f, 220f, 230f], (column + row).ToArray());
        Assert.Equal([2, 3], (column * row).ShapeArray);
        Assert.Equal([0.5f, 1f, 1.5f, 2f, 2.5f, 3f], (a / 2f).ToArray());
        Assert.Equal([6f, 3f, 2f, 1.5f, 1.2f, 1f], (6f / a).ToArray());
        Assert.Equal([-1f, -2f, -3f, -4f, -5f, -6f], (-a).ToArray());
        Assert.Equal([0f, -1f, -2f, -3f, -4f, -5f], (1f - a).ToArray());
        Assert.Equal((a * 3f).ToArray(), (3f * a).ToArray());
        Assert.Equal((a + 0.25f).ToArray(), (0.25f + a).ToArray());
        Assert.Equal([2, 3], F.BroadcastShapes([2, 1], [3]));
        Assert.Equal([], F.BroadcastShapes([], []));
    }

    [Fact]
    public void BroadcastGradientIsSummedToEachInputsShape()
    {
        var x = Tensor.Ones(2, 3, 4).RequireGrad();
        var bias = Tensor.Zeros(3, 1).RequireGrad();
        F.Sum(x * 2f + bias).Backward();
        Assert.Equal([3, 1], bias.Grad!.ShapeArray);
        Assert.Equal([8f, 8f, 8f], bias.Grad.ToArray());
        Assert.All(x.Grad!.ToArray(), v => Assert.Equal(2f, v));
        Assert.Equal("AddBackward", (x * 2f + bias).GradFn!.Name);
    }

    [Theory]
    [InlineData("pool-padding")]
    [InlineData("pool-rank")]
    [InlineData("pool-too-small")]
    [InlineData("ce-target")]
    [InlineData("ce-count")]
    [InlineData("bn-channels")]
    [InlineData("concat-shape")]
    [InlineData("add-shape")]
    [InlineData("div-shape")]
    [InlineData("spp-level")]
    [InlineData("dropout-p")]
    [InlineData("softmax-dim")]
    public void InvalidArgumentsNameOpArgumentAndValues(string which)
    {
        var img = Tensor.Zeros(1, 2, 4, 4);
        (Action Call, string[] Expected) test = which switch
        {
            "pool-padding" => (() => F.MaxPool2d(img, 3, 1, 2), ["MaxPool2d", "padding", "(2, 2)", "(3, 3)"]),
            "pool-rank" => (() => F.AvgPool2d(Tensor.Zeros(2, 4, 4), 2), ["AvgPool2d", "input", "[2, 4, 4]", "4-D"]),
            "pool-too-small" => (() => F.MaxPool2d(Tensor.Zeros(1, 1, 2, 2), 3), ["MaxPool2d", "[1, 1, 2, 2]", "too small"]),
            "ce-target" => (() => F.CrossEntropy(Tensor.Zeros(2, 3), [0, 5]), ["CrossEntropy", "targets[1] = 5", "[0, 3)"]),
            "ce-count" => (() => F.CrossEntropy(Tensor.Zeros(2, 3), [0]), ["CrossEntropy", "targets", "1 entries", "(2)"]),
            "bn-channels" => (() => F.BatchNorm(img, Tensor.Zeros(3), Tensor.Ones(3)), ["BatchNorm", "runningMean", "[3]", "[2]"]),
            "concat-shape" => (() => F.Concat(img, Tensor.Zeros(1, 2, 4, 5)), ["Concat", "tensors[1]", "[1, 2, 4, 5]", "[1, 2, 4, 4]"]),
            "add-shape" => (() => F.Add(img, Tensor.Zeros(1, 2, 4)), ["Add", "[1, 2, 4]", "[1, 2, 4, 4]"]),
            "div-shape" => (() => _ = img / Tensor.Zeros(3, 1, 1), ["Div", "[3, 1, 1]", "[1, 2, 4, 4]", "dimension -3 is 2 vs 3"]),
            "spp-level" => (() => F.SpatialPyramidPool(img, 2, 0), ["SpatialPyramidPool", "level", "got 0"]),
            "dropout-p" => (() => F.Dropout(img, 1.5f), ["Dropout", "p", "1.5"]),
            "softmax-dim" => (() => F.Softmax(img, 4), ["Softmax", "dim 4", "[1, 2, 4, 4]"]),
            _ => throw new ArgumentOutOfRangeException(nameof(which)),
        };
        var ex = Assert.ThrowsAny<ArgumentException>(test.Call);
        foreach (var part in test.Expected) Assert.Contains(part, ex.Message);
    }
}
