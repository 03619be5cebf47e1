using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Striate.Kernels;

/// <summary>
/// How many threads the compute kernels (GEMM, convolution, pooling) may use. Defaults to
/// <see cref="Environment.ProcessorCount"/>; the CLI's <c>--threads</c> sets it.
/// </summary>
public static class KernelThreads
{
    private static int count = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Threads used by one kernel call, including the calling thread (at least 1).</summary>
    public static int Count
    {
        get => Volatile.Read(ref count);
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "KernelThreads.Count must be at least 1.");
            Volatile.Write(ref count, value);
        }
    }
}

/// <summary>
/// One unit of a <see cref="ParallelFor"/> loop. Implement it on a struct that carries the loop's inputs
/// (pointers, sizes), so that a call neither allocates nor goes through a delegate.
/// </summary>
internal interface IParallelBody
{
    /// <summary>Runs iteration <paramref name="index"/> (0 ≤ index &lt; count). Iterations run concurrently and in any order.</summary>
    void Invoke(int index);
}

/// <summary>
/// A low-overhead parallel loop over persistent worker threads, for kernels. Workers spin briefly after a loop
/// (kernel calls come in bursts: one layer after another) and then sleep on a semaphore. Iterations are handed out
/// in shrinking ranges from a shared counter (guided self-scheduling: each claim takes a share of what is left, down
/// to one iteration), so a thread slowed down by a noisy neighbour simply takes fewer, and a loop of many small
/// iterations costs a few claims per thread instead of one contended atomic per iteration. Sleeping workers are woken
/// along a binary tree (the caller wakes two, each woken worker two more), so waking 63 workers costs the caller two
/// wake-ups and the last worker six hops, not 63 in a row on the caller's thread.
/// <para>
/// Which thread runs an iteration never changes a result: iterations must write disjoint outputs (a reduction keeps
/// one partial per iteration and sums them in index order afterwards), so results are the same for any thread count.
/// A call nested inside a body runs its iterations serially on the calling thread. A call from another thread while a
/// loop is running takes the next free job slot (<see cref="JobSlots"/>), each with its own team of workers, and the
/// thread budget is shared among the slots running at that moment (two callers on 16 threads: 8 each); when every
/// slot is taken, or its share is one thread, it runs serially on its own thread: correct, never waiting for the other
/// caller, never deadlocking.
/// </para>
/// </summary>
internal static unsafe class ParallelFor
{
    // A job is published as: ticket := (gen << 32) | closed; fields; ticket := (gen << 32) | 0; generation := gen.
    // A worker claims iterations [i, i + n) by CAS on the ticket, which fails unless the job it read is still the live
    // one, so a straggler that wakes late can never run an iteration of a job whose fields it read half-updated.
    private const long Closed = int.MaxValue;

    // The words every thread hits, each on its own cache line: claims (ticket), completions (pending) and the
    // publication (generation) would otherwise invalidate one another's line on every access.
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct SharedWords
    {
        [FieldOffset(64)] public long Ticket;
        [FieldOffset(128)] public int Pending;
        [FieldOffset(192)] public int Generation;
    }

    /// <summary>
    /// One job slot: the loop running in it and the team of workers that serves it. Slot 0 is the one a lone caller
    /// takes (and the only one Rouse wakes and WorkerPlacement keeps off the caller's CPU); the others exist for callers
    /// on other threads at the same time (two inference sessions, or serving beside a training loop).
    /// </summary>
    private sealed class Slot(int index)
    {
        public readonly int Index = index;
        public SharedWords Shared = new() { Ticket = Closed };
        public int Busy; // 1 while a loop runs in this slot
        public int JobCount;
        public int JobWorkers;
        public int JobThreads;
        public void* JobBody;
        public delegate*<void*, int, int, void> JobInvoke;
        public Exception? JobError;
        public Worker[] Workers = [];
        public long PublishedAt;
    }

    /// <summary>The most job slots <see cref="JobSlots"/> may ask for.</summary>
    internal const int MaxJobSlots = 4;

    /// <summary>
    /// How many callers on different threads may run parallel loops at once (1 to <see cref="MaxJobSlots"/>), each with
    /// its own team of workers and a share of <see cref="KernelThreads.Count"/>. 1: one slot, a second concurrent caller
    /// runs its loops serially (before 2026-12-07). Switch STRIATE_BENCH_JOB_SLOTS.
    /// </summary>
    internal static int JobSlots = 1;

