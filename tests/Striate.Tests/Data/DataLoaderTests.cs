using Striate.Data;
using Striate.Data.Transforms;

namespace Striate.Tests.Data;

public sealed class DataLoaderTests
{
    /// <summary>Ten 1×2×2 images whose pixels all equal index/255 and whose label is index % 3.</summary>
    private static InMemoryDataset Numbers(int count = 10)
    {
        var images = new byte[count * 4];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            images.AsSpan(i * 4, 4).Fill((byte)i);
            labels[i] = (byte)(i % 3);
        }
        return new InMemoryDataset(images, labels, 1, 2, 2, ["a", "b", "c"]);
    }

    private static List<(int[] Ids, int[] Labels, int[] Shape)> Collect(DataLoader loader, int epoch) =>
        loader.Epoch(epoch).Select(b => (
            Enumerable.Range(0, b.Count).Select(i => (int)Math.Round(b.Images[i, 0, 0, 0] * 255)).ToArray(),
            b.LabelArray(),
            b.Images.ShapeArray)).ToList();

    [Fact]
    public void BatchesCoverTheDatasetInOrderWithASmallerLastBatch()
    {
        var batches = Collect(new DataLoader(Numbers(), 4), 0);
        Assert.Equal(3, batches.Count);
        Assert.Equal([0, 1, 2, 3], batches[0].Ids);
        Assert.Equal([8, 9], batches[2].Ids);
        Assert.Equal([2, 1, 2, 2], batches[2].Shape);
        Assert.Equal([2, 0], batches[2].Labels);
    }

    [Fact]
    public void DropLastOmitsTheIncompleteBatch()
    {
        var loader = new DataLoader(Numbers(), 4, dropLast: true);
        Assert.Equal(2, loader.BatchCount);
        Assert.Equal(8, loader.SampleCount);
        Assert.All(Collect(loader, 0), b => Assert.Equal(4, b.Ids.Length));
    }

    [Fact]
    public void ShuffleIsASeededPermutationThatChangesWithTheEpoch()
    {
        var a = new DataLoader(Numbers(), 3, shuffle: true, seed: 7);
        var b = new DataLoader(Numbers(), 3, shuffle: true, seed: 7);
        var epoch0 = Collect(a, 0).SelectMany(x => x.Ids).ToArray();
        Assert.Equal(epoch0, Collect(b, 0).SelectMany(x => x.Ids).ToArray());
        Assert.Equal(Enumerable.Range(0, 10), epoch0.Order());
        Assert.NotEqual(Enumerable.Range(0, 10), epoch0);
        Assert.NotEqual(epoch0, Collect(a, 1).SelectMany(x => x.Ids).ToArray());
        Assert.NotEqual(epoch0, Collect(new DataLoader(Numbers(), 3, shuffle: true, seed: 8), 0).SelectMany(x => x.Ids).ToArray());
    }

    [Fact]
    public void BackgroundPreparationGivesTheSameBatchesAsTheCallerThread()
    {
        var transform = new Compose(new RandomHorizontalFlip(), new ColorJitter(0.5, 0.5));
        var threaded = new DataLoader(Numbers(50), 4, shuffle: true, transform: transform, seed: 3, workers: 2, prefetch: 3);
        var inline = new DataLoader(Numbers(50), 4, shuffle: true, transform: transform, seed: 3, workers: 0);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var x = threaded.Epoch(epoch).Select(b => b.Images.ToArray()).ToList();
            var y = inline.Epoch(epoch).Select(b => b.Images.ToArray()).ToList();
            Assert.Equal(y.Count, x.Count);
            for (int i = 0; i < x.Count; i++) Assert.Equal(y[i], x[i]);
        }
    }

    [Fact]
    public void StoppingAnEpochEarlyReleasesTheWorkersAndTheNextEpochStillWorks()
    {
        var loader = new DataLoader(Numbers(40), 4, workers: 2);
        foreach (var _ in loader.Epoch(0).Take(2)) { }
        Assert.Equal(10, loader.Epoch(1).Count());
    }

    [Fact]
    public void AFailingSampleSurfacesAsAnErrorNamingTheBatch()
    {
        var loader = new DataLoader(new Failing(), 2, workers: 1);
        var e = Assert.Throws<InvalidDataException>(() => loader.Epoch(0).ToList());
        Assert.Contains("batch 1", e.Message);
        Assert.Contains("sample 3 is unreadable", e.Message);
    }

    private sealed class Failing : IDataset
    {
        public int Count => 4;
        public IReadOnlyList<string> ClassNames => ["x"];
        public (int Channels, int Height, int Width)? SampleShape => (1, 1, 1);
        public int Label(int index) => 0;
        public void Load(int index, ImageSample destination)
        {
            if (index == 3) throw new InvalidDataException("sample 3 is unreadable");
            destination.Reshape(1, 1, 1)[0] = index;
        }
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Assert.Contains("batchSize", Assert.Throws<ArgumentException>(() => new DataLoader(Numbers(), 0)).Message);
        Assert.Contains("prefetch", Assert.Throws<ArgumentException>(() => new DataLoader(Numbers(), 2, prefetch: 0)).Message);
    }

    [Fact]
    public void RealMnistLoadsScaledToUnitRange()
    {
        var train = Datasets.Open("mnist", train: true, allowDownload: false);
        Assert.Equal(60_000, train.Count);
        Assert.Equal(5, train.Label(0));
        var sample = new ImageSample();
        train.Load(0, sample);
        Assert.Equal((1, 28, 28), (sample.Channels, sample.Height, sample.Width));
        Assert.Equal(1f, sample.Pixels.ToArray().Max());
        Assert.Equal(0f, sample.Pixels.ToArray().Min());
    }

    [Fact]
    public void UnknownDatasetNamesTheKnownOnes() =>
        Assert.Contains("mnist, fashion-mnist, cifar10, folder:PATH",
            Assert.Throws<ArgumentException>(() => Datasets.Open("imagenet", true, allowDownload: false)).Message);
}
