using System.Globalization;
using Striate.Graph;
using Striate.Models;

namespace Striate.Benchmarks;

/// <summary>
/// Striate's side of the paired batch-1 benchmark (<c>bench/ort_b1.py --paired</c>, hidden <c>striate bench --serve-b1
/// MODEL</c>): the torchvision MODEL prepared for inference at [1, 3, 224, 224] exactly as the
/// <c>tv_MODEL_224_infer_b1_latency</c> figure prepares it (<see cref="ModelBenchmarks.PreparedSeconds(Module, Tensor, int, int)"/>:
/// the STRIATE_BENCH_* switches applied, preparing with its own warm-up runs), kept alive so that a driver can
/// alternate its runs with ONNX Runtime's in another process (<c>bench/OrtPaired</c>, the same protocol).
/// Protocol: prints <c>ready</c> once prepared; each line <c>run</c> on the input runs the session once and prints its
/// wall-clock milliseconds on one line (invariant culture; the first is the fresh process's first call); each line
/// <c>profile</c> runs it once untimed and once step by step (<see cref="InferenceSession.Profile(Tensor, int)"/> with
/// one run) and prints one line <c>NODE=MS;NODE=MS;...</c>: every step in execution order with its milliseconds (a
/// <c>;</c> in a node name is written as <c>,</c>; names hold <c>=</c>, so split each entry at its last one). Ends at
/// end of input or on <c>quit</c>; any other line is refused with exit code 2. <c>bench/steps_b1.py</c> alternates
/// "profile" lines between processes started with different switches. Each line <c>placement</c> prints one line of JSON:
/// where the session's buffers, packed weights and GEMM scratch sit and which CPU each kernel thread runs on
/// (<see cref="PlacementReport"/>; STRIATE_DIAG_PLACEMENT=1 also writes it to standard error once prepared);
/// <c>bench/placement_b1.py</c> relates it to each process's step times. Each line <c>steps</c> or <c>steps GAP</c> prints
/// one line of JSON: a run timed as "run" times it with a timestamp before every step, and the kernel pool's wake-ups
/// during it (<see cref="TimedSteps"/>; <c>bench/idle_b1.py</c>: where a run after an idle gap spends its extra time).
/// </summary>
public static class PairedB1Server
{
    /// <summary>Serves <paramref name="model"/> (a <see cref="ModelBenchmarks.Torchvision"/> name) until the input ends; returns the exit code.</summary>
    public static int Serve(string model, TextReader input, TextWriter output, TextWriter error)
    {
        if (!ModelBenchmarks.Torchvision.Any(m => m.Name == model))
        {
            error.WriteLine($"striate bench: --serve-b1 takes one of {string.Join(", ", ModelBenchmarks.Torchvision.Select(m => m.Name))}, got '{model}'.");
            return 2;
        }
        BenchSwitches.Apply();
        var g = new Generator(0);
        var module = ModelRegistry.Create(model, new ModelOptions(3, 1000, Generator: g));
        var x = Tensor.Randn([1, 3, 224, 224], g);
        var session = module.PrepareForInference(x.ShapeArray);
        var logits = new float[session.OutputShape.Aggregate(1, (a, b) => a * b)];
        if (PlacementReport.Requested) error.WriteLine(PlacementReport.Json(session));
        output.WriteLine("ready");
        output.Flush();
        for (string? line; (line = input.ReadLine()) != null && line != "quit";)
        {
            if (line == "profile")
            {
                var steps = session.Profile(x, 1);
                output.WriteLine(string.Join(";", steps.Select(s => s.Node.Replace(';', ',') + "=" + s.Milliseconds.ToString("R", CultureInfo.InvariantCulture))));
                output.Flush();
                continue;
            }
            if (line == "steps" || line.StartsWith("steps ", StringComparison.Ordinal))
            {
                output.WriteLine(TimedSteps(session, x, logits, line.Length > 6 ? int.Parse(line[6..], CultureInfo.InvariantCulture) : -1));
                output.Flush();
                continue;
            }
            if (line == "placement")
            {
                output.WriteLine(PlacementReport.Json(session));
                output.Flush();
                continue;
            }
            if (line != "run") { error.WriteLine($"striate bench --serve-b1: expected 'run', 'profile', 'steps [GAP]', 'placement' or 'quit', got '{line}'."); return 2; }
            double start = BenchTimer.Now();
            session.Run(x.ReadOnlySpan, logits);
            double ms = (BenchTimer.Now() - start) * 1e3;
            output.WriteLine(ms.ToString("R", CultureInfo.InvariantCulture));
            output.Flush();
        }
        return 0;
    }

