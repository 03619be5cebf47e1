using Striate.Distributed;
using Striate.DistributedWorker;
using Striate.Functional;
using Striate.Nn;

namespace Striate.Tests.Distributed;

/// <summary>
/// DistributedDataParallel with ranks as threads: the same weights as one process on the whole batch, buckets in
/// reverse parameter order, gradient accumulation, unused parameters, and failures that surface instead of hanging.
/// The same scenarios run under a real mpirun in <see cref="MpiRunTests"/>.
/// </summary>
public sealed class DistributedDataParallelTests(ITestOutputHelper output)
{
    private double TrainBothWays(TrainScenario distributed, TrainScenario single, int worldSize = 2)
    {
        var ranks = DistributedTestRanks.Run(worldSize, g => Scenarios.Train(g, distributed));
        var reference = Scenarios.Train(ThreadProcessGroup.Create(1)[0], single);
        // Every rank ends with the same weights (rank 0's broadcast, then identical steps).
        for (int r = 1; r < worldSize; r++) Assert.Equal(0, DistributedTestRanks.MaxDifference(ranks[0], ranks[r]));
        double difference = DistributedTestRanks.MaxDifference(ranks[0], reference);
        output.WriteLine($"{distributed} on {worldSize} ranks vs {single} on one: max |Δw| = {difference:E2} (largest |w| {DistributedTestRanks.MaxAbs(reference):F3})");
        return difference;
    }

    [Fact]
    public void LeNetOnTwoRanksAtBatch16EqualsOneProcessAtBatch32()
    {
        double difference = TrainBothWays(new("lenet", Steps: 8, BatchPerRank: 16), new("lenet", Steps: 8, BatchPerRank: 32));
        Assert.InRange(difference, 0, 1e-6); // measured 1.5e-8
    }

    [Fact]
    public void AResidualNetWithSyncBatchNormOnTwoRanksEqualsOneProcessAtTwiceTheBatch()
    {
        double difference = TrainBothWays(new("resnet", Steps: 6, BatchPerRank: 8, SyncBatchNorm: true), new("resnet", Steps: 6, BatchPerRank: 16));
        Assert.InRange(difference, 0, 1e-5); // measured 1.2e-7
    }

    [Fact]
    public void PlainBatchNormUsesEachRanksOwnStatisticsSoItDiffersFromOneBatch()
    {
        // The check above can fail: without SyncBatchNorm each rank normalizes with its half's statistics.
        double difference = TrainBothWays(new("resnet", Steps: 6, BatchPerRank: 8), new("resnet", Steps: 6, BatchPerRank: 16));
        Assert.True(difference > 1e-3, $"max |Δw| = {difference}");
    }

    [Fact]
    public void AccumulatingTwoMicroBatchesUnderNoSyncEqualsOneProcessAtFourTimesTheBatch()
    {
        double difference = TrainBothWays(new("lenet", Steps: 4, BatchPerRank: 8, Accumulation: 2), new("lenet", Steps: 4, BatchPerRank: 32));
        Assert.InRange(difference, 0, 1e-6); // measured 1.5e-8
    }

    [Fact]
    public void ReducingAfterBackwardGivesTheSameBitsAsOverlapping()
    {
        var overlapped = DistributedTestRanks.Run(2, g => Scenarios.Train(g, new("lenet", 4, 8)));
        var after = DistributedTestRanks.Run(2, g => Scenarios.Train(g, new("lenet", 4, 8, Overlap: false)));
        Assert.Equal(0, DistributedTestRanks.MaxDifference(overlapped[0], after[0]));
    }

    [Fact]
    public void ConstructionGivesEveryRankRank0sWeightsAndBuffers()
    {
        var states = DistributedTestRanks.Run(3, g =>
        {
            var model = Scenarios.BuildModel("resnet", new Generator(100 + (ulong)g.Rank));
            foreach (var (_, b) in model.NamedBuffers()) b.Fill(g.Rank);
            using var ddp = new DistributedDataParallel(model, g);
            return model.StateDict();
        });
        var rank0 = Scenarios.BuildModel("resnet", new Generator(100));
        foreach (var (_, b) in rank0.NamedBuffers()) b.Fill(0);
        Assert.All(states, s => Assert.Equal(0, DistributedTestRanks.MaxDifference(rank0.StateDict(), s)));
    }

    [Fact]
    public void BucketsHoldTheParametersInReverseOrderAndTheFirstIsSmall()
    {
        var buckets = DistributedTestRanks.Run(2, g =>
        {
            var model = Scenarios.BuildModel("lenet", new Generator(1));
            using var ddp = new DistributedDataParallel(model, g, bucketCapMB: 0.1, firstBucketCapMB: 0.01);
            return (ddp.Buckets.SelectMany(b => b.Names).ToArray(), ddp.Buckets.Select(b => b.Elements).ToArray(),
                model.NamedParameters().Select(p => p.Key).ToArray(), model.NamedParameters().ToDictionary(p => p.Key, p => p.Value.Numel));
        })[0];
        var (names, elements, parameters, sizes) = buckets;
        Assert.Equal(parameters.Reverse(), names);
        Assert.True(elements.Length >= 3, $"{elements.Length} buckets");
        // The first bucket stays under its 10 kB cap unless one parameter alone exceeds it; the others under 100 kB.
        Assert.True(elements[0] * 4 <= 10_000 || elements[0] == sizes[names[0]], $"first bucket {elements[0]} floats");
        Assert.All(elements.Skip(1), e => Assert.True(e * 4 <= 100_000 || names.Any(n => sizes[n] == e), $"bucket of {e} floats"));
        Assert.Equal(sizes.Values.Sum(), elements.Sum());
    }

