namespace Striate.Data;

/// <summary>
/// File names of the MNIST family (MNIST, Fashion-MNIST: same names, same IDX layout) and a loader for an
/// image/label pair.
/// </summary>
public static class MnistFiles
{
    public const string TrainImages = "train-images-idx3-ubyte.gz";
    public const string TrainLabels = "train-labels-idx1-ubyte.gz";
    public const string TestImages = "t10k-images-idx3-ubyte.gz";
    public const string TestLabels = "t10k-labels-idx1-ubyte.gz";

    public static readonly IReadOnlyList<string> All = [TrainImages, TrainLabels, TestImages, TestLabels];

    /// <summary>
    /// The path of <paramref name="fileName"/> in <paramref name="directory"/>, also accepting the uncompressed
    /// name (without ".gz"); null when neither exists.
    /// </summary>
    public static string? Resolve(string directory, string fileName)
    {
        string path = Path.Combine(directory, fileName);
        if (File.Exists(path)) return path;
        if (fileName.EndsWith(".gz", StringComparison.Ordinal))
        {
            string raw = path[..^3];
            if (File.Exists(raw)) return raw;
        }
        return null;
    }

    /// <summary>
    /// Reads the training or test images and labels from <paramref name="directory"/> (gzip or raw files).
    /// Checks images are [N, rows, cols], labels [N], and that the counts agree (the error names both files).
    /// Shapes: images [count, rows, cols] bytes, labels [count].
    /// </summary>
    public static (byte[] images, int count, int rows, int cols, byte[] labels) LoadIdxPair(string directory, bool train)
    {
        string imageName = train ? TrainImages : TestImages, labelName = train ? TrainLabels : TestLabels;
        string imagePath = Resolve(directory, imageName)
            ?? throw new FileNotFoundException($"MNIST-style images not found: neither '{Path.Combine(directory, imageName)}' nor its uncompressed form exists.", Path.Combine(directory, imageName));
        string labelPath = Resolve(directory, labelName)
            ?? throw new FileNotFoundException($"MNIST-style labels not found: neither '{Path.Combine(directory, labelName)}' nor its uncompressed form exists.", Path.Combine(directory, labelName));
        var images = IdxFile.Read(imagePath);
        var labels = IdxFile.Read(labelPath);
        if (images.Dimensions.Length != 3)
            throw new InvalidDataException($"'{imagePath}' has dimensions [{string.Join(", ", images.Dimensions)}]; images must be [N, rows, cols].");
        if (labels.Dimensions.Length != 1)
            throw new InvalidDataException($"'{labelPath}' has dimensions [{string.Join(", ", labels.Dimensions)}]; labels must be [N].");
        if (images.Dimensions[0] != labels.Dimensions[0])
            throw new InvalidDataException($"Image and label counts disagree: '{imagePath}' holds {images.Dimensions[0]} images, '{labelPath}' holds {labels.Dimensions[0]} labels.");
        return (images.Data, images.Dimensions[0], images.Dimensions[1], images.Dimensions[2], labels.Data);
    }
}
