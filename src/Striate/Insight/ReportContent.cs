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
    /// The first <paramref name="count"/> samples of <paramref name="dataset"/> passed through <paramref name="transform"/>
    /// (the test-time transform); the display copy undoes the normalization of <paramref name="config"/> if it has one.
    /// </summary>
    public static IReadOnlyList<ReportSample> FromDataset(IDataset dataset, ITransform? transform, RunConfig? config, int count)
    {
        var result = new List<ReportSample>();
        var sample = new ImageSample();
        for (int i = 0; i < Math.Min(count, dataset.Count); i++)
        {
            dataset.Load(i, sample);
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
            result.Add(new ReportSample(input, display, sample.Channels, sample.Height, sample.Width, dataset.Label(i)));
        }
        return result;
    }
}
