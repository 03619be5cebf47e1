using System.Diagnostics;
using System.Runtime;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>A second warm-up run follows only a first one shorter than this: a longer run hides what is left.</summary>
    internal const double SecondWarmUpBelowMilliseconds = 100;

    /// <summary>A third warm-up run follows only a second one shorter than this: its cost stays below this bound.</summary>
    internal const double ThirdWarmUpBelowMilliseconds = 25;

    /// <summary>The longest one wait for the background JIT may take (it stops earlier once the JIT is quiet).</summary>
    internal const int JitWaitLimitMilliseconds = 200;

    /// <summary>Runs made while preparing, on a zero input (0 when preparing was told not to, else 1, 2 or 4; see <see cref="WarmUp"/>).</summary>
    internal int WarmUpRuns { get; private set; }

    /// <summary>
    /// Runs the session one, two or four times on a zero input, waiting after each of the first three for the runtime's
    /// background JIT to finish what the run queued, so that the caller's first run executes the code a steady-state run does.
    /// </summary>
    /// <remarks>
    /// Why (bench/RESULTS.md, 2026-12-04): tracing calls the kernels' glue (schedules, checks, the steps' own Run) often
    /// enough that tiered compilation recompiles it at tier 1 on a background thread, and that recompilation (20–90 ms
    /// of JIT on the torchvision models) used to land in the first runs, taking one of two cores from the kernel
    /// threads: a fresh process's first batch-1 call took 1.1–2.5× the steady time. The run path itself (the steps'
    /// Run methods) is only compiled, and counted towards tier 1, once it runs. Two runs carry the methods called once or
    /// twice per step past the runtime's tier-up count (30 calls) on models with 15 or more steps; the second is skipped
    /// when the first took <see cref="SecondWarmUpBelowMilliseconds"/> or more (large batches), where the remaining
    /// JIT is small beside a run. Runs on zeros change nothing the caller sees: every step writes all of its output.
    /// <para>
    /// The warm-up alone could not bring steady state (bench/RESULTS.md, 2026-12-04 19:10): code called once per step
    /// per run (the steps' Run, the kernels' checks, schedules, drivers and parallel glue) reached the tier-up count only
    /// in runs 3–30, so its tier-1 recompilation (2–13 ms of JIT per run on one of two cores) fell into the caller's
    /// runs: AlexNet's runs 2–6 took 1.3–1.5× its runs 21–40. With the runtime's defaults (a 100 ms tier-up delay) even
    /// the leaf tiles' callers stayed tier 0 for the first ~10 runs. So the whole run path is marked
    /// <c>[MethodImpl(MethodImplOptions.AggressiveOptimization)]</c>: compiled optimized at its first call (while tracing
    /// or in the first warm-up run) and never recompiled. Small getters those methods call may still tier up later;
    /// their JIT is a few milliseconds in all. Keep new run-path code marked the same way.
    /// </para>
    /// <para>
    /// A third run follows a second one shorter than <see cref="ThirdWarmUpBelowMilliseconds"/> (bench/RESULTS.md,
    /// 2026-12-05 07:37): after two, MobileNet-V2's 4 ms run took 1.7–1.9× its steady time on the caller's first call in 6
    /// of 15 fresh processes (median 1.20; 1.97 in the 07:10 sitting), after three in 2 of 15 (median 1.03). What those
    /// milliseconds are (late tier-1 JIT by JitInfo, cold lines, parked threads after the JIT wait's sleeps) was not
    /// pinned down. At most 25 ms more preparing, nothing for models whose run is longer.
    /// </para>
    /// <para>
    /// After the third run's wait a fourth follows with no wait after it (bench/RESULTS.md, 2026-12-05 08:58): the wait
    /// ends with the process idle for at least 6 ms (its quiet slots), and a first call straight after that idling ran
    /// slower than one straight after a run — over 14 fresh processes each, MobileNet-V2's first call 4.57 → 4.28 ms
    /// (median), first ÷ steady 1.07 → 1.00. Three runs leave nothing for the fourth to set off; what the idling costs
    /// (cores the hypervisor parked, caches others used meanwhile) was not pinned down.
    /// </para>
    /// </remarks>
    private void WarmUp()
    {
        var input = new float[_input.Length];
        var output = new float[_output.Length];
        long start = Stopwatch.GetTimestamp();
        Run(input, output);
        double firstMilliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        WarmUpRuns = 1;
        WaitForBackgroundJit(JitWaitLimitMilliseconds);
        if (WarmUpRunsAfter(firstMilliseconds) < 2) return;
        start = Stopwatch.GetTimestamp();
        Run(input, output);
        double secondMilliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        WarmUpRuns = 2;
        WaitForBackgroundJit(JitWaitLimitMilliseconds);
        if (!ThirdWarmUpAfter(secondMilliseconds)) return;
        Run(input, output);
        WaitForBackgroundJit(JitWaitLimitMilliseconds);
        Run(input, output);
        WarmUpRuns = 4;
    }

    /// <summary>Whether a session whose second warm-up run took <paramref name="secondRunMilliseconds"/> makes a third.</summary>
    internal static bool ThirdWarmUpAfter(double secondRunMilliseconds) => secondRunMilliseconds < ThirdWarmUpBelowMilliseconds;

    /// <summary>How many warm-up runs a session whose first warm-up run took <paramref name="firstRunMilliseconds"/> makes.</summary>
    internal static int WarmUpRunsAfter(double firstRunMilliseconds) => firstRunMilliseconds < SecondWarmUpBelowMilliseconds ? 2 : 1;

    /// <summary>
    /// Sleeps in 2 ms slots until the runtime's background tier-1 JIT looks finished, or <paramref name="limitMilliseconds"/>
    /// passed. Finished: no method compiled and the process nearly idle (under a quarter of one core) for 3 slots in a
    /// row — the compiled-method count moves only when a method is done, the process's CPU time shows one being
    /// compiled — or no method compiled for 10 slots, when other threads keep the process busy.
    /// </summary>
    internal static void WaitForBackgroundJit(int limitMilliseconds)
    {
        const int slotMilliseconds = 2, idleSlotsNeeded = 3, jitFreeSlotsNeeded = 10;
        long start = Stopwatch.GetTimestamp();
        long methods = JitInfo.GetCompiledMethodCount(currentThread: false);
        var cpu = Environment.CpuUsage.TotalTime;
        int idleSlots = 0, jitFreeSlots = 0;
        while (idleSlots < idleSlotsNeeded && jitFreeSlots < jitFreeSlotsNeeded
               && Stopwatch.GetElapsedTime(start).TotalMilliseconds < limitMilliseconds)
        {
            long slotStart = Stopwatch.GetTimestamp();
            Thread.Sleep(slotMilliseconds);
            double slot = Stopwatch.GetElapsedTime(slotStart).TotalMilliseconds;
            long nowMethods = JitInfo.GetCompiledMethodCount(currentThread: false);
            var nowCpu = Environment.CpuUsage.TotalTime;
            bool jitFree = nowMethods == methods;
            jitFreeSlots = jitFree ? jitFreeSlots + 1 : 0;
            idleSlots = jitFree && (nowCpu - cpu).TotalMilliseconds < 0.25 * slot ? idleSlots + 1 : 0;
            (methods, cpu) = (nowMethods, nowCpu);
        }
    }
}
