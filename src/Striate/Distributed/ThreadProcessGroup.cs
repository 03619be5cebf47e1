using Striate.Kernels;

namespace Striate.Distributed;

/// <summary>
/// A process group whose ranks are threads of one process, for tests of data-parallel code without <c>mpirun</c>:
/// <see cref="Create"/> makes one group object per rank, and each rank's thread calls the collectives on its own.
/// Reductions combine the ranks in rank order, so every rank gets bit-identical results. A rank that does not reach a
/// collective within the timeout (it died, or called another collective) makes the others throw a
/// <see cref="TimeoutException"/> that names it, and the group is unusable afterwards.
/// </summary>
public sealed class ThreadProcessGroup : IProcessGroup
{
    private readonly Rendezvous _rendezvous;

    private ThreadProcessGroup(Rendezvous rendezvous, int rank) => (_rendezvous, Rank) = (rendezvous, rank);

    /// <summary>One group object per rank, for <paramref name="worldSize"/> threads; collectives time out after <paramref name="timeout"/> (default one minute).</summary>
    public static ThreadProcessGroup[] Create(int worldSize, TimeSpan? timeout = null)
    {
        if (worldSize <= 0) throw new ArgumentException($"ThreadProcessGroup: worldSize must be positive, got {worldSize}.", nameof(worldSize));
        var t = timeout ?? TimeSpan.FromMinutes(1);
        if (t <= TimeSpan.Zero) throw new ArgumentException($"ThreadProcessGroup: timeout must be positive, got {t}.", nameof(timeout));
        return Ranks(new Rendezvous(worldSize, t));
    }

    private static ThreadProcessGroup[] Ranks(Rendezvous rendezvous) =>
        Enumerable.Range(0, rendezvous.WorldSize).Select(r => new ThreadProcessGroup(rendezvous, r)).ToArray();

    public int Rank { get; }
    public int WorldSize => _rendezvous.WorldSize;
    public string Description => $"threads of one process, {WorldSize} ranks";

