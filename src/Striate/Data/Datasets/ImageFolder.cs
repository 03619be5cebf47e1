namespace Striate.Data;

/// <summary>
/// A folder of images with one subfolder per class, like torchvision.datasets.ImageFolder: class names are the
/// subfolder names sorted ordinally, class i is the i-th name, and samples are listed class by class, walking each
/// class folder recursively (folders and files in ordinal order). Files whose extension (any case) belongs to a
/// registered <see cref="ImageDecoders"/> format are images (.png, .pgm, .ppm; with Striate.Imaging also .jpg, .jpeg,
/// .bmp, .gif); other files are ignored.
/// </summary>
public sealed class ImageFolder
{
    /// <summary>The file extensions treated as images (compared case-insensitively): those of the registered decoders.</summary>
    public static IReadOnlyList<string> Extensions => ImageDecoders.Extensions;

    public string Root { get; }

    /// <summary>Class names (subfolder names) in ordinal order; a sample's class index points into this list.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Every image path with its class index, sorted by class, then folder, then file name (ordinal).</summary>
    public IReadOnlyList<(string Path, int ClassIndex)> Samples { get; }

    public int Count => Samples.Count;

    /// <summary>
    /// Scans <paramref name="root"/>. Throws <see cref="DirectoryNotFoundException"/> when it is missing and
    /// <see cref="InvalidDataException"/> when it has no class folders or a class folder holds no image (naming it,
    /// as torchvision does rather than silently shifting class indices).
    /// </summary>
    public ImageFolder(string root)
    {
        Root = Path.GetFullPath(root);
        if (!Directory.Exists(Root))
            throw new DirectoryNotFoundException($"ImageFolder: the root folder '{Root}' does not exist.");
        var classes = Directory.GetDirectories(Root).Select(Path.GetFileName).Select(n => n!).ToList();
        classes.Sort(StringComparer.Ordinal);
        if (classes.Count == 0)
            throw new InvalidDataException($"ImageFolder: '{Root}' has no class subfolders; expected one folder per class, each holding images ({string.Join(", ", Extensions)}).");
        var samples = new List<(string, int)>();
        for (int c = 0; c < classes.Count; c++)
        {
            int before = samples.Count;
            foreach (var file in ImagesUnder(Path.Combine(Root, classes[c])))
                samples.Add((file, c));
            if (samples.Count == before)
                throw new InvalidDataException($"ImageFolder: class folder '{Path.Combine(Root, classes[c])}' holds no images ({string.Join(", ", Extensions)}); remove it or add images.");
        }
        ClassNames = classes;
        Samples = samples;
    }

    private static IEnumerable<string> ImagesUnder(string folder)
    {
        var files = Directory.GetFiles(folder).Where(IsImage).ToList();
        files.Sort(StringComparer.Ordinal);
        foreach (var f in files) yield return f;
        var subfolders = Directory.GetDirectories(folder).ToList();
        subfolders.Sort(StringComparer.Ordinal);
        foreach (var sub in subfolders)
            foreach (var f in ImagesUnder(sub))
                yield return f;
    }

    private static bool IsImage(string path) => ImageDecoders.HasImageExtension(path);

    /// <summary>Decodes sample <paramref name="index"/>. Shapes: Pixels [H, W, C].</summary>
    public DecodedImage Load(int index)
    {
        if ((uint)index >= (uint)Samples.Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"ImageFolder: index {index} is outside 0..{Samples.Count - 1}.");
        return LoadImage(Samples[index].Path);
    }

    /// <summary>Decodes an image file through <see cref="ImageDecoders"/> (the format is chosen by the file's first bytes).</summary>
    public static DecodedImage LoadImage(string path) => ImageDecoders.Load(path);
}