    private static readonly Slot[] slots = [new(0), new(1), new(2), new(3)];
    private static readonly Slot main = slots[0];

    private static readonly object GrowLock = new();
    [ThreadStatic] private static bool insideLoop;

    /// <summary>
    /// How long an idle worker polls for the next loop before sleeping, in Stopwatch ticks (~50 µs). A loop published
    /// after that waits for a semaphore wake-up (25–45 µs on the KVM Intel of 2026-12-08, 30–140 on the Zen 3).
    /// Switch STRIATE_BENCH_WORKER_SPIN_US.
    /// </summary>
    internal static long SpinTicks = Stopwatch.Frequency / 20_000;

    /// <summary>
    /// Diagnostics for the bench (serve-b1's "steps"): when set, every parallel loop counts itself and the ticks from
    /// its publication to each worker's first look at it, and every semaphore wake-up counts itself and its ticks from
    /// the release to the woken worker running. Off: one predictable branch per loop and per wake-up.
    /// </summary>
    internal static bool Trace;
    internal static long TracedLoops, TracedJoins, TracedJoinTicks, TracedWakeUps, TracedWakeTicks;

    /// <summary>
    /// Runs <c>body.Invoke(i)</c> for every i in [0, count) on up to <see cref="KernelThreads.Count"/> threads
    /// (the caller included), returning when all have finished. The first exception thrown by an iteration is
    /// rethrown here after the loop ends. Does not allocate.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TBody>(int count, ref TBody body) where TBody : struct, IParallelBody
        => Run(count, ref body, KernelThreads.Count);

    /// <summary>As <see cref="Run{TBody}(int, ref TBody)"/>, with an explicit thread budget.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TBody>(int count, ref TBody body, int threads) where TBody : struct, IParallelBody
    {
        if (count <= 0) return;
        Slot? slot = Math.Min(threads, count) <= 1 || insideLoop ? null : Take(ref threads);
        threads = Math.Min(threads, count);
        if (slot != null && threads <= 1)
        {
            Volatile.Write(ref slot.Busy, 0); // this caller's share of the budget is one thread
            slot = null;
        }
        if (slot == null)
        {
            for (int i = 0; i < count; i++) body.Invoke(i);
            return;
        }
        try
        {
            insideLoop = true;
            int workerCount = threads - 1;
            var team = EnsureWorkers(slot, workerCount);
            int gen = slot.Shared.Generation + 1;
            Interlocked.Exchange(ref slot.Shared.Ticket, ((long)gen << 32) | Closed);
            slot.JobBody = Unsafe.AsPointer(ref body);
            slot.JobInvoke = &InvokeRange<TBody>;
            slot.JobCount = count;
            slot.JobWorkers = workerCount;
            slot.JobThreads = threads;
            slot.JobError = null;
            Volatile.Write(ref slot.Shared.Pending, count);
            Interlocked.Exchange(ref slot.Shared.Ticket, (long)gen << 32);
            if (Trace) { Interlocked.Increment(ref TracedLoops); slot.PublishedAt = Stopwatch.GetTimestamp(); }
            Volatile.Write(ref slot.Shared.Generation, gen);
            if (slot == main)
            {
                int callerCpu = WorkerPlacement.CallerCpuToKeepOff();
                if (callerCpu >= 0) KeepWorkersOff(callerCpu, team);
            }
            WakeChildren(team, -1, workerCount);

            Participate(slot, gen);
            var spin = new SpinWait();
            while (Volatile.Read(ref slot.Shared.Pending) != 0) spin.SpinOnce(sleep1Threshold: -1);

            Exception? error = slot.JobError;
            slot.JobBody = null;
            if (error != null) throw new AggregateException("A parallel kernel iteration failed.", error);
        }
        finally
        {
            insideLoop = false;
            Volatile.Write(ref slot.Busy, 0);
        }
    }

