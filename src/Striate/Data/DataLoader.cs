using System.Collections;
using Striate.Data.Transforms;

namespace Striate.Data;

/// <summary>
/// One mini-batch. Its tensors are owned by the <see cref="DataLoader"/> and reused: read them before moving to the
/// next batch. Shapes: Images [Count, C, H, W]; Labels [Count].
/// </summary>
public sealed class Batch
{
    internal Batch(Tensor images, int[] labels, int count, int index) => (Images, Labels, Count, Index) = (images, labels, count, index);

    /// <summary>The images, [Count, C, H, W].</summary>
    public Tensor Images { get; internal set; }

    /// <summary>Class indices; only the first <see cref="Count"/> are valid.</summary>
    public int[] Labels { get; }

    /// <summary>The number of samples in this batch (the last one may be smaller unless dropLast).</summary>
    public int Count { get; internal set; }

    /// <summary>The batch's position in the epoch.</summary>
    public int Index { get; internal set; }

    /// <summary>The labels as an exactly-sized array (allocates; the training loop uses <see cref="Labels"/> with <see cref="Count"/>).</summary>
    public int[] LabelArray() => Labels.AsSpan(0, Count).ToArray();
}

/// <summary>
/// Serves a dataset in mini-batches: seeded shuffling, batch size, drop_last, per-sample transforms, and the next
/// batches prepared on background threads while the model computes, as torch.utils.data.DataLoader.
/// </summary>
/// <remarks>
/// A <see cref="ISampler"/> (such as <see cref="DistributedSampler"/>) chooses the samples and their order instead of
/// <c>shuffle</c>. Determinism: epoch e's order comes from a generator seeded with (seed, e), and each sample's random transforms
/// from one seeded with (seed, e, position), so results are the same whatever thread prepared a sample. Batch buffers
/// are allocated once and recycled, so an epoch allocates almost nothing.
/// </remarks>
public sealed class DataLoader
{
    private readonly (int Channels, int Height, int Width) _sampleShape;

    public IDataset Dataset { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public ITransform? Transform { get; }
    public ulong Seed { get; }

    /// <summary>Chooses the samples of each epoch and their order (null: the whole dataset, shuffled or not).</summary>
    public ISampler? Sampler { get; }

    /// <summary>How many batches may be prepared ahead of the one being used.</summary>
    public int Prefetch { get; }

    /// <summary>Background threads preparing batches (0 prepares them on the caller's thread).</summary>
    public int Workers { get; }

    public DataLoader(IDataset dataset, int batchSize, bool shuffle = false, bool dropLast = false, ITransform? transform = null,
        ulong seed = 0, int workers = 1, int prefetch = 2, ISampler? sampler = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0) throw new ArgumentException($"DataLoader: batchSize must be positive, got {batchSize}.", nameof(batchSize));
        if (workers < 0) throw new ArgumentException($"DataLoader: workers must be non-negative, got {workers}.", nameof(workers));
        if (prefetch < 1) throw new ArgumentException($"DataLoader: prefetch must be at least 1, got {prefetch}.", nameof(prefetch));
        if (dataset.Count == 0) throw new ArgumentException("DataLoader: the dataset is empty.", nameof(dataset));
        if (sampler != null && shuffle)
            throw new ArgumentException("DataLoader: a sampler chooses the order itself; pass shuffle: false with it (the sampler has its own shuffle option).", nameof(shuffle));
        if (sampler != null && sampler.Count <= 0)
            throw new ArgumentException($"DataLoader: the sampler serves {sampler.Count} samples per epoch; it must serve at least one.", nameof(sampler));
        (Dataset, BatchSize, Shuffle, DropLast, Transform, Seed, Workers, Prefetch, Sampler) = (dataset, batchSize, shuffle, dropLast, transform, seed, workers, prefetch, sampler);
        _sampleShape = dataset.SampleShape is { } shape ? transform?.OutputShape(shape) ?? shape : ProbeShape(dataset, transform);
    }

    /// <summary>
    /// For datasets whose images may differ (image folders): the first sample's shape after the transforms. Every other
    /// sample must come out the same, which a Resize transform guarantees; <see cref="Fill"/> names any that does not.
    /// </summary>
    private static (int, int, int) ProbeShape(IDataset dataset, ITransform? transform)
    {
        var sample = new ImageSample();
        dataset.Load(0, sample);
        transform?.Apply(sample, new Generator(0));
        return (sample.Channels, sample.Height, sample.Width);
    }

    /// <summary>The shape of one sample after the transforms: [C, H, W].</summary>
    public (int Channels, int Height, int Width) SampleShape => _sampleShape;