    /// <summary>
    /// serve-b1's "steps [GAP]": one timed run with a timestamp before every step (as "run" times it, plus the stamps),
    /// after nothing (no GAP: whatever the driver did before, e.g. an idle wait or ONNX Runtime's run) or after one
    /// untimed run and a GAP ms sleep (0: straight after it). One line of JSON: the run's wall clock "ms", each step's
    /// ms ("steps", from its stamp to the next) and semaphore wake-ups ("step_wakeups"), the kernel pool's loops, worker joins (and their mean µs from a loop's
    /// publication to the worker looking at it), semaphore wake-ups (and their mean µs from release to the worker
    /// running), and the collections and JIT-compiled methods the timed run saw.
    /// </summary>
    private static string TimedSteps(InferenceSession session, Tensor x, float[] logits, int gapMilliseconds)
    {
        var stamps = new long[session.StepCount + 1];
        var stepWakeUps = new long[session.StepCount + 1];
        if (gapMilliseconds >= 0)
        {
            session.Run(x.ReadOnlySpan, logits);
            if (gapMilliseconds > 0) Thread.Sleep(gapMilliseconds);
        }
        Striate.Kernels.ParallelFor.Trace = true;
        long loops = Striate.Kernels.ParallelFor.TracedLoops, joins = Striate.Kernels.ParallelFor.TracedJoins;
        long joinTicks = Striate.Kernels.ParallelFor.TracedJoinTicks, wakeUps = Striate.Kernels.ParallelFor.TracedWakeUps;
        long wakeTicks = Striate.Kernels.ParallelFor.TracedWakeTicks;
        int gcs = GC.CollectionCount(0);
        long jit = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false);
        double start = BenchTimer.Now();
        session.Run(x.ReadOnlySpan, logits, stamps, stepWakeUps);
        double ms = (BenchTimer.Now() - start) * 1e3;
        Striate.Kernels.ParallelFor.Trace = false;
        double tick = 1e3 / System.Diagnostics.Stopwatch.Frequency;
        long dJoins = Striate.Kernels.ParallelFor.TracedJoins - joins, dWakes = Striate.Kernels.ParallelFor.TracedWakeUps - wakeUps;
        var steps = new double[session.StepCount];
        for (int i = 0; i < steps.Length; i++) steps[i] = (stamps[i + 1] - stamps[i]) * tick;
        var inv = CultureInfo.InvariantCulture;
        return "{\"ms\": " + ms.ToString("R", inv)
            + ", \"steps\": [" + string.Join(", ", steps.Select(s => s.ToString("R", inv))) + "]"
            + ", \"step_wakeups\": [" + string.Join(", ", Enumerable.Range(0, steps.Length).Select(i => stepWakeUps[i + 1] - stepWakeUps[i])) + "]"
            + ", \"loops\": " + (Striate.Kernels.ParallelFor.TracedLoops - loops)
            + ", \"joins\": " + dJoins
            + ", \"join_us\": " + (dJoins == 0 ? 0 : (Striate.Kernels.ParallelFor.TracedJoinTicks - joinTicks) * tick * 1e3 / dJoins).ToString("R", inv)
            + ", \"wakeups\": " + dWakes
            + ", \"wake_us\": " + (dWakes == 0 ? 0 : (Striate.Kernels.ParallelFor.TracedWakeTicks - wakeTicks) * tick * 1e3 / dWakes).ToString("R", inv)
            + ", \"gc\": " + (GC.CollectionCount(0) - gcs)
            + ", \"jit\": " + (System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false) - jit) + "}";
    }
}
