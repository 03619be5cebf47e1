namespace Striate.Data;

/// <summary>Opens the standard datasets by name, found by <see cref="DatasetLocator"/>.</summary>
public static class Datasets
{
    /// <summary>Fashion-MNIST's class names, in label order.</summary>
    public static readonly IReadOnlyList<string> FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>MNIST's class names (the digits).</summary>
    public static readonly IReadOnlyList<string> MnistClasses = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>
    /// The train or test split of <paramref name="name"/>: "mnist", "fashion-mnist", "cifar10", or "folder:PATH" (a folder
    /// with train/ and test/ subfolders of class folders, or of class folders only, used for both).
    /// </summary>
    /// <remarks>For image folders, <c>channels</c> converts every image to 1 (gray) or 3 (RGB) channels; it is ignored otherwise.</remarks>
    public static IDataset Open(string name, bool train, string? dataPath = null, int? channels = null, bool allowDownload = true)
    {
        if (name.StartsWith("folder:", StringComparison.OrdinalIgnoreCase))
        {
            string root = name["folder:".Length..];
            if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"Image folder '{root}' does not exist (from --dataset {name}).");
            string split = Path.Combine(root, train ? "train" : "test");
            // Without this check the root itself would be read, its train/ and val/ folders taken for two classes.
            if (!train && !Directory.Exists(split) && Directory.Exists(Path.Combine(root, "train")))
                throw new InvalidDataException($"Image folder '{root}' has train/ but no test/ folder, so it has no test split; add test/ (one folder per class) or use its val/ or a held-out share of train/ (DatasetSplits.Open).");
            return new ImageFolderDataset(new ImageFolder(Directory.Exists(split) ? split : root), channels);
        }
        var spec = KnownDatasets.Find(name)
            ?? throw new ArgumentException($"Unknown dataset '{name}'. Known datasets: mnist, fashion-mnist, cifar10, folder:PATH.", nameof(name));
        var location = DatasetLocator.Locate(spec.Name, dataPath, allowDownload);
        if (spec.Name == KnownDatasets.Cifar10.Name)
        {
            var cifar = Cifar10File.ReadSplit(location.Directory, train);
            return new InMemoryDataset(cifar.Images, cifar.Labels, 3, 32, 32, Cifar10File.ClassNames);
        }
        var (images, count, rows, cols, labels) = MnistFiles.LoadIdxPair(location.Directory, train);
        var classes = spec.Name == KnownDatasets.FashionMnist.Name ? FashionMnistClasses : MnistClasses;
        return new InMemoryDataset(images, labels, 1, rows, cols, classes);
    }
}
