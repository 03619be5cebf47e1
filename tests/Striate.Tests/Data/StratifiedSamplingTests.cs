using Striate.Data;

namespace Striate.Tests.Data;

/// <summary>Seeded stratified sampling and splitting: every class keeps its share, the seed fixes the choice.</summary>
public sealed class StratifiedSamplingTests
{
    /// <summary>A dataset listed class by class, as an image folder lists it: <paramref name="sizes"/>[c] samples of class c.</summary>
    private static InMemoryDataset Sorted(params int[] sizes)
    {
        var labels = sizes.SelectMany((n, c) => Enumerable.Repeat((byte)c, n)).ToArray();
        return new InMemoryDataset(new byte[labels.Length], labels, 1, 1, 1, sizes.Select((_, c) => $"c{c}").ToArray());
    }

    private static int[] PerClass(IDataset d, int[] indices) =>
        Enumerable.Range(0, d.ClassNames.Count).Select(c => indices.Count(i => d.Label(i) == c)).ToArray();

    [Fact]
    public void SampleTakesEachClassInProportionNotTheFirstN()
    {
        var d = Sorted(50, 30, 20);
        var chosen = StratifiedSampling.Sample(d, 10, seed: 3);
        Assert.Equal([5, 3, 2], PerClass(d, chosen));
        Assert.Equal(chosen.Distinct().Order(), chosen); // ascending, no repeats
        Assert.NotEqual(Enumerable.Range(0, 5), chosen.Take(5)); // random within the class, not its first files
    }

    [Fact]
    public void SampleGivesEverySmallClassOneWhenTheCountAllows()
    {
        var d = Sorted(97, 2, 1);
        Assert.Equal([8, 1, 1], PerClass(d, StratifiedSampling.Sample(d, 10, seed: 0)));
    }

    [Fact]
    public void TheSeedFixesTheChoice()
    {
        var d = Sorted(40, 40);
        Assert.Equal(StratifiedSampling.Sample(d, 8, 1), StratifiedSampling.Sample(d, 8, 1));
        Assert.NotEqual(StratifiedSampling.Sample(d, 8, 1), StratifiedSampling.Sample(d, 8, 2));
    }

    [Fact]
    public void SplitHoldsOutTheFractionOfEachClassAndNeverAClassesLastImage()
    {
        var d = Sorted(20, 10, 2, 1);
        var (kept, held) = StratifiedSampling.Split(d, 0.1, seed: 0);
        Assert.Equal([2, 1, 1, 0], PerClass(d, held));
        Assert.Equal([18, 9, 1, 1], PerClass(d, kept));
        Assert.Empty(kept.Intersect(held));
        Assert.Equal(d.Count, kept.Length + held.Length);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void SplitRefusesAFractionOutsideZeroToOne(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => StratifiedSampling.Split(Sorted(5, 5), fraction, 0));
}
