using Striate.Data;
using Striate.Data.Transforms;
using Striate.Distributed;
using Striate.Functional;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;

namespace Striate.DistributedWorker;

/// <summary>What a training scenario runs: the model, the steps, the batch per rank and how gradients are synchronized.</summary>
/// <param name="Model">"lenet" (LeNet-5 with ReLU) or "resnet" (a small residual net with batch norm).</param>
/// <param name="Steps">Optimizer steps.</param>
/// <param name="BatchPerRank">Samples per rank per forward pass.</param>
/// <param name="SyncBatchNorm">Normalize with the statistics of the whole batch across the ranks.</param>
/// <param name="Accumulation">Forward/backward passes per optimizer step; all but the last run under NoSync.</param>
/// <param name="Overlap">Reduce buckets during backward (true) or after it.</param>
public sealed record TrainScenario(string Model, int Steps, int BatchPerRank, bool SyncBatchNorm = false, int Accumulation = 1, bool Overlap = true)
{
    public override string ToString() => $"{Model}, {Steps} steps of {BatchPerRank}/rank × {Accumulation}, sync-bn {SyncBatchNorm}, overlap {Overlap}";
}

/// <summary>
/// The work of the distributed tests, written once for any process group: under mpirun (the worker program) and with
/// ranks as threads (the in-process tests), against the same code run by one process.
/// </summary>
public static class Scenarios
{
    /// <summary>
    /// Trains the scenario's model on this rank's shard of the first MNIST images and returns the final state dict.
    /// Each rank starts from different random weights (seeded by its rank), so that only DDP's initial broadcast can
    /// make them agree; one process (world size 1) starts from rank 0's.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Train(IProcessGroup group, TrainScenario scenario)
    {
        int samplesPerStep = scenario.BatchPerRank * scenario.Accumulation * group.WorldSize;
        var data = new Subset(Datasets.Open("mnist", train: true, allowDownload: false), scenario.Steps * samplesPerStep);
        var model = BuildModel(scenario.Model, new Generator(1 + (ulong)group.Rank));
        if (scenario.SyncBatchNorm) Nn.SyncBatchNorm.Convert(model, group);
        // Small buckets, so that even LeNet's 61,706 parameters make several and their order matters.
        using var ddp = new DistributedDataParallel(model, group, bucketCapMB: 0.05, firstBucketCapMB: 0.01, overlap: scenario.Overlap);
        var optimizer = new Sgd(model.Parameters(), 0.05f, momentum: 0.9f, weightDecay: 1e-4f);
        var loader = new DataLoader(data, scenario.BatchPerRank, transform: new Normalize([0.1307f], [0.3081f]), workers: 0,
            sampler: new DistributedSampler(data.Count, group.WorldSize, group.Rank, seed: 5));
        model.Train();
        int pass = 0;
        int[] labels = new int[scenario.BatchPerRank];
        foreach (var batch in loader.Epoch(0))
        {
            using var scope = TensorScope.Begin();
            if (pass % scenario.Accumulation == 0) optimizer.ZeroGrad();
            bool last = pass % scenario.Accumulation == scenario.Accumulation - 1;
            batch.Labels.AsSpan(0, batch.Count).CopyTo(labels);
            using (last ? null : ddp.NoSync())
            {
                var loss = F.CrossEntropy(model.Call(batch.Images), labels);
                // Accumulated micro-batches average, as one batch of their total size would.
                (scenario.Accumulation == 1 ? loss : F.Mul(loss, 1f / scenario.Accumulation)).Backward();
            }
            if (last) optimizer.Step();
            pass++;
        }
        // Running statistics differ between ranks without SyncBatchNorm; rank 0's are the ones evaluated and saved.
        ddp.BroadcastBuffers();
        return model.StateDict();
    }