    /// <summary>
    /// A free job slot for this loop, or null (run it serially): slot 0 when no other loop runs; with
    /// <see cref="JobSlots"/> &gt; 1 the next free one, and <paramref name="threads"/> cut to this caller's share of the
    /// budget among the slots busy now.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Slot? Take(ref int threads)
    {
        int slotCount = JobSlots;
        if (Interlocked.CompareExchange(ref main.Busy, 1, 0) == 0)
        {
            if (slotCount <= 1) return main;
            return Share(main, ref threads, slotCount);
        }
        for (int s = 1; s < Math.Min(slotCount, MaxJobSlots); s++)
            if (Interlocked.CompareExchange(ref slots[s].Busy, 1, 0) == 0) return Share(slots[s], ref threads, slotCount);
        return null;
    }

    // The budget split evenly among the loops running now, this one included (they were started with their own share
    // and keep it to their end; the next loop of each takes its share again).
    private static Slot Share(Slot taken, ref int threads, int slotCount)
    {
        int running = 0;
        for (int s = 0; s < Math.Min(slotCount, MaxJobSlots); s++) running += Volatile.Read(ref slots[s].Busy);
        threads = Math.Max(1, threads / Math.Max(1, running));
        return taken;
    }

    // Rare (the caller moved to another CPU, or workers were added): every worker's mask, not only this loop's team.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void KeepWorkersOff(int cpu, Worker[] team)
    {
        Span<int> tids = team.Length <= 256 ? stackalloc int[team.Length] : new int[team.Length];
        for (int i = 0; i < team.Length; i++) tids[i] = Volatile.Read(ref team[i].ThreadId);
        WorkerPlacement.KeepOff(cpu, tids);
    }

    // Callers between Rouse and Settle: while any is, idle workers poll instead of sleeping.
    private static int awake;

    /// <summary>
    /// Wakes the sleeping workers (along the same tree as a loop) and keeps every idle worker polling, not sleeping,
    /// until the matching <see cref="Settle"/>: for a caller about to make a burst of loops with serial work between
    /// them (an inference run), so that the workers' wake-up overlaps the caller's first serial part and no loop of the
    /// burst waits for a sleeping worker. Calls nest and may come from several threads; does not allocate.
    /// </summary>
    /// <param name="keepPolling">false: only wake them (each then polls its usual ~50 µs before sleeping again); no Settle follows.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Rouse(bool keepPolling = true)
    {
        if (keepPolling) Interlocked.Increment(ref awake);
        var team = Volatile.Read(ref main.Workers);
        WakeChildren(team, -1, Math.Min(team.Length, KernelThreads.Count - 1));
    }

    /// <summary>Ends a <see cref="Rouse"/>: once no caller is roused, idle workers go back to sleeping after their poll.</summary>
    internal static void Settle() => Interlocked.Decrement(ref awake);

    /// <summary>Callers between <see cref="Rouse"/> and <see cref="Settle"/> now (for tests).</summary>
    internal static int RousedCallers => Volatile.Read(ref awake);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InvokeRange<TBody>(void* body, int start, int end) where TBody : struct, IParallelBody
    {
        ref TBody b = ref Unsafe.AsRef<TBody>(body);
        for (int i = start; i < end; i++) b.Invoke(i);
    }

    // The wake-up tree: the caller (node −1) wakes workers 0 and 1, worker w wakes 2w + 2 and 2w + 3.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WakeChildren(Worker[] team, int node, int workerCount)
    {
        int first = 2 * node + 2;
        if (first < workerCount) team[first].Wake();
        if (first + 1 < workerCount) team[first + 1].Wake();
    }

