using System.Runtime.InteropServices;

namespace Striate.Kernels;

/// <summary>
/// Keeps <see cref="ParallelFor"/>'s workers off the CPU the calling thread runs on (Linux only). A worker that sleeps
/// between bursts of kernels is woken by the caller; the scheduler may queue it on the caller's own CPU, where it waits
/// until the caller is preempted or migrated — on a 2-vCPU host a worker's run-queue wait was 6–7 ms of a 9–13 ms
/// MobileNet-V2 batch-1 run (mb8, 2026-12-06). Before it wakes the workers, the caller reads its CPU (sched_getcpu);
/// when that differs from the CPU the workers were last kept off, each worker's affinity becomes every CPU of the
/// process but that one ("the process's CPUs": the affinity of the thread that first uses this class, read once — the
/// workers inherited that mask from the thread that started them). A worker is confined to one CPU only where the
/// process has two, so many processes on a large machine still spread; the caller is never confined.
/// Off when the process may use fewer than two CPUs, off the platform, or when a libc call fails (then for good).
/// </summary>
internal static unsafe class WorkerPlacement
{
    /// <summary>STRIATE_BENCH_WORKERS_OFF_CALLER=0 turns it off (the workers' affinity is then left as it is).</summary>
    public static bool Enabled = true;

    private const int MaskWords = 16; // 1024 CPUs
    private static readonly ulong[]? ProcessMask = ReadProcessMask();
    private static int keptOff = -1; // the CPU the workers' masks exclude; −1: not set yet
    private static bool failed;

    [DllImport("libc", EntryPoint = "sched_getcpu")] private static extern int SchedGetCpu();
    [DllImport("libc", EntryPoint = "sched_setaffinity")] private static extern int SchedSetAffinity(int tid, nint size, ulong* mask);
    [DllImport("libc", EntryPoint = "sched_getaffinity")] private static extern int SchedGetAffinity(int tid, nint size, ulong* mask);
    [DllImport("libc", EntryPoint = "gettid")] private static extern int GetTid();

    private static ulong[]? ReadProcessMask()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var mask = new ulong[MaskWords];
            fixed (ulong* m = mask) if (SchedGetAffinity(0, MaskWords * 8, m) != 0) return null;
            return mask.Sum(w => System.Numerics.BitOperations.PopCount(w)) >= 2 ? mask : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    /// <summary>The calling thread's kernel id for <see cref="KeepOff"/> (0 where placement is off).</summary>
    public static int CurrentThreadId()
    {
        if (ProcessMask == null) return 0;
        try { return GetTid(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return 0; }
    }

    /// <summary>
    /// The caller's CPU when the workers' masks must change before it wakes them (it moved since they were last set,
    /// or they never were), else −1. Cheap: one vDSO call.
    /// </summary>
    public static int CallerCpuToKeepOff()
    {
        if (!Enabled || failed || ProcessMask == null) return -1;
        int cpu;
        try { cpu = SchedGetCpu(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { failed = true; return -1; }
        return cpu == Volatile.Read(ref keptOff) || cpu < 0 || cpu >= MaskWords * 64 ? -1 : cpu;
    }

    /// <summary>Sets every worker's mask to the process's CPUs but <paramref name="cpu"/>; a worker whose id is not known yet (0) leaves the masks to be set again next time.</summary>
    public static void KeepOff(int cpu, ReadOnlySpan<int> tids)
    {
        var mask = stackalloc ulong[MaskWords];
        bool any = false;
        for (int i = 0; i < MaskWords; i++) { mask[i] = ProcessMask![i]; if (i == cpu >> 6) mask[i] &= ~(1UL << (cpu & 63)); any |= mask[i] != 0; }
        if (!any) return;
        bool all = true;
        try
        {
            foreach (int tid in tids)
            {
                if (tid <= 0) { all = false; continue; }
                // A worker that exited cannot be placed; anything else (EPERM under a container policy) turns placement off.
                if (SchedSetAffinity(tid, MaskWords * 8, mask) != 0) { failed = true; return; }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { failed = true; return; }
        Volatile.Write(ref keptOff, all ? cpu : -1);
    }

    /// <summary>For tests: the CPUs thread <paramref name="tid"/> may run on (null where placement is off).</summary>
    internal static ulong[]? AffinityOf(int tid)
    {
        if (ProcessMask == null) return null;
        var mask = new ulong[MaskWords];
        fixed (ulong* m = mask) return SchedGetAffinity(tid, MaskWords * 8, m) == 0 ? mask : null;
    }

    /// <summary>Forgets which CPU the workers were kept off, so the next loop sets their masks again (new workers, tests).</summary>
    internal static void Forget() => Volatile.Write(ref keptOff, -1);
}
