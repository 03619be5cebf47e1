using Striate.Autograd;
using Striate.Data;
using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// Learned embeddings: the features a layer produces for a dataset, their projection on two principal components, a
/// score for how well they separate the classes, and a scatter plot.
/// Shapes: features [N, D] row-major; 2-D points [N, 2].
/// </summary>
public static partial class Embedding
{
    /// <summary>
    /// Runs <paramref name="model"/> (eval mode, no graph) over the first <paramref name="limit"/> samples of
    /// <paramref name="loader"/> and keeps each sample's features, flattened: the output of <paramref name="layer"/>, or
    /// by default the input of the last Linear layer (the penultimate representation the classifier reads).
    /// </summary>
    public static (float[] Features, int Dim, int[] Labels) Extract(Module model, DataLoader loader, string? layer = null, int limit = 1000)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        if (limit <= 0) throw new ArgumentException($"Embedding.Extract: limit must be positive, got {limit}.");
        Module target;
        bool useInput;
        if (layer != null)
        {
            (target, useInput) = (LayerLookup.Find(model, layer), false);
        }
        else
        {
            target = model.NamedModules().Select(p => p.Value).OfType<Linear>().LastOrDefault()
                ?? throw new ArgumentException($"Embedding.Extract: the model has no Linear layer; name the layer to read with --layer. Its layers: {LayerLookup.Describe(model)}.");
            useInput = true;
        }

        var features = new List<float>();
        var labels = new List<int>();
        int dim = -1;
        Tensor? captured = null;
        using var hook = useInput
            ? target.RegisterForwardPreHook((_, input) => captured = input)
            : target.RegisterForwardHook((_, _, output) => captured = output);
        using var run = InsightRun.Begin(model);
        using var noGrad = GradMode.NoGrad();
        foreach (var batch in loader.Epoch(0))
        {
            using var scope = TensorScope.Begin();
            captured = null;
            model.Call(batch.Images);
            if (captured == null)
                throw new ArgumentException($"Embedding.Extract: layer '{layer ?? LayerLookup.NameOf(model, target)}' was not used in the forward pass.");
            int d = captured.Numel / batch.Count;
            if (dim < 0) dim = d;
            else if (d != dim) throw new InvalidOperationException($"Embedding.Extract: the layer gave {d} features per sample, earlier batches {dim}.");
            int take = Math.Min(batch.Count, limit - labels.Count);
            var span = captured.ReadOnlySpan[..(take * d)];
            foreach (float v in span) features.Add(v);
            labels.AddRange(batch.Labels.AsSpan(0, take).ToArray());
            if (labels.Count >= limit) break;
        }
        return (features.ToArray(), dim, labels.ToArray());
    }

    /// <summary>
    /// A separation score for labelled points: the ratio of between-class to within-class scatter (Fisher's criterion
    /// in trace form), Σ_c n_c‖μ_c − μ‖² / Σ_i ‖x_i − μ_(y_i)‖². It is 0 when the class means coincide, grows as classes
    /// form tight, distant clusters, and does not change when all points are scaled or shifted, so embeddings of
    /// different models or layers can be compared.
    /// </summary>
    public static double SeparationScore(float[] points, int n, int dim, int[] labels)
    {
        CheckMatrix(points, n, dim, "Embedding.SeparationScore");
        if (labels.Length != n) throw new ArgumentException($"Embedding.SeparationScore: {labels.Length} labels for {n} points.");
        int classes = labels.Length == 0 ? 0 : labels.Max() + 1;
        var mean = new double[dim];
        var classMean = new double[classes * dim];
        var count = new int[classes];
        for (int i = 0; i < n; i++)
        {
            int y = labels[i];
            if (y < 0) throw new ArgumentException($"Embedding.SeparationScore: label {y} is negative.");
            count[y]++;
            for (int j = 0; j < dim; j++)
            {
                double v = points[i * dim + j];
                mean[j] += v;
                classMean[y * dim + j] += v;
            }
        }
        for (int j = 0; j < dim; j++) mean[j] /= Math.Max(n, 1);
        for (int c = 0; c < classes; c++)
            for (int j = 0; j < dim; j++) classMean[c * dim + j] /= Math.Max(count[c], 1);
        double between = 0, within = 0;
        for (int c = 0; c < classes; c++)
            for (int j = 0; j < dim; j++) { double d = classMean[c * dim + j] - mean[j]; between += count[c] * d * d; }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim; j++) { double d = points[i * dim + j] - classMean[labels[i] * dim + j]; within += d * d; }
        return within > 0 ? between / within : between > 0 ? double.PositiveInfinity : 0;
    }

    internal static void CheckMatrix(float[] values, int n, int dim, string method)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (n < 0 || dim <= 0 || (long)n * dim != values.Length)
            throw new ArgumentException($"{method}: {values.Length} values do not form {n} rows of {dim}.");
    }
}
