using Striate.Insight;
using Striate.Models;
using Striate.Nn;

namespace Striate.Tests.Insight;

/// <summary>Properties of the explanation methods that need no training, and their messages for bad input.</summary>
public sealed class InsightMethodTests
{
    private static Tensor Image(ulong seed, int channels = 1, int size = 16) =>
        Tensor.Rand([1, channels, size, size], new Generator(seed));

    [Fact]
    public void CamEqualsGradCamUpToAPositiveScaleOnAGapLinearModel()
    {
        // α_k = ∂y_c/∂A^k averaged over h·w positions = w_ck/(h·w), so Grad-CAM = ReLU(CAM)/(h·w) exactly.
        var model = new GapNet(seed: 5);
        for (ulong seed = 1; seed <= 3; seed++)
            for (int c = 0; c < 10; c += 3)
            {
                var input = Image(seed);
                var cam = ClassActivationMap.Compute(model, input, c);
                var gradCam = GradCam.Compute(model, input, "features.3", c);
                Assert.Equal([8, 8], cam.ShapeArray);
                var expected = cam.ToArray().Select(v => Math.Max(v, 0f) / 64f).ToArray();
                TestSupport.Close.Assert(expected, gradCam.ReadOnlySpan, 1e-4, 1e-7, $"Grad-CAM vs ReLU(CAM)/64, class {c}");
            }
    }

    [Fact]
    public void ExplainingLeavesTheModelAsItWas()
    {
        var model = new GapNet(seed: 6);
        model.Train();
        var input = Image(1);
        GradCam.Compute(model, input, "features.1");
        Saliency.Compute(model, input, 2);
        ClassActivationMap.Compute(model, input);
        Fgsm.Attack(model, input, [3], 0.1f);
        Predictions.TopK(model, input);
        Assert.True(model.Training);
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        // No hook survives: a forward pass now records nothing extra and the input gains no gradient.
        Assert.Null(input.Grad);
        Assert.False(input.RequiresGrad);
    }

    [Fact]
    public void TheDefaultClassIsThePredictedOne()
    {
        var model = new GapNet(seed: 7);
        var input = Image(4);
        var top = Predictions.TopK(model, input, 10);
        Assert.Equal(10, top.Length);
        Assert.True(top.Zip(top.Skip(1)).All(p => p.First.Probability >= p.Second.Probability));
        Assert.Equal(1.0, top.Sum(p => p.Probability), 4);
        int predicted = top[0].ClassIndex;
        Assert.Equal(GradCam.Compute(model, input, "features.3", predicted).ToArray(), GradCam.Compute(model, input, "features.3").ToArray());
        Assert.Equal(Saliency.Compute(model, input, predicted).ToArray(), Saliency.Compute(model, input).ToArray());
        Assert.Equal(ClassActivationMap.Compute(model, input, predicted).ToArray(), ClassActivationMap.Compute(model, input).ToArray());
    }

    [Fact]
    public void SaliencyIsTheLargestAbsoluteGradientOverChannels()
    {
        // A linear model y = W·x: ∂y_c/∂x = W_c, so the map is max over channels of |W_c|.
        var linear = new Linear(3 * 4 * 4, 5, generator: new Generator(2));
        var model = new Sequential(new Flatten(), linear);
        var map = Saliency.Compute(model, Image(1, channels: 3, size: 4), 2).ToArray();
        var w = linear.Weight.ToArray();
        for (int i = 0; i < 16; i++)
        {
            float expected = Enumerable.Range(0, 3).Max(ch => Math.Abs(w[2 * 48 + ch * 16 + i]));
            Assert.Equal(expected, map[i], 6);
        }
    }

    [Fact]
    public void UnknownLayerListsTheLayersThatExist()
    {
        var model = new GapNet();
        var e = Assert.Throws<ArgumentException>(() => GradCam.Compute(model, Image(1), "features.9"));
        Assert.Contains("features.9", e.Message);
        Assert.Contains("features.3 (ReLU)", e.Message);
        Assert.Contains("classifier (Linear)", e.Message);
        Assert.Same(model.Classifier, LayerLookup.Find(model, "classifier"));
        Assert.Throws<ArgumentException>(() => LayerLookup.Find(model, ""));
    }

