using System.Threading;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>The kernels' parallel loop: every iteration exactly once, errors surfaced, nesting safe.</summary>
public class GemmParallelForTests
{
    private unsafe struct CountBody : IParallelBody
    {
        public int* Hits;
        public void Invoke(int index) => Interlocked.Increment(ref Hits[index]);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 7)]
    [InlineData(4, 1000)]
    [InlineData(3, 100_003)] // many small iterations: claimed in shrinking ranges
    public unsafe void RunsEveryIterationExactlyOnce(int threads, int count)
    {
        var hits = new int[count];
        fixed (int* p = hits)
        {
            for (int repeat = 0; repeat < 50; repeat++)
            {
                var body = new CountBody { Hits = p };
                ParallelFor.Run(count, ref body, threads);
            }
        }
        Assert.All(hits, h => Assert.Equal(50, h));
    }

    private struct ThrowingBody : IParallelBody
    {
        public void Invoke(int index)
        {
            if (index == 3) throw new InvalidOperationException("iteration 3");
        }
    }

    [Fact]
    public void ExceptionInAnIterationIsRethrownAfterTheLoop()
    {
        var body = new ThrowingBody();
        var e = Assert.ThrowsAny<Exception>(() => ParallelFor.Run(10, ref body, 2));
        Assert.Contains("iteration 3", e is AggregateException agg ? agg.InnerException!.Message : e.Message);
        // The loop machinery is still usable afterwards.
        RunsEveryIterationExactlyOnce(2, 10);
    }

    private unsafe struct NestedBody : IParallelBody
    {
        public int* Hits;
        public void Invoke(int index)
        {
            var inner = new CountBody { Hits = Hits + index * 4 };
            ParallelFor.Run(4, ref inner, 2);
        }
    }

    [Fact]
    public unsafe void NestedLoopsRunEveryInnerIteration()
    {
        var hits = new int[8 * 4];
        fixed (int* p = hits)
        {
            var body = new NestedBody { Hits = p };
            ParallelFor.Run(8, ref body, 2);
        }
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public async Task ConcurrentCallersFromManyThreadsAllComplete()
    {
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(() => RunsEveryIterationExactlyOnce(2, 37), TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(tasks);
    }

    // Iteration i of loop l writes a value only this caller, loop and index give, so a caller that ran another's body,
    // skipped an index or ran one twice (a stale job's range) leaves a wrong value or a count other than one.
    private unsafe struct StampBody : IParallelBody
    {
        public float* Out;
        public int* Hits;
        public int Caller, Loop;
        public void Invoke(int index)
        {
            Out[index] = Caller * 100_000f + Loop * 1_000f + index;
            Interlocked.Increment(ref Hits[index]);
        }
    }

    internal static unsafe void StampLoops(int caller, int count, int loops, int threads)
    {
        var output = new float[count];
        var hits = new int[count];
        fixed (float* o = output)
        fixed (int* h = hits)
        {
            for (int loop = 0; loop < loops; loop++)
            {
                Array.Fill(output, float.NaN);
                Array.Clear(hits);
                var body = new StampBody { Out = o, Hits = h, Caller = caller, Loop = loop % 100 };
                ParallelFor.Run(count, ref body, threads);
                for (int i = 0; i < count; i++)
                {
                    if (hits[i] != 1 || output[i] != caller * 100_000f + (loop % 100) * 1_000f + i)
                        Assert.Fail($"caller {caller}, loop {loop}, iteration {i} of {count}: ran {hits[i]} times, wrote {output[i]}");
                }
            }
        }
    }

    // Two users of the one pool on their own threads at once — an inference session serving beside a training loop,
    // or two sessions: loops of different sizes and thread budgets interleave (one gets the pool, the other runs its
    // loop on its own thread), and both streams finish with every value right, well within the bound (no deadlock,
    // neither waits for the other's loop to end).
    [Theory]
    [InlineData(2, 2)]
    [InlineData(4, 3)]
    public async Task TwoConcurrentUsersBothCompleteWithTheirOwnResults(int threadsA, int threadsB)
    {
        var ct = TestContext.Current.CancellationToken;
        var a = Task.Factory.StartNew(() => StampLoops(1, 37, 400, threadsA), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var b = Task.Factory.StartNew(() => StampLoops(2, 1_003, 400, threadsB), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(120), ct);
    }

    private struct SlowBody : IParallelBody
    {
        public ManualResetEventSlim Release;
        public void Invoke(int index)
        {
            if (!Release.Wait(TimeSpan.FromSeconds(60))) throw new TimeoutException("never released");
        }
    }

    // While one caller's loop holds the pool (its iterations blocked), another caller's loops on another thread still
    // run to the end with right values: they do not queue behind the held loop.
    [Fact]
    public async Task ALoopHeldOpenDoesNotBlockAnotherCaller()
    {
        var ct = TestContext.Current.CancellationToken;
        using var release = new ManualResetEventSlim(false);
        var held = Task.Factory.StartNew(() =>
        {
            var body = new SlowBody { Release = release };
            ParallelFor.Run(4, ref body, 2);
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            var other = Task.Factory.StartNew(() => StampLoops(3, 257, 50, 2), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await other.WaitAsync(TimeSpan.FromSeconds(60), ct);
        }
        finally
        {
            release.Set();
        }
        await held.WaitAsync(TimeSpan.FromSeconds(60), ct);
    }
}

/// <summary>
/// The kernels' parallel loop wakes every worker it needs, run with no other test's loop beside it; the process-wide
/// thread count refuses zero (a write of <see cref="KernelThreads.Count"/>, were it to succeed).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class ParallelForWakeUpTests
{
    [Fact]
    public void ThreadCountRejectsZero()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelThreads.Count = 0);
    }

    private struct BarrierBody : IParallelBody
    {
        public Barrier Barrier;
        public int[] Missed;
        public void Invoke(int index)
        {
            if (!Barrier.SignalAndWait(TimeSpan.FromSeconds(20))) Interlocked.Increment(ref Missed[0]);
        }
    }

    // Every iteration waits until all eight have started, which only eight threads at once can do: the caller and
    // seven workers, woken from sleep along the wake-up tree (a worker left asleep would make the barrier time out).
    // Alone (a non-parallel collection): a loop started while another test's loop runs would run serially.
    [Fact]
    public void SleepingWorkersAreAllWokenForALoop()
    {
        for (int repeat = 0; repeat < 3; repeat++)
        {
            Thread.Sleep(20); // past the workers' spin window: they are asleep now
            using var barrier = new Barrier(8);
            var body = new BarrierBody { Barrier = barrier, Missed = new int[1] };
            ParallelFor.Run(8, ref body, 8);
            Assert.Equal(0, body.Missed[0]);
        }
    }

    // Rouse (an inference run's start) and Settle nest and may be mixed with loops in any order: every loop of the
    // burst, and one after the last Settle (the workers asleep again), still runs on all eight threads at once, and the
    // pool ends settled. (How many semaphore wake-ups a loop needed depends on scheduling, so it is not asserted here:
    // bench/idle_b1.py counts them.)
    [Fact]
    public void RousedAndSettledWorkersStillRunEveryLoop()
    {
        using var threads = Switches.Set(() => KernelThreads.Count, 8);
        RunBarrierLoop(); // seven workers exist
        Thread.Sleep(20); // past the spin window: asleep
        ParallelFor.Rouse();
        ParallelFor.Rouse(); // nested: a second caller
        ParallelFor.Rouse(keepPolling: false); // a wake-only rouse needs no Settle
        Assert.Equal(2, ParallelFor.RousedCallers);
        Thread.Sleep(20);
        RunBarrierLoop();
        Thread.Sleep(20);
        RunBarrierLoop();
        ParallelFor.Settle();
        Thread.Sleep(20);
        RunBarrierLoop();
        ParallelFor.Settle();
        Assert.Equal(0, ParallelFor.RousedCallers);
        Thread.Sleep(20); // settled: asleep again, woken by the loop
        RunBarrierLoop();
    }

    private static void RunBarrierLoop()
    {
        using var barrier = new Barrier(8);
        var body = new BarrierBody { Barrier = barrier, Missed = new int[1] };
        ParallelFor.Run(8, ref body, 8);
        Assert.Equal(0, body.Missed[0]);
    }
}

/// <summary>
/// Job slots (<see cref="ParallelFor.JobSlots"/>): with more than one, callers on different threads at the same time
/// each run their loops on a team of their own with a share of the thread budget; with one, the second runs serially.
/// Alone (a non-parallel collection): the tests set the process-wide slot count and thread budget.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class ParallelForJobSlotTests
{
    private struct MeetingBody : IParallelBody
    {
        public Barrier Meeting;
        public int[] Missed;
        public void Invoke(int index)
        {
            if (!Meeting.SignalAndWait(TimeSpan.FromSeconds(20))) Interlocked.Increment(ref Missed[0]);
        }
    }

    // Two callers, each a loop of two iterations, and every iteration waits until all four have started: only two
    // loops running in parallel at once (two threads each: the budget of 4 shared between the two slots) can do it.
    [Fact]
    public async Task TwoSlotsRunTwoCallersLoopsInParallelAtOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        using var slots = Switches.Set(() => ParallelFor.JobSlots, 2);
        using var threads = Switches.Set(() => KernelThreads.Count, 4);
        for (int repeat = 0; repeat < 3; repeat++)
        {
            using var meeting = new Barrier(4);
            var missed = new int[1];
            void Caller()
            {
                var body = new MeetingBody { Meeting = meeting, Missed = missed };
                ParallelFor.Run(2, ref body);
            }
            var a = Task.Factory.StartNew(Caller, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var b = Task.Factory.StartNew(Caller, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(60), ct);
            Assert.Equal(0, missed[0]);
        }
    }

    // Every slot count, callers up to one more than the slots (the last runs serially): every loop of every caller
    // complete with its own values, the slots all free again afterwards (a later loop on one caller still runs).
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task EverySlotCountRunsConcurrentCallersCorrectly(int slotCount)
    {
        var ct = TestContext.Current.CancellationToken;
        using var slots = Switches.Set(() => ParallelFor.JobSlots, slotCount);
        using var threads = Switches.Set(() => KernelThreads.Count, 4);
        var callers = Enumerable.Range(0, slotCount + 1).Select(c => Task.Factory.StartNew(
            () => GemmParallelForTests.StampLoops(10 + c, 61 + 100 * c, 150, 4), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(120), ct);
        using var meeting = new Barrier(4);
        var body = new MeetingBody { Meeting = meeting, Missed = new int[1] };
        ParallelFor.Run(4, ref body); // slot 0 is free and its team answers: all four iterations at once
        Assert.Equal(0, body.Missed[0]);
    }
}
