using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Striate.Autograd;
using Striate.Nn;

namespace Striate.Distributed;

/// <summary>
/// Data-parallel training as torch.nn.parallel.DistributedDataParallel: every process holds a replica of the model,
/// runs forward and backward on its own share of the batch, and <c>loss.Backward()</c> returns with each gradient
/// averaged over the processes, so that identical optimizer steps keep the replicas identical.
/// </summary>
/// <remarks>
/// <para>At construction rank 0's parameters and buffers are broadcast to every process (after checking that all
/// processes built the same model). Gradients are packed into flat <see cref="GradientBucket"/>s of about
/// <c>bucketCapMB</c> (the first one smaller, so that communication starts early), in reverse parameter order —
/// roughly the order backward produces them. A post-accumulate hook on each parameter copies its gradient into its
/// bucket once final; a full bucket is all-reduced on a background thread (over its own
/// <see cref="IProcessGroup.Duplicate"/>) while backward carries on through earlier layers. Buckets are reduced in
/// index order on every process, whatever order they fill in; at the end of backward the remaining buckets are
/// launched (a parameter no process used keeps no gradient) and backward waits for all of them, so the optimizer may
/// step as soon as it returns.</para>
/// <para>While attached, every backward pass through the model is collective: all processes must run it, except
/// inside <see cref="NoSync"/> (gradient accumulation), where gradients only accumulate locally and the next
/// synchronized pass reduces the sum. Buffers (batch-norm running statistics) are not reduced: each process updates
/// its own from its own batches; call <see cref="BroadcastBuffers"/> (rank 0's to all) before evaluating or saving,
/// or convert the model with <see cref="Nn.SyncBatchNorm.Convert"/> to normalize with statistics of the whole batch.</para>
/// </remarks>
public sealed class DistributedDataParallel : IDisposable
{
    /// <summary>PyTorch's default bucket size, in MB (10⁶ bytes).</summary>
    public const double DefaultBucketCapMB = 25;

    /// <summary>PyTorch's size for the first bucket (the last layers' gradients, ready first), in MB.</summary>
    public const double DefaultFirstBucketCapMB = 1;

    private readonly GradientBucket[] _buckets;
    private readonly bool[] _ready;
    private readonly List<IDisposable> _hooks = new();
    private readonly IProcessGroup? _reducer;
    private readonly Thread? _worker;
    private readonly object _gate = new();
    private readonly Queue<GradientBucket> _queue = new();
    private ExceptionDispatchInfo? _error;
    private bool _stopping;
    private int _launched, _completed;
    private long _communicationTicks;

    private long _passId;
    private bool _passActive;
    private int _nextToLaunch;
    private int _noSync;
    private long _passStart;
    private ReductionStatistics _statistics = new(0, 0, 0, 0, 0);
    private Action? _endPass;

    /// <summary>
    /// Attaches data-parallel gradient reduction to <paramref name="module"/> (collective: every process calls it with
    /// the same model). <paramref name="overlap"/> false reduces all buckets after backward instead of during it (for
    /// measuring what the overlap gains).
    /// </summary>
    public DistributedDataParallel(Module module, IProcessGroup group, double bucketCapMB = DefaultBucketCapMB,
        double firstBucketCapMB = DefaultFirstBucketCapMB, bool overlap = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(group);
        if (!(bucketCapMB > 0)) throw new ArgumentException($"DistributedDataParallel: bucketCapMB must be positive, got {bucketCapMB}.", nameof(bucketCapMB));
        if (!(firstBucketCapMB > 0)) throw new ArgumentException($"DistributedDataParallel: firstBucketCapMB must be positive, got {firstBucketCapMB}.", nameof(firstBucketCapMB));
        (Module, Group, Overlap) = (module, group, overlap);

        // Tied weights appear under several names: one bucket slot each.
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var parameters = module.NamedParameters().Where(p => p.Value.RequiresGrad && seen.Add(p.Value)).Select(p => (p.Key, p.Value)).ToList();
        if (parameters.Count == 0)
            throw new ArgumentException($"DistributedDataParallel: {module.TypeName} has no parameters that require grad; there is nothing to reduce.", nameof(module));

        CheckSameModel();
        BroadcastParameters();
        BroadcastBuffers();

        _buckets = BuildBuckets(parameters, (long)(bucketCapMB * 1e6), (long)(firstBucketCapMB * 1e6));
        _ready = new bool[_buckets.Length];
        if (group.WorldSize == 1) return; // nothing to reduce; backward stays as it is

        foreach (var bucket in _buckets)
            for (int slot = 0; slot < bucket.Parameters.Length; slot++)
            {
                int s = slot;
                var b = bucket;
                _hooks.Add(bucket.Parameters[slot].RegisterPostAccumulateGradHook(_ => OnGradientReady(b, s)));
            }
        if (overlap)
        {
            _reducer = group.Duplicate();
            _worker = new Thread(ReduceBuckets) { IsBackground = true, Name = $"striate-ddp-rank{group.Rank}" };
            _worker.Start();
        }
    }

