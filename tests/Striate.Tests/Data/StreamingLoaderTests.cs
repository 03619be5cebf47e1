using Striate.Benchmarks;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Imaging;

namespace Striate.Tests.Data;

/// <summary>Tests that measure the process's managed heap run alone, so other tests' allocations do not count.</summary>
[CollectionDefinition(nameof(HeapMeasuringCollection), DisableParallelization = true)]
public sealed class HeapMeasuringCollection;

/// <summary>
/// Folders of photos streamed from disk: decoded on worker threads into a bounded ring of batches, so memory stays
/// bounded whatever the folder's size, and batches are the same whatever the number of workers.
/// </summary>
[Collection(nameof(HeapMeasuringCollection))]
public sealed class StreamingLoaderTests(ITestOutputHelper output)
{
    static StreamingLoaderTests() => ImageSharpDecoder.Register();

    /// <summary>Live managed bytes the loader may add while streaming, whatever the folder holds.</summary>
    private const long BudgetBytes = 48L << 20;

    [Fact]
    public void MemoryStaysBoundedOnAFolderLargerThanTheBudget()
    {
        using var tmp = new TempFolder();
        const int count = 128, width = 500, height = 375;
        PhotoFolder.Create(tmp.Path, count, width, height, classes: 4, seed: 2);
        long decodedBytes = (long)count * width * height * 3;      // as 8-bit pixels
        long decodedFloats = decodedBytes * sizeof(float);         // as the CHW floats a sample holds
        Assert.True(decodedBytes > BudgetBytes, "the folder must not fit the budget even as bytes");

        var dataset = new ImageFolderDataset(new ImageFolder(tmp.Path));
        var transform = new Compose(new RandomResizedCrop(112), new RandomHorizontalFlip());
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        var loader = new DataLoader(dataset, batchSize: 16, shuffle: true, transform: transform, seed: 4, workers: 2, prefetch: 2);
        long peak = baseline;
        int seen = 0;
        foreach (var batch in loader.Epoch(0))
        {
            seen += batch.Count;
            peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true));
        }
        Assert.Equal(count, seen);
        output.WriteLine($"folder: {count} images, {decodedBytes / 1e6:F0} MB as bytes, {decodedFloats / 1e6:F0} MB as floats; " +
                         $"live managed heap grew by at most {(peak - baseline) / 1e6:F1} MB while streaming (budget {BudgetBytes / 1e6:F0} MB)");
        Assert.True(peak - baseline < BudgetBytes, $"live heap grew by {(peak - baseline) / 1e6:F1} MB, over the {BudgetBytes / 1e6:F0} MB budget");
    }

    [Fact]
    public void BatchesAreTheSameWhateverTheNumberOfWorkers()
    {
        using var tmp = new TempFolder();
        PhotoFolder.Create(tmp.Path, 20, 96, 72, classes: 3, seed: 3);
        var dataset = new ImageFolderDataset(new ImageFolder(tmp.Path));
        var transform = new Compose(new RandomResizedCrop(48), new RandomHorizontalFlip(), new ColorJitter(0.4, 0.4, 0.4));
        (float[] Images, int[] Labels)[] Epoch(int workers, int epoch)
        {
            var loader = new DataLoader(dataset, batchSize: 6, shuffle: true, transform: transform, seed: 11, workers: workers, prefetch: 3);
            return loader.Epoch(epoch).Select(b => (b.Images.Span.ToArray(), b.LabelArray())).ToArray();
        }
        var reference = Epoch(0, 1);
        foreach (int workers in new[] { 1, 2, 4 })
        {
            var other = Epoch(workers, 1);
            Assert.Equal(reference.Length, other.Length);
            for (int b = 0; b < reference.Length; b++)
            {
                Assert.Equal(reference[b].Labels, other[b].Labels);
                Assert.True(reference[b].Images.AsSpan().SequenceEqual(other[b].Images), $"batch {b} differs with {workers} workers");
            }
        }
        // Another epoch draws other crops and another order.
        Assert.False(reference[0].Images.AsSpan().SequenceEqual(Epoch(2, 2)[0].Images));
    }
}
