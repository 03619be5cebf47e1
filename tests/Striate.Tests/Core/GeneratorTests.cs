namespace Striate.Tests.Core;

public sealed class GeneratorTests
{
    [Fact]
    public void SavedStateContinuesTheSameSequence()
    {
        var g = new Generator(5);
        for (int i = 0; i < 11; i++) g.NextGaussian(); // leaves a spare Gaussian pending
        var state = g.GetState();
        var expected = Enumerable.Range(0, 20).Select(_ => g.NextGaussian()).ToArray();
        var restored = new Generator(99);
        restored.SetState(state);
        Assert.Equal(expected, Enumerable.Range(0, 20).Select(_ => restored.NextGaussian()).ToArray());
    }

    [Fact]
    public void NextIntIsUniformAndInRange()
    {
        var g = new Generator(3);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[g.NextInt(7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
    }

    [Fact]
    public void ShuffleIsAPermutation()
    {
        var items = Enumerable.Range(0, 100).ToArray();
        new Generator(1).Shuffle(items.AsSpan());
        Assert.NotEqual(Enumerable.Range(0, 100), items);
        Assert.Equal(Enumerable.Range(0, 100), items.Order());
    }

    [Fact]
    public void SetStateRejectsBadStates()
    {
        var g = new Generator();
        Assert.Throws<ArgumentException>(() => g.SetState([1, 2, 3]));
        Assert.Throws<ArgumentException>(() => g.SetState([0, 0, 0, 0, 0, 0]));
    }
}