    /// <summary>LeNet, or a small residual network with batch norm (d2l's Residual blocks) for 1×28×28 inputs.</summary>
    public static Module BuildModel(string name, Generator generator) => name switch
    {
        "lenet" => LeNet.CreateRelu(generator: generator),
        "resnet" => new Sequential(
            new Conv2d(1, 8, 3, padding: 1, generator: generator), new BatchNorm2d(8), new ReLU(),
            new Striate.Models.Book.Residual(8, 8, generator: generator),
            new Striate.Models.Book.Residual(8, 16, use1x1Conv: true, stride: 2, generator: generator),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 10, generator: generator)),
        _ => throw new ArgumentException($"Unknown scenario model '{name}'; expected lenet or resnet."),
    };

    /// <summary>
    /// Checks every collective against a plain reference computed locally from every rank's (seeded) data, on sizes
    /// that include 0, 1, primes and sizes not divisible by the world size; returns how many checks passed and throws on
    /// the first mismatch. Sums of two ranks are exact; with more ranks the order of additions may differ from the
    /// reference, so sums are compared within a relative 1e-6.
    /// </summary>
    public static int CheckCollectives(IProcessGroup group, int seed)
    {
        int p = group.WorldSize, checks = 0;
        int[] sizes = [0, 1, 2, 3, 7, p, p + 1, 1000, 65_537, 1_000_003];
        foreach (int n in sizes)
        {
            var all = Enumerable.Range(0, p).Select(r => RandomFloats(n, seed, r, n)).ToArray();
            float[] Data(int rank) => (float[])all[rank].Clone();
            foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Average, ReduceOp.Max, ReduceOp.Min })
            {
                var mine = Data(group.Rank);
                group.AllReduce(mine, op);
                var expected = new double[n];
                for (int i = 0; i < n; i++)
                {
                    double acc = op switch { ReduceOp.Max => double.NegativeInfinity, ReduceOp.Min => double.PositiveInfinity, _ => 0 };
                    for (int r = 0; r < p; r++)
                    {
                        float v = all[r][i];
                        acc = op switch { ReduceOp.Max => Math.Max(acc, v), ReduceOp.Min => Math.Min(acc, v), _ => acc + v };
                    }
                    expected[i] = op == ReduceOp.Average ? acc / p : acc;
                }
                for (int i = 0; i < n; i++)
                {
                    double tolerance = op is ReduceOp.Max or ReduceOp.Min ? 0 : 1e-6 * Math.Max(1, Math.Abs(expected[i])) * p;
                    if (Math.Abs(mine[i] - expected[i]) > tolerance)
                        throw new InvalidOperationException($"AllReduce({op}) of {n} floats on rank {group.Rank}: element {i} is {mine[i]}, expected {expected[i]}.");
                }
                checks++;
            }
            var doubles = Data(group.Rank).Select(v => (double)v * 1e-3).ToArray();
            group.AllReduce(doubles);
            for (int i = 0; i < n; i++)
            {
                double expected = 0;
                for (int r = 0; r < p; r++) expected += (double)all[r][i] * 1e-3;
                if (Math.Abs(doubles[i] - expected) > 1e-12 * Math.Max(1, Math.Abs(expected)) * p)
                    throw new InvalidOperationException($"AllReduce(double) of {n} on rank {group.Rank}: element {i} is {doubles[i]}, expected {expected}.");
            }
            checks++;

            int root = n % p;
            var broadcast = Data(group.Rank);
            group.Broadcast(broadcast, root);
            if (!broadcast.AsSpan().SequenceEqual(Data(root)))
                throw new InvalidOperationException($"Broadcast of {n} floats from rank {root}: rank {group.Rank} did not receive the root's data.");
            var bytes = Data(group.Rank).Select(v => (byte)(v * 100)).ToArray();
            group.Broadcast(bytes, root);
            if (!bytes.AsSpan().SequenceEqual(Data(root).Select(v => (byte)(v * 100)).ToArray()))
                throw new InvalidOperationException($"Broadcast of {n} bytes from rank {root}: rank {group.Rank} did not receive the root's data.");
            var gathered = new float[n * p];
            group.AllGather(Data(group.Rank), gathered);
            for (int r = 0; r < p; r++)
                if (!gathered.AsSpan(r * n, n).SequenceEqual(Data(r)))
                    throw new InvalidOperationException($"AllGather of {n} floats: rank {group.Rank} holds wrong data in rank {r}'s part.");
            group.Barrier();
            checks += 4;
        }
        return checks;
    }

    private static float[] RandomFloats(int n, int seed, int rank, int size)
    {
        // Seeded by arithmetic, not HashCode (randomized per process), so every rank can regenerate every rank's data.
        var random = new Random(unchecked(seed * 1_000_003 + rank * 7919 + size));
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
