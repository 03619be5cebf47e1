using Striate.Autograd;
using Striate.Data;
using Striate.Distributed;
using Striate.Nn;

namespace Striate.Training;

/// <summary>
/// Classification metrics over a dataset: mean loss, top-1 and top-5 accuracy, per-class accuracy and the confusion
/// matrix (rows: true class, columns: predicted class).
/// </summary>
public sealed class EvaluationResult
{
    public required double Loss { get; init; }
    public required double Top1 { get; init; }
    public required double Top5 { get; init; }
    public required int Samples { get; init; }
    public required long[,] Confusion { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>Accuracy of each true class (NaN for a class with no samples).</summary>
    public double[] PerClassAccuracy()
    {
        int k = Confusion.GetLength(0);
        var result = new double[k];
        for (int c = 0; c < k; c++)
        {
            long total = 0;
            for (int p = 0; p < k; p++) total += Confusion[c, p];
            result[c] = total == 0 ? double.NaN : (double)Confusion[c, c] / total;
        }
        return result;
    }
}

/// <summary>Accumulates loss and accuracy over batches (used by training and evaluation alike).</summary>
public sealed class MetricAccumulator(int numClasses)
{
    private double _lossSum;
    private long _top1, _top5, _samples;

    public long[,] Confusion { get; } = new long[numClasses, numClasses];

    /// <summary>Adds one batch: its mean loss and the logits [count, classes] against its labels.</summary>
    public void Add(float meanLoss, ReadOnlySpan<float> logits, ReadOnlySpan<int> labels)
    {
        int count = labels.Length;
        int k = logits.Length / count;
        _lossSum += (double)meanLoss * count;
        _samples += count;
        for (int i = 0; i < count; i++)
        {
            var row = logits.Slice(i * k, k);
            int label = labels[i];
            int predicted = 0;
            int higher = 0; // classes scoring above the true class: top-5 holds when fewer than 5 do
            for (int c = 0; c < k; c++)
            {
                if (row[c] > row[predicted]) predicted = c;
                if (c != label && (row[c] > row[label] || (row[c] == row[label] && c < label))) higher++;
            }
            if (predicted == label) _top1++;
            if (higher < 5) _top5++;
            if (label < Confusion.GetLength(0) && predicted < Confusion.GetLength(1)) Confusion[label, predicted]++;
        }
    }

    /// <summary>
    /// Sums the counts of every process into every process (collective), so that each holds the figures of all the
    /// processes' batches together — for evaluation sharded by <see cref="DistributedSampler.ForEvaluation"/>.
    /// </summary>
    public void Reduce(IProcessGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        int k = Confusion.GetLength(0);
        // Counts as doubles: exact up to 2^53.
        var sums = new double[4 + k * k];
        (sums[0], sums[1], sums[2], sums[3]) = (_lossSum, _top1, _top5, _samples);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) sums[4 + i * k + j] = Confusion[i, j];
        group.AllReduce(sums.AsSpan(), ReduceOp.Sum);
        (_lossSum, _top1, _top5, _samples) = (sums[0], (long)sums[1], (long)sums[2], (long)sums[3]);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) Confusion[i, j] = (long)sums[4 + i * k + j];
    }

    public int Samples => (int)_samples;
    public double MeanLoss => _samples == 0 ? double.NaN : _lossSum / _samples;
    public double Top1 => _samples == 0 ? double.NaN : (double)_top1 / _samples;
    public double Top5 => _samples == 0 ? double.NaN : (double)_top5 / _samples;
}

/// <summary>Runs a model over a loader in eval mode without building a graph.</summary>
public static class Evaluator
{
    /// <summary>
    /// Evaluates <paramref name="model"/> on every batch of <paramref name="loader"/> (epoch 0 order). With
    /// <paramref name="group"/> it is collective: each process evaluates its shard (the loader's
    /// <see cref="DistributedSampler.ForEvaluation"/> sampler) and every process gets the figures of all shards together.
    /// </summary>
    public static EvaluationResult Evaluate(Module model, DataLoader loader, CrossEntropyLoss? lossFunction = null, Action<int, int>? progress = null,
        IProcessGroup? group = null)
    {
        var loss = lossFunction ?? new CrossEntropyLoss();
        bool wasTraining = model.Training;
        model.Eval();
        var classes = loader.Dataset.ClassNames;
        var metrics = new MetricAccumulator(classes.Count);
        int[] targets = [];
        try
        {
            using var noGrad = GradMode.NoGrad();
            foreach (var batch in loader.Epoch(0))
            {
                using var scope = TensorScope.Begin();
                var labels = batch.Labels.AsSpan(0, batch.Count);
                var logits = model.Call(batch.Images);
                Trainer.CheckLogits(logits, batch.Count, classes.Count);
                if (targets.Length != batch.Count) targets = new int[batch.Count]; // reused: only the last batch may differ
                labels.CopyTo(targets);
                var l = Striate.Functional.F.CrossEntropy(logits, targets, (float)loss.LabelSmoothing);
                metrics.Add(l.Item(), logits.ReadOnlySpan, labels);
                progress?.Invoke(batch.Index + 1, loader.BatchCount);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
        if (group is { WorldSize: > 1 }) metrics.Reduce(group);
        return new EvaluationResult
        {
            Loss = metrics.MeanLoss, Top1 = metrics.Top1, Top5 = metrics.Top5, Samples = metrics.Samples,
            Confusion = metrics.Confusion, ClassNames = classes,
        };
    }
}