    [Fact]
    public void AParameterNoRankUsesKeepsNoGradientAndOneRankUsesGetsTheAverage()
    {
        var grads = DistributedTestRanks.Run(2, g =>
        {
            var model = new TwoHeads();
            using var ddp = new DistributedDataParallel(model, g, firstBucketCapMB: 1e-6, bucketCapMB: 1e-6);
            model.UseSecond = g.Rank == 1; // the second head runs on rank 1 only
            F.Sum(model.Call(Tensor.Ones(1, 2))).Backward();
            return (model.Unused.Weight.Grad, model.Second.Weight.Grad!.ToArray(), model.First.Weight.Grad!.ToArray());
        });
        Assert.All(grads, x => Assert.Null(x.Item1));
        // Rank 1's gradient of the second head is ones; rank 0 contributes zeros: the average is 0.5.
        Assert.All(grads, x => Assert.All(x.Item2, v => Assert.Equal(0.5f, v)));
        Assert.All(grads, x => Assert.All(x.Item3, v => Assert.Equal(1f, v)));
    }

    [Fact]
    public void DifferentModelsOnDifferentRanksAreRejectedWithTheCounts()
    {
        var e = Assert.Throws<AggregateException>(() => DistributedTestRanks.Run(2, g =>
        {
            var model = Scenarios.BuildModel(g.Rank == 0 ? "lenet" : "resnet", new Generator(1));
            using var ddp = new DistributedDataParallel(model, g);
            return 0;
        }));
        Assert.Contains("the processes built different models", e.InnerExceptions[0].Message);
    }

    [Fact]
    public void ARankThatFailsMakesTheOthersBackwardFailNamingItInsteadOfHanging()
    {
        var groups = ThreadProcessGroup.Create(2, TimeSpan.FromSeconds(2));
        Exception? survivor = null;
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            var model = Scenarios.BuildModel("lenet", new Generator(1));
            using var ddp = new DistributedDataParallel(model, groups[r], bucketCapMB: 0.05, firstBucketCapMB: 0.01);
            if (r == 1) return; // rank 1 "dies" before its first backward
            try
            {
                using var scope = TensorScope.Begin();
                F.Sum(model.Call(Tensor.Ones(2, 1, 28, 28))).Backward();
            }
            catch (Exception e) { survivor = e; }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(60)));
        Assert.NotNull(survivor);
        Assert.Contains("reducing the gradients failed", survivor!.Message);
        Assert.Contains("rank 1 did not reach", survivor.Message);
    }

    [Fact]
    public void StatisticsCountPassesBytesAndCommunicationTime()
    {
        var stats = DistributedTestRanks.Run(2, g =>
        {
            var model = Scenarios.BuildModel("lenet", new Generator(1));
            using var ddp = new DistributedDataParallel(model, g);
            for (int i = 0; i < 3; i++)
            {
                using var scope = TensorScope.Begin();
                F.Sum(model.Call(Tensor.Ones(4, 1, 28, 28))).Backward();
            }
            using (ddp.NoSync())
            {
                using var scope = TensorScope.Begin();
                F.Sum(model.Call(Tensor.Ones(4, 1, 28, 28))).Backward();
            }
            return (ddp.Statistics, ddp.Buckets.Sum(b => b.Bytes));
        });
        foreach (var (s, bytes) in stats)
        {
            Assert.Equal(3, s.Passes); // the NoSync pass reduced nothing
            Assert.Equal(3 * bytes, s.Bytes);
            Assert.True(s.CommunicationSeconds > 0 && s.BackwardSeconds > 0);
            Assert.InRange(s.OverlapFraction, 0, 1);
        }
    }

    /// <summary>Two linear heads summed, a third never used: [1, 2] → [1, 1].</summary>
    private sealed class TwoHeads : Module
    {
        public TwoHeads()
        {
            First = RegisterModule("first", new Linear(2, 1, bias: false));
            Second = RegisterModule("second", new Linear(2, 1, bias: false));
            Unused = RegisterModule("unused", new Linear(2, 1, bias: false));
        }

        public Linear First { get; }
        public Linear Second { get; }
        public Linear Unused { get; }
        public bool UseSecond { get; set; }

        public override Tensor Forward(Tensor input) => UseSecond ? F.Add(First.Call(input), Second.Call(input)) : First.Call(input);
    }
}
