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
