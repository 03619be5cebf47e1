namespace Striate.Tests.Core;

public sealed class TensorTests
{
    [Fact]
    public void CreationFillsShapeAndValues()
    {
        var z = Tensor.Zeros(2, 3);
        Assert.Equal([2, 3], z.ShapeArray);
        Assert.All(z.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(Tensor.Ones(4).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Tensor.Full(2.5f, 2, 2).ToArray(), v => Assert.Equal(2.5f, v));
        Assert.Equal([0f, 0.5f, 1f, 1.5f], Tensor.Arange(0, 2, 0.5f).ToArray());
        Assert.Equal(1, Tensor.Scalar(3).Numel);
        Assert.Equal(0, Tensor.Scalar(3).Rank);
        Assert.Equal(3f, Tensor.Scalar(3).Item());
    }

    [Fact]
    public void ArangeMatchesTorchLengthForFractionalSteps() =>
        Assert.Equal(4, Tensor.Arange(1, 2.1f, 0.3f).Numel); // torch.arange(1, 2.1, 0.3) has 4 elements

    [Fact]
    public void FromArrayRejectsAMismatchedShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f, 2f, 3f], 2, 2));
        Assert.Contains("[2, 2]", e.Message);
        Assert.Contains("3", e.Message);
    }

    [Fact]
    public void ReshapeIsAViewSharingStorage()
    {
        var t = Tensor.Arange(0, 12).Reshape(3, 4);
        var v = t.Reshape(2, -1);
        Assert.Equal([2, 6], v.ShapeArray);
        v[1, 0] = 100;
        Assert.Equal(100f, t[1, 2]);
    }

    [Fact]
    public void ReshapeRejectsIncompatibleShapesNamingBoth()
    {
        var t = Tensor.Zeros(3, 4);
        var e = Assert.Throws<ArgumentException>(() => t.Reshape(5, -1));
        Assert.Contains("[3, 4]", e.Message);
        Assert.Contains("[5, -1]", e.Message);
        Assert.Throws<ArgumentException>(() => t.Reshape(-1, -1));
    }

    [Fact]
    public void FlattenMergesTheChosenDimensions()
    {
        var t = Tensor.Zeros(2, 3, 4, 5);
        Assert.Equal([2, 60], t.Flatten(1).ShapeArray);
        Assert.Equal([120], t.Flatten().ShapeArray);
        Assert.Equal([2, 12, 5], t.Flatten(1, 2).ShapeArray);
    }

    [Fact]
    public void IndexerChecksRankAndRange()
    {
        var t = Tensor.Zeros(2, 3);
        Assert.Throws<ArgumentException>(() => t[1]);
        var e = Assert.Throws<IndexOutOfRangeException>(() => t[0, 3]);
        Assert.Contains("dimension 1 of size 3", e.Message);
        t[-1, -1] = 5;
        Assert.Equal(5f, t[1, 2]);
    }

    [Fact]
    public void ItemRequiresOneElement() =>
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item());

    [Fact]
    public void SeededRandomTensorsRepeat()
    {
        var a = Tensor.Randn([100], new Generator(42));
        var b = Tensor.Randn([100], new Generator(42));
        var c = Tensor.Randn([100], new Generator(43));
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }

    [Fact]
    public void RandnHasUnitVarianceAndRandIsInRange()
    {
        var n = Tensor.Randn([100_000], new Generator(1)).ToArray();
        double mean = n.Average(v => (double)v);
        double variance = n.Average(v => (v - mean) * (v - mean));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(variance, 0.98, 1.02);
        Assert.All(Tensor.Rand([10_000], new Generator(1), -2, 3).ToArray(), v => Assert.InRange(v, -2f, 3f));
    }

    [Fact]
    public void ScopeReturnsStorageToThePoolAndKeepSavesATensor()
    {
        float[] first;
        Tensor kept;
        using (TensorScope.Begin())
        {
            first = Tensor.Zeros(54321).Storage;
            kept = TensorScope.Keep(Tensor.Full(7f, 54322));
        }
        using (TensorScope.Begin())
        {
            // Same length comes back from the pool: a warmed-up training step allocates no new storage.
            Assert.Same(first, Tensor.Zeros(54321).Storage);
            Assert.All(Tensor.Zeros(54321).ToArray(), v => Assert.Equal(0f, v)); // a second rent is fresh (pool empty) and zeroed
            Assert.NotSame(kept.Storage, Tensor.Zeros(54322).Storage);
        }
        Assert.All(kept.ToArray(), v => Assert.Equal(7f, v));
    }

    [Fact]
    public void PooledZerosAreClearedEvenWhenRecycled()
    {
        using (TensorScope.Begin()) Tensor.Full(9f, 7771);
        using (TensorScope.Begin()) Assert.All(Tensor.Zeros(7771).ToArray(), v => Assert.Equal(0f, v));
    }
}

public sealed class TensorPoolTests
{
    [Fact]
    public void ZerosInAScopeAreZeroEvenWhenTheHeapHoldsGarbage()
    {
        // Leave large NaN-filled arrays for the GC to reclaim, so uninitialized memory is likely to hold NaN, then ask a
        // scope for zeroed tensors that the pool cannot serve from a bucket (lengths never used elsewhere).
        for (int round = 0; round < 20; round++)
        {
            for (int i = 0; i < 8; i++) Array.Fill(GC.AllocateUninitializedArray<float>(65_000 + round), float.NaN);
            GC.Collect();
            using var scope = TensorScope.Begin();
            var z = Tensor.Zeros(65_003 + round * 7);
            Assert.True(z.ReadOnlySpan.IndexOfAnyExcept(0f) < 0, $"round {round}: Tensor.Zeros returned non-zero values");
        }
    }
}
