namespace Striate.Training;

/// <summary>
/// A figure a training loop reports per epoch, accumulated batch by batch from the model's outputs (accuracy, top-5
/// accuracy, or anything else). The loop calls <see cref="Reset"/> before a pass over the data, <see cref="Update"/>
/// after every batch (inside the batch's <see cref="TensorScope"/>: read the output there, do not keep it) and reads
/// <see cref="Value"/> at the end.
/// Shapes: output as the model gives it, input [N, …], labels N class indices.
/// </summary>
public interface IMetric
{
    /// <summary>The key in <see cref="EpochRecord.Metrics"/> (after "train_" or "test_"), e.g. "accuracy", "top5".</summary>
    string Name { get; }

    /// <summary>Forgets every batch seen so far.</summary>
    void Reset();

    /// <summary>Adds one batch: the model's <paramref name="output"/> for <paramref name="input"/> with <paramref name="labels"/>.</summary>
    void Update(Tensor output, Tensor input, ReadOnlySpan<int> labels);

    /// <summary>The figure over every batch since <see cref="Reset"/> (NaN before the first).</summary>
    double Value { get; }
}

/// <summary>
/// The fraction of samples whose true class is among the <c>k</c> highest scores; ties rank the lower class index first,
/// so top-1 is "the first arg-max is the label". Named "accuracy" for k = 1, "top{k}" otherwise.
/// Shapes: output [N, classes], labels N.
/// </summary>
public sealed class TopKAccuracy : IMetric
{
    private long _hits, _samples;

    public TopKAccuracy(int k = 1)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, $"TopKAccuracy: k must be ≥ 1, got {k}.");
        K = k;
        Name = k == 1 ? "accuracy" : $"top{k}";
    }

    /// <summary>How many of the highest scores count.</summary>
    public int K { get; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public void Reset() => (_hits, _samples) = (0, 0);

    /// <inheritdoc />
    public void Update(Tensor output, Tensor input, ReadOnlySpan<int> labels)
    {
        int n = labels.Length;
        if (output.Rank != 2 || output.Size(0) != n)
            throw new ArgumentException($"TopKAccuracy: the output has shape {Tensor.FormatShape(output.Shape)}; expected class scores [{n}, classes] for {n} labels.", nameof(output));
        int classes = output.Size(1);
        var scores = output.ReadOnlySpan;
        for (int i = 0; i < n; i++)
        {
            var row = scores.Slice(i * classes, classes);
            int label = labels[i];
            if ((uint)label >= (uint)classes) { _samples++; continue; } // a label the model cannot score is a miss
            int higher = 0; // classes ranked above the true class: a hit when fewer than k are
            for (int c = 0; c < classes; c++)
                if (c != label && (row[c] > row[label] || (row[c] == row[label] && c < label))) higher++;
            if (higher < K) _hits++;
            _samples++;
        }
    }

    /// <inheritdoc />
    public double Value => _samples == 0 ? double.NaN : (double)_hits / _samples;
}

/// <summary>Ready-made metric sets.</summary>
public static class Metrics
{
    /// <summary>Top-1 ("accuracy") and top-5 ("top5") accuracy: the Trainer's default.</summary>
    public static IReadOnlyList<IMetric> Classification() => [new TopKAccuracy(1), new TopKAccuracy(5)];
}
