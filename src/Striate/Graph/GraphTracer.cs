using Striate.Autograd;
using Striate.Nn;

namespace Striate.Graph;

/// <summary>
/// Records the functional ops a module's forward runs into a <see cref="ForwardGraph"/>. The recording happens in the
/// ops themselves (every <c>F.*</c> op checks one thread-static field, <see cref="Current"/>, and records when it is
/// set), so residual adds, concatenations and flattens written inline in a Forward are seen, which a walk of the
/// module tree cannot see. <see cref="Module.Call"/> keeps the module call stack, so every node knows the dotted path
/// of the module that ran it.
/// </summary>
/// <remarks>
/// A tensor an op reads is, in order: a value the trace already produced (the input or an earlier op's output), a
/// parameter or buffer of the model (recorded under its state-dict name, keeping the module's tensor), or else a
/// constant (a tensor made inside the forward, such as a mask; its data is copied into the graph). Ops that have no
/// graph form (a loss with integer targets) fail, naming the op and the module path. In-place writes through
/// <see cref="Tensor.Span"/> are invisible to the trace.
/// </remarks>
public sealed class GraphTracer
{
    [ThreadStatic] private static GraphTracer? _current;

    private readonly ForwardGraph _graph = new();
    private readonly Dictionary<Tensor, Value> _values = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, (string Name, bool IsBuffer)> _state = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Module, string> _moduleNames = new(ReferenceEqualityComparer.Instance);
    private readonly List<(string Path, string Type)> _stack = new();

    private GraphTracer(Module model)
    {
        foreach (var (name, module) in model.NamedModules()) _moduleNames.TryAdd(module, name);
        foreach (var (name, p) in model.NamedParameters()) _state.TryAdd(p, (name, false));
        foreach (var (name, b) in model.NamedBuffers()) _state.TryAdd(b, (name, true));
    }

    /// <summary>The tracer recording on this thread, or null (the ops' one check; null whenever no trace runs).</summary>
    internal static GraphTracer? Current => _current;

    /// <summary>
    /// Runs <paramref name="model"/> once on <paramref name="input"/> (without gradients) and returns the graph of the
    /// ops that ran. With <paramref name="eval"/> (the default) the model runs in evaluation mode — batch norm on its
    /// running statistics, dropout off — and every module's mode is restored afterwards; otherwise it runs in the
    /// modes it is in. The graph's input is named <paramref name="inputName"/>.
    /// Shapes: input [N, C, H, W] (any shape the model takes).
    /// </summary>
    public static ForwardGraph Trace(Module model, Tensor input, bool eval = true, string inputName = "input")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        if (_current != null) throw new InvalidOperationException("GraphTracer.Trace: a trace is already running on this thread (tracing does not nest).");
        var modes = model.NamedModules().Select(p => (Module: p.Value, p.Value.Training)).ToList();
        var tracer = new GraphTracer(model);
        var inputValue = tracer._graph.AddInput(inputName, input.ShapeArray);
        tracer._values[input] = inputValue;
        try
        {
            if (eval) model.Eval();
            _current = tracer;
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            var output = model.Call(input);
            tracer._graph.AddOutput(tracer.ValueOf(output));
        }
        catch (ArgumentException e) when (tracer._stack.Count > 0)
        {
            var (path, type) = tracer.Location;
            string message = e.ParamName is { } name && e.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
                ? e.Message[..^$" (Parameter '{name}')".Length] : e.Message;
            throw new ArgumentException($"{message} (while tracing '{(path.Length == 0 ? "<model>" : path)}' ({type}))", e);
        }
        finally
        {
            _current = null;
            if (eval) foreach (var (module, training) in modes) module.SetTrainingFlag(training);
        }
        tracer._graph.Prune();
        return tracer._graph;
    }

    /// <summary>As <see cref="Trace(Module, Tensor, bool, string)"/> on a zero input of <paramref name="inputShape"/> (batch included, e.g. 1, 3, 224, 224).</summary>
    public static ForwardGraph Trace(Module model, params int[] inputShape) => Trace(model, Tensor.Zeros(inputShape));

    // ---- called by the ops and by Module.Call -------------------------------------------------------

    /// <summary>Records that <paramref name="op"/> read <paramref name="inputs"/> and produced <paramref name="output"/>.</summary>
    internal void Record(Op op, Tensor output, params ReadOnlySpan<Tensor?> inputs)
    {
        var ins = new Value?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++) ins[i] = inputs[i] is { } t ? ValueOf(t) : null;
        var (path, type) = Location;
        var node = _graph.Append(op, ins, output.ShapeArray, path, type);
        _values[output] = node.Output;
    }

    /// <summary>Fails for an op that has no graph form, naming it and where it ran.</summary>
    internal void Unsupported(string op, string why)
    {
        var (path, type) = Location;
        throw new NotSupportedException($"{op} in '{(path.Length == 0 ? "<model>" : path)}' ({type}) cannot be traced: {why}.");
    }

    internal void EnterModule(Module module)
    {
        if (!_moduleNames.TryGetValue(module, out var name))
        {
            // A module called that is not registered in the tree (made inside a Forward): name it under its caller.
            string parent = _stack.Count > 0 ? _stack[^1].Path : "";
            name = parent.Length == 0 ? $"<{module.TypeName}>" : $"{parent}.<{module.TypeName}>";
        }
        _stack.Add((name, module.TypeName));
    }

    internal void ExitModule() => _stack.RemoveAt(_stack.Count - 1);

    private (string Path, string Type) Location => _stack.Count > 0 ? _stack[^1] : ("", "");

    private Value ValueOf(Tensor t)
    {
        if (_values.TryGetValue(t, out var v)) return v;
        v = _state.TryGetValue(t, out var s) ? _graph.AddState(s.Name, t, s.IsBuffer) : _graph.AddConstant(t);
        _values[t] = v;
        return v;
    }
}
