using Striate.Data;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

namespace Striate.Tests.Training;

/// <summary>Per-epoch evaluation on validation images is recorded as validation, never as a test figure.</summary>
public sealed class TrainerValidationTests
{
    [Fact]
    public void AValEvaluationFillsTheValFieldsAndLeavesTheTestOnesNaN()
    {
        var model = new Sequential(new Flatten(), new Linear(64, 3, generator: new Generator(1)));
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.01f)) { EvaluationSplit = "val" };
        var record = trainer.Fit(new DataLoader(TrainerLossAndMetricTests.Synthetic(32, 1), 16, workers: 0), new DataLoader(TrainerLossAndMetricTests.Synthetic(16, 2), 16, workers: 0), 1)[0];
        Assert.Equal(["train_accuracy", "train_top5", "val_accuracy", "val_top5"], record.Metrics!.Keys);
        Assert.Equal(record.Metrics["val_accuracy"], record.ValAccuracy);
        Assert.True(double.IsFinite(record.ValLoss));
        Assert.Equal(1.0, record.ValTop5);
        Assert.True(double.IsNaN(record.TestLoss) && double.IsNaN(record.TestAccuracy) && double.IsNaN(record.TestTop5));
        Assert.Equal(record.ValAccuracy, record.EvaluationAccuracy);
    }

    [Fact]
    public void TheEvaluationSplitIsTestOrVal() =>
        Assert.Throws<ArgumentException>(() => new Trainer(new Sequential(new Flatten()), new Sgd([Tensor.Zeros(1).RequireGrad()], 0.1f)) { EvaluationSplit = "train" });

    [Fact]
    public void AHistoryWrittenBeforeValidationExistedReadsBackWithNaNValFields()
    {
        const string old = """[{"epoch":1,"train_loss":1,"train_accuracy":0.5,"test_loss":0.9,"test_accuracy":0.6,"test_top5":1,"images_per_second":10,"seconds":1,"learning_rate":0.1}]""";
        var record = MetricsFile.ParseHistory(old)[0];
        Assert.Equal(0.6, record.TestAccuracy);
        Assert.True(double.IsNaN(record.ValAccuracy) && double.IsNaN(record.ValLoss));
        Assert.Equal(0.6, record.EvaluationAccuracy);
    }
}
