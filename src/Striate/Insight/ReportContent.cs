using Striate.Autograd;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Nn;
using Striate.Training;

namespace Striate.Insight;

/// <summary>
/// One test image for the report: what the model sees (after resize and normalization) and what a person should
/// see (the same pixels un-normalized to [0, 1]).
/// Shapes: <see cref="Input"/> and <see cref="Display"/> CHW [Channels · Height · Width].
/// </summary>
public sealed record ReportSample(float[] Input, float[] Display, int Channels, int Height, int Width, int Label);

/// <summary>Everything a training report shows; fields left empty are left out of the page (with a note).</summary>
public sealed class ReportContent
{
    public required string Title { get; init; }
    public required string ModelName { get; init; }
    public required Module Model { get; init; }
    /// <summary>The model's input (channels, height, width).</summary>
    public required (int Channels, int Height, int Width) InputShape { get; init; }
    public required IReadOnlyList<string> ClassNames { get; init; }
    public RunConfig? Config { get; init; }
    public IReadOnlyList<EpochRecord> History { get; init; } = [];
    /// <summary>The final evaluation (per-class accuracy, confusion); null when its images were not available.</summary>
    public EvaluationResult? Evaluation { get; init; }
    /// <summary>What <see cref="Evaluation"/> and the samples ran on: "test" or "validation" (held-out images of a run without a test set).</summary>
    public string EvaluatedOn { get; init; } = "test";
    public IReadOnlyList<ReportSample> Samples { get; init; } = [];
    /// <summary>Learning curves as SVG; null: drawn from <see cref="History"/>.</summary>
    public string? CurvesSvg { get; init; }
    /// <summary>Confusion matrix as SVG; null: drawn from <see cref="Evaluation"/>.</summary>
    public string? ConfusionSvg { get; init; }
    /// <summary>The layer Grad-CAM explains; null: <see cref="GradCam.DefaultLayer"/>.</summary>
    public string? GradCamLayer { get; init; }
    /// <summary>Remarks shown at the top (e.g. why a section is missing).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>Picks report samples from a test set.</summary>
public static class ReportSamples
{
    /// <summary>
    /// Up to <paramref name="count"/> samples of <paramref name="dataset"/> that show what the model does: a spread of
    /// classes and, when it makes any, its mistakes. Candidates are taken round-robin over the classes (evenly spaced
    /// within each, so a folder sorted by class does not yield one class), at most <paramref name="scan"/> of them
    /// (default 16 per sample) are classified, then up to half the places go to misclassified images of distinct
    /// classes and the rest to correct ones of classes not yet shown. The result is ordered by class. Each sample is
    /// passed through <paramref name="transform"/> (the test-time transform); its display copy undoes the
    /// normalization of <paramref name="config"/> if it has one.
    /// </summary>
    public static IReadOnlyList<ReportSample> Pick(Module model, IDataset dataset, ITransform? transform, RunConfig? config, int count, int? scan = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dataset);
        if (count <= 0 || dataset.Count == 0) return [];
        var candidates = RoundRobin(dataset, Math.Min(dataset.Count, Math.Max(count, scan ?? count * 16)));
        var samples = candidates.Select(i => Load(dataset, i, transform, config)).ToList();
        var predicted = Classify(model, samples);

        var chosen = new List<int>();
        var shown = new HashSet<int>();
        void Take(Func<int, bool> wanted, int limit, bool newClassOnly)
        {
            for (int j = 0; j < samples.Count && chosen.Count < limit; j++)
                if (!chosen.Contains(j) && wanted(j) && (!newClassOnly || !shown.Contains(samples[j].Label)))
                {
                    chosen.Add(j);
                    shown.Add(samples[j].Label);
                }
        }
        bool Wrong(int j) => predicted[j] != samples[j].Label;
        Take(Wrong, Math.Max(1, count / 2), newClassOnly: true); // half the places (the one place of a single sample)
        Take(j => !Wrong(j), count, newClassOnly: true);
        Take(Wrong, count, newClassOnly: false);
        Take(_ => true, count, newClassOnly: false);
        return chosen.OrderBy(j => samples[j].Label).ThenBy(j => Wrong(j) ? 0 : 1).ThenBy(j => candidates[j]).Select(j => samples[j]).ToList();
    }

    /// <summary>
    /// <paramref name="budget"/> indices taken class by class in turn; within a class evenly spaced over its images, in order.
    /// </summary>
    internal static List<int> RoundRobin(IDataset dataset, int budget)
    {
        var byClass = new SortedDictionary<int, List<int>>();
        for (int i = 0; i < dataset.Count; i++)
        {
            int label = dataset.Label(i);
            if (!byClass.TryGetValue(label, out var list)) byClass[label] = list = [];
            list.Add(i);
        }
        int perClass = (budget + byClass.Count - 1) / byClass.Count;
        var picks = byClass.Values.Select(list =>
        {
            int take = Math.Min(list.Count, perClass);
            return Enumerable.Range(0, take).Select(j => list[(int)((long)j * list.Count / take)]).ToList();
        }).ToList();
        var order = new List<int>(budget);
        for (int round = 0; order.Count < budget; round++)
        {
            bool any = false;
            foreach (var p in picks)
                if (round < p.Count && order.Count < budget) { order.Add(p[round]); any = true; }
            if (!any) break;
        }
        return order;
    }

    private static ReportSample Load(IDataset dataset, int index, ITransform? transform, RunConfig? config)
    {
        var sample = new ImageSample();
        dataset.Load(index, sample);
        transform?.Apply(sample, Generator.Default);
        var input = sample.Pixels.ToArray();
        var display = (float[])input.Clone();
        if (config is { NormalizeMean.Length: > 0 })
        {
            int plane = sample.Height * sample.Width;
            for (int c = 0; c < sample.Channels; c++)
            {
                float mean = config.NormalizeMean[Math.Min(c, config.NormalizeMean.Length - 1)];
                float std = config.NormalizeStd[Math.Min(c, config.NormalizeStd.Length - 1)];
                for (int p = 0; p < plane; p++) display[c * plane + p] = display[c * plane + p] * std + mean;
            }
        }
        return new ReportSample(input, display, sample.Channels, sample.Height, sample.Width, dataset.Label(index));
    }

    /// <summary>The model's predicted class for each sample, in batches of up to 32 images of one shape (eval mode, no graph).</summary>
    private static int[] Classify(Module model, List<ReportSample> samples)
    {
        var predicted = new int[samples.Count];
        using var run = InsightRun.Begin(model);
        using var noGrad = GradMode.NoGrad();
        for (int start = 0; start < samples.Count;)
        {
            var first = samples[start];
            int end = start + 1;
            while (end < samples.Count && end - start < 32 && samples[end] is var s && (s.Channels, s.Height, s.Width) == (first.Channels, first.Height, first.Width)) end++;
            int length = first.Input.Length;
            var batch = new float[(end - start) * length];
            for (int j = start; j < end; j++) samples[j].Input.CopyTo(batch, (j - start) * length);
            using var scope = TensorScope.Begin();
            var logits = model.Call(Tensor.FromArray(batch, end - start, first.Channels, first.Height, first.Width)).ToArray();
            int classes = logits.Length / (end - start);
            for (int j = start; j < end; j++) predicted[j] = InsightRun.ArgMax(logits.AsSpan((j - start) * classes, classes));
            start = end;
        }
        return predicted;
    }
}
