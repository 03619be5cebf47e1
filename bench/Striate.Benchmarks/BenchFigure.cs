namespace Striate.Benchmarks;

/// <summary>One measured figure of <c>striate bench</c>, e.g. ("sgemm_1024", 180.2, "GFLOPS").</summary>
public sealed record BenchFigure(string Name, double Value, string Unit);

/// <summary>Timing helpers shared by the benchmark suites.</summary>
public static class BenchTimer
{
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
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return best;
    }
}