    /// <summary>The wrapped model.</summary>
    public Module Module { get; }

    /// <summary>The processes it trains with.</summary>
    public IProcessGroup Group { get; }

    /// <summary>Whether buckets are reduced during backward (true) or after it.</summary>
    public bool Overlap { get; }

    /// <summary>The buckets, in reduction order.</summary>
    public IReadOnlyList<GradientBucket> Buckets => _buckets;

    /// <summary>Time spent reducing and waiting, summed over the synchronized backward passes since the last <see cref="ResetStatistics"/>.</summary>
    public ReductionStatistics Statistics => _statistics;

    /// <summary>Starts counting <see cref="Statistics"/> afresh (e.g. after warm-up steps).</summary>
    public void ResetStatistics() => _statistics = new(0, 0, 0, 0, 0);

    /// <summary>
    /// Backward passes run while the returned scope is open only accumulate gradients locally, as PyTorch's
    /// <c>no_sync()</c>; the first synchronized pass after it reduces the accumulated sum. Every process must use it
    /// for the same passes.
    /// </summary>
    public IDisposable NoSync()
    {
        _noSync++;
        return new NoSyncScope(this);
    }

    /// <summary>Copies rank 0's parameters to every process (collective; done at construction).</summary>
    public void BroadcastParameters()
    {
        foreach (var (_, p) in Module.NamedParameters()) Group.Broadcast(p.Span, 0);
    }

    /// <summary>
    /// Copies rank 0's buffers — batch-norm running statistics and counters — to every process (collective). Each
    /// process updates its buffers from its own batches, so they drift apart in training; broadcasting rank 0's before
    /// evaluation makes every process evaluate (and rank 0 save) the same model, as PyTorch's broadcast_buffers does
    /// before each forward.
    /// </summary>
    public void BroadcastBuffers()
    {
        foreach (var (_, b) in Module.NamedBuffers()) Group.Broadcast(b.Span, 0);
    }

    private void CheckSameModel()
    {
        // Count, elements and a hash of every name and shape; equal minimum and maximum over the ranks mean agreement.
        ulong hash = 14695981039346656037UL;
        long elements = 0;
        int tensors = 0;
        foreach (var (name, t) in Module.NamedParameters().Concat(Module.NamedBuffers()))
        {
            foreach (char ch in name) hash = (hash ^ ch) * 1099511628211UL;
            foreach (int d in t.Shape) hash = (hash ^ (uint)d) * 1099511628211UL;
            elements += t.Numel;
            tensors++;
        }
        Span<double> max = [tensors, elements, hash >> 12]; // 52 bits: exact in a double
        Span<double> min = stackalloc double[3];
        max.CopyTo(min);
        Group.AllReduce(max, ReduceOp.Max);
        Group.AllReduce(min, ReduceOp.Min);
        if (!max.SequenceEqual(min))
            throw new InvalidOperationException($"DistributedDataParallel: the processes built different models: rank {Group.Rank} has {tensors} parameter and buffer tensors with {elements:N0} elements, while across ranks the counts range over [{min[0]}, {max[0]}] and the elements over [{min[1]:N0}, {max[1]:N0}] (or the names and shapes differ). Every process must build the same model.");
    }

