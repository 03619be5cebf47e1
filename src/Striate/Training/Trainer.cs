using System.Diagnostics;
using Striate.Data;
using Striate.Functional;
using Striate.Nn;
using Striate.Optim;

namespace Striate.Training;

/// <summary>One epoch's figures, as written to metrics.json.</summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy,
    double TestTop5, double ImagesPerSecond, double Seconds, double LearningRate);

/// <summary>Where training is, reported after every batch (for progress bars).</summary>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double RunningLoss,
    double RunningAccuracy, double ImagesPerSecond);

/// <summary>Training stopped because a value became NaN or infinite; the message names the step and the layer.</summary>
public sealed class NonFiniteException(string message) : Exception(message);

/// <summary>
/// The training loop: forward, softmax cross-entropy, backward and an optimizer step per mini-batch, in a
/// <see cref="TensorScope"/> so a warmed-up step allocates almost nothing; evaluation after each epoch in eval mode
/// without a graph; an optional learning-rate scheduler stepped per epoch (or per batch for OneCycleLR).
/// </summary>
public sealed class Trainer
{
    private readonly List<EpochRecord> _history = new();

    public Trainer(Module model, Optimizer optimizer, CrossEntropyLoss? loss = null, LRScheduler? scheduler = null)
    {
        Model = model;
        Optimizer = optimizer;
        Loss = loss ?? new CrossEntropyLoss();
        Scheduler = scheduler;
    }

    public Module Model { get; }
    public Optimizer Optimizer { get; }
    public CrossEntropyLoss Loss { get; }
    public LRScheduler? Scheduler { get; }

    /// <summary>Stop with a <see cref="NonFiniteException"/> as soon as the loss or a gradient is NaN or infinite (default on).</summary>
    public bool CheckFinite { get; set; } = true;

    /// <summary>Called after every training batch.</summary>
    public event Action<TrainingProgress>? BatchEnded;

    /// <summary>Called after every epoch (training and evaluation done), e.g. to write a checkpoint.</summary>
    public event Action<EpochRecord>? EpochEnded;

    /// <summary>Called during evaluation with (batches done, batches in total).</summary>
    public event Action<int, int>? EvaluationProgress;

    /// <summary>Epochs completed so far (including those restored with <see cref="RestoreHistory"/>).</summary>
    public IReadOnlyList<EpochRecord> History => _history;

    /// <summary>Puts earlier epochs back (when resuming from a checkpoint).</summary>
    public void RestoreHistory(IEnumerable<EpochRecord> records) => _history.AddRange(records);

    private bool SchedulerPerBatch => Scheduler is OneCycleLR;

    /// <summary>Trains from epoch <see cref="History"/>.Count up to <paramref name="epochs"/>, evaluating on <paramref name="test"/> after each.</summary>
    public IReadOnlyList<EpochRecord> Fit(DataLoader train, DataLoader? test, int epochs)
    {
        if (epochs <= 0) throw new ArgumentException($"Trainer.Fit: epochs must be positive, got {epochs}.", nameof(epochs));
        for (int epoch = _history.Count; epoch < epochs; epoch++)
        {
            double lr = Optimizer.LearningRate;
            var (trainLoss, trainAccuracy, seconds, imagesPerSecond) = TrainEpoch(train, epoch, epochs);
            var eval = test == null ? null : Evaluator.Evaluate(Model, test, Loss, (d, t) => EvaluationProgress?.Invoke(d, t));
            if (Scheduler != null && !SchedulerPerBatch) Scheduler.Step();
            var record = new EpochRecord(epoch + 1, trainLoss, trainAccuracy, eval?.Loss ?? double.NaN, eval?.Top1 ?? double.NaN,
                eval?.Top5 ?? double.NaN, imagesPerSecond, seconds, lr);
            _history.Add(record);
            EpochEnded?.Invoke(record);
        }
        return _history;
    }

