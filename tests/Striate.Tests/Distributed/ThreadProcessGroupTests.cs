using Striate.Distributed;
using Striate.DistributedWorker;

namespace Striate.Tests.Distributed;

/// <summary>The in-process backend: collectives against a plain reference, and failures that name the rank at fault.</summary>
public sealed class ThreadProcessGroupTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CollectivesMatchAPlainReferenceOnSizesNotDivisibleByTheWorldSize(int worldSize)
    {
        var checks = DistributedTestRanks.Run(worldSize, g => Scenarios.CheckCollectives(g, seed: 4));
        Assert.All(checks, c => Assert.Equal(90, c));
    }

    [Fact]
    public void ReductionsGiveEveryRankTheSameBits()
    {
        var results = DistributedTestRanks.Run(3, g =>
        {
            var values = Enumerable.Range(0, 1001).Select(i => MathF.Sin(i * (g.Rank + 1)) * 1e3f).ToArray();
            g.AllReduce(values, ReduceOp.Average);
            return values;
        });
        Assert.Equal(results[0], results[1]);
        Assert.Equal(results[0], results[2]);
    }

    [Fact]
    public void ARankThatNeverArrivesMakesTheOthersTimeOutNamingIt()
    {
        var groups = ThreadProcessGroup.Create(3, TimeSpan.FromMilliseconds(300));
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            try { groups[r].AllReduce(new float[4]); }
            catch (Exception e) { errors[r] = e; }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(30)));
        Assert.All(errors, e => Assert.IsType<TimeoutException>(e));
        Assert.Contains("rank 2 did not reach AllReduceFloat(4 elements, Sum)", errors[0]!.Message);
        // The group stays broken, so a late rank fails at once instead of waiting for partners that gave up.
        Assert.Contains("rank 2 did not reach", Assert.Throws<TimeoutException>(() => groups[2].Barrier()).Message);
    }

    [Fact]
    public void RanksCallingDifferentCollectivesAreToldSo()
    {
        var e = Assert.Throws<AggregateException>(() => DistributedTestRanks.Run(2, g =>
        {
            if (g.Rank == 0) g.AllReduce(new float[3]);
            else g.Broadcast(new float[3]);
            return 0;
        }));
        Assert.Contains("called different collectives", e.Message);
    }

    [Fact]
    public void ADuplicateRunsItsCollectivesIndependentlyOfTheOriginal()
    {
        // Each rank runs one reduction on the original and one on the duplicate from two threads at once.
        var sums = DistributedTestRanks.Run(2, g =>
        {
            using var side = g.Duplicate();
            var a = new float[] { g.Rank + 1 };
            var b = new float[] { 10 * (g.Rank + 1) };
            var other = new Thread(() => side.AllReduce(b));
            other.Start();
            g.AllReduce(a);
            other.Join();
            return (a[0], b[0]);
        });
        Assert.All(sums, s => Assert.Equal((3f, 30f), s));
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var g = ThreadProcessGroup.Create(2)[0];
        Assert.Contains("root must be a rank in [0, 1]", Assert.Throws<ArgumentOutOfRangeException>(() => g.Broadcast(new float[1], 2)).Message);
        Assert.Contains("expected 2 processes × 3 = 6", Assert.Throws<ArgumentException>(() => g.AllGather(new float[3], new float[5])).Message);
        Assert.Contains("worldSize must be positive", Assert.Throws<ArgumentException>(() => ThreadProcessGroup.Create(0)).Message);
    }
}
