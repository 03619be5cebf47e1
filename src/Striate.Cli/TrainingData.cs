using Striate.Data;
using Striate.Training;

namespace Striate.Cli;

/// <summary>The data of a run: its splits (<see cref="DatasetSplits.Open"/>) trimmed by --limit-train and --limit-test.</summary>
internal static class TrainingData
{
    /// <summary>
    /// Opens <paramref name="config"/>'s dataset. The limits sample across classes (stratified, seeded) from image
    /// folders, which list their images class by class; MNIST, Fashion-MNIST and CIFAR-10 ship their images mixed, so
    /// there the first N are kept, the same images a PyTorch script's slice takes.
    /// </summary>
    public static DatasetSplits Open(RunConfig config, string? dataPath, int? channels)
    {
        var splits = DatasetSplits.Open(config.Dataset, config.ValSplit, config.Seed, dataPath, channels);
        bool folder = config.Dataset.StartsWith("folder:", StringComparison.OrdinalIgnoreCase);
        IDataset Limit(IDataset d, int? n) => n is int limit && limit < d.Count
            ? folder ? new Subset(d, StratifiedSampling.Sample(d, limit, config.Seed)) : new Subset(d, limit)
            : d;
        var limited = splits with
        {
            Train = Limit(splits.Train, config.LimitTrain),
            Validation = splits.Validation is { } v ? Limit(v, config.LimitTest) : null,
            Test = splits.Test is { } t ? Limit(t, config.LimitTest) : null,
        };
        if (limited.Train.Count == splits.Train.Count && limited.Validation?.Count == splits.Validation?.Count && limited.Test?.Count == splits.Test?.Count)
            return limited;
        string how = folder ? "sampled across classes" : "the first of each";
        var parts = new List<string> { $"{limited.Train.Count:N0} training" };
        if (limited.Validation != null) parts.Add($"{limited.Validation.Count:N0} validation");
        if (limited.Test != null) parts.Add($"{limited.Test.Count:N0} test");
        return limited with { Description = $"{splits.Description} Limited to {string.Join(", ", parts)} images ({how}; --limit-train, --limit-test)." };
    }
}
