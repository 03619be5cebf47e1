namespace Striate.Data;

/// <summary>
/// A labelled image dataset with random access. Implementations must allow <see cref="Load"/> from several threads
/// at once (the <see cref="DataLoader"/> prepares batches in parallel).
/// </summary>
public interface IDataset
{
    /// <summary>The number of samples.</summary>
    int Count { get; }

    /// <summary>Class names; their count is the number of classes.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label (class index) of sample <paramref name="index"/>.</summary>
    int Label(int index);

    /// <summary>Writes sample <paramref name="index"/> into <paramref name="destination"/> as CHW floats in [0, 1].</summary>
    void Load(int index, ImageSample destination);

    /// <summary>The size every sample has, or null when sizes vary (image folders: add a Resize transform).</summary>
    (int Channels, int Height, int Width)? SampleShape { get; }
}

/// <summary>The first <c>count</c> samples of a dataset (for <c>--limit-train</c> and quick runs).</summary>
public sealed class Subset : IDataset
{
    private readonly IDataset _source;
    private readonly int[]? _indices;

    /// <summary>The first <paramref name="count"/> samples of <paramref name="source"/>.</summary>
    public Subset(IDataset source, int count)
    {
        if (count <= 0 || count > source.Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Subset: count must be in [1, {source.Count}] for a dataset of {source.Count} samples.");
        (_source, Count) = (source, count);
    }

    /// <summary>The samples at <paramref name="indices"/>.</summary>
    public Subset(IDataset source, int[] indices)
    {
        foreach (int i in indices)
            if ((uint)i >= (uint)source.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"Subset: index out of range for a dataset of {source.Count} samples.");
        (_source, _indices, Count) = (source, indices, indices.Length);
    }

    public int Count { get; }
    /// <summary>The dataset the samples are taken from.</summary>
    public IDataset Source => _source;
    public IReadOnlyList<string> ClassNames => _source.ClassNames;
    public (int Channels, int Height, int Width)? SampleShape => _source.SampleShape;
    public int Label(int index) => _source.Label(Map(index));
    public void Load(int index, ImageSample destination) => _source.Load(Map(index), destination);

    private int Map(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"Subset: index out of range [0, {Count}).");
        return _indices?[index] ?? index;
    }
}
