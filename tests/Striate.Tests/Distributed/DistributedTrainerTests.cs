using Striate.Data;
using Striate.Data.Transforms;
using Striate.Distributed;
using Striate.Models;
using Striate.Optim;
using Striate.Training;

namespace Striate.Tests.Distributed;

/// <summary>
/// The <see cref="Trainer"/> with a process group (ranks as threads): the figures it reports and the weights it ends with
/// are those of one process at the global batch; loaders that are not sharded are refused.
/// </summary>
public sealed class DistributedTrainerTests
{
    private static (IReadOnlyList<EpochRecord> History, IReadOnlyList<KeyValuePair<string, Tensor>> State) Fit(IProcessGroup group, int batchPerRank)
    {
        var train = new Subset(Datasets.Open("mnist", train: true, allowDownload: false), 192);
        var test = new Subset(Datasets.Open("mnist", train: false, allowDownload: false), 101); // odd: shards of 51 and 50
        var normalize = new Normalize([0.1307f], [0.3081f]);
        bool alone = group.WorldSize == 1;
        var trainLoader = alone
            ? new DataLoader(train, batchPerRank, shuffle: true, transform: normalize, seed: 3, workers: 0)
            : new DataLoader(train, batchPerRank, transform: normalize, seed: 3, workers: 0,
                sampler: new DistributedSampler(train.Count, group.WorldSize, group.Rank, seed: 3));
        var testLoader = new DataLoader(test, 64, transform: normalize, workers: 0,
            sampler: alone ? null : DistributedSampler.ForEvaluation(test.Count, group.WorldSize, group.Rank));
        // Different initial weights per rank: only DDP's broadcast can make them agree.
        var model = LeNet.CreateRelu(generator: new Generator(7 + (ulong)group.Rank));
        using var ddp = alone ? null : new DistributedDataParallel(model, group);
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.05f, momentum: 0.9f), processGroup: alone ? null : group);
        var history = trainer.Fit(trainLoader, testLoader, epochs: 2);
        return (history, model.StateDict());
    }

    [Fact]
    public void TwoRanksAtBatch16ReportAndEndWithWhatOneProcessAtBatch32Does()
    {
        var one = Fit(ThreadProcessGroup.Create(1)[0], 32);
        var two = DistributedTestRanks.Run(2, g => Fit(g, 16));
        foreach (var rank in two)
        {
            Assert.Equal(2, rank.History.Count);
            for (int e = 0; e < 2; e++)
            {
                var (a, b) = (one.History[e], rank.History[e]);
                Assert.Equal(a.TrainLoss, b.TrainLoss, 1e-5);
                Assert.Equal(a.TrainAccuracy, b.TrainAccuracy, 1e-9);
                Assert.Equal(a.TestLoss, b.TestLoss, 1e-5);
                Assert.Equal(a.TestAccuracy, b.TestAccuracy, 1e-9);
                Assert.Equal(a.TestTop5, b.TestTop5, 1e-9);
            }
            Assert.InRange(DistributedTestRanks.MaxDifference(one.State, rank.State), 0, 1e-6);
        }
    }

    [Fact]
    public void ATrainingLoaderWithoutADistributedSamplerIsRefusedSayingWhatToGive()
    {
        var errors = DistributedTestRanks.Run(2, g =>
        {
            var data = new Subset(Datasets.Open("mnist", train: true, allowDownload: false), 64);
            var model = LeNet.CreateRelu(generator: new Generator(1));
            var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.05f), processGroup: g);
            return Assert.Throws<ArgumentException>(() => trainer.Fit(new DataLoader(data, 16, shuffle: true, workers: 0), null, 1)).Message;
        });
        Assert.Contains("training with 2 processes, but the training loader's sampler is none; give it new DistributedSampler(count, 2, 1, seed: …)", errors[1]);
    }
}