    /// <summary>Samples an epoch draws from: the sampler's count, or the whole dataset.</summary>
    private int EpochSize => Sampler?.Count ?? Dataset.Count;

    /// <summary>Batches per epoch.</summary>
    public int BatchCount => DropLast ? EpochSize / BatchSize : (EpochSize + BatchSize - 1) / BatchSize;

    /// <summary>Samples per epoch (fewer than the dataset when dropLast cuts the last batch, or the sampler's share).</summary>
    public int SampleCount => DropLast ? BatchCount * BatchSize : EpochSize;

    /// <summary>The batches of epoch <paramref name="epoch"/> (its order and augmentation depend on the epoch number).</summary>
    public IEnumerable<Batch> Epoch(int epoch = 0) => new EpochEnumerable(this, epoch);

    /// <summary>
    /// The sample order of an epoch: the sampler's indices, else 0..n−1, or a permutation seeded by (seed, epoch) when
    /// shuffling.
    /// </summary>
    public int[] Order(int epoch)
    {
        if (Sampler == null) return EpochOrder(Dataset.Count, Shuffle, Seed, epoch);
        var order = Sampler.Indices(epoch);
        if (order.Length != Sampler.Count)
            throw new InvalidOperationException($"DataLoader: the sampler ({Sampler.GetType().Name}) gave {order.Length} indices for epoch {epoch}, but says it serves {Sampler.Count}.");
        foreach (int index in order)
            if ((uint)index >= (uint)Dataset.Count)
                throw new InvalidOperationException($"DataLoader: the sampler ({Sampler.GetType().Name}) gave index {index} for a dataset of {Dataset.Count} samples.");
        return order;
    }

