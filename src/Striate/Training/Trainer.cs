using System.Diagnostics;
using Striate.Data;
using Striate.Distributed;
using Striate.Functional;
using Striate.Nn;
using Striate.Optim;

namespace Striate.Training;

/// <summary>
/// One epoch's figures, as written to metrics.json. <see cref="Metrics"/> holds every metric by name ("train_accuracy",
/// "test_top5", "val_accuracy", …); the accuracy fields repeat the metrics named "accuracy" and "top5" (NaN when there is
/// none). The per-epoch evaluation fills the Test* fields when it ran on test images and the Val* fields when it ran on
/// validation images (<see cref="Trainer.EvaluationSplit"/>); the others stay NaN.
/// </summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy,
    double TestTop5, double ImagesPerSecond, double Seconds, double LearningRate, IReadOnlyDictionary<string, double>? Metrics = null,
    double ValLoss = double.NaN, double ValAccuracy = double.NaN, double ValTop5 = double.NaN)
{
    /// <summary>The per-epoch evaluation's loss: validation when there was one, else test.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double EvaluationLoss => double.IsNaN(ValLoss) ? TestLoss : ValLoss;

    /// <summary>The per-epoch evaluation's accuracy: validation when there was one, else test.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double EvaluationAccuracy => double.IsNaN(ValAccuracy) ? TestAccuracy : ValAccuracy;
}

/// <summary>Where training is, reported after every batch (for progress bars); RunningAccuracy is NaN without an "accuracy" metric.</summary>
public readonly record struct TrainingProgress(int Epoch, int Epochs, int Batch, int Batches, double RunningLoss,
    double RunningAccuracy, double ImagesPerSecond);

/// <summary>Training stopped because a value became NaN or infinite; the message names the step and the layer.</summary>
public sealed class NonFiniteException(string message) : Exception(message);

/// <summary>Training stopped because the loss rose far above where it started (finite, but the run is diverging).</summary>
public sealed class DivergenceException(string message) : Exception(message);

/// <summary>
/// The training loop: forward, the loss, backward and an optimizer step per mini-batch, in a <see cref="TensorScope"/>
/// so a warmed-up step allocates almost nothing; evaluation after each epoch in eval mode without a graph; an optional
/// learning-rate scheduler stepped when its <see cref="LRScheduler.Interval"/> says (per epoch or per batch).
/// The loss and the metrics are arguments: by default softmax cross-entropy with top-1 and top-5 accuracy.
/// </summary>
/// <remarks>
/// Data-parallel training: give the trainer the <see cref="IProcessGroup"/> the model's
/// <see cref="DistributedDataParallel"/> reduces over, and loaders whose samplers are <see cref="DistributedSampler"/>s
/// (training: the shuffled, padded shard; evaluation: <see cref="DistributedSampler.ForEvaluation"/>, each sample once).
/// Every process then calls <see cref="Fit"/>; losses and metrics are reduced across the processes (as means weighted
/// by each process's sample count, which is exact for metrics that are means over samples, such as accuracy), so every
/// process reports the figures of the whole data. Batch-norm running statistics are not reduced in training (each
/// process updates its own, as in PyTorch without SyncBatchNorm); <see cref="Evaluate"/> first copies rank 0's buffers
/// to every process, so all processes evaluate — and rank 0 saves — the same model.
/// </remarks>
public sealed class Trainer
{
    private readonly List<EpochRecord> _history = new();
    private readonly IMetric[] _metrics;

