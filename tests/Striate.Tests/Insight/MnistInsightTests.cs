using Striate.Autograd;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Insight;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

namespace Striate.Tests.Insight;

/// <summary>A LeNet (ReLU) trained for one epoch on 6,000 MNIST images, an untrained twin, and 500 normalized test images.</summary>
public sealed class TrainedLeNet
{
    public static readonly float[] Mean = [0.1307f], Std = [0.3081f];

    public TrainedLeNet()
    {
        var normalize = new Normalize(Mean, Std);
        Trained = LeNet.CreateRelu(generator: new Generator(11));
        Untrained = LeNet.CreateRelu(generator: new Generator(12));
        var train = new DataLoader(new Subset(Datasets.Open("mnist", train: true, allowDownload: false), 6000), 64, shuffle: true, seed: 3, transform: normalize);
        new Trainer(Trained, new Sgd(Trained.Parameters(), 0.05f, momentum: 0.9f)).Fit(train, null, epochs: 1);
        Test = new DataLoader(new Subset(Datasets.Open("mnist", train: false, allowDownload: false), 500), 250, transform: normalize);
    }

    public Sequential Trained { get; }
    public Sequential Untrained { get; }
    public DataLoader Test { get; }
}

/// <summary>FGSM, embeddings and ablation on a trained MNIST LeNet (one class, so the training happens once).</summary>
public sealed class MnistInsightTests(TrainedLeNet fixture, ITestOutputHelper output) : IClassFixture<TrainedLeNet>
{
    private double AccuracyUnderFgsm(float eps)
    {
        long correct = 0, total = 0;
        foreach (var batch in fixture.Test.Epoch(0))
        {
            var labels = batch.LabelArray();
            var adversarial = Fgsm.AttackNormalized(fixture.Trained, batch.Images, labels, eps, TrainedLeNet.Mean, TrainedLeNet.Std);
            using var noGrad = GradMode.NoGrad();
            var logits = fixture.Trained.Call(adversarial).ToArray();
            for (int i = 0; i < labels.Length; i++)
                if (ArgMax(logits.AsSpan(i * 10, 10)) == labels[i]) correct++;
            total += labels.Length;
        }
        return (double)correct / total;
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    [Fact]
    public void FgsmWithZeroEpsilonChangesNothing()
    {
        var batch = fixture.Test.Epoch(0).First();
        var images = batch.Images.ToArray();
        var adversarial = Fgsm.AttackNormalized(fixture.Trained, batch.Images, batch.LabelArray(), 0f, TrainedLeNet.Mean, TrainedLeNet.Std);
        Assert.Equal(images, adversarial.ToArray());
        var plain = Fgsm.Attack(fixture.Trained, batch.Images, batch.LabelArray(), 0f, float.MinValue, float.MaxValue);
        Assert.Equal(images, plain.ToArray());
    }

    [Fact]
    public void AccuracyUnderFgsmFallsAsEpsilonGrows()
    {
        float[] epsilons = [0f, 0.05f, 0.1f, 0.2f];
        var accuracy = epsilons.Select(AccuracyUnderFgsm).ToArray();
        output.WriteLine(string.Join(", ", epsilons.Zip(accuracy, (e, a) => $"ε {e}: {a:P1}")));
        var clean = Evaluator.Evaluate(fixture.Trained, fixture.Test);
        Assert.Equal(clean.Top1, accuracy[0], 6);
        Assert.True(accuracy[0] > 0.85, $"the trained LeNet only reached {accuracy[0]:P1}");
        for (int i = 1; i < accuracy.Length; i++)
            Assert.True(accuracy[i] <= accuracy[i - 1], $"accuracy rose from {accuracy[i - 1]:P1} to {accuracy[i]:P1} as ε grew to {epsilons[i]}");
        Assert.True(accuracy[^1] < accuracy[0] - 0.3, $"FGSM with ε 0.2 only took accuracy from {accuracy[0]:P1} to {accuracy[^1]:P1}");
    }

    [Fact]
    public void FgsmStaysInsideTheValidPixelRangeAndWithinEpsilon()
    {
        var batch = fixture.Test.Epoch(0).First();
        var x = batch.Images.ToArray();
        var adversarial = Fgsm.AttackNormalized(fixture.Trained, batch.Images, batch.LabelArray(), 0.1f, TrainedLeNet.Mean, TrainedLeNet.Std).ToArray();
        float lo = (0 - 0.1307f) / 0.3081f, hi = (1 - 0.1307f) / 0.3081f, step = 0.1f / 0.3081f;
        for (int i = 0; i < x.Length; i++)
        {
            Assert.InRange(adversarial[i], lo - 1e-6f, hi + 1e-6f);
            Assert.True(Math.Abs(adversarial[i] - x[i]) <= step + 1e-5f, $"pixel {i} moved by {adversarial[i] - x[i]}, more than ε/std = {step}");
        }
    }

    [Fact]
    public void ATrainedLeNetSeparatesDigitsBetterThanAnUntrainedOne()
    {
        var (trained, dim, labels) = Embedding.Extract(fixture.Trained, fixture.Test, limit: 400);
        var (untrained, dim2, labels2) = Embedding.Extract(fixture.Untrained, fixture.Test, limit: 400);
        Assert.Equal(84, dim);
        Assert.Equal(84, dim2);
        Assert.Equal(400, labels.Length);
        Assert.Equal(labels, labels2);
        Assert.Equal(Enumerable.Range(0, 400).Select(i => fixture.Test.Dataset.Label(i)), labels);
        double t = Embedding.SeparationScore(trained, 400, dim, labels), u = Embedding.SeparationScore(untrained, 400, dim, labels);
        var t2 = Embedding.Pca2(trained, 400, dim);
        var u2 = Embedding.Pca2(untrained, 400, dim);
        double t2s = Embedding.SeparationScore(t2, 400, 2, labels), u2s = Embedding.SeparationScore(u2, 400, 2, labels);
        output.WriteLine($"separation (between/within scatter), 84-D: trained {t:F3}, untrained {u:F3}; PCA 2-D: trained {t2s:F3}, untrained {u2s:F3}");
        Assert.True(t > 2 * u, $"trained {t:F3} vs untrained {u:F3}");
        Assert.True(t2s > u2s, $"in 2-D: trained {t2s:F3} vs untrained {u2s:F3}");
        var svg = Embedding.ScatterSvg(t2, labels, fixture.Test.Dataset.ClassNames, "LeNet embedding");
        Assert.Equal(400 + labels.Distinct().Count(), svg.Split("<circle").Length - 1);
        System.Xml.Linq.XDocument.Parse(svg);
    }

    [Fact]
    public void EmbeddingOfANamedLayerIsItsFlattenedOutput()
    {
        var (features, dim, labels) = Embedding.Extract(fixture.Trained, fixture.Test, layer: "5", limit: 3);
        Assert.Equal(16 * 5 * 5, dim);
        Assert.Equal(3, labels.Length);
        Assert.Equal(3 * dim, features.Length);
    }

    [Fact]
    public void AblationReportsTheBaselineThenEachLayerOrChannel()
    {
        var results = Ablation.Run(fixture.Trained, fixture.Test);
        foreach (var (name, accuracy) in results) output.WriteLine($"{name,-20} {accuracy:P1}");
        Assert.Equal(13, results.Count);
        Assert.Equal("baseline", results[0].Name);
        Assert.Equal(Evaluator.Evaluate(fixture.Trained, fixture.Test).Top1, results[0].Accuracy, 6);
        // Zeroed logits: every prediction is class 0, so accuracy is the share of zeros.
        double zeros = Enumerable.Range(0, 500).Count(i => fixture.Test.Dataset.Label(i) == 0) / 500.0;
        Assert.Equal("11 (Linear)", results[^1].Name);
        Assert.Equal(zeros, results[^1].Accuracy, 6);
        Assert.True(results.Skip(1).All(r => r.Accuracy < results[0].Accuracy), "zeroing any layer of LeNet should hurt");

        var channels = Ablation.Run(fixture.Trained, fixture.Test, "0");
        Assert.Equal(["baseline", "0[0]", "0[1]", "0[2]", "0[3]", "0[4]", "0[5]"], channels.Select(c => c.Name));
        Assert.Contains(channels.Skip(1), c => c.Accuracy < channels[0].Accuracy);
        var svg = Ablation.BarChartSvg(channels, "LeNet conv1 channels");
        System.Xml.Linq.XDocument.Parse(svg);
        // The model is left as it was: an evaluation afterwards matches the baseline.
        Assert.Equal(results[0].Accuracy, Evaluator.Evaluate(fixture.Trained, fixture.Test).Top1, 6);
    }

    [Fact]
    public void CamOnLeNetSaysToUseGradCam()
    {
        var image = fixture.Test.Epoch(0).First().Images.ToArray()[..784];
        var e = Assert.Throws<ArgumentException>(() => ClassActivationMap.Compute(fixture.Trained, Tensor.FromArray(image, 1, 1, 28, 28)));
        Assert.Contains("use gradcam", e.Message);
        Assert.Equal("4", GradCam.DefaultLayer(fixture.Trained));
        var map = GradCam.Compute(fixture.Trained, Tensor.FromArray(image, 1, 1, 28, 28), "4");
        Assert.Equal([10, 10], map.ShapeArray);
    }
}
