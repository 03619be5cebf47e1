namespace Striate.Data;

/// <summary>
/// What Striate knows about one downloadable dataset: the files that make it up, where to fetch them and the
/// SHA-256 values that verify them.
/// </summary>
public sealed class DatasetSpec
{
    /// <summary>Short name used on the command line ("mnist", "fashion-mnist", "cifar10").</summary>
    public required string Name { get; init; }

    public required string Title { get; init; }

    /// <summary>Files that must be present in the dataset folder for it to count as found.</summary>
    public required IReadOnlyList<string> RequiredFiles { get; init; }

    /// <summary>Files fetched from the mirrors (the required files themselves, or one archive that holds them).</summary>
    public required IReadOnlyList<string> DownloadFiles { get; init; }

    /// <summary>When set, <see cref="DownloadFiles"/> is one archive whose extraction creates this subfolder holding the required files.</summary>
    public string? ArchiveSubfolder { get; init; }

    /// <summary>Base addresses tried in order; a file's address is base + file name.</summary>
    public required IReadOnlyList<string> Mirrors { get; init; }

    /// <summary>Canonical SHA-256 (lower-case hex) of each downloaded file as published.</summary>
    public required IReadOnlyDictionary<string, string> FileSha256 { get; init; }

    /// <summary>
    /// SHA-256 of the decompressed content of gzip files, where known. A copy recompressed with other settings has
    /// a different file hash but the same content hash, and still counts as verified.
    /// </summary>
    public IReadOnlyDictionary<string, string> ContentSha256 { get; init; } = new Dictionary<string, string>();

    public override string ToString() => Name;
}

/// <summary>The datasets <see cref="DatasetLocator"/> knows.</summary>
public static class KnownDatasets
{
    // MNIST: file hashes of the canonical .gz files as served by the mirrors; content hashes of the raw IDX
    // files, computed from data/mnist (raw MD5s equal the canonical ones; see data/README.md).
    public static readonly DatasetSpec Mnist = new()
    {
        Name = "mnist",
        Title = "MNIST handwritten digits (LeCun, Cortes, Burges; CC BY-SA 3.0)",
        RequiredFiles = MnistFiles.All,
        DownloadFiles = MnistFiles.All,
        Mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        FileSha256 = new Dictionary<string, string>
        {
            [MnistFiles.TrainImages] = "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            [MnistFiles.TrainLabels] = "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            [MnistFiles.TestImages] = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            [MnistFiles.TestLabels] = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        },
        ContentSha256 = new Dictionary<string, string>
        {
            [MnistFiles.TrainImages] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            [MnistFiles.TrainLabels] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            [MnistFiles.TestImages] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            [MnistFiles.TestLabels] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
    };

    // Fashion-MNIST: SHA-256 of the .gz files on Zalando's mirror (widely pinned, e.g. by torchvision users and
    // TFDS). No content hashes: our shipped copy was rebuilt in another order and so is "present, unverified".
    public static readonly DatasetSpec FashionMnist = new()
    {
        Name = "fashion-mnist",
        Title = "Fashion-MNIST (Zalando Research; MIT)",
        RequiredFiles = MnistFiles.All,
        DownloadFiles = MnistFiles.All,
        Mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        FileSha256 = new Dictionary<string, string>
        {
            [MnistFiles.TrainImages] = "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            [MnistFiles.TrainLabels] = "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            [MnistFiles.TestImages] = "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            [MnistFiles.TestLabels] = "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        },
    };

    /// <summary>The CIFAR-10 binary archive (170,052,171 bytes; MD5 c32a1d4ab5d03f1284b67883e8d87530 as published).</summary>
    public const string CifarArchive = "cifar-10-binary.tar.gz";

    public static readonly DatasetSpec Cifar10 = new()
    {
        Name = "cifar10",
        Title = "CIFAR-10, binary version (Krizhevsky, 2009)",
        RequiredFiles = [.. Cifar10File.TrainFileNames, Cifar10File.TestFileName, "batches.meta.txt"],
        DownloadFiles = [CifarArchive],
        ArchiveSubfolder = "cifar-10-batches-bin",
        Mirrors = ["https://www.cs.toronto.edu/~kriz/"],
        FileSha256 = new Dictionary<string, string>
        {
            [CifarArchive] = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        },
    };

    public static readonly IReadOnlyList<DatasetSpec> All = [Mnist, FashionMnist, Cifar10];

    /// <summary>The spec named <paramref name="name"/> (case-insensitive; "fashion_mnist", "fashionmnist", "cifar-10" accepted), or null.</summary>
    public static DatasetSpec? Find(string name)
    {
        string key = name.Trim().ToLowerInvariant().Replace("_", "-");
        return key switch
        {
            "mnist" => Mnist,
            "fashion-mnist" or "fashionmnist" => FashionMnist,
            "cifar10" or "cifar-10" => Cifar10,
            _ => null,
        };
    }
}
