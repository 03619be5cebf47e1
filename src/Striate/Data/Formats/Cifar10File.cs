namespace Striate.Data;

/// <summary>
/// One CIFAR-10 binary batch file (data_batch_1.bin … test_batch.bin): records of 1 label byte followed by
/// 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each a 32×32 row-major plane).
/// Shapes: <see cref="Images"/> [N, 3, 32, 32] (CHW, as stored), <see cref="Labels"/> [N].
/// </summary>
public sealed class Cifar10File
{
    public const int ImageSize = 32;
    public const int PixelsPerImage = 3 * 32 * 32;
    public const int RecordSize = 1 + PixelsPerImage;
    public const int ClassCount = 10;

    /// <summary>The ten class names in label order, as in batches.meta.txt.</summary>
    public static readonly IReadOnlyList<string> ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Pixels, [N, 3, 32, 32] bytes.</summary>
    public byte[] Images { get; }

    /// <summary>Labels 0–9, [N].</summary>
    public byte[] Labels { get; }

    public Cifar10File(byte[] images, byte[] labels)
    {
        if (images.Length != (long)labels.Length * PixelsPerImage)
            throw new ArgumentException($"Cifar10File: {labels.Length} labels need {(long)labels.Length * PixelsPerImage} image bytes, got {images.Length}.");
        Images = images;
        Labels = labels;
        Count = labels.Length;
    }

    /// <summary>
    /// Reads one batch file. Throws <see cref="InvalidDataException"/> naming the file when its length is not a
    /// multiple of 3073 or a label is not below 10.
    /// </summary>
    public static Cifar10File Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long length = file.Length;
        if (length == 0 || length % RecordSize != 0)
            throw new InvalidDataException(
                $"CIFAR-10 file '{path}': length {length} bytes is not a positive multiple of the {RecordSize}-byte record " +
                $"(1 label + {PixelsPerImage} pixels); {length / RecordSize} whole records and {length % RecordSize} stray bytes.");
        if (length > int.MaxValue)
            throw new InvalidDataException($"CIFAR-10 file '{path}': {length} bytes is larger than one batch file can be.");
        int count = (int)(length / RecordSize);
        var images = GC.AllocateUninitializedArray<byte>(count * PixelsPerImage);
        var labels = new byte[count];
        var record = new byte[RecordSize];
        for (int i = 0; i < count; i++)
        {
            file.ReadExactly(record);
            byte label = record[0];
            if (label >= ClassCount)
                throw new InvalidDataException($"CIFAR-10 file '{path}': record {i} (byte offset {(long)i * RecordSize}) has label {label}; labels must be 0–9.");
            labels[i] = label;
            record.AsSpan(1).CopyTo(images.AsSpan(i * PixelsPerImage, PixelsPerImage));
        }
        return new Cifar10File(images, labels);
    }

    /// <summary>
    /// Reads and concatenates the training batches (data_batch_1..5.bin) or test_batch.bin from a
    /// cifar-10-batches-bin folder. Shapes: Images [N, 3, 32, 32], Labels [N] (N = 50000 or 10000).
    /// </summary>
    public static Cifar10File ReadSplit(string directory, bool train)
    {
        string[] names = train ? TrainFileNames : [TestFileName];
        var parts = names.Select(n => Read(Path.Combine(directory, n))).ToArray();
        if (parts.Length == 1) return parts[0];
        var images = new byte[parts.Sum(p => (long)p.Images.Length)];
        var labels = new byte[parts.Sum(p => p.Count)];
        long io = 0; int lo = 0;
        foreach (var p in parts)
        {
            p.Images.CopyTo(images, io); io += p.Images.Length;
            p.Labels.CopyTo(labels, lo); lo += p.Count;
        }
        return new Cifar10File(images, labels);
    }

    /// <summary>data_batch_1.bin … data_batch_5.bin.</summary>
    public static readonly string[] TrainFileNames = [.. Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin")];

    public const string TestFileName = "test_batch.bin";
}