    /// <summary>One pass over <paramref name="train"/>: returns mean loss, accuracy, seconds and images per second.</summary>
    public (double Loss, double Accuracy, double Seconds, double ImagesPerSecond) TrainEpoch(DataLoader train, int epoch, int epochs = 0)
    {
        Model.Train();
        var metrics = new MetricAccumulator(train.Dataset.ClassNames.Count);
        var clock = Stopwatch.StartNew();
        int[] labels = [];
        foreach (var batch in train.Epoch(epoch))
        {
            if (labels.Length != batch.Count) labels = new int[batch.Count];
            batch.Labels.AsSpan(0, batch.Count).CopyTo(labels);
            float loss = Step(batch.Images, labels, epoch, batch.Index, metrics);
            if (SchedulerPerBatch) Scheduler!.Step();
            double elapsed = clock.Elapsed.TotalSeconds;
            BatchEnded?.Invoke(new TrainingProgress(epoch + 1, epochs, batch.Index + 1, train.BatchCount, metrics.MeanLoss, metrics.Top1,
                metrics.Samples / Math.Max(elapsed, 1e-9)));
            _ = loss;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return (metrics.MeanLoss, metrics.Top1, seconds, metrics.Samples / Math.Max(seconds, 1e-9));
    }

    private float Step(Tensor images, int[] labels, int epoch, int batchIndex, MetricAccumulator metrics)
    {
        using var scope = TensorScope.Begin();
        var logits = Model.Call(images);
        CheckLogits(logits, labels.Length, metrics.Confusion.GetLength(0));
        var loss = F.CrossEntropy(logits, labels, (float)Loss.LabelSmoothing);
        float value = loss.Item();
        if (CheckFinite && !float.IsFinite(value))
            throw new NonFiniteException($"Training stopped at epoch {epoch + 1}, step {batchIndex + 1}: the loss is {value}. {FirstNonFiniteOutput(images)}");
        Optimizer.ZeroGrad();
        loss.Backward();
        if (CheckFinite && FirstNonFiniteGradient() is { } parameter)
            throw new NonFiniteException($"Training stopped at epoch {epoch + 1}, step {batchIndex + 1}: the gradient of '{parameter}' is not finite (loss {value}). Try a lower learning rate.");
        Optimizer.Step();
        metrics.Add(value, logits.ReadOnlySpan, labels);
        return value;
    }

    /// <summary>Checks a model's output is [batch, classes] so a wrong model/dataset pairing fails with a clear message.</summary>
    internal static void CheckLogits(Tensor logits, int batch, int classes)
    {
        if (logits.Rank != 2 || logits.Size(0) != batch || logits.Size(1) != classes)
            throw new ArgumentException($"The model's output has shape {Tensor.FormatShape(logits.Shape)}, but the data needs [{batch}, {classes}] (batch, classes); build the model with {classes} classes.");
    }

    private string? FirstNonFiniteGradient()
    {
        foreach (var (name, p) in Model.NamedParameters())
            if (p.Grad != null && !AllFinite(p.Grad.ReadOnlySpan)) return name;
        return null;
    }

    /// <summary>Re-runs the forward pass with hooks to find the first layer (in execution order) whose output is not finite.</summary>
    private string FirstNonFiniteOutput(Tensor images)
    {
        string? culprit = null;
        var hooks = new List<IDisposable>();
        foreach (var (name, module) in Model.NamedModules())
        {
            if (module.NamedChildren().Any()) continue;
            string layer = name.Length == 0 ? module.TypeName : $"{name} ({module.TypeName})";
            hooks.Add(module.RegisterForwardHook((_, _, output) =>
            {
                if (culprit == null && !AllFinite(output.ReadOnlySpan)) culprit = layer;
            }));
        }
        try
        {
            using var noGrad = Autograd.GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            if (!AllFinite(images.ReadOnlySpan)) return "The input batch itself contains NaN or infinite values.";
            Model.Call(images);
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
        }
        return culprit != null ? $"The first layer with a non-finite output is {culprit}." : "Every layer's output is finite; the loss itself overflowed.";
    }

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        // x − x is 0 for finite x and NaN for NaN or ±∞, so the sum is finite exactly when every value is.
        float sum = 0;
        foreach (float v in values) sum += v - v;
        return sum == 0;
    }
}
