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
/// <c>bench/placement_b1.py</c> relates it to each process's step times.
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
            if (line == "placement")
            {
                output.WriteLine(PlacementReport.Json(session));
                output.Flush();
                continue;
            }
            if (line != "run") { error.WriteLine($"striate bench --serve-b1: expected 'run', 'profile', 'placement' or 'quit', got '{line}'."); return 2; }
            double start = BenchTimer.Now();
            session.Run(x.ReadOnlySpan, logits);
            double ms = (BenchTimer.Now() - start) * 1e3;
            output.WriteLine(ms.ToString("R", CultureInfo.InvariantCulture));
            output.Flush();
        }
        return 0;
    }
}
