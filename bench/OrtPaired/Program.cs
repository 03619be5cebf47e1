// ONNX Runtime's side of the paired batch-1 benchmark (bench/ort_b1.py --paired): the session of the anchor
// (../shared/anchors/ort/Program.cs, --bench: IntraOpNumThreads 2, InterOpNumThreads 1, ORT_ENABLE_ALL, default
// spinning, a zero 1×3×224×224 input), kept alive so that the driver can alternate its runs with Striate's.
//
//   dotnet OrtPaired.dll MODEL.onnx [--profile PREFIX]
//
// Prints "ready" once the session is built; then for each line "run" on stdin runs one inference and prints its
// wall-clock milliseconds (one line, invariant culture), timed as the anchor times it (Run and disposing the results).
// Exits at end of input or on "quit".
//
// --profile PREFIX (bench/layers_vs_ort.py): the session is built with SessionOptions.EnableProfiling, so every run is
// traced node by node (ONNX Runtime's chrome-trace JSON: one "model_run" event per run, one "*_kernel_time" event per
// node of the optimized graph, fused Conv+Relu(+Add) and NCHWc reorders included). A line "profile" then runs once
// untimed and once timed (as Striate's serve-b1 "profile": one warm run before the measured one) and prints the timed
// run's wall clock; both runs are in the trace, in order. At the end the trace is written (EndProfiling) and its path
// printed on one last line "trace PATH".
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

string? prefix = null;
if (args.Length == 3 && args[1] == "--profile") prefix = args[2];
else if (args.Length != 1) { Console.Error.WriteLine("usage: OrtPaired MODEL.onnx [--profile PREFIX]"); return 2; }
var options = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
if (prefix != null)
{
    options.EnableProfiling = true;
    options.ProfileOutputPathPrefix = prefix;
}
using var session = new InferenceSession(args[0], options);
var input = new DenseTensor<float>(new float[3 * 224 * 224], new[] { 1, 3, 224, 224 });
var feed = new[] { NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), input) };
Console.WriteLine("ready");
int status = 0;
for (string? line; (line = Console.ReadLine()) != null && line != "quit";)
{
    if (line == "profile" && prefix != null)
    {
        using (session.Run(feed)) { }
    }
    else if (line != "run")
    {
        Console.Error.WriteLine($"OrtPaired: expected 'run'{(prefix != null ? ", 'profile'" : "")} or 'quit', got '{line}'");
        status = 2;
        break;
    }
    long start = Stopwatch.GetTimestamp();
    using (session.Run(feed)) { }
    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    Console.WriteLine(ms.ToString("R", CultureInfo.InvariantCulture));
}
if (prefix != null) Console.WriteLine("trace " + session.EndProfiling());
return status;
