using System.Diagnostics;
using System.Runtime.CompilerServices;

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
/// (kernel calls come in bursts: one layer after another) and then sleep on a semaphore. Iterations are handed
/// out one at a time from a shared counter, so a thread slowed down by a noisy neighbour simply takes fewer.
/// <para>
/// A call made while another loop is running (from another thread, or nested inside a body) runs its
/// iterations serially on the calling thread: correct, never deadlocking, just not parallel.
/// </para>
/// </summary>
internal static unsafe class ParallelFor
{
    // A job is published as: ticket := (gen << 32) | closed; fields; ticket := (gen << 32) | 0; generation := gen.
    // A worker claims iteration i by CAS on the ticket, which fails unless the job it read is still the live one,
    // so a straggler that wakes late can never run an iteration of a job whose fields it read half-updated.
    private const long Closed = int.MaxValue;
    private static long ticket = Closed;
    private static int generation;
    private static int pending;
    private static int jobCount;
    private static int jobWorkers;
    private static void* jobBody;
    private static delegate*<void*, int, void> jobInvoke;
    private static Exception? jobError;

    private static readonly object Gate = new();
    private static readonly List<Worker> Workers = new();
    [ThreadStatic] private static bool insideLoop;

    /// <summary>How long an idle worker polls for the next loop before sleeping, in Stopwatch ticks (~50 µs).</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000;

    /// <summary>
    /// Runs <c>body.Invoke(i)</c> for every i in [0, count) on up to <see cref="KernelThreads.Count"/> threads
    /// (the caller included), returning when all have finished. The first exception thrown by an iteration is
    /// rethrown here after the loop ends. Does not allocate.
    /// </summary>
    public static void Run<TBody>(int count, ref TBody body) where TBody : struct, IParallelBody
        => Run(count, ref body, KernelThreads.Count);

    /// <summary>As <see cref="Run{TBody}(int, ref TBody)"/>, with an explicit thread budget.</summary>
    public static void Run<TBody>(int count, ref TBody body, int threads) where TBody : struct, IParallelBody
    {
        if (count <= 0) return;
        threads = Math.Min(threads, count);
        if (threads <= 1 || insideLoop || !Monitor.TryEnter(Gate))
        {
            for (int i = 0; i < count; i++) body.Invoke(i);
            return;
        }
        try
        {
            insideLoop = true;
            int workers = threads - 1;
            EnsureWorkers(workers);
            int gen = generation + 1;
            Interlocked.Exchange(ref ticket, ((long)gen << 32) | Closed);
            jobBody = Unsafe.AsPointer(ref body);
            jobInvoke = &InvokeBody<TBody>;
            jobCount = count;
            jobWorkers = workers;
            jobError = null;
            Volatile.Write(ref pending, count);
            Interlocked.Exchange(ref ticket, (long)gen << 32);
            Volatile.Write(ref generation, gen);
            for (int w = 0; w < workers; w++) Workers[w].Wake();

            Participate(gen);
            var spin = new SpinWait();
            while (Volatile.Read(ref pending) != 0) spin.SpinOnce(sleep1Threshold: -1);

            Exception? error = jobError;
            jobBody = null;
            if (error != null) throw new AggregateException("A parallel kernel iteration failed.", error);
        }
        finally
        {
            insideLoop = false;
            Monitor.Exit(Gate);
        }
    }

    private static void InvokeBody<TBody>(void* body, int index) where TBody : struct, IParallelBody
        => Unsafe.AsRef<TBody>(body).Invoke(index);

    /// <summary>Claims and runs iterations of job <paramref name="gen"/> until none are left.</summary>
    private static void Participate(int gen)
    {
        // Read the job, then validate every claim against the ticket (see the publication order above).
        int count = jobCount;
        void* body = jobBody;
        delegate*<void*, int, void> invoke = jobInvoke;
        while (true)
        {
            long t = Volatile.Read(ref ticket);
            if ((int)(t >> 32) != gen) return;
            int index = (int)t;
            if (index >= count) return;
            if (Interlocked.CompareExchange(ref ticket, t + 1, t) != t) continue;
            try { invoke(body, index); }
            catch (Exception e) { Interlocked.CompareExchange(ref jobError, e, null); }
            Interlocked.Decrement(ref pending);
        }
    }

    private static void EnsureWorkers(int needed)
    {
        while (Workers.Count < needed) Workers.Add(new Worker(Workers.Count));
    }

    private sealed class Worker
    {
        private readonly int index;
        private readonly SemaphoreSlim signal = new(0);
        private int sleeping; // 1 while the worker waits (or is about to wait) on the semaphore

        public Worker(int index)
        {
            this.index = index;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Striate kernel worker {index + 1}" };
            thread.Start();
        }

        public void Wake()
        {
            if (Interlocked.Exchange(ref sleeping, 0) == 1) signal.Release();
        }

        private void Loop()
        {
            insideLoop = true; // a body that calls a kernel runs that kernel serially
            int seen = 0;
            while (true)
            {
                int gen = WaitForJob(seen);
                seen = gen;
                if (index < Volatile.Read(ref jobWorkers)) Participate(gen);
            }
        }

        private int WaitForJob(int seen)
        {
            long start = Stopwatch.GetTimestamp();
            while (true)
            {
                int gen = Volatile.Read(ref generation);
                if (gen != seen) return gen;
                if (Stopwatch.GetTimestamp() - start < SpinTicks) { Thread.SpinWait(20); continue; }

                Interlocked.Exchange(ref sleeping, 1);
                gen = Volatile.Read(ref generation);
                if (gen != seen)
                {
                    // A loop was published meanwhile. If its caller already cleared our flag it also released
                    // the semaphore, so consume that release to keep the count at zero.
                    if (Interlocked.Exchange(ref sleeping, 0) == 0) signal.Wait();
                    return gen;
                }
                signal.Wait();
                start = Stopwatch.GetTimestamp();
            }
        }
    }
}
