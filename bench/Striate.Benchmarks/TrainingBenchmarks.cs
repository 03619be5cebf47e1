using Striate.Data;
using Striate.Data.Transforms;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

namespace Striate.Benchmarks;

/// <summary>
/// End-to-end training throughput: one full MNIST epoch of LeNet (ReLU, max pooling) at batch 256 with SGD
/// (lr 0.1, momentum 0.9) through the real <see cref="Trainer"/> and a shuffling <see cref="DataLoader"/> with
/// per-sample normalization (mean 0.1307, std 0.3081), so data loading is included. Mirrored on the PyTorch
/// side by <c>bench/lenet_train_bench.py</c>.
/// Figures: <c>lenet_relu_mnist_train_b256</c> (images/s over the whole epoch) and
/// <c>lenet_relu_mnist_epoch_alloc_mb</c> (managed bytes allocated from the end of the epoch's first batch to its end).
/// </summary>
public static class TrainingBenchmarks
{
    /// <summary>The batch size of the figures.</summary>
    public const int Batch = 256;

    /// <summary>Batches trained before the timed epoch (JIT, pools, worker threads).</summary>
    public const int WarmupBatches = 5;

    /// <summary>
    /// The anchor's random-batch figures (<see cref="LeNetStepBenchmarks"/>), then both epoch figures (one warm-up of a
    /// few batches, then one timed epoch of 60,000 images).
    /// </summary>
    public static IEnumerable<BenchFigure> Run()
    {
        foreach (var figure in LeNetStepBenchmarks.Run()) yield return figure;
        if (!BenchFilter.Wants($"lenet_relu_mnist_train_b{Batch}") && !BenchFilter.Wants("lenet_relu_mnist_epoch_alloc_mb")) yield break;
        var (imagesPerSecond, allocatedMb) = LeNetEpoch(Datasets.Open("mnist", train: true), Batch, workers: 1);
        yield return new BenchFigure($"lenet_relu_mnist_train_b{Batch}", imagesPerSecond, "images/s");
        yield return new BenchFigure("lenet_relu_mnist_epoch_alloc_mb", allocatedMb, "MB");
    }

    /// <summary>Trains LeNet-ReLU for one epoch over <paramref name="train"/>; returns images/s and MB allocated after the first batch.</summary>
    public static (double ImagesPerSecond, double AllocatedMb) LeNetEpoch(IDataset train, int batch, int workers)
    {
        var stats = RunConfig.DatasetStatistics("mnist")!.Value;
        var normalize = new Normalize(stats.Mean, stats.Std);
        var model = LeNet.CreateRelu(generator: new Generator(0));
        var optimizer = new Sgd(model.Parameters(), 0.1f, momentum: 0.9f);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss());

        var warmup = new DataLoader(new Subset(train, Math.Min(train.Count, WarmupBatches * batch)), batch, shuffle: true,
            transform: normalize, seed: 1, workers: workers);
        trainer.TrainEpoch(warmup, epoch: 0);

        var loader = new DataLoader(train, batch, shuffle: true, transform: normalize, seed: 0, workers: workers);
        long afterFirst = 0;
        void OnBatch(TrainingProgress p)
        {
            if (p.Batch == 1) afterFirst = GC.GetTotalAllocatedBytes(precise: true);
        }
        trainer.BatchEnded += OnBatch;
        var (_, _, _, imagesPerSecond) = trainer.TrainEpoch(loader, epoch: 0);
        long end = GC.GetTotalAllocatedBytes(precise: true);
        trainer.BatchEnded -= OnBatch;
        return (imagesPerSecond, (end - afterFirst) / (1024.0 * 1024.0));
    }
}
