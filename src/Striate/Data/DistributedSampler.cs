namespace Striate.Data;

/// <summary>
/// Which samples a <see cref="DataLoader"/> serves in an epoch, and in what order (torch.utils.data.Sampler).
/// </summary>
public interface ISampler
{
    /// <summary>Samples per epoch.</summary>
    int Count { get; }

    /// <summary>The dataset indices of epoch <paramref name="epoch"/>, <see cref="Count"/> of them, in the order served.</summary>
    int[] Indices(int epoch);

    /// <summary>
    /// Where the sample served at <paramref name="position"/> stands in the whole epoch's order. It seeds the sample's
    /// random transforms, so a sample is augmented the same way however the data is split across processes.
    /// </summary>
    int SeedPosition(int position);
}

/// <summary>
/// One process's share of a dataset in data-parallel training, as torch.utils.data.distributed.DistributedSampler:
/// every epoch the same seeded permutation on every process (the one a single-process <see cref="DataLoader"/> with
/// the same seed uses), padded by repeating its first indices to a multiple of the number of processes, and dealt
/// out in turn, so process r takes positions r, r + p, r + 2p, … . The shards are disjoint apart from the padding
/// and equally long, so every process takes the same number of steps; with batch B per process, step k of all
/// processes together covers positions [k·p·B, (k + 1)·p·B) of the permutation — the batch a single process with
/// batch p·B would take.
/// </summary>
/// <remarks>
/// <see cref="ForEvaluation"/> deals the dataset without shuffling or padding, so that metrics summed over the
/// processes count every sample exactly once (shards then differ in length by at most one).
/// </remarks>
public sealed class DistributedSampler : ISampler
{
    private readonly bool _pad;

    /// <param name="datasetSize">Samples in the dataset.</param>
    /// <param name="numReplicas">Processes taking part (the world size).</param>
    /// <param name="rank">This process, in [0, numReplicas).</param>
    /// <param name="shuffle">Permute every epoch (seeded by <paramref name="seed"/> and the epoch) or keep the dataset order.</param>
    /// <param name="seed">The seed; must be the same on every process.</param>
    /// <param name="dropLast">Drop the tail that does not fill a round of <paramref name="numReplicas"/> instead of padding.</param>
    public DistributedSampler(int datasetSize, int numReplicas, int rank, bool shuffle = true, ulong seed = 0, bool dropLast = false)
        : this(datasetSize, numReplicas, rank, shuffle, seed, dropLast, pad: true)
    {
    }

    private DistributedSampler(int datasetSize, int numReplicas, int rank, bool shuffle, ulong seed, bool dropLast, bool pad)
    {
        if (datasetSize <= 0) throw new ArgumentException($"DistributedSampler: datasetSize must be positive, got {datasetSize}.", nameof(datasetSize));
        if (numReplicas <= 0) throw new ArgumentException($"DistributedSampler: numReplicas must be positive, got {numReplicas}.", nameof(numReplicas));
        if (rank < 0 || rank >= numReplicas)
            throw new ArgumentException($"DistributedSampler: rank must be in [0, {numReplicas - 1}] for {numReplicas} replicas, got {rank}.", nameof(rank));
        if (dropLast && datasetSize < numReplicas)
            throw new ArgumentException($"DistributedSampler: dropLast with {datasetSize} samples and {numReplicas} replicas leaves no sample per replica.", nameof(dropLast));
        (DatasetSize, NumReplicas, Rank, Shuffle, Seed, DropLast, _pad) = (datasetSize, numReplicas, rank, shuffle, seed, dropLast, pad);
        Count = !pad ? (datasetSize - rank + numReplicas - 1) / numReplicas
            : dropLast ? datasetSize / numReplicas
            : (datasetSize + numReplicas - 1) / numReplicas;
        TotalSize = pad ? Count * numReplicas : datasetSize;
    }

    /// <summary>
    /// For evaluation: the dataset in order, dealt out without padding, so that each sample is evaluated by exactly one
    /// process and metrics summed over processes are exact.
    /// </summary>
    public static DistributedSampler ForEvaluation(int datasetSize, int numReplicas, int rank) =>
        new(datasetSize, numReplicas, rank, shuffle: false, seed: 0, dropLast: false, pad: false);

    public int DatasetSize { get; }
    public int NumReplicas { get; }
    public int Rank { get; }
    public bool Shuffle { get; }
    public ulong Seed { get; }
    public bool DropLast { get; }

    /// <summary>Samples this process takes per epoch (the same on every process unless built by <see cref="ForEvaluation"/>).</summary>
    public int Count { get; }

    /// <summary>Samples all processes take together per epoch, padding included.</summary>
    public int TotalSize { get; }

    /// <inheritdoc />
    public int[] Indices(int epoch)
    {
        var order = DataLoader.EpochOrder(DatasetSize, Shuffle, Seed, epoch);
        var mine = new int[Count];
        for (int i = 0; i < Count; i++)
        {
            // Padding repeats the permutation from its start (more than once when the dataset is tiny).
            int position = Rank + i * NumReplicas;
            mine[i] = order[position % DatasetSize];
        }
        return mine;
    }

    /// <inheritdoc />
    public int SeedPosition(int position) => Rank + position * NumReplicas;
}
