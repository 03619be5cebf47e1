using Striate.Nn;
using Striate.Training;

namespace Striate.Cli;

/// <summary>train --weights: start from pretrained weights with a new classifier for the dataset's classes.</summary>
internal static class Pretrained
{
    /// <summary>
    /// Loads every tensor of <see cref="RunConfig.Weights"/> that fits <paramref name="model"/> (same name and shape),
    /// then replaces the classifier by a new one for <paramref name="classes"/> classes, saying what it loaded, skipped
    /// and replaced. Fails when nothing fits (another architecture's weights).
    /// </summary>
    public static void Load(Module model, RunConfig config, int classes)
    {
        string path = config.Weights!;
        var checkpoint = Checkpoint.Load(path, config.WeightsKey);
        var result = model.LoadFitting(checkpoint.ModelState);
        int total = model.StateDict().Count;
        if (result.Loaded.Count == 0)
            throw new ArgumentException($"--weights {path}: none of its {checkpoint.ModelState.Count} tensors fits {config.Model} " +
                $"(its first keys: {string.Join(", ", checkpoint.ModelState.Take(4).Select(e => e.Key))}; the model's: {string.Join(", ", model.StateDict().Take(4).Select(e => e.Key))}).");
        var replaced = model.ReplaceClassifier(classes, new Generator(config.Seed ^ 0x5EED));
        Console.WriteLine($"Loaded {result.Loaded.Count - result.Loaded.Count(replaced.Contains)} of the model's {total} tensors from {path}.");
        var skipped = result.Misshapen.Concat(result.Unexpected.Select(k => $"{k} (not in {config.Model})")).ToList();
        if (skipped.Count > 0)
            Console.WriteLine($"Skipped {skipped.Count} that do not fit: {string.Join(", ", skipped.Take(6))}{(skipped.Count > 6 ? ", ..." : "")}.");
        var missing = result.Missing.Where(k => !replaced.Contains(k)).ToList();
        if (missing.Count > 0)
            Console.WriteLine($"Not in the file, left as initialized: {string.Join(", ", missing.Take(6))}{(missing.Count > 6 ? $", ... ({missing.Count})" : "")}.");
        Console.WriteLine($"Replaced the classifier for {classes} classes: {string.Join(", ", replaced)} (new, randomly initialized).");
    }
}
