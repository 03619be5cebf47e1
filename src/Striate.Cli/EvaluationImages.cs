using System.Globalization;
using Striate.Data;
using Striate.Training;

namespace Striate.Cli;

/// <summary>
/// The images <c>eval</c>, <c>ablate</c> and <c>visualize embedding</c> look at, with a sentence saying which they are.
/// An image folder has no test split of its own unless it has <c>test/</c>: given the checkpoint of a run on that
/// folder, they take the run's held-out images (its test/ folder, else its validation images — the same seed and
/// --val-split give the same split), never the images it trained on without saying so.
/// </summary>
internal static class EvaluationImages
{
    /// <summary>
    /// The images of <paramref name="name"/> to evaluate <paramref name="loaded"/> on, at most <paramref name="limit"/>
    /// (sampled across classes from a folder, the first N of MNIST and co), and where they come from.
    /// </summary>
    public static (IDataset Images, string Description) Open(LoadedModel loaded, string name, string? dataPath, int? limit)
    {
        int channels = loaded.InputShape.Channels;
        if (!name.StartsWith("folder:", StringComparison.OrdinalIgnoreCase))
        {
            IDataset test = Datasets.Open(name, train: false, dataPath, channels: channels);
            if (limit is int n && n < test.Count) test = new Subset(test, n);
            return (test, $"{Count(test)} test images of {name}");
        }

        string root = name["folder:".Length..];
        bool splitFolders = Directory.Exists(Path.Combine(root, "train"));
        if (loaded.Config is { } config && string.Equals(config.Dataset, name, StringComparison.Ordinal))
        {
            var splits = TrainingData.Open(config with { LimitTrain = null, LimitTest = limit ?? config.LimitTest }, dataPath, channels);
            if (splits.Test is { } test) return (test, $"{Count(test)} test images of {name} (test/)");
            if (splits.Validation is { } validation)
                return (validation, splitFolders && new[] { "val", "valid", "validation" }.Any(v => Directory.Exists(Path.Combine(root, v)))
                    ? $"{Count(validation)} validation images of {name} (its val/ folder), which the model did not train on"
                    : $"{Count(validation)} images of {name} the run held out for validation (seed {config.Seed}, --val-split " +
                      $"{(config.ValSplit ?? DatasetSplits.DefaultFolderValidationFraction).ToString(CultureInfo.InvariantCulture)}); the model did not train on them");
            var all = Limit(Datasets.Open(name, train: true, dataPath, channels: channels), limit, config.Seed);
            return (all, $"all {Count(all)} images of {name}{(splitFolders ? " (train/)" : "")}: the run held out none, so these are images it trained on, not a held-out accuracy");
        }

        // A weights file, or a run on another dataset: the folder's test/ (else val/, else train/) images, or all of a flat folder.
        if (splitFolders)
        {
            string part = new[] { "test", "val", "valid", "validation", "train" }.First(p => Directory.Exists(Path.Combine(root, p)));
            var images = Limit(Datasets.Open("folder:" + Path.Combine(root, part), train: true, dataPath, channels: channels), limit, seed: 0);
            return (images, $"{Count(images)} images of {name} ({part}/)");
        }
        var everything = Limit(Datasets.Open(name, train: true, dataPath, channels: channels), limit, seed: 0);
        return (everything, $"all {Count(everything)} images of {name}");
    }

    private static IDataset Limit(IDataset d, int? limit, ulong seed) =>
        limit is int n && n < d.Count ? new Subset(d, StratifiedSampling.Sample(d, n, seed)) : d;

    private static string Count(IDataset d) => d.Count.ToString("N0", CultureInfo.InvariantCulture);
}