    /// <summary>0..count−1, or when <paramref name="shuffle"/> its permutation seeded by (seed, epoch) (shared with <see cref="DistributedSampler"/>).</summary>
    internal static int[] EpochOrder(int count, bool shuffle, ulong seed, int epoch)
    {
        var order = new int[count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (shuffle) new Generator(Mix(seed, (ulong)epoch, 0x5u)).Shuffle(order.AsSpan());
        return order;
    }

    internal static ulong Mix(ulong a, ulong b, ulong c)
    {
        // A splitmix-style finalizer over the three words: neighbouring epochs and positions get unrelated seeds.
        ulong z = a * 0x9E3779B97F4A7C15UL ^ (b + 0x632BE59BD9B4E019UL) * 0xBF58476D1CE4E5B9UL ^ (c + 0x8CB92BA72F3D8DD7UL) * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Fills <paramref name="batch"/> with batch <paramref name="batchIndex"/> of the epoch order.</summary>
    private void Fill(Batch batch, ReadOnlySpan<int> order, int batchIndex, int epoch, ImageSample sample, Generator random)
    {
        int start = batchIndex * BatchSize;
        int count = Math.Min(BatchSize, EpochSize - start);
        var (c, h, w) = _sampleShape;
        int length = c * h * w;
        var images = batch.Images.Storage;
        batch.Images.BumpVersion(); // refilled in place: a backward that saved the previous batch must notice
        for (int i = 0; i < count; i++)
        {
            int index = order[start + i];
            Dataset.Load(index, sample);
            if (Transform != null)
            {
                int position = Sampler?.SeedPosition(start + i) ?? start + i;
                random.Reseed(Mix(Seed, (ulong)epoch, (ulong)position + 1));
                Transform.Apply(sample, random);
            }
            if (sample.Channels != c || sample.Height != h || sample.Width != w)
                throw new InvalidDataException($"DataLoader: sample {index} has shape {sample.Channels}×{sample.Height}×{sample.Width} after transforms, expected {c}×{h}×{w} like the first; images of different sizes need a Resize transform (--resize).");
            sample.Pixels.CopyTo(images.AsSpan(i * length, length));
            batch.Labels[i] = Dataset.Label(index);
        }
        if (count != batch.Count)
            batch.Images = batch.Images.Alias([count, c, h, w]);
        batch.Count = count;
        batch.Index = batchIndex;
    }

    private Batch NewBatch()
    {
        var (c, h, w) = _sampleShape;
        return new Batch(Tensor.AllocatePersistent([BatchSize, c, h, w]), new int[BatchSize], BatchSize, -1);
    }

    // Batch buffers survive between epochs, so later epochs allocate nothing for images.
    private readonly Stack<Batch[]> _rings = new();

    private Batch[] RentRing()
    {
        lock (_rings) if (_rings.Count > 0) return _rings.Pop();
        var ring = new Batch[Prefetch + 1];
        for (int i = 0; i < ring.Length; i++) ring[i] = NewBatch();
        return ring;
    }

    private void ReturnRing(Batch[] ring)
    {
        lock (_rings) _rings.Push(ring);
    }

    private sealed class EpochEnumerable(DataLoader loader, int epoch) : IEnumerable<Batch>
    {
        public IEnumerator<Batch> GetEnumerator() =>
            loader.Workers == 0 ? new SynchronousEnumerator(loader, epoch) : new PrefetchingEnumerator(loader, epoch);
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Prepares each batch on the caller's thread when it is asked for.</summary>
    private sealed class SynchronousEnumerator(DataLoader loader, int epoch) : IEnumerator<Batch>
    {
        private readonly int[] _order = loader.Order(epoch);
        private readonly Batch[] _ring = loader.RentRing();
        private readonly ImageSample _sample = new();
        private readonly Generator _random = new();
        private int _next;
        private bool _returned;

        public Batch Current { get; private set; } = null!;
        object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_next >= loader.BatchCount) return false;
            var batch = _ring[0];
            loader.Fill(batch, _order, _next++, epoch, _sample, _random);
            Current = batch;
            return true;
        }

        public void Reset() => throw new NotSupportedException();

        public void Dispose()
        {
            if (!_returned) { _returned = true; RestoreFullShape(loader, _ring); loader.ReturnRing(_ring); }
        }
    }

    private static void RestoreFullShape(DataLoader loader, Batch[] ring)
    {
        var (c, h, w) = loader._sampleShape;
        foreach (var b in ring)
            if (b.Count != loader.BatchSize)
            {
                b.Images = b.Images.Alias([loader.BatchSize, c, h, w]);
                b.Count = loader.BatchSize;
            }
    }

    /// <summary>
    /// Background workers fill a ring of Prefetch + 1 batch buffers ahead of the consumer: batch b goes to slot
    /// b mod ring, once the consumer has moved past the batch that used the slot before.
    /// </summary>
    private sealed class PrefetchingEnumerator : IEnumerator<Batch>
    {
        private readonly DataLoader _loader;
        private readonly Batch[] _ring;
        private readonly SemaphoreSlim[] _free, _ready;
        private readonly Exception?[] _errors;
        private readonly CancellationTokenSource _cancel = new();
        private readonly Thread[] _threads;
        private int _next;
        private int _heldSlot = -1;
        private bool _disposed;

        public PrefetchingEnumerator(DataLoader loader, int epoch)
        {
            _loader = loader;
            _ring = loader.RentRing();
            _free = _ring.Select(_ => new SemaphoreSlim(1, 1)).ToArray();
            _ready = _ring.Select(_ => new SemaphoreSlim(0, 1)).ToArray();
            _errors = new Exception?[_ring.Length];
            var order = loader.Order(epoch);
            int workers = Math.Min(loader.Workers, loader.BatchCount);
            _threads = new Thread[workers];
            for (int w = 0; w < workers; w++)
            {
                int first = w;
                _threads[w] = new Thread(() => Work(first, workers, order, epoch)) { IsBackground = true, Name = $"striate-loader-{w}" };
                _threads[w].Start();
            }
        }

        private void Work(int first, int stride, int[] order, int epoch)
        {
            var sample = new ImageSample();
            var random = new Generator();
            var token = _cancel.Token;
            try
            {
                for (int b = first; b < _loader.BatchCount; b += stride)
                {
                    int slot = b % _ring.Length;
                    _free[slot].Wait(token);
                    try { _loader.Fill(_ring[slot], order, b, epoch, sample, random); }
                    catch (Exception e) { _errors[slot] = e; }
                    _ready[slot].Release();
                }
            }
            catch (OperationCanceledException) { }
        }

        public Batch Current { get; private set; } = null!;
        object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            ReleaseHeld();
            if (_next >= _loader.BatchCount) return false;
            int slot = _next % _ring.Length;
            _ready[slot].Wait();
            if (_errors[slot] is { } error)
                throw new InvalidDataException($"DataLoader: preparing batch {_next} failed: {error.Message}", error);
            _heldSlot = slot;
            _next++;
            Current = _ring[slot];
            return true;
        }

        private void ReleaseHeld()
        {
            if (_heldSlot < 0) return;
            _free[_heldSlot].Release();
            _heldSlot = -1;
        }

        public void Reset() => throw new NotSupportedException();

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _cancel.Cancel();
            foreach (var t in _threads) t.Join();
            RestoreFullShape(_loader, _ring);
            _loader.ReturnRing(_ring);
            _cancel.Dispose();
        }
    }
}
