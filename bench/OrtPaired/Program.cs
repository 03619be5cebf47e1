// ONNX Runtime's side of the paired batch-1 benchmark (bench/ort_b1.py --paired): the session of the anchor
// (../shared/anchors/ort/Program.cs, --bench: IntraOpNumThreads 2, InterOpNumThreads 1, ORT_ENABLE_ALL, default
// spinning, a zero 1×3×224×224 input), kept alive so that the driver can alternate its runs with Striate's.
//
//   dotnet OrtPaired.dll MODEL.onnx
//
// Prints "ready" once the session is built; then for each line "run" on stdin runs one inference and prints its
// wall-clock milliseconds (one line, invariant culture), timed as the anchor times it (Run and disposing the results).
// Exits at end of input or on "quit".
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

if (args.Length != 1) { Console.Error.WriteLine("usage: OrtPaired MODEL.onnx"); return 2; }
var options = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
using var session = new InferenceSession(args[0], options);
var input = new DenseTensor<float>(new float[3 * 224 * 224], new[] { 1, 3, 224, 224 });
var feed = new[] { NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), input) };
Console.WriteLine("ready");
for (string? line; (line = Console.ReadLine()) != null && line != "quit";)
{
    if (line != "run") { Console.Error.WriteLine($"OrtPaired: expected 'run' or 'quit', got '{line}'"); return 2; }
    long start = Stopwatch.GetTimestamp();
    using (session.Run(feed)) { }
    double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    Console.WriteLine(ms.ToString("R", CultureInfo.InvariantCulture));
}
return 0;