    private static GradientBucket[] BuildBuckets(List<(string Name, Tensor Parameter)> parameters, long capBytes, long firstCapBytes)
    {
        var buckets = new List<GradientBucket>();
        var current = new List<(string, Tensor)>();
        long bytes = 0;
        // Reverse order: backward produces the last layers' gradients first.
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            long size = parameters[i].Parameter.Numel * (long)sizeof(float);
            long cap = buckets.Count == 0 ? firstCapBytes : capBytes;
            if (current.Count > 0 && bytes + size > cap)
            {
                buckets.Add(new GradientBucket(buckets.Count, current));
                current = new();
                bytes = 0;
            }
            current.Add(parameters[i]);
            bytes += size;
        }
        buckets.Add(new GradientBucket(buckets.Count, current));
        return buckets.ToArray();
    }

    private void OnGradientReady(GradientBucket bucket, int slot)
    {
        if (_noSync > 0) return;
        if (!_passActive || _passId != BackwardPass.Id) BeginPass();
        if (bucket.Receive(slot)) MarkReady(bucket);
    }

    private void BeginPass()
    {
        if (_passActive)
            throw new InvalidOperationException("DistributedDataParallel: a previous backward pass failed after its gradients had started to be reduced, so this process is out of step with the others; restart the training (from the last checkpoint).");
        _passActive = true;
        _passId = BackwardPass.Id;
        _passStart = Stopwatch.GetTimestamp();
        _nextToLaunch = 0;
        Array.Clear(_ready);
        foreach (var b in _buckets) b.Reset();
        lock (_gate) { _launched = _completed = 0; _communicationTicks = 0; }
        BackwardPass.QueueCallback(_endPass ??= EndPass);
    }

    private void MarkReady(GradientBucket bucket)
    {
        _ready[bucket.Index] = true;
        if (!Overlap) return;
        // Every process launches buckets in index order, whichever filled first, so the collectives match.
        while (_nextToLaunch < _buckets.Length && _ready[_nextToLaunch])
        {
            var next = _buckets[_nextToLaunch++];
            lock (_gate)
            {
                _queue.Enqueue(next);
                _launched++;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>At the end of backward: launch what is left, wait for every reduction, report the first failure.</summary>
    private void EndPass()
    {
        long computeDone = Stopwatch.GetTimestamp();
        // Parameters whose hook did not run (unused in this forward) go in as they are (zeros without a gradient).
        foreach (var bucket in _buckets)
        {
            if (bucket.Pending == 0) continue;
            for (int slot = 0; slot < bucket.Parameters.Length; slot++) bucket.Receive(slot);
            MarkReady(bucket);
        }
        long communication;
        if (Overlap)
        {
            lock (_gate)
            {
                while (_completed < _launched) Monitor.Wait(_gate);
                communication = _communicationTicks;
            }
        }
        else
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                foreach (var bucket in _buckets) Reduce(Group, bucket);
            }
            catch (Exception e)
            {
                _error = ExceptionDispatchInfo.Capture(e);
            }
            communication = Stopwatch.GetTimestamp() - start;
        }
        _passActive = false;
        if (_error != null)
            throw new InvalidOperationException($"DistributedDataParallel (rank {Group.Rank} of {Group.WorldSize}): reducing the gradients failed: {_error.SourceException.Message}", _error.SourceException);
        long end = Stopwatch.GetTimestamp();
        var s = _statistics;
        _statistics = new ReductionStatistics(s.Passes + 1,
            s.BackwardSeconds + Seconds(computeDone - _passStart),
            s.CommunicationSeconds + Seconds(communication),
            s.ExposedSeconds + Seconds(end - computeDone),
            s.Bytes + _buckets.Sum(b => b.Bytes));
    }

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    private static void Reduce(IProcessGroup group, GradientBucket bucket)
    {
        group.AllReduce(bucket.Buffer, ReduceOp.Average);
        bucket.Scatter();
    }

    /// <summary>The background thread: reduces launched buckets in order on its own channel.</summary>
    private void ReduceBuckets()
    {
        while (true)
        {
            GradientBucket bucket;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_stopping) Monitor.Wait(_gate);
                if (_queue.Count == 0) return;
                bucket = _queue.Dequeue();
            }
            long start = Stopwatch.GetTimestamp();
            // After one failure the processes are out of step: later buckets are skipped, not reduced.
            if (_error == null)
            {
                try { Reduce(_reducer!, bucket); }
                catch (Exception e) { _error = ExceptionDispatchInfo.Capture(e); }
            }
            lock (_gate)
            {
                _communicationTicks += Stopwatch.GetTimestamp() - start;
                _completed++;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Removes the hooks and stops the background thread; the model keeps its weights and gradients.</summary>
    public void Dispose()
    {
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
        if (_worker != null)
        {
            lock (_gate) { _stopping = true; Monitor.PulseAll(_gate); }
            _worker.Join();
        }
        _reducer?.Dispose();
    }

    private sealed class NoSyncScope(DistributedDataParallel owner) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            owner._noSync--;
        }
    }
}

/// <summary>
/// Where the time of synchronized backward passes went, summed over <see cref="Passes"/>. BackwardSeconds runs from the
/// first gradient to the end of backward's computation; CommunicationSeconds is the time the reductions took;
/// ExposedSeconds is how long backward then waited for them — the part of the communication not hidden behind
/// computation.
/// </summary>
public readonly record struct ReductionStatistics(int Passes, double BackwardSeconds, double CommunicationSeconds, double ExposedSeconds, long Bytes)
{
    /// <summary>The share of the communication hidden behind backward: 1 − exposed / communication.</summary>
    public double OverlapFraction => CommunicationSeconds > 0 ? Math.Clamp(1 - ExposedSeconds / CommunicationSeconds, 0, 1) : double.NaN;
}
