using Striate.Functional;
using static Striate.Tests.TestSupport.FiniteDifference;

namespace Striate.Tests.Functional;

/// <summary>Autograd functions' backwards against central differences, for shapes and options the PyTorch cases do not cover.</summary>
public class GradientCheckTests
{
    [Fact]
    public void AvgPoolWithoutPaddingCountInCeilMode() =>
        Check(x => F.AvgPool2d(x[0], (3, 2), (2, 1), (1, 1), ceilMode: true, countIncludePad: false), [Random(1, 2, 2, 7, 6)], "avg_pool2d");

    [Fact]
    public void AdaptiveAvgPoolToLargerThanInput() =>
        Check(x => F.AdaptiveAvgPool2d(x[0], 5, 3), [Random(2, 1, 2, 3, 7)], "adaptive_avg_pool2d");

    [Fact]
    public void BatchNormTrainingWithAffineOn3dInput() =>
        Check(x => F.BatchNorm(x[0], null, null, x[1], x[2], training: true), [Random(3, 3, 2, 5), Random(4, 2), Random(5, 2)], "batch_norm1d");

    [Fact]
    public void BatchNormTrainingWithoutAffine() =>
        Check(x => F.BatchNorm(x[0], null, null, training: true), [Random(6, 4, 3, 2, 2)], "batch_norm2d", atol: 5e-3);

    [Fact]
    public void BatchNormEvalWithAffine()
    {
        var rm = Random(7, 3);
        var rv = Tensor.Full(0.7f, 3);
        Check(x => F.BatchNorm(x[0], rm, rv, x[1], x[2], training: false), [Random(8, 2, 3, 2, 2), Random(9, 3), Random(10, 3)], "batch_norm eval");
    }

    [Fact]
    public void LocalResponseNormWithEvenSizeLargerThanChannels() =>
        Check(x => F.LocalResponseNorm(x[0], 6, alpha: 0.5f, beta: 0.75f, k: 1f), [Random(11, 2, 4, 2, 3)], "local_response_norm");

    [Fact]
    public void SoftmaxAndLogSoftmaxOverChannelsOfImages()
    {
        Check(x => F.Softmax(x[0]), [Random(12, 2, 5, 3, 2)], "softmax dim 1");
        Check(x => F.LogSoftmax(x[0], dim: -1), [Random(13, 2, 3, 4)], "log_softmax dim -1");
    }

    [Fact]
    public void CrossEntropyWithLabelSmoothing() =>
        Check(x => F.CrossEntropy(x[0], [2, 0, 4], 0.2f), [Random(14, 3, 5)], "cross_entropy");

    [Fact]
    public void BilinearByFractionalScaleFactor() =>
        Check(x => F.InterpolateBilinear(x[0], 1.7, 0.6), [Random(15, 1, 2, 5, 6)], "interpolate scale factor");

    [Fact]
    public void BroadcastingAddSubMulDivReduceTheirGradients()
    {
        Check(x => F.Add(x[0], x[1]), [Random(30, 2, 3, 4), Random(31, 3, 1)], "add [2,3,4] + [3,1]");
        Check(x => F.Sub(x[0], x[1]), [Random(32, 4, 1, 3), Random(33, 1, 5, 1)], "sub [4,1,3] - [1,5,1]");
        Check(x => F.Mul(x[0], x[1]), [Random(34, 2, 3, 2, 2), Random(35, 3, 1, 1)], "mul per channel");
        Check(x => F.Mul(x[0], x[1]), [Random(36), Random(37, 3, 2)], "mul by a rank-0 tensor");
        // Divisors kept away from zero so the central difference stays accurate.
        Check(x => F.Div(x[0], x[1]), [Random(38, 2, 3), AwayFromZero(Random(39, 2, 1))], "div [2,3] / [2,1]");
        Check(x => F.Div(x[0], x[1]), [Random(40, 3), AwayFromZero(Random(41, 2, 3))], "div [3] / [2,3]");
    }

    [Fact]
    public void OperatorsWithScalarsCompose() =>
        Check(x => -(2f - x[0] * 3f) / 4f + 1.5f / x[1] - 0.5f + (x[0] + 1f) * x[1], [Random(42, 2, 3), AwayFromZero(Random(43, 2, 3))], "operators");

    private static Tensor AwayFromZero(Tensor t)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = MathF.CopySign(MathF.Abs(s[i]) + 0.7f, s[i]);
        return t;
    }

    [Fact]
    public void ConcatAddAndScalarMulCompose() =>
        Check(x => F.Mul(F.Add(F.Concat(x[0], x[1]), F.Concat(x[1], x[0])), 1.5f), [Random(16, 2, 2, 3), Random(17, 2, 2, 3)], "concat+add+mul");

    [Fact]
    public void ElementwiseMulAndMean() =>
        Check(x => F.Mean(F.Mul(x[0], x[1])).Reshape(1), [Random(18, 3, 4), Random(19, 3, 4)], "mul+mean");

    [Fact]
    public void SigmoidTanhLeakyReluChain() =>
        Check(x => F.LeakyRelu(F.Tanh(F.Sigmoid(x[0])), 0.2f), [Random(20, 4, 5)], "activations");
}
