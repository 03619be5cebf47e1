namespace Striate.Benchmarks;

/// <summary>One measured figure of <c>striate bench</c>, e.g. ("sgemm_1024", 180.2, "GFLOPS").</summary>
public sealed record BenchFigure(string Name, double Value, string Unit);

/// <summary>Timing helpers shared by the benchmark suites.</summary>
public static class BenchTimer
{
    /// <summary>
    /// STRIATE_BENCH_CLOCK=cpu times with the process's CPU time instead of the wall clock: on a machine shared with
    /// other jobs, CPU time of a <c>--threads 1</c> run is what a quiet machine's wall clock would show (roughly:
    /// caches and memory bandwidth are still shared). Figures then say nothing about threading.
    /// </summary>
    public static bool CpuClock { get; } = Environment.GetEnvironmentVariable("STRIATE_BENCH_CLOCK") == "cpu";

    /// <summary>Seconds on the benchmark clock (wall, or process CPU time with <see cref="CpuClock"/>).</summary>
    public static double Now() => CpuClock ? Environment.CpuUsage.TotalTime.TotalSeconds : System.Diagnostics.Stopwatch.GetTimestamp() / (double)System.Diagnostics.Stopwatch.Frequency;

    /// <summary>
    /// Runs <paramref name="action"/> once to warm up (JIT, pools, caches), then repeatedly until
    /// <paramref name="minSeconds"/> have passed (at least <paramref name="minRuns"/> runs), and returns the
    /// best time of one run in seconds. Best-of-n, because on a shared machine noise only ever adds time.
    /// </summary>
    public static double BestSeconds(Action action, double minSeconds = 1.0, int minRuns = 3)
    {
        action();
        double best = double.MaxValue;
        var total = System.Diagnostics.Stopwatch.StartNew();
        for (int run = 0; run < minRuns || total.Elapsed.TotalSeconds < minSeconds; run++)
        {
            double start = Now();
            action();
            best = Math.Min(best, Now() - start);
        }
        return best;
    }
}
