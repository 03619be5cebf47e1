using Striate.Data;
using Striate.Data.Transforms;

namespace Striate.Tests.Data;

/// <summary>Shards of a seeded per-epoch permutation, as torch's DistributedSampler, and the DataLoader serving them.</summary>
public sealed class DistributedSamplerTests
{
    [Theory]
    [InlineData(10, 2)]
    [InlineData(10, 3)]
    [InlineData(7, 4)]
    [InlineData(2, 5)]
    public void ShardsAreEquallyLongAndTogetherCoverTheDatasetPaddedFromTheStart(int size, int replicas)
    {
        var shards = Enumerable.Range(0, replicas).Select(r => new DistributedSampler(size, replicas, r, seed: 7).Indices(3)).ToArray();
        int perRank = (size + replicas - 1) / replicas;
        Assert.All(shards, s => Assert.Equal(perRank, s.Length));
        // Interleave the shards back: the epoch's permutation, followed by its own beginning as padding.
        var global = Enumerable.Range(0, perRank * replicas).Select(q => shards[q % replicas][q / replicas]).ToArray();
        var permutation = global.Take(size).ToArray();
        Assert.Equal(Enumerable.Range(0, size), permutation.Order());
        for (int q = size; q < global.Length; q++) Assert.Equal(permutation[(q - size) % size], global[q]);
    }

    [Fact]
    public void ThePermutationIsTheSingleProcessLoadersForTheSameSeedAndEpoch()
    {
        var single = new DataLoader(Numbers(12), 4, shuffle: true, seed: 11);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var expected = single.Order(epoch);
            var shards = Enumerable.Range(0, 3).Select(r => new DistributedSampler(12, 3, r, seed: 11).Indices(epoch)).ToArray();
            Assert.Equal(expected, Enumerable.Range(0, 12).Select(q => shards[q % 3][q / 3]));
        }
        Assert.NotEqual(single.Order(0), single.Order(1));
    }

    [Fact]
    public void DropLastCutsTheTailInsteadOfPadding()
    {
        var shards = Enumerable.Range(0, 3).Select(r => new DistributedSampler(10, 3, r, shuffle: false, dropLast: true).Indices(0)).ToArray();
        Assert.Equal([0, 3, 6], shards[0]);
        Assert.Equal([1, 4, 7], shards[1]);
        Assert.Equal([2, 5, 8], shards[2]);
    }

    [Fact]
    public void EvaluationShardsCoverEverySampleExactlyOnceInOrder()
    {
        var shards = Enumerable.Range(0, 3).Select(r => DistributedSampler.ForEvaluation(10, 3, r).Indices(5)).ToArray();
        Assert.Equal([0, 3, 6, 9], shards[0]);
        Assert.Equal([1, 4, 7], shards[1]);
        Assert.Equal([2, 5, 8], shards[2]);
        Assert.Equal(4, DistributedSampler.ForEvaluation(10, 3, 0).Count);
        Assert.Equal(3, DistributedSampler.ForEvaluation(10, 3, 2).Count);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Assert.Contains("rank must be in [0, 1]", Assert.Throws<ArgumentException>(() => new DistributedSampler(10, 2, 2)).Message);
        Assert.Contains("numReplicas must be positive", Assert.Throws<ArgumentException>(() => new DistributedSampler(10, 0, 0)).Message);
        Assert.Contains("leaves no sample", Assert.Throws<ArgumentException>(() => new DistributedSampler(1, 2, 0, dropLast: true)).Message);
        var sampler = new DistributedSampler(10, 2, 0);
        Assert.Contains("pass shuffle: false", Assert.Throws<ArgumentException>(() => new DataLoader(Numbers(10), 2, shuffle: true, sampler: sampler)).Message);
    }

    [Fact]
    public void StepKOfAllRanksTogetherIsStepKOfOneProcessWithTheWholeBatch()
    {
        // Two ranks at batch 2 against one process at batch 4: the same samples, with the same augmentation.
        var transform = new Compose(new RandomHorizontalFlip(), new ColorJitter(brightness: 0.5f));
        var data = Numbers(12);
        var single = Batches(new DataLoader(data, 4, shuffle: true, transform: transform, seed: 3, workers: 0), 1);
        var ranks = Enumerable.Range(0, 2)
            .Select(r => Batches(new DataLoader(data, 2, transform: transform, seed: 3, sampler: new DistributedSampler(12, 2, r, seed: 3)), 1))
            .ToArray();
        Assert.Equal(single.Count, ranks[0].Count);
        Assert.Equal(single.Count, ranks[1].Count);
        for (int k = 0; k < single.Count; k++)
        {
            var together = ranks[0][k].Concat(ranks[1][k]).OrderBy(s => s.Label).ThenBy(s => s.Pixels[0]).ToList();
            var expected = single[k].OrderBy(s => s.Label).ThenBy(s => s.Pixels[0]).ToList();
            Assert.Equal(expected.Count, together.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Label, together[i].Label);
                Assert.Equal(expected[i].Pixels, together[i].Pixels);
            }
        }
    }

    [Fact]
    public void EveryRankTakesTheSameNumberOfSteps()
    {
        var data = Numbers(11);
        var counts = Enumerable.Range(0, 3).Select(r => new DataLoader(data, 2, sampler: new DistributedSampler(11, 3, r)).Epoch(0).Count()).ToArray();
        Assert.All(counts, c => Assert.Equal(2, c));
    }

    private static List<List<(int Label, float[] Pixels)>> Batches(DataLoader loader, int epoch) =>
        loader.Epoch(epoch).Select(b => Enumerable.Range(0, b.Count)
            .Select(i => (b.Labels[i], b.Images.ReadOnlySpan.Slice(i * 4, 4).ToArray())).ToList()).ToList();

    /// <summary>1×2×2 images whose pixels grow with the index and whose label is the index.</summary>
    private static InMemoryDataset Numbers(int count)
    {
        var images = new byte[count * 4];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < 4; j++) images[i * 4 + j] = (byte)(i * 10 + j);
            labels[i] = (byte)i;
        }
        return new InMemoryDataset(images, labels, 1, 2, 2, Enumerable.Range(0, count).Select(i => $"c{i}").ToArray());
    }
}
