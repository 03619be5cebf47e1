namespace Striate.Data;

/// <summary>
/// Images held as 8-bit planar (CHW) bytes with byte labels — how IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary
/// files store them. 60,000 MNIST images take 47 MB this way instead of 188 MB as floats.
/// Shapes: each sample [Channels, Height, Width].
/// </summary>
public sealed class InMemoryDataset : IDataset
{
    private readonly byte[] _images;
    private readonly byte[] _labels;
    private readonly int _length;

    public InMemoryDataset(byte[] images, byte[] labels, int channels, int height, int width, IReadOnlyList<string> classNames)
    {
        _length = checked(channels * height * width);
        if (_length <= 0) throw new ArgumentException($"InMemoryDataset: sample shape {channels}×{height}×{width} must be positive.");
        if (images.Length != (long)labels.Length * _length)
            throw new ArgumentException($"InMemoryDataset: {images.Length} image bytes do not hold {labels.Length} images of {channels}×{height}×{width}.");
        foreach (byte label in labels)
            if (label >= classNames.Count)
                throw new ArgumentException($"InMemoryDataset: label {label} is out of range for {classNames.Count} classes.");
        (_images, _labels, SampleShape, ClassNames) = (images, labels, (channels, height, width), classNames);
    }

    public int Count => _labels.Length;
    public IReadOnlyList<string> ClassNames { get; }
    public (int Channels, int Height, int Width)? SampleShape { get; }
    public int Label(int index) => _labels[index];

    public void Load(int index, ImageSample destination)
    {
        var (c, h, w) = SampleShape!.Value;
        destination.SetFromPlanar(_images.AsSpan(index * _length, _length), c, h, w);
    }

    /// <summary>The raw bytes of sample <paramref name="index"/> (CHW).</summary>
    public ReadOnlySpan<byte> RawImage(int index) => _images.AsSpan(index * _length, _length);
}

/// <summary>
/// A folder of class subfolders of images, decoded on demand (as torchvision's ImageFolder), so memory does not grow
/// with the folder. An image that cannot be read (corrupt, truncated, over <see cref="ImageDecoders.MaxPixels"/>) is
/// skipped: a warning names it once, <see cref="Skipped"/> lists it, and the next readable image of the same class (in
/// folder order, wrapping around) takes its place, so labels stay right, batches keep their size and the substitute is
/// the same whichever worker thread loads it.
/// </summary>
public sealed class ImageFolderDataset : IDataset
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _skipped = new();
    private readonly int[] _classStart; // [classes + 1]: class c's samples are [_classStart[c], _classStart[c + 1])

    public ImageFolderDataset(ImageFolder folder, int? channels = null)
    {
        Channels = channels is null or 1 or 3 ? channels
            : throw new ArgumentException($"ImageFolderDataset: channels must be 1 or 3, got {channels}.", nameof(channels));
        Folder = folder;
        _classStart = new int[folder.ClassNames.Count + 1];
        foreach (var (_, c) in folder.Samples) _classStart[c + 1]++;
        for (int c = 0; c < folder.ClassNames.Count; c++) _classStart[c + 1] += _classStart[c];
    }

    /// <summary>Where warnings go when <see cref="Warning"/> is not set: standard error, as Python's warnings.</summary>
    public static Action<string> DefaultWarning { get; set; } = line => Console.Error.WriteLine(line);

    /// <summary>Receives one line per skipped image (null: <see cref="DefaultWarning"/>).</summary>
    public Action<string>? Warning { get; set; }

    /// <summary>The channel count every image is converted to: 1 (gray) or 3 (RGB); null keeps each image's own (alpha is dropped).</summary>
    public int? Channels { get; }

    public ImageFolder Folder { get; }
    public int Count => Folder.Count;
    public IReadOnlyList<string> ClassNames => Folder.ClassNames;

    /// <summary>Null: folder images may differ in size, so a Resize transform must give them one.</summary>
    public (int Channels, int Height, int Width)? SampleShape => null;

    /// <summary>The images found unreadable so far, in folder order, with the reason.</summary>
    public IReadOnlyList<(string Path, string Reason)> Skipped =>
        _skipped.OrderBy(p => p.Key).Select(p => (Folder.Samples[p.Key].Path, p.Value)).ToArray();

    public int Label(int index) => Folder.Samples[index].ClassIndex;

    public void Load(int index, ImageSample destination)
    {
        int label = Label(index);
        int start = _classStart[label], end = _classStart[label + 1];
        for (int i = index, tried = 0; tried < end - start; tried++, i = i + 1 < end ? i + 1 : start)
        {
            if (_skipped.ContainsKey(i)) continue;
            DecodedImage image;
            try
            {
                image = Folder.Load(i);
            }
            catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException or UnauthorizedAccessException)
            {
                if (_skipped.TryAdd(i, e.Message))
                    (Warning ?? DefaultWarning)($"warning: skipped an unreadable image of class '{ClassNames[label]}': {e.Message}");
                continue;
            }
            ImageConversion.ToSample(image, destination, Channels);
            return;
        }
        throw new InvalidDataException($"ImageFolderDataset: none of the {end - start} images of class '{ClassNames[label]}' in '{Folder.Root}' can be read (each was named in a warning).");
    }
}

/// <summary>Conversions between decoded 8-bit images and float samples.</summary>
public static class ImageConversion
{
    /// <summary>
    /// Writes <paramref name="image"/> into <paramref name="destination"/> as CHW floats in [0, 1] (torchvision's ToTensor),
    /// converting to <paramref name="channels"/> (1: ITU-R 601 luma; 3: gray replicated) and dropping alpha.
    /// </summary>
    public static void ToSample(DecodedImage image, ImageSample destination, int? channels = null)
    {
        int src = image.Channels;
        int colour = src == 4 ? 3 : src; // alpha carries no class information here
        int dst = channels ?? colour;
        var px = destination.Reshape(dst, image.Height, image.Width);
        int plane = image.Height * image.Width;
        var bytes = image.Pixels;
        for (int i = 0; i < plane; i++)
        {
            int o = i * src;
            if (dst == colour)
                for (int c = 0; c < dst; c++) px[c * plane + i] = bytes[o + c] * (1f / 255f);
            else if (dst == 1)
                px[i] = (0.299f * bytes[o] + 0.587f * bytes[o + 1] + 0.114f * bytes[o + 2]) * (1f / 255f);
            else
                for (int c = 0; c < 3; c++) px[c * plane + i] = bytes[o] * (1f / 255f);
        }
    }

    /// <summary>The sample as an 8-bit image (values clamped to [0, 1] then scaled), for saving as PNG.</summary>
    public static DecodedImage ToImage(ReadOnlySpan<float> chw, int channels, int height, int width)
    {
        var pixels = new byte[channels * height * width];
        int plane = height * width;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
                pixels[i * channels + c] = (byte)Math.Round(Math.Clamp(chw[c * plane + i], 0f, 1f) * 255f);
        return new DecodedImage(width, height, channels, pixels);
    }
}
