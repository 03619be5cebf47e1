using Striate.Data;
using Striate.Functional;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

namespace Striate.Tests.Training;

/// <summary>The Trainer is open: any loss, any metrics, and schedulers that say whether they step per batch or per epoch.</summary>
public sealed class TrainerLossAndMetricTests
{
    /// <summary>Random 1×8×8 images in three classes (also TrainerValidationTests' data).</summary>
    internal static InMemoryDataset Synthetic(int count, ulong seed)
    {
        var r = new Generator(seed);
        var images = new byte[count * 8 * 8];
        var labels = new byte[count];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)r.NextInt(256);
        for (int i = 0; i < count; i++) labels[i] = (byte)r.NextInt(3);
        return new InMemoryDataset(images, labels, 1, 8, 8, ["a", "b", "c"]);
    }

    /// <summary>Counts samples, to see that the Trainer resets, updates and reports every metric it is given.</summary>
    private sealed class SampleCount : IMetric
    {
        private long _count;
        public string Name => "samples";
        public void Reset() => _count = 0;
        public void Update(Tensor output, Tensor input, ReadOnlySpan<int> labels) => _count += labels.Length;
        public double Value => _count;
    }

    [Fact]
    public void ACustomLossTrainsAModelWhoseOutputIsNotClassScores()
    {
        // An auto-encoder: 64 pixels → 64 pixels, mean squared error against the input (the labels are not used).
        var model = new Sequential(new Flatten(), new Linear(64, 16, generator: new Generator(1)), new ReLU(), new Linear(16, 64, generator: new Generator(2)));
        var mse = ILoss.From((output, input, _) =>
        {
            var difference = F.Add(output, F.Mul(input.Flatten(1), -1f));
            return F.Mean(F.Mul(difference, difference));
        });
        var trainer = new Trainer(model, new Adam(model.Parameters(), 1e-2f), mse, metrics: [new SampleCount()]);
        var train = new DataLoader(Synthetic(96, 3), 32, shuffle: true, seed: 4, workers: 0);
        var test = new DataLoader(Synthetic(40, 5), 16, workers: 0);

        var history = trainer.Fit(train, test, epochs: 6);

        Assert.True(history[^1].TrainLoss < 0.5 * history[0].TrainLoss, $"loss went from {history[0].TrainLoss} to {history[^1].TrainLoss}");
        Assert.Equal(96, history[^1].Metrics!["train_samples"]);
        Assert.Equal(40, history[^1].Metrics!["test_samples"]);
        Assert.True(double.IsNaN(history[^1].TrainAccuracy), "no accuracy metric was asked for");
        Assert.True(double.IsFinite(history[^1].TestLoss));
    }

    [Fact]
    public void TheDefaultIsCrossEntropyWithTopOneAndTopFiveForTrainingAndTestData()
    {
        var model = new Sequential(new Flatten(), new Linear(64, 3, generator: new Generator(1)));
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.01f));
        Assert.IsType<CrossEntropyLoss>(trainer.Loss);
        var record = trainer.Fit(new DataLoader(Synthetic(32, 1), 16, workers: 0), new DataLoader(Synthetic(16, 2), 16, workers: 0), 1)[0];
        Assert.Equal(["train_accuracy", "train_top5", "test_accuracy", "test_top5"], record.Metrics!.Keys);
        Assert.Equal(record.TrainAccuracy, record.Metrics["train_accuracy"]);
        Assert.Equal(record.TestAccuracy, record.Metrics["test_accuracy"]);
        Assert.Equal(1.0, record.TestTop5); // three classes: the label is always among the top five
    }

    [Fact]
    public void MetricsWithTheSameNameAreRejected()
    {
        var model = new Sequential(new Flatten(), new Linear(64, 3, generator: new Generator(1)));
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, new Sgd(model.Parameters(), 0.1f), metrics: [new TopKAccuracy(1), new TopKAccuracy(1)]));
        Assert.Contains("'accuracy'", e.Message);
    }

    [Fact]
    public void TopKAccuracyRanksTiesByClassIndexAsMetricAccumulatorDoes()
    {
        // Two samples of 6 classes: the first is right; the second's true class ranks 6th (outside the top 5).
        var scores = Tensor.FromArray([0, 5, 1, 2, 3, 4, /**/ 0, 9, 8, 7, 6, 5, /**/ 1, 1, 1, 1, 1, 1], 3, 6);
        var top1 = new TopKAccuracy(1);
        var top5 = new TopKAccuracy(5);
        foreach (var m in new[] { top1, top5 }) m.Update(scores, scores, [1, 0, 5]);
        Assert.Equal(1 / 3.0, top1.Value, 12); // a full tie ranks class 0 first
        Assert.Equal(1 / 3.0, top5.Value, 12); // class 5 of a full tie has five classes ahead of it
        Assert.Equal("top5", top5.Name);
    }

    [Fact]
    public void ASchedulerThatStepsPerBatchIsSteppedAfterEveryBatch()
    {
        var data = Synthetic(64, 7);
        var model = new Sequential(new Flatten(), new Linear(64, 3, generator: new Generator(1)));
        var perBatch = new Sgd(model.Parameters(), 0.1f);
        var cosine = new CosineAnnealingLR(perBatch, tMax: 8) { Interval = StepInterval.Batch };
        new Trainer(model, perBatch, scheduler: cosine).Fit(new DataLoader(data, 16, workers: 0), null, 2);
        Assert.Equal(8, cosine.LastEpoch);

        var perEpoch = new Sgd(model.Parameters(), 0.1f);
        var step = new StepLR(perEpoch, 1);
        Assert.Equal(StepInterval.Epoch, step.Interval);
        new Trainer(model, perEpoch, scheduler: step).Fit(new DataLoader(data, 16, workers: 0), null, 2);
        Assert.Equal(2, step.LastEpoch);

        Assert.Equal(StepInterval.Batch, new OneCycleLR(new Sgd(model.Parameters(), 0.1f), 0.1, 10).Interval);
    }

    [Fact]
    public void AnEmptySequentialCompilesAndGrows()
    {
        var net = new Sequential();
        net.Add(new ReLU()).Add("head", new Flatten());
        Assert.Equal(["0", "head"], net.NamedChildren().Select(c => c.Key));
    }
}
