using System.Threading;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>ParallelFor keeps its workers off the CPU its caller runs on (Linux, two CPUs or more), and never pins them to one when more are free.</summary>
[Collection(nameof(StaticSwitchesCollection))]
public class WorkerPlacementTests
{
    private unsafe struct WorkerIdsBody : IParallelBody
    {
        public int* Ids;
        public void Invoke(int index) { Ids[index] = WorkerPlacement.CurrentThreadId(); Thread.SpinWait(2000); }
    }

    [Fact]
    public unsafe void WorkersMayRunAnywhereButOnTheCallersCpu()
    {
        int self = WorkerPlacement.CurrentThreadId();
        Assert.SkipWhen(self == 0, "worker placement runs on Linux with at least two CPUs allowed to the process");
        bool was = WorkerPlacement.Enabled;
        try
        {
            WorkerPlacement.Enabled = true;
            WorkerPlacement.Forget();
            var ids = new int[64];
            fixed (int* p = ids)
            {
                // A worker asleep when a short loop starts may find every iteration taken by the caller: try until one took some.
                for (int attempt = 0; attempt < 20; attempt++)
                {
                    var body = new WorkerIdsBody { Ids = p };
                    ParallelFor.Run(ids.Length, ref body, 2);
                    if (ids.Any(t => t != self && t != 0)) break;
                }
            }
            int worker = ids.FirstOrDefault(t => t != self && t != 0);
            Assert.SkipWhen(worker == 0, "no worker took an iteration in 20 loops (the caller ran them all)");
            var allowed = WorkerPlacement.AffinityOf(worker)!;
            var process = WorkerPlacement.AffinityOf(0)!; // this thread's mask: the process's, as no test confines its threads
            int Count(ulong[] m) => m.Sum(w => System.Numerics.BitOperations.PopCount(w));
            // The worker's mask is the process's minus exactly one CPU (the caller's at the last loop that moved).
            Assert.Equal(Count(process) - 1, Count(allowed));
            for (int i = 0; i < allowed.Length; i++) Assert.Equal(0UL, allowed[i] & ~process[i]);
        }
        finally
        {
            WorkerPlacement.Enabled = was;
        }
    }

    [Fact]
    public void SwitchedOffItLeavesTheMasksAlone()
    {
        bool was = WorkerPlacement.Enabled;
        try
        {
            WorkerPlacement.Enabled = false;
            WorkerPlacement.Forget();
            Assert.Equal(-1, WorkerPlacement.CallerCpuToKeepOff());
        }
        finally
        {
            WorkerPlacement.Enabled = was;
        }
    }
}
