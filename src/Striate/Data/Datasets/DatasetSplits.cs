using System.Globalization;

namespace Striate.Data;

/// <summary>
/// The images a training run learns from (<see cref="Train"/>), the images it is checked on after every epoch
/// (<see cref="Validation"/>, when there are any) and the images of a final test (<see cref="Test"/>), with a sentence
/// saying where each came from, so a run never reports accuracy on its own training images as if it were held out.
/// </summary>
/// <param name="Train">Training images.</param>
/// <param name="Validation">Held-out images checked after every epoch (model selection), or null.</param>
/// <param name="Test">Test images, or null.</param>
/// <param name="Description">Which images evaluate the model, in one sentence.</param>
public sealed record DatasetSplits(IDataset Train, IDataset? Validation, IDataset? Test, string Description)
{
    /// <summary>The share of a flat image folder held out for validation when the caller does not say.</summary>
    public const double DefaultFolderValidationFraction = 0.1;

    /// <summary>The images evaluated after every epoch: the validation set, else the test set (null: none).</summary>
    public IDataset? PerEpoch => Validation ?? Test;

    /// <summary>"val" when <see cref="PerEpoch"/> is the validation set, "test" otherwise.</summary>
    public string PerEpochName => Validation != null ? "val" : "test";

    /// <summary>
    /// Opens the splits of <paramref name="name"/> (see <see cref="Datasets.Open"/>):
    /// <list type="bullet">
    /// <item>a folder with <c>train/</c> uses <c>val/</c> (or <c>valid/</c>, <c>validation/</c>) as validation and <c>test/</c> as test;</item>
    /// <item>a flat folder of class folders holds out <paramref name="validationFraction"/> of every class (default
    /// <see cref="DefaultFolderValidationFraction"/>; 0 holds out nothing, and then nothing evaluates the model);</item>
    /// <item>MNIST, Fashion-MNIST and CIFAR-10 use their test split, and hold out a validation share of the training
    /// split only when <paramref name="validationFraction"/> is given.</item>
    /// </list>
    /// A held-out share is stratified and drawn with <paramref name="seed"/>, so the same seed gives the same split.
    /// </summary>
    public static DatasetSplits Open(string name, double? validationFraction = null, ulong seed = 0, string? dataPath = null,
        int? channels = null, bool allowDownload = true)
    {
        if (validationFraction is double f && !(f >= 0 && f < 1))
            throw new ArgumentException($"--val-split must be in [0, 1), got {f}.");
        if (name.StartsWith("folder:", StringComparison.OrdinalIgnoreCase))
        {
            string root = name["folder:".Length..];
            if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Image folder '{root}' does not exist (from --dataset {name}).");
            if (Directory.Exists(Path.Combine(root, "train")))
            {
                var train = Datasets.Open(name, train: true, dataPath, channels, allowDownload);
                CheckTwoClasses(train, Path.Combine(root, "train"));
                string? valFolder = new[] { "val", "valid", "validation" }.Select(v => Path.Combine(root, v)).FirstOrDefault(Directory.Exists);
                IDataset? test = Directory.Exists(Path.Combine(root, "test")) ? Datasets.Open(name, train: false, dataPath, channels, allowDownload) : null;
                IDataset? validation = valFolder != null ? Datasets.Open("folder:" + valFolder, train: true, dataPath, channels, allowDownload) : null;
                if (validation != null) CheckSameClasses(train, validation, valFolder!);
                if (test != null) CheckSameClasses(train, test, Path.Combine(root, "test"));
                if (validation == null && validationFraction is > 0)
                    return HoldOut(train, test, validationFraction.Value, seed, $"{Path.Combine(root, "train")}", test != null ? $"; final test on {Path.Combine(root, "test")} ({Count(test)})" : "");
                string desc = (validation, test) switch
                {
                    (not null, not null) => $"Validation after every epoch on {valFolder} ({Count(validation)}); final test on {Path.Combine(root, "test")} ({Count(test)}).",
                    (not null, null) => $"Validation after every epoch on {valFolder} ({Count(validation)}).",
                    (null, not null) => $"Evaluating on the test images in {Path.Combine(root, "test")} ({Count(test)}) after every epoch (no val/ folder; pass --val-split to hold out part of train/ for choosing the best epoch).",
                    _ => $"Nothing evaluates the model: {root} has train/ but neither val/ nor test/ (pass --val-split 0.1 to hold out 10% of train/).",
                };
                return new DatasetSplits(train, validation, test, desc);
            }
            var all = Datasets.Open(name, train: true, dataPath, channels, allowDownload);
            CheckTwoClasses(all, root);
            double fraction = validationFraction ?? DefaultFolderValidationFraction;
            if (fraction == 0)
                return new DatasetSplits(all, null, null, $"Nothing evaluates the model: --val-split 0 holds out no images of {root}, so only training figures are reported.");
            return HoldOut(all, null, fraction, seed, root, "");
        }
        var trainSplit = Datasets.Open(name, train: true, dataPath, channels, allowDownload);
        var testSplit = Datasets.Open(name, train: false, dataPath, channels, allowDownload);
        if (validationFraction is > 0)
            return HoldOut(trainSplit, testSplit, validationFraction.Value, seed, $"{name}'s training split", $"; final test on {name}'s test split ({Count(testSplit)})");
        return new DatasetSplits(trainSplit, null, testSplit, $"Evaluating on {name}'s test split ({Count(testSplit)}) after every epoch.");
    }

    private static DatasetSplits HoldOut(IDataset source, IDataset? test, double fraction, ulong seed, string what, string testSuffix)
    {
        var (kept, held) = StratifiedSampling.Split(source, fraction, seed);
        if (held.Length == 0)
            throw new InvalidDataException($"Cannot hold out validation images from {what}: every class has a single image. Add images, or pass --val-split 0 to train without validation.");
        var validation = new Subset(source, held);
        string percent = fraction.ToString("P0", CultureInfo.InvariantCulture).Replace(" ", "");
        return new DatasetSplits(new Subset(source, kept), validation, test,
            $"Validation after every epoch on {Count(validation)} held out from {what} ({percent} of each class, seed {seed}; --val-split){testSuffix}; training on the other {kept.Length:N0}.");
    }

    private static string Count(IDataset d) => d.Count.ToString("N0", CultureInfo.InvariantCulture) + (d.Count == 1 ? " image" : " images");

    /// <summary>One class folder trains nothing (every answer is right, the loss is 0): refused before training.</summary>
    private static void CheckTwoClasses(IDataset train, string folder)
    {
        if (train.ClassNames.Count < 2)
            throw new InvalidDataException($"{folder} has a single class folder ('{train.ClassNames.FirstOrDefault()}'); a classifier needs at least two classes, one folder of images each.");
    }

    private static void CheckSameClasses(IDataset train, IDataset other, string folder)
    {
        if (!train.ClassNames.SequenceEqual(other.ClassNames))
            throw new InvalidDataException($"{folder} has classes [{string.Join(", ", other.ClassNames)}] but train/ has [{string.Join(", ", train.ClassNames)}]; both need the same class folders.");
    }
}