    /// <summary>
    /// Trains <paramref name="model"/> with <paramref name="optimizer"/> on <paramref name="loss"/> (default: a
    /// <see cref="CrossEntropyLoss"/>), reporting <paramref name="metrics"/> for the training and test data (default:
    /// <see cref="Training.Metrics.Classification"/>; pass an empty list for none).
    /// </summary>
    /// <paramref name="processGroup"/>: the processes training together (see the remarks), or null for one process.
    public Trainer(Module model, Optimizer optimizer, ILoss? loss = null, LRScheduler? scheduler = null, IEnumerable<IMetric>? metrics = null,
        IProcessGroup? processGroup = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        Model = model;
        Optimizer = optimizer;
        Loss = loss ?? new CrossEntropyLoss();
        Scheduler = scheduler;
        _metrics = (metrics ?? Training.Metrics.Classification()).ToArray();
        ProcessGroup = processGroup;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in _metrics)
            if (m == null || !names.Add(m.Name))
                throw new ArgumentException(m == null ? "Trainer: metrics contains null." : $"Trainer: two metrics are named '{m.Name}'; names key the epoch records.", nameof(metrics));
    }

    public Module Model { get; }
    public Optimizer Optimizer { get; }
    public ILoss Loss { get; }
    public LRScheduler? Scheduler { get; }

    /// <summary>The processes of data-parallel training, or null when training alone.</summary>
    public IProcessGroup? ProcessGroup { get; }

    private bool Distributed => ProcessGroup is { WorldSize: > 1 };

    /// <summary>The metrics reported for training and test data, in order.</summary>
    public IReadOnlyList<IMetric> Metrics => _metrics;

    /// <summary>
    /// What the loader given to <see cref="Fit"/> for evaluation holds: "test" (default) or "val" (validation images
    /// held out for choosing the model). It prefixes the evaluation's metrics ("val_accuracy") and picks the
    /// <see cref="EpochRecord"/> fields they fill.
    /// </summary>
    public string EvaluationSplit
    {
        get => _evaluationSplit;
        set => _evaluationSplit = value is "test" or "val" ? value
            : throw new ArgumentException($"Trainer.EvaluationSplit must be \"test\" or \"val\", got \"{value}\".", nameof(value));
    }

    private string _evaluationSplit = "test";

    /// <summary>Stop with a <see cref="NonFiniteException"/> as soon as the loss or a gradient is NaN or infinite (default on).</summary>
    public bool CheckFinite { get; set; } = true;

    /// <summary>
    /// With <see cref="CheckFinite"/>, stop with a <see cref="DivergenceException"/> when a batch's loss exceeds this
    /// many times the loss the trainer started from (its first batch, the only loss measured before any update):
    /// Adam at lr 1e6 keeps the loss finite (8.6e35) while the weights become useless. Infinity turns it off.
    /// </summary>
    public double DivergenceFactor { get; set; } = 1e4;

    private double _startLoss = double.NaN;

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

    private bool SchedulerPerBatch => Scheduler is { Interval: StepInterval.Batch };

    /// <summary>Trains from epoch <see cref="History"/>.Count up to <paramref name="epochs"/>, evaluating on <paramref name="test"/> after each.</summary>
    public IReadOnlyList<EpochRecord> Fit(DataLoader train, DataLoader? test, int epochs)
    {
        if (epochs <= 0) throw new ArgumentException($"Trainer.Fit: epochs must be positive, got {epochs}.", nameof(epochs));
        if (Distributed)
        {
            CheckSharded(train, "training", evaluation: false);
            if (test != null) CheckSharded(test, "test", evaluation: true);
        }
        for (int epoch = _history.Count; epoch < epochs; epoch++)
        {
            double lr = Optimizer.LearningRate;
            var (trainLoss, _, seconds, imagesPerSecond) = TrainEpoch(train, epoch, epochs);
            var figures = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (name, value) in _trainFigures) figures["train_" + name] = value;
            double evalLoss = double.NaN;
            string split = _evaluationSplit;
            if (test != null)
            {
                (evalLoss, var testMetrics) = Evaluate(test);
                foreach (var (name, value) in testMetrics) figures[split + "_" + name] = value;
            }
            if (Scheduler != null && !SchedulerPerBatch) Scheduler.Step();
            bool val = split == "val";
            var record = new EpochRecord(epoch + 1, trainLoss, Figure(figures, "train_accuracy"), val ? double.NaN : evalLoss, Figure(figures, "test_accuracy"),
                Figure(figures, "test_top5"), imagesPerSecond, seconds, lr, figures,
                val ? evalLoss : double.NaN, Figure(figures, "val_accuracy"), Figure(figures, "val_top5"));
            _history.Add(record);
            EpochEnded?.Invoke(record);
        }
        return _history;
    }

    private static double Figure(Dictionary<string, double> figures, string key) => figures.TryGetValue(key, out double v) ? v : double.NaN;

    /// <summary>
    /// One pass over <paramref name="train"/>: returns mean loss, accuracy (the metric named "accuracy", NaN without
    /// one), seconds and images per second; every metric's <see cref="IMetric.Value"/> then holds its training figure.
    /// With a process group, the figures are those of all processes together (and <see cref="TrainingProgress"/>
    /// counts the images per second of all of them), while the metrics' own values stay this process's.
    /// </summary>
    public (double Loss, double Accuracy, double Seconds, double ImagesPerSecond) TrainEpoch(DataLoader train, int epoch, int epochs = 0)
    {
        Model.Train();
        foreach (var m in _metrics) m.Reset();
        var accuracy = Array.Find(_metrics, m => m.Name == "accuracy");
        int classes = train.Dataset.ClassNames.Count;
        double lossSum = 0;
        long samples = 0;
        var clock = Stopwatch.StartNew();
        int[] labels = [];
        foreach (var batch in train.Epoch(epoch))
        {
            if (labels.Length != batch.Count) labels = new int[batch.Count];
            batch.Labels.AsSpan(0, batch.Count).CopyTo(labels);
            float loss = Step(batch.Images, labels, classes, epoch, batch.Index);
            lossSum += (double)loss * labels.Length;
            samples += labels.Length;
            if (SchedulerPerBatch) Scheduler!.Step();
            double elapsed = clock.Elapsed.TotalSeconds;
            // The processes step together (every backward waits for all of them), so p times this process's rate is theirs.
            BatchEnded?.Invoke(new TrainingProgress(epoch + 1, epochs, batch.Index + 1, train.BatchCount, lossSum / samples,
                accuracy?.Value ?? double.NaN, samples * WorldSize / Math.Max(elapsed, 1e-9)));
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var (meanLoss, figures, total) = Reduce(lossSum, samples, ref seconds);
        _trainFigures = figures;
        return (meanLoss, accuracy == null ? double.NaN : figures["accuracy"], seconds, total / Math.Max(seconds, 1e-9));
    }

    private int WorldSize => ProcessGroup?.WorldSize ?? 1;

    // The last epoch's training metrics, reduced across the processes.
    private IReadOnlyDictionary<string, double> _trainFigures = new Dictionary<string, double>();

    /// <summary>
    /// Mean loss and metrics of all processes: sums of loss × samples, samples, and metric × samples over the processes
    /// (a process without samples adds nothing), and the longest of their times. Alone: this process's own figures.
    /// </summary>
    private (double Loss, Dictionary<string, double> Metrics, double Samples) Reduce(double lossSum, long samples, ref double seconds)
    {
        var figures = new Dictionary<string, double>(StringComparer.Ordinal);
        if (!Distributed)
        {
            foreach (var m in _metrics) figures[m.Name] = m.Value;
            return (samples == 0 ? double.NaN : lossSum / samples, figures, samples);
        }
        // [loss × n, n, metric_i × n …] summed; the time as a max.
        var sums = new double[2 + _metrics.Length];
        sums[0] = samples == 0 ? 0 : lossSum;
        sums[1] = samples;
        for (int i = 0; i < _metrics.Length; i++)
            sums[2 + i] = samples == 0 || double.IsNaN(_metrics[i].Value) ? 0 : _metrics[i].Value * samples;
        ProcessGroup!.AllReduce(sums.AsSpan(), ReduceOp.Sum);
        Span<double> time = [seconds];
        ProcessGroup.AllReduce(time, ReduceOp.Max);
        seconds = time[0];
        double n = sums[1];
        for (int i = 0; i < _metrics.Length; i++) figures[_metrics[i].Name] = n == 0 ? double.NaN : sums[2 + i] / n;
        return (n == 0 ? double.NaN : sums[0] / n, figures, n);
    }

    private void CheckSharded(DataLoader loader, string what, bool evaluation)
    {
        if (loader.Sampler is DistributedSampler d && d.NumReplicas == ProcessGroup!.WorldSize && d.Rank == ProcessGroup.Rank) return;
        string sampler = evaluation ? $"DistributedSampler.ForEvaluation(count, {ProcessGroup!.WorldSize}, {ProcessGroup.Rank})"
            : $"new DistributedSampler(count, {ProcessGroup!.WorldSize}, {ProcessGroup.Rank}, seed: …)";
        throw new ArgumentException($"Trainer: training with {ProcessGroup.WorldSize} processes, but the {what} loader's sampler is " +
            $"{(loader.Sampler == null ? "none" : loader.Sampler is DistributedSampler o ? $"a DistributedSampler for rank {o.Rank} of {o.NumReplicas}" : loader.Sampler.GetType().Name)}; " +
            $"give it {sampler}, so that each process takes its own share of the data.");
    }

    /// <summary>
    /// Mean loss and every metric over <paramref name="loader"/> (epoch 0 order) in eval mode without a graph; the
    /// model's mode is restored afterwards. With a process group this is collective: rank 0's buffers (batch-norm
    /// running statistics) are first copied to every process, and the figures are those of all shards together.
    /// </summary>
    public (double Loss, IReadOnlyDictionary<string, double> Metrics) Evaluate(DataLoader loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        if (Distributed) BroadcastBuffers();
        bool wasTraining = Model.Training;
        Model.Eval();
        foreach (var m in _metrics) m.Reset();
        int classes = loader.Dataset.ClassNames.Count;
        double lossSum = 0;
        long samples = 0;
        int[] labels = [];
        try
        {
            using var noGrad = Autograd.GradMode.NoGrad();
            foreach (var batch in loader.Epoch(0))
            {
                using var scope = TensorScope.Begin();
                if (labels.Length != batch.Count) labels = new int[batch.Count]; // reused: only the last batch may differ
                batch.Labels.AsSpan(0, batch.Count).CopyTo(labels);
                var output = Model.Call(batch.Images);
                if (Loss.ScoresClasses) CheckLogits(output, labels.Length, classes);
                lossSum += (double)Loss.Compute(output, batch.Images, labels).Item() * labels.Length;
                samples += labels.Length;
                foreach (var m in _metrics) m.Update(output, batch.Images, labels);
                EvaluationProgress?.Invoke(batch.Index + 1, loader.BatchCount);
            }
        }
        finally
        {
            Model.Train(wasTraining);
        }
        double seconds = 0;
        var (loss, figures, _) = Reduce(lossSum, samples, ref seconds);
        return (loss, figures);
    }

    /// <summary>
    /// Copies rank 0's buffers to every process (collective). Without SyncBatchNorm each process's running statistics
    /// come from its own batches only; rank 0's, from a shard of the whole data, stand for all — the choice
    /// DistributedDataParallel's broadcast_buffers makes in PyTorch.
    /// </summary>
    private void BroadcastBuffers()
    {
        foreach (var (_, b) in Model.NamedBuffers()) ProcessGroup!.Broadcast(b.Span, 0);
    }

    private float Step(Tensor images, int[] labels, int classes, int epoch, int batchIndex)
    {
        using var scope = TensorScope.Begin();
        var output = Model.Call(images);
        if (Loss.ScoresClasses) CheckLogits(output, labels.Length, classes);
        var loss = Loss.Compute(output, images, labels);
        if (loss.Numel != 1)
            throw new ArgumentException($"Trainer: the loss has shape {Tensor.FormatShape(loss.Shape)}; expected a scalar (reduce it with F.Mean or F.Sum).");
        float value = loss.Item();
        if (CheckFinite && !float.IsFinite(value))
            throw new NonFiniteException($"Training stopped at epoch {epoch + 1}, step {batchIndex + 1}: the loss is {value}. {FirstNonFiniteOutput(images)}");
        if (CheckFinite) CheckDivergence(value, epoch, batchIndex);
        Optimizer.ZeroGrad();
        loss.Backward();
        if (CheckFinite && FirstNonFiniteGradient() is { } parameter)
            throw new NonFiniteException($"Training stopped at epoch {epoch + 1}, step {batchIndex + 1}: the gradient of '{parameter}' is not finite (loss {value}). Try a lower learning rate.");
        Optimizer.Step();
        if (CheckFinite && FirstNonFiniteParameter() is { } updated)
            throw new NonFiniteException($"Training stopped at epoch {epoch + 1}, step {batchIndex + 1}: the optimizer step made '{updated}' non-finite (loss {value}). Try a lower learning rate.");
        foreach (var m in _metrics) m.Update(output, images, labels);
        return value;
    }

    private void CheckDivergence(float loss, int epoch, int batchIndex)
    {
        if (double.IsNaN(_startLoss))
        {
            _startLoss = loss;
            return;
        }
        // A loss at or near zero at the start (a fitted model) must not make every later wobble look like divergence.
        double start = _startLoss;
        double limit = DivergenceFactor * Math.Max(start, 1e-2);
        if (loss > limit)
            throw new DivergenceException($"Training stopped at epoch {epoch + 1}, step {batchIndex + 1}: the loss is {loss:G4}, more than {DivergenceFactor:G3} × its starting value {start:G4}; training is diverging. Try a lower learning rate.");
    }

    private string? FirstNonFiniteParameter()
    {
        foreach (var (name, p) in Model.NamedParameters())
            if (!AllFinite(p.ReadOnlySpan)) return name;
        return null;
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
