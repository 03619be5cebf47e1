namespace Striate.Data.Transforms;

/// <summary>
/// A per-sample transform applied in place to an <see cref="ImageSample"/> (CHW floats). Random transforms draw
/// from the generator passed to Apply, which the <see cref="DataLoader"/> seeds per sample so that results do not depend
/// on which thread prepared the sample.
/// </summary>
public interface ITransform
{
    /// <summary>Transforms <paramref name="sample"/> in place.</summary>
    void Apply(ImageSample sample, Generator random);

    /// <summary>The shape this transform produces from <paramref name="input"/> (for building batches and checking models).</summary>
    (int Channels, int Height, int Width) OutputShape((int Channels, int Height, int Width) input) => input;
}

/// <summary>Applies transforms in order, as torchvision.transforms.Compose.</summary>
public sealed class Compose(params ITransform[] transforms) : ITransform
{
    public IReadOnlyList<ITransform> Transforms { get; } = transforms;

    public void Apply(ImageSample sample, Generator random)
    {
        foreach (var t in Transforms) t.Apply(sample, random);
    }

    public (int Channels, int Height, int Width) OutputShape((int Channels, int Height, int Width) input)
    {
        foreach (var t in Transforms) input = t.OutputShape(input);
        return input;
    }

    public override string ToString() => $"Compose({string.Join(", ", Transforms)})";
}