    /// <summary>Claims and runs ranges of job <paramref name="gen"/> until none are left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Participate(Slot slot, int gen)
    {
        // Read the job, then validate every claim against the ticket (see the publication order above).
        int count = slot.JobCount;
        int share = 2 * slot.JobThreads;
        void* body = slot.JobBody;
        delegate*<void*, int, int, void> invoke = slot.JobInvoke;
        ref SharedWords shared = ref slot.Shared;
        while (true)
        {
            long t = Volatile.Read(ref shared.Ticket);
            if ((int)(t >> 32) != gen) return;
            int index = (int)t;
            if (index >= count) return;
            // Guided self-scheduling: a share of what is left, so claims shrink toward the end and the threads finish
            // together, while a long loop takes O(threads · log(count / threads)) claims in all.
            int n = Math.Max(1, (count - index) / share);
            if (Interlocked.CompareExchange(ref shared.Ticket, t + n, t) != t) continue;
            try { invoke(body, index, index + n); }
            catch (Exception e) { Interlocked.CompareExchange(ref slot.JobError, e, null); }
            Interlocked.Add(ref shared.Pending, -n);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Worker[] EnsureWorkers(Slot slot, int needed)
    {
        var team = Volatile.Read(ref slot.Workers);
        if (team.Length >= needed) return team;
        lock (GrowLock)
        {
            team = slot.Workers;
            if (team.Length >= needed) return team;
            var grown = new Worker[needed];
            team.CopyTo(grown, 0);
            for (int i = team.Length; i < needed; i++) grown[i] = new Worker(slot, i);
            Volatile.Write(ref slot.Workers, grown);
            if (slot == main) WorkerPlacement.Forget(); // the new workers' masks are not set yet
            return grown;
        }
    }

    private sealed class Worker
    {
        private readonly Slot slot;
        private readonly int index;
        private readonly SemaphoreSlim signal = new(0);
        private int sleeping; // 1 while the worker waits (or is about to wait) on the semaphore
        public int ThreadId; // the kernel's id of this worker's thread, for WorkerPlacement (0 until it runs, or off Linux)

        public Worker(Slot slot, int index)
        {
            this.slot = slot;
            this.index = index;
            string name = slot.Index == 0 ? $"Striate kernel worker {index + 1}" : $"Striate kernel worker {index + 1} (slot {slot.Index})";
            var thread = new Thread(Loop) { IsBackground = true, Name = name };
            thread.Start();
        }

        private long wokenAt;

        public void Wake()
        {
            if (Interlocked.Exchange(ref sleeping, 0) != 1) return;
            if (Trace) { Interlocked.Increment(ref TracedWakeUps); Volatile.Write(ref wokenAt, Stopwatch.GetTimestamp()); }
            signal.Release();
        }

        private void Loop()
        {
            insideLoop = true; // a body that calls a kernel runs that kernel serially
            Volatile.Write(ref ThreadId, WorkerPlacement.CurrentThreadId());
            int seen = 0;
            while (true)
            {
                int gen = WaitForJob(seen);
                seen = gen;
                int workerCount = Volatile.Read(ref slot.JobWorkers);
                if (index >= workerCount) continue;
                if (Trace)
                {
                    Interlocked.Increment(ref TracedJoins);
                    Interlocked.Add(ref TracedJoinTicks, Stopwatch.GetTimestamp() - Volatile.Read(ref slot.PublishedAt));
                }
                // Pass the wake-up on before working: the workers below this one in the tree may be asleep.
                WakeChildren(Volatile.Read(ref slot.Workers), index, workerCount);
                Participate(slot, gen);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int WaitForJob(int seen)
        {
            long start = Stopwatch.GetTimestamp();
            ref SharedWords shared = ref slot.Shared;
            bool roused = slot == main; // only slot 0's team is roused (Rouse) and polls while a caller is
            while (true)
            {
                int gen = Volatile.Read(ref shared.Generation);
                if (gen != seen) return gen;
                if (Stopwatch.GetTimestamp() - start < SpinTicks || (roused && Volatile.Read(ref awake) > 0)) { Thread.SpinWait(20); continue; }

                Interlocked.Exchange(ref sleeping, 1);
                gen = Volatile.Read(ref shared.Generation);
                if (gen != seen || (roused && Volatile.Read(ref awake) > 0))
                {
                    // A loop was published or a caller roused the pool meanwhile. If a waker already cleared our flag
                    // it also released the semaphore, so consume that release to keep the count at zero.
                    if (Interlocked.Exchange(ref sleeping, 0) == 0) signal.Wait();
                    if (gen != seen) return gen;
                    start = Stopwatch.GetTimestamp();
                    continue;
                }
                signal.Wait();
                start = Stopwatch.GetTimestamp();
                if (Trace) Interlocked.Add(ref TracedWakeTicks, start - Volatile.Read(ref wokenAt));
                // Woken by Rouse (no loop yet): pass it on down the tree, as a loop's wake-up is passed on.
                if (Volatile.Read(ref shared.Generation) == seen)
                {
                    var team = Volatile.Read(ref slot.Workers);
                    WakeChildren(team, index, Math.Min(team.Length, KernelThreads.Count - 1));
                }
            }
        }
    }
}