    public unsafe void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum)
    {
        fixed (float* p = data)
        {
            var calls = _rendezvous.Arrive(Rank, new Call(Kind.AllReduceFloat, (nint)p, data.Length, op, 0));
            var result = Scratch<float>.Get(data.Length);
            new ReadOnlySpan<float>((float*)calls[0].Pointer, data.Length).CopyTo(result);
            for (int r = 1; r < calls.Length; r++)
            {
                var other = new ReadOnlySpan<float>((float*)calls[r].Pointer, data.Length);
                switch (op)
                {
                    case ReduceOp.Max: SpanMath.Max(result, other, result); break;
                    case ReduceOp.Min: SpanMath.Min(result, other, result); break;
                    default: SpanMath.Add(result, other, result); break;
                }
            }
            if (op == ReduceOp.Average) SpanMath.Multiply(result, 1f / WorldSize, result);
            // Everyone has read every input before anyone overwrites its own.
            _rendezvous.Arrive(Rank, new Call(Kind.Done, 0, 0, 0, 0));
            result.CopyTo(data);
        }
    }

    public unsafe void AllReduce(Span<double> data, ReduceOp op = ReduceOp.Sum)
    {
        fixed (double* p = data)
        {
            var calls = _rendezvous.Arrive(Rank, new Call(Kind.AllReduceDouble, (nint)p, data.Length, op, 0));
            var result = Scratch<double>.Get(data.Length);
            new ReadOnlySpan<double>((double*)calls[0].Pointer, data.Length).CopyTo(result);
            for (int r = 1; r < calls.Length; r++)
            {
                var other = new ReadOnlySpan<double>((double*)calls[r].Pointer, data.Length);
                switch (op)
                {
                    case ReduceOp.Max: for (int i = 0; i < result.Length; i++) result[i] = Math.Max(result[i], other[i]); break;
                    case ReduceOp.Min: for (int i = 0; i < result.Length; i++) result[i] = Math.Min(result[i], other[i]); break;
                    default: for (int i = 0; i < result.Length; i++) result[i] += other[i]; break;
                }
            }
            if (op == ReduceOp.Average)
            {
                double scale = 1.0 / WorldSize;
                for (int i = 0; i < result.Length; i++) result[i] *= scale;
            }
            _rendezvous.Arrive(Rank, new Call(Kind.Done, 0, 0, 0, 0));
            result.CopyTo(data);
        }
    }

    public unsafe void Broadcast(Span<float> data, int root = 0)
    {
        ProcessGroupChecks.Root(this, root, "Broadcast");
        fixed (float* p = data) BroadcastBytes((byte*)p, data.Length * sizeof(float), root, Kind.BroadcastFloat, data.Length);
    }

    public unsafe void Broadcast(Span<byte> data, int root = 0)
    {
        ProcessGroupChecks.Root(this, root, "Broadcast");
        fixed (byte* p = data) BroadcastBytes(p, data.Length, root, Kind.BroadcastByte, data.Length);
    }

    private unsafe void BroadcastBytes(byte* data, int bytes, int root, Kind kind, int length)
    {
        var calls = _rendezvous.Arrive(Rank, new Call(kind, (nint)data, length, 0, root));
        if (Rank != root) new ReadOnlySpan<byte>((byte*)calls[root].Pointer, bytes).CopyTo(new Span<byte>(data, bytes));
        // The root keeps its buffer unchanged until everyone has copied it.
        _rendezvous.Arrive(Rank, new Call(Kind.Done, 0, 0, 0, 0));
    }

    public unsafe void AllGather(ReadOnlySpan<float> input, Span<float> output)
    {
        ProcessGroupChecks.GatherSizes(this, input.Length, output.Length);
        fixed (float* p = input)
        {
            var calls = _rendezvous.Arrive(Rank, new Call(Kind.AllGather, (nint)p, input.Length, 0, 0));
            for (int r = 0; r < calls.Length; r++)
                new ReadOnlySpan<float>((float*)calls[r].Pointer, input.Length).CopyTo(output.Slice(r * input.Length, input.Length));
            _rendezvous.Arrive(Rank, new Call(Kind.Done, 0, 0, 0, 0));
        }
    }

    public void Barrier() => _rendezvous.Arrive(Rank, new Call(Kind.Barrier, 0, 0, 0, 0));

    public IProcessGroup Duplicate()
    {
        // Rank 0 makes the new meeting point and hands it to the others through this one.
        var fresh = Rank == 0 ? new Rendezvous(WorldSize, _rendezvous.Timeout) : null;
        var calls = _rendezvous.Arrive(Rank, new Call(Kind.Duplicate, 0, 0, 0, 0) { Payload = fresh });
        return new ThreadProcessGroup((Rendezvous)calls[0].Payload!, Rank);
    }

    public void Dispose() { }

    private enum Kind { Done, Barrier, AllReduceFloat, AllReduceDouble, BroadcastFloat, BroadcastByte, AllGather, Duplicate }

    private readonly record struct Call(Kind Kind, nint Pointer, int Length, ReduceOp Op, int Root)
    {
        public object? Payload { get; init; }

        public override string ToString() => Kind switch
        {
            Kind.AllReduceFloat or Kind.AllReduceDouble => $"{Kind}({Length} elements, {Op})",
            Kind.BroadcastFloat or Kind.BroadcastByte => $"{Kind}({Length} elements, root {Root})",
            Kind.AllGather => $"AllGather({Length} elements each)",
            _ => Kind.ToString(),
        };
    }

    /// <summary>A reusable per-thread buffer for a reduction's result.</summary>
    private static class Scratch<T>
    {
        [ThreadStatic] private static T[]? _buffer;

        public static Span<T> Get(int length)
        {
            if (_buffer == null || _buffer.Length < length) _buffer = new T[Math.Max(length, 1024)];
            return _buffer.AsSpan(0, length);
        }
    }

    /// <summary>
    /// Where the ranks meet: each arrival publishes its call and waits until all ranks have arrived. The calls of
    /// consecutive meetings alternate between two arrays, so a rank that has moved on to the next meeting cannot
    /// overwrite what a slower rank is still reading from the previous one.
    /// </summary>
    private sealed class Rendezvous(int worldSize, TimeSpan timeout)
    {
        private readonly object _gate = new();
        private readonly Call[][] _calls = [new Call[worldSize], new Call[worldSize]];
        private readonly bool[] _arrived = new bool[worldSize];
        private int _count;
        private long _generation;
        private string? _broken;
        private bool _timedOut;

        private Exception Broken() => _timedOut ? new TimeoutException(_broken) : new InvalidOperationException(_broken);

        public int WorldSize { get; } = worldSize;
        public TimeSpan Timeout { get; } = timeout;

        public Call[] Arrive(int rank, Call call)
        {
            lock (_gate)
            {
                if (_broken != null) throw Broken();
                long generation = _generation;
                var calls = _calls[generation & 1];
                calls[rank] = call;
                _arrived[rank] = true;
                if (++_count == WorldSize)
                {
                    _count = 0;
                    Array.Clear(_arrived);
                    _generation++;
                    Monitor.PulseAll(_gate);
                }
                else
                {
                    long deadline = Environment.TickCount64 + (long)Timeout.TotalMilliseconds;
                    while (_generation == generation)
                    {
                        if (_broken != null) throw Broken();
                        long remaining = deadline - Environment.TickCount64;
                        if (remaining <= 0)
                        {
                            var missing = Enumerable.Range(0, WorldSize).Where(r => !_arrived[r]);
                            _broken = $"ThreadProcessGroup: rank {string.Join(", ", missing)} did not reach {call} within {Timeout.TotalSeconds:0.#} s; it has probably failed.";
                            _timedOut = true;
                            Monitor.PulseAll(_gate);
                            throw Broken();
                        }
                        Monitor.Wait(_gate, (int)Math.Min(remaining, int.MaxValue));
                    }
                }
                // Every rank checks the same calls, so a mismatch makes all of them throw.
                var first = calls[0];
                for (int r = 1; r < WorldSize; r++)
                    if (calls[r] with { Pointer = 0, Payload = null } != first with { Pointer = 0, Payload = null })
                    {
                        _broken = $"ThreadProcessGroup: the ranks called different collectives: rank 0 {first}, rank {r} {calls[r]}.";
                        throw new InvalidOperationException(_broken);
                    }
                return calls;
            }
        }
    }
}
