namespace Striate.Models;

/// <summary>
/// The 1,000 ImageNet-1k class names in label order, as torchvision publishes them with its pretrained weights
/// (<c>ResNet18_Weights.IMAGENET1K_V1.meta["categories"]</c>, the same for every torchvision classifier): index 281 is
/// "tabby". Read from <c>imagenet_classes.txt</c>, embedded in the assembly and written by <c>imagenet_classes.py</c>
/// beside it.
/// </summary>
public static class ImageNetClasses
{
    private static readonly Lazy<IReadOnlyList<string>> _names = new(Load);

    /// <summary>The names; <c>Names[i]</c> is class i of a model trained on ImageNet-1k.</summary>
    public static IReadOnlyList<string> Names => _names.Value;

    /// <summary>1000.</summary>
    public const int Count = 1000;

    private static IReadOnlyList<string> Load()
    {
        using var stream = typeof(ImageNetClasses).Assembly.GetManifestResourceStream("Striate.Models.imagenet_classes.txt")
            ?? throw new InvalidOperationException("ImageNetClasses: the embedded imagenet_classes.txt is missing from the Striate assembly.");
        using var reader = new StreamReader(stream);
        var names = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (names.Length != Count) throw new InvalidOperationException($"ImageNetClasses: expected {Count} names, the embedded list has {names.Length}.");
        return names;
    }
}
