using System.Diagnostics;

namespace Striate.Distributed;

/// <summary>
/// Watches the blocking MPI calls of every thread: a collective that has not returned after the timeout means another
/// process died or hung, and MPI itself would wait forever. The watchdog then says so on stderr and calls
/// <c>onTimeout</c> (MPI_Abort, which ends every process of the job). Cheap per call: two timestamps, no allocation.
/// </summary>
internal sealed class CollectiveWatchdog : IDisposable
{
    private readonly TimeSpan _timeout;
    private readonly Func<string> _who;
    private readonly Action _onTimeout;
    private readonly List<Slot> _slots = new();
    private readonly Thread _thread;
    private volatile bool _stopping;
    [ThreadStatic] private static Dictionary<CollectiveWatchdog, Slot>? _mine;

    public CollectiveWatchdog(TimeSpan timeout, Func<string> who, Action onTimeout)
    {
        (_timeout, _who, _onTimeout) = (timeout, who, onTimeout);
        _thread = new Thread(Watch) { IsBackground = true, Name = "striate-mpi-watchdog" };
        _thread.Start();
    }

    public TimeSpan Timeout => _timeout;

    /// <summary>Marks the start of a blocking call on this thread; dispose the result when it returns.</summary>
    public Scope Begin(string operation, long bytes)
    {
        var slot = SlotOfThisThread();
        slot.Operation = operation;
        slot.Bytes = bytes;
        Volatile.Write(ref slot.Start, Stopwatch.GetTimestamp());
        return new Scope(slot);
    }

    private Slot SlotOfThisThread()
    {
        _mine ??= new();
        if (_mine.TryGetValue(this, out var slot)) return slot;
        slot = new Slot { Thread = Environment.CurrentManagedThreadId };
        lock (_slots) _slots.Add(slot);
        _mine[this] = slot;
        return slot;
    }

    private void Watch()
    {
        long limit = (long)(_timeout.TotalSeconds * Stopwatch.Frequency);
        while (!_stopping)
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(Math.Clamp(_timeout.TotalMilliseconds / 10, 50, 1000)));
            long now = Stopwatch.GetTimestamp();
            Slot? late = null;
            lock (_slots)
                foreach (var slot in _slots)
                {
                    long start = Volatile.Read(ref slot.Start);
                    if (start != 0 && now - start > limit) { late = slot; break; }
                }
            if (late == null || _stopping) continue;
            Console.Out.Flush();
            Console.Error.WriteLine($"striate: {_who()}: {late.Operation} ({late.Bytes:N0} bytes) has not completed after {_timeout.TotalSeconds:0.#} s; " +
                "another process has probably died or hung (its own message, or mpirun's, says why). Aborting the job. " +
                "(STRIATE_COLLECTIVE_TIMEOUT sets the limit in seconds.)");
            Console.Error.Flush();
            _onTimeout();
            return;
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
    }

    internal sealed class Slot
    {
        public long Start;
        public string Operation = "";
        public long Bytes;
        public int Thread;
    }

    public readonly struct Scope(Slot slot) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref slot.Start, 0);
    }
}