    [Fact]
    public void WrongInputShapeSaysWhatIsExpected()
    {
        var model = new GapNet();
        var e = Assert.Throws<ArgumentException>(() => GradCam.Compute(model, Image(1, channels: 3), "features.3"));
        Assert.Contains("[1, 3, 16, 16]", e.Message);
        Assert.Contains("[1, 1, H, W]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Saliency.Compute(model, Tensor.Zeros(2, 1, 16, 16)));
        Assert.Contains("[1, 1, H, W]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Predictions.TopK(model, Tensor.Zeros(1, 16, 16)));
        Assert.Contains("[1, 1, H, W]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Fgsm.Attack(model, Tensor.Zeros(2, 1, 16, 16), [1], 0.1f));
        Assert.Contains("1 labels for 2 images", e.Message);
    }

    [Fact]
    public void ALayerWithoutAFeatureMapOrAnOutOfRangeClassIsRejected()
    {
        var model = new GapNet();
        var e = Assert.Throws<ArgumentException>(() => GradCam.Compute(model, Image(1), "classifier"));
        Assert.Contains("feature map", e.Message);
        e = Assert.Throws<ArgumentException>(() => GradCam.Compute(model, Image(1), "features.3", 10));
        Assert.Contains("class 10 is out of range", e.Message);
        e = Assert.Throws<ArgumentException>(() => Saliency.Compute(model, Image(1), -1));
        Assert.Contains("out of range", e.Message);
    }

    [Fact]
    public void DefaultLayerIsTheLastConvolutionalStageBeforeTheHead()
    {
        Assert.Equal("features.3", GradCam.DefaultLayer(new GapNet()));
        Assert.Equal("4", GradCam.DefaultLayer(LeNet.CreateRelu()));
        Assert.Equal("4", GradCam.DefaultLayer(LeNet.Create()));
        var blocks = new Sequential(("stem", new Sequential(new Conv2d(1, 4, 3), new ReLU())),
            ("block", new GapNet(classes: 4)), ("head", new Sequential(new Flatten(), new Linear(4, 2))));
        Assert.Equal("block", GradCam.DefaultLayer(blocks));
        var e = Assert.Throws<ArgumentException>(() => GradCam.DefaultLayer(new Sequential(new Flatten(), new Linear(4, 2))));
        Assert.Contains("no Conv2d", e.Message);
    }

    [Fact]
    public void Pca2RecoversTheTwoDirectionsOfLargestVariance()
    {
        var g = new Generator(3);
        int n = 300, dim = 6;
        // Orthonormal directions u1, u2, u3 in 6-D with standard deviations 5, 2 and 0.3.
        double[] u1 = [1, 1, 0, 0, 1, 1], u2 = [1, -1, 1, -1, 0, 0], u3 = [0, 0, 1, 1, 0, 0];
        foreach (var u in new[] { u1, u2, u3 }) { double norm = Math.Sqrt(u.Sum(v => v * v)); for (int j = 0; j < dim; j++) u[j] /= norm; }
        var a = new double[n];
        var b = new double[n];
        var x = new float[n * dim];
        for (int i = 0; i < n; i++)
        {
            a[i] = 5 * g.NextGaussian();
            b[i] = 2 * g.NextGaussian();
            double c = 0.3 * g.NextGaussian();
            for (int j = 0; j < dim; j++) x[i * dim + j] = (float)(a[i] * u1[j] + b[i] * u2[j] + c * u3[j] + 7);
        }
        var p = Embedding.Pca2(x, n, dim);
        Assert.True(Math.Abs(Correlation(p, 0, a)) > 0.99, $"component 1 vs the σ=5 direction: {Correlation(p, 0, a)}");
        Assert.True(Math.Abs(Correlation(p, 1, b)) > 0.97, $"component 2 vs the σ=2 direction: {Correlation(p, 1, b)}");
        Assert.Equal(p, Embedding.Pca2(x, n, dim)); // deterministic
        double mean0 = Enumerable.Range(0, n).Average(i => p[2 * i]);
        Assert.True(Math.Abs(mean0) < 1e-3, "the projection is centred");
    }

    private static double Correlation(float[] p, int column, double[] truth)
    {
        int n = truth.Length;
        double mx = 0, my = truth.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) mx += p[2 * i + column];
        mx /= n;
        for (int i = 0; i < n; i++)
        {
            double dx = p[2 * i + column] - mx, dy = truth[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxy / Math.Sqrt(sxx * syy);
    }

    [Fact]
    public void SeparationScoreIsZeroForCoincidentMeansAndIgnoresScale()
    {
        float[] same = [0, 1, 0, -1, 0, 1, 0, -1];
        Assert.Equal(0, Embedding.SeparationScore(same, 4, 2, [0, 0, 1, 1]), 12);
        float[] apart = [0, 0, 0, 1, 10, 0, 10, 1];
        double s = Embedding.SeparationScore(apart, 4, 2, [0, 0, 1, 1]);
        // Between: 4·25 = 100; within: 4·0.25 = 1.
        Assert.Equal(100, s, 9);
        Assert.Equal(s, Embedding.SeparationScore(apart.Select(v => 3 * v + 2).ToArray(), 4, 2, [0, 0, 1, 1]), 6);
        Assert.Throws<ArgumentException>(() => Embedding.SeparationScore(apart, 3, 2, [0, 0, 1]));
    }
}
