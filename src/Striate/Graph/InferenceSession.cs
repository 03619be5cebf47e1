using Striate.Autograd;
using Striate.Nn;
using System.Runtime.CompilerServices;

namespace Striate.Graph;

/// <summary>
/// An eval-mode model prepared once for repeated inference at one input shape, as ONNX Runtime prepares a session:
/// the forward is traced (<see cref="GraphTracer"/>), batch norm is folded into the convolutions and ReLU, ReLU6 and
/// residual adds into their output stores (<see cref="InferencePasses"/>), and every intermediate result gets a place
/// in a few buffers planned once (results whose lifetimes do not overlap share a buffer; ReLU, batch norm and adds
/// run in place where their input is not read again; flatten and reshape are views). A run then calls the kernels
/// directly: no autograd, no tensor allocation. Reordered convolution weights are kept in
/// <see cref="Kernels.TransformedWeights"/> across runs. Preparing ends with one to three runs on a zero input and waits
/// for the JIT they set off, so that the caller's first run is as fast as the later ones (<see cref="WarmUp"/>).
/// </summary>
/// <remarks>
/// The session reads the model's weights when it is created. If a parameter or buffer of the model changes afterwards
/// (training, loading a state dict), <see cref="Run(Tensor)"/> fails saying so: prepare the model again.
/// Runs are serialized (one set of buffers); create one session per thread to run several at once.
/// Shapes: input exactly <see cref="InputShape"/> (batch included) → <see cref="OutputShape"/>.
/// </remarks>
public sealed partial class InferenceSession
{
    private readonly ForwardGraph _graph;
    private readonly Step[] _steps;
    private readonly Segment _input, _output;
    private readonly (Tensor Tensor, long Version, string Name)[] _state;
    private readonly long _bufferFloats;
    private readonly IReadOnlyList<float[]> _buffers;
    private readonly object _sync = new();

    /// <summary>
    /// Traces <paramref name="model"/> in eval mode on an input of <paramref name="inputShape"/> (batch included, e.g.
    /// 1, 3, 224, 224), optimizes the graph and plans its buffers. The model's own modes are left as they were.
    /// </summary>
    public static InferenceSession Create(Module model, params int[] inputShape) => Create(model, inputShape, warmUp: true);

