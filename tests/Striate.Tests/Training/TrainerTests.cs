using Striate.Data;
using Striate.Functional;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

namespace Striate.Tests.Training;

[Collection(nameof(GlobalGeneratorCollection))]
public sealed class TrainerTests
{
    private static IDataset MnistSubset(int count) => new Subset(Datasets.Open("mnist", train: true, allowDownload: false), count);

    private static Sequential SmallNet(ulong seed) => new(
        new Conv2d(1, 4, 5, stride: 2, generator: new Generator(seed)), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Dropout(0.3), new Linear(4 * 6 * 6, 10, generator: new Generator(seed + 1)));

    [Fact]
    public void LeNetLearnsMnistWithinOneShortEpoch()
    {
        Generator.Manual(1);
        var model = LeNet.CreateRelu(generator: new Generator(1));
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.05f, momentum: 0.9f));
        var normalize = new Striate.Data.Transforms.Normalize([0.1307f], [0.3081f]);
        var train = new DataLoader(MnistSubset(6000), 64, shuffle: true, seed: 1, transform: normalize);
        var test = new DataLoader(new Subset(Datasets.Open("mnist", train: false, allowDownload: false), 1000), 500, transform: normalize);
        var history = trainer.Fit(train, test, epochs: 1);
        Assert.True(history[0].TestAccuracy > 0.85, $"test accuracy after 6,000 images was {history[0].TestAccuracy:P1}");
        Assert.True(history[0].TrainLoss < 1.5, $"train loss {history[0].TrainLoss}");
    }

    [Fact]
    public void AResumedRunEndsWithExactlyTheWeightsOfAnUninterruptedOne()
    {
        var data = MnistSubset(640);
        string dir = Directory.CreateTempSubdirectory("striate-resume").FullName;
        try
        {
            // Uninterrupted: two epochs.
            Generator.Manual(42);
            var a = SmallNet(5);
            var optA = new Sgd(a.Parameters(), 0.05f, momentum: 0.9f, weightDecay: 1e-4f);
            var schedA = new StepLR(optA, 1, 0.5);
            new Trainer(a, optA, scheduler: schedA).Fit(new DataLoader(data, 64, shuffle: true, seed: 9), null, epochs: 2);

            // Interrupted after epoch 1, checkpointed, then resumed in fresh objects.
            Generator.Manual(42);
            var b = SmallNet(5);
            var optB = new Sgd(b.Parameters(), 0.05f, momentum: 0.9f, weightDecay: 1e-4f);
            var schedB = new StepLR(optB, 1, 0.5);
            var first = new Trainer(b, optB, scheduler: schedB);
            first.Fit(new DataLoader(data, 64, shuffle: true, seed: 9), null, epochs: 1);
            string path = Path.Combine(dir, "model.safetensors");
            Checkpoint.Capture("small", 1, b, optB, schedB, "{}", MetricsFile.HistoryJson(first.History), ["0"], (1, 28, 28)).Save(path);

            Generator.Manual(12345); // whatever the process did since, the checkpoint restores the generator
            var c = SmallNet(77);
            var optC = new Sgd(c.Parameters(), 0.05f, momentum: 0.9f, weightDecay: 1e-4f);
            var schedC = new StepLR(optC, 1, 0.5);
            var checkpoint = Checkpoint.Load(path);
            checkpoint.Restore(c, optC, schedC);
            var resumed = new Trainer(c, optC, scheduler: schedC);
            resumed.RestoreHistory(MetricsFile.ParseHistory(checkpoint.HistoryJson));
            resumed.Fit(new DataLoader(data, 64, shuffle: true, seed: 9), null, epochs: 2);

            Assert.Equal(2, resumed.History.Count);
            foreach (var ((name, x), (_, y)) in a.StateDict().Zip(c.StateDict()))
                Assert.True(x.ToArray().SequenceEqual(y.ToArray()), $"{name} differs after resuming");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class Overflow : Module
    {
        public override Tensor Forward(Tensor input) => F.Mul(input, 1e30f);
    }

    [Fact]
    public void NonFiniteLossStopsTrainingNamingTheStepAndTheFirstBadLayer()
    {
        var model = new Sequential(new Flatten(), new Linear(784, 10), new Overflow(), new Overflow(), new Linear(10, 10));
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.1f));
        var e = Assert.Throws<NonFiniteException>(() => trainer.Fit(new DataLoader(MnistSubset(64), 32), null, 1));
        Assert.Contains("step 1", e.Message);
        Assert.Contains("3 (Overflow)", e.Message);
    }

    [Fact]
    public void AModelWithTheWrongNumberOfClassesFailsClearly()
    {
        var model = LeNet.CreateRelu(numClasses: 7);
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.1f));
        var e = Assert.Throws<ArgumentException>(() => trainer.Fit(new DataLoader(MnistSubset(32), 32), null, 1));
        Assert.Contains("[32, 7]", e.Message);
        Assert.Contains("[32, 10]", e.Message);
    }

    [Fact]
    public void EvaluationCountsTopOneTopFiveAndTheConfusionMatrix()
    {
        var metrics = new MetricAccumulator(6);
        // Two samples of 6 classes: the first is right; the second's true class ranks 6th (outside the top 5).
        float[] logits = [0, 5, 1, 2, 3, 4, /**/ 0, 9, 8, 7, 6, 5];
        metrics.Add(1.5f, logits, [1, 0]);
        Assert.Equal(0.5, metrics.Top1);
        Assert.Equal(0.5, metrics.Top5);
        Assert.Equal(1.5, metrics.MeanLoss, 6);
        Assert.Equal(1, metrics.Confusion[1, 1]);
        Assert.Equal(1, metrics.Confusion[0, 1]);
    }

    [Fact]
    public void CheckpointOfAnotherModelNamesTheMismatchedKeys()
    {
        string path = Path.Combine(Path.GetTempPath(), $"striate-ckpt-{Guid.NewGuid():N}.safetensors");
        try
        {
            var lenet = LeNet.CreateRelu();
            Checkpoint.Capture("lenet-relu", 1, lenet, null, null, "{}", "[]", [], (1, 28, 28)).Save(path);
            var other = SmallNet(1);
            var e = Assert.Throws<ArgumentException>(() => Checkpoint.Load(path).Restore(other));
            Assert.Contains("Missing keys", e.Message);
            Assert.Contains("Unexpected keys", e.Message);
            Assert.Contains("0.weight: checkpoint [6, 1, 5, 5], model [4, 1, 5, 5]", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