    /// <inheritdoc cref="Create(Module, int[])"/>
    /// <param name="model">The model.</param>
    /// <param name="inputShape">The input shape, batch included.</param>
    /// <param name="warmUp">
    /// Whether preparing ends with warm-up runs, so that the first call is as fast as the later ones (see
    /// <see cref="WarmUp"/>). Leave it on for a service that answers requests; a program that runs the model once
    /// (a command-line prediction) finishes sooner without it.
    /// </param>
    public static InferenceSession Create(Module model, int[] inputShape, bool warmUp)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
            throw new ArgumentException($"InferenceSession: the input shape must be positive sizes with the batch first (e.g. 1, 3, 224, 224), got {Tensor.FormatShape(inputShape)}.", nameof(inputShape));
        return new InferenceSession(GraphTracer.Trace(model, inputShape), optimize: true, warmUp);
    }

    /// <summary>
    /// A session running <paramref name="graph"/> (one input, one output), optimized by <see cref="InferencePasses"/>
    /// first when <paramref name="optimize"/>; the graph is rewritten in place and belongs to the session. Preparing
    /// ends with warm-up runs (<see cref="WarmUp"/>).
    /// </summary>
    public InferenceSession(ForwardGraph graph, bool optimize = true) : this(graph, optimize, warmUp: true)
    {
    }

    /// <inheritdoc cref="InferenceSession(ForwardGraph, bool)"/>
    /// <param name="graph">The graph, rewritten in place.</param>
    /// <param name="optimize">Whether to fold and fuse first.</param>
    /// <param name="warmUp">Whether preparing ends with warm-up runs (see <see cref="Create(Module, int[], bool)"/>).</param>
    public InferenceSession(ForwardGraph graph, bool optimize, bool warmUp)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Inputs.Count != 1 || graph.Outputs.Count != 1)
            throw new ArgumentException($"InferenceSession: the graph must have one input and one output, got {graph.Inputs.Count} and {graph.Outputs.Count}.", nameof(graph));
        if (graph.Nodes.FirstOrDefault(n => n.Op is BatchNormOp { Training: true } or DropoutOp) is { } training)
            throw new ArgumentException($"InferenceSession: {training.Describe()} was traced in training mode; trace the model in eval mode.", nameof(graph));
        _state = graph.Parameters.Concat(graph.Buffers).Select(v => (v.Data!, v.Data!.Version, v.Name)).ToArray();
        if (optimize) InferencePasses.Optimize(graph);
        graph.Validate();
        _graph = graph;
        var plan = new BufferPlan(graph);
        _steps = plan.Steps;
        _input = plan.Input;
        _output = plan.Output;
        _bufferFloats = plan.Floats;
        BlockedHandOffFloats = plan.BlockedFloats;
        _buffers = plan.Buffers;
        // Kernel compilation and weight reordering happen here rather than in the first run (a fresh process's first
        // ResNet-18 run was 4× the next one, nearly all of it the JIT compiling tile kernels); two at a time, as the
        // kernels run.
        Parallel.ForEach(_steps.Where(s => s is ConvStep or InvertedResidualStep or SharedInputStep or ConvPoolStep or StemDepthwiseStep), new ParallelOptions { MaxDegreeOfParallelism = Kernels.KernelThreads.Count }, c => c.Prepare());
        // And the run path's own compilation and tier-up (InferenceSession.WarmUp.cs).
        if (warmUp) WarmUp();
    }

    /// <summary>
    /// What a run does with the kernel workers, which sleep after ~50 µs without a loop: 0 nothing (the run's first loop,
    /// and any loop after a serial part longer than that, waits for a wake-up); 1 wake them at its start, so their
    /// wake-up overlaps the checks, the input copy and the first step's serial part; 2 wake them and keep them polling
    /// until the run ends (<see cref="Kernels.ParallelFor"/>'s Rouse and Settle). STRIATE_BENCH_ROUSE_WORKERS=0/1/2.
    /// 0 by default: on the 2-vCPU Zen 3 host (bench/RESULTS.md, 2026-12-07 04:29–05:09) 2 took ResNet-18's semaphore
    /// wake-ups per run from 10 to 1, yet no whole-run gain showed (paired with ONNX Runtime 0.972–1.014 of the
    /// unroused run, A/A as wide); a run after an idle gap is slower mostly for the host's state, ORT's too.
    /// </summary>
    internal static int RouseWorkers;

    /// <summary>The optimized graph the session runs (fused ops, folded constants).</summary>
    public ForwardGraph Graph => _graph;

    /// <summary>The input shape the session was prepared for (batch included).</summary>
    public IReadOnlyList<int> InputShape => _graph.Inputs[0].Shape;

    /// <summary>The output shape.</summary>
    public IReadOnlyList<int> OutputShape => _graph.Outputs[0].Shape;

    /// <summary>Floats held by the planned activation buffers (the input and every intermediate result).</summary>
    public long BufferFloats => _bufferFloats;

    /// <summary>Kernel calls per run.</summary>
    public int StepCount => _steps.Length;

    /// <summary>Each step's node as profiles name it (with its step kind), in execution order (for tests of the plan).</summary>
    internal IEnumerable<string> StepNodes => _steps.Select(s => s.Node);

    /// <summary>The model's output for <paramref name="input"/> (shape <see cref="InputShape"/>), as a new tensor.</summary>
    public Tensor Run(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.Shape.SequenceEqual(InputShape.ToArray()))
            throw new ArgumentException($"InferenceSession.Run: input of shape {Tensor.FormatShape(input.Shape)}, but the session was prepared for {Tensor.FormatShape(InputShape.ToArray())}; prepare another session for this shape.", nameof(input));
        var output = Tensor.Zeros(OutputShape.ToArray());
        Run(input.ReadOnlySpan, output.Span);
        return output;
    }

    /// <summary>output ← the model's output for input (flat, row-major; lengths as the prepared shapes). Allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(ReadOnlySpan<float> input, Span<float> output) => Run(input, output, null);

    /// <summary>
    /// As <see cref="Run(ReadOnlySpan{float}, Span{float})"/>; with <paramref name="stamps"/> (length
    /// <see cref="StepCount"/> + 1) also writes <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> before each step
    /// and after the last: where a timed run's wall clock goes (the bench's serve-b1 "steps"); with
    /// <paramref name="wakeUps"/> (the same length) also the kernel pool's count of semaphore wake-ups at each stamp
    /// (<see cref="Kernels.ParallelFor.TracedWakeUps"/>, counted while its Trace is on): which steps found a worker asleep.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Run(ReadOnlySpan<float> input, Span<float> output, long[]? stamps, long[]? wakeUps = null)
    {
        if (input.Length != _input.Length || output.Length != _output.Length)
            throw new ArgumentException($"InferenceSession.Run: input has {input.Length} elements and output {output.Length}, expected {_input.Length} ({Tensor.FormatShape(InputShape.ToArray())}) and {_output.Length} ({Tensor.FormatShape(OutputShape.ToArray())}).");
        // The kernel workers sleep after ~50 µs without a loop: wake them now (RouseWorkers).
        int rouseMode = RouseWorkers;
        bool rouse = rouseMode == 2;
        if (rouseMode > 0) Kernels.ParallelFor.Rouse(keepPolling: rouse);
        try
        {
            foreach (var (tensor, version, name) in _state)
                if (tensor.Version != version)
                    throw new InvalidOperationException($"InferenceSession: '{name}' changed since the session was prepared; prepare the model again (PrepareForInference) to run the new weights.");
            lock (_sync)
            {
                input.CopyTo(_input.Span);
                var steps = _steps;
                if (stamps == null)
                {
                    foreach (var step in steps) step.Run();
                }
                else
                {
                    for (int i = 0; i < steps.Length; i++)
                    {
                        if (wakeUps != null) wakeUps[i] = Volatile.Read(ref Kernels.ParallelFor.TracedWakeUps);
                        stamps[i] = System.Diagnostics.Stopwatch.GetTimestamp();
                        steps[i].Run();
                    }
                    stamps[steps.Length] = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (wakeUps != null) wakeUps[steps.Length] = Volatile.Read(ref Kernels.ParallelFor.TracedWakeUps);
                }
                _output.Span.CopyTo(output);
            }
        }
        finally
        {
            if (rouse) Kernels.ParallelFor.Settle();
        }
    }

    /// <summary>
    /// Runs <paramref name="input"/> <paramref name="runs"/> times and returns, per step (kernel call) in execution
    /// order, the node it computes and its median time in milliseconds: where a prepared model spends its time.
    /// </summary>
    public IReadOnlyList<(string Node, double Milliseconds)> Profile(Tensor input, int runs = 5)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        Run(input);
        var times = new double[_steps.Length, runs];
        lock (_sync)
        {
            for (int r = 0; r < runs; r++)
            {
                input.ReadOnlySpan.CopyTo(_input.Span);
                for (int i = 0; i < _steps.Length; i++)
                {
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    _steps[i].Run();
                    times[i, r] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            }
        }
        var result = new List<(string, double)>();
        for (int i = 0; i < _steps.Length; i++)
        {
            var row = Enumerable.Range(0, runs).Select(r => times[i, r]).Order().ToArray();
            result.Add((_steps[i].Node, row[runs / 2]));
        }
        return result;
    }
}

/// <summary>Preparing a model for inference.</summary>
public static class InferenceSessionExtensions
{
    /// <summary>
    /// The model traced, folded, fused and planned for inference at <paramref name="inputShape"/> (batch included):
    /// <see cref="InferenceSession.Create(Module, int[])"/>.
    /// </summary>
    public static InferenceSession PrepareForInference(this Module model, params int[] inputShape) => InferenceSession.Create(model, inputShape);

    /// <summary>
    /// As <see cref="PrepareForInference(Module, int[])"/>, choosing whether preparing ends with warm-up runs:
    /// <see cref="InferenceSession.Create(Module, int[], bool)"/>.
    /// </summary>
    public static InferenceSession PrepareForInference(this Module model, int[] inputShape, bool warmUp) => InferenceSession.Create(model, inputShape, warmUp);
}
