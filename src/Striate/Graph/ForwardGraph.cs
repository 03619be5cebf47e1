using System.Text;

namespace Striate.Graph;

/// <summary>
/// The forward pass of a model as a graph of functional ops: <see cref="Nodes"/> in execution (topological) order,
/// each reading <see cref="Value"/>s — graph inputs, parameters and buffers (by state-dict name, holding the
/// module's tensors), constants, or earlier nodes' outputs — and producing one. <see cref="GraphTracer"/> records one
/// from a module's forward; the ONNX importer builds one from a file; <see cref="GraphModule"/> runs one.
/// </summary>
/// <remarks>
/// The graph is editable so that passes can rewrite it (fold batch norm into a convolution, fuse activations):
/// <see cref="AddConstant"/>, <see cref="InsertBefore"/>, <see cref="SetInput"/>, <see cref="ReplaceUses"/>,
/// <see cref="Remove"/>, <see cref="Prune"/>, and <see cref="Validate"/> to check the result.
/// Shapes: every value records the shape of the traced call, batch dimension included.
/// </remarks>
public sealed class ForwardGraph
{
    private readonly List<Node> _nodes = new();
    private readonly List<Value> _inputs = new();
    private readonly List<Value> _outputs = new();
    private readonly List<Value> _sources = new(); // inputs, parameters, buffers and constants, in creation order
    private readonly Dictionary<string, Value> _stateByName = new(StringComparer.Ordinal);
    private readonly HashSet<Value> _owned = new(ReferenceEqualityComparer.Instance); // every value of this graph
    private int _nextValueId, _nextNodeId;

    /// <summary>The ops in execution order.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>The graph's inputs (one for a traced model: the image batch).</summary>
    public IReadOnlyList<Value> Inputs => _inputs;

    /// <summary>The graph's outputs (one for a traced model: the logits).</summary>
    public IReadOnlyList<Value> Outputs => _outputs;

    /// <summary>Parameters, in the order the trace first used them.</summary>
    public IEnumerable<Value> Parameters => _sources.Where(v => v.Kind == ValueKind.Parameter);

    /// <summary>Buffers (running statistics), in the order the trace first used them.</summary>
    public IEnumerable<Value> Buffers => _sources.Where(v => v.Kind == ValueKind.Buffer);

    /// <summary>Constants.</summary>
    public IEnumerable<Value> Constants => _sources.Where(v => v.Kind == ValueKind.Constant);

    /// <summary>Every value: inputs, parameters, buffers and constants first, then node outputs in execution order.</summary>
    public IEnumerable<Value> Values => _sources.Concat(_nodes.Select(n => n.Output));

    /// <summary>One more than the largest <see cref="Value.Id"/> (size an array indexed by value id with it).</summary>
    public int ValueIdBound => _nextValueId;

    // ---- building ---------------------------------------------------------------------------------

    /// <summary>Adds a graph input.</summary>
    public Value AddInput(string name, int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var v = new Value(_nextValueId++, ValueKind.Input, name, CheckShape(shape, "AddInput"), null);
        _inputs.Add(v);
        _sources.Add(v);
        _owned.Add(v);
        return v;
    }

    /// <summary>
    /// The parameter or buffer named <paramref name="name"/>, added on first use. The tensor is kept (not copied), so
    /// the graph sees the model's current weights. Asking again for a name with another tensor fails.
    /// </summary>
    public Value AddState(string name, Tensor tensor, bool isBuffer)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(tensor);
        if (_stateByName.TryGetValue(name, out var existing))
        {
            if (!ReferenceEquals(existing.Data, tensor))
                throw new ArgumentException($"ForwardGraph.AddState: the name '{name}' already belongs to another tensor.", nameof(name));
            return existing;
        }
        var v = new Value(_nextValueId++, isBuffer ? ValueKind.Buffer : ValueKind.Parameter, name, tensor.ShapeArray, tensor);
        _stateByName[name] = v;
        _sources.Add(v);
        _owned.Add(v);
        return v;
    }

    /// <summary>The parameter or buffer called <paramref name="name"/>, or null.</summary>
    public Value? FindState(string name) => _stateByName.GetValueOrDefault(name);

    /// <summary>Adds a constant holding a copy of <paramref name="data"/> (the copy lives as long as the graph).</summary>
    public Value AddConstant(Tensor data, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var copy = Tensor.AllocatePersistent(data.Shape);
        data.ReadOnlySpan.CopyTo(copy.Span);
        int id = _nextValueId++;
        var v = new Value(id, ValueKind.Constant, name ?? $"const{id}", copy.ShapeArray, copy);
        _sources.Add(v);
        _owned.Add(v);
        return v;
    }

    /// <summary>Appends a node computing <paramref name="op"/> on <paramref name="inputs"/>, whose output has <paramref name="outputShape"/>.</summary>
    public Node Append(Op op, IReadOnlyList<Value?> inputs, int[] outputShape, string modulePath = "", string moduleType = "") =>
        InsertAt(_nodes.Count, op, inputs, outputShape, modulePath, moduleType);

    /// <summary>Inserts a node just before <paramref name="anchor"/> (its inputs must be computed before the anchor).</summary>
    public Node InsertBefore(Node anchor, Op op, IReadOnlyList<Value?> inputs, int[] outputShape, string? modulePath = null, string? moduleType = null) =>
        InsertAt(IndexOf(anchor), op, inputs, outputShape, modulePath ?? anchor.ModulePath, moduleType ?? anchor.ModuleType);

    private Node InsertAt(int index, Op op, IReadOnlyList<Value?> inputs, int[] outputShape, string modulePath, string moduleType)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(inputs);
        var ins = inputs.ToArray();
        foreach (var v in ins) if (v != null) CheckOwned(v, "inputs");
        var output = new Value(_nextValueId++, ValueKind.Intermediate, "", CheckShape(outputShape, "Append"), null);
        output.Name = $"v{output.Id}";
        var node = new Node(_nextNodeId++, op, ins, output, modulePath ?? "", moduleType ?? "");
        output.Producer = node;
        _nodes.Insert(index, node);
        _owned.Add(output);
        return node;
    }

    /// <summary>Marks <paramref name="value"/> as a graph output.</summary>
    public void AddOutput(Value value)
    {
        CheckOwned(value, nameof(value));
        _outputs.Add(value);
    }

    // ---- editing ----------------------------------------------------------------------------------

    /// <summary>The position of <paramref name="node"/> in <see cref="Nodes"/>.</summary>
    public int IndexOf(Node node)
    {
        int i = _nodes.IndexOf(node);
        if (i < 0) throw new ArgumentException($"ForwardGraph: node {node.Describe()} is not in this graph.", nameof(node));
        return i;
    }

    /// <summary>Every (node, input index) that reads <paramref name="value"/>, in execution order.</summary>
    public IReadOnlyList<(Node Node, int Index)> Uses(Value value)
    {
        var uses = new List<(Node, int)>();
        foreach (var n in _nodes)
            for (int i = 0; i < n.InputArray.Length; i++)
                if (ReferenceEquals(n.InputArray[i], value)) uses.Add((n, i));
        return uses;
    }

    /// <summary>True when a node reads <paramref name="value"/> or it is a graph output.</summary>
    public bool IsUsed(Value value) => _outputs.Contains(value) || _nodes.Any(n => n.InputArray.Contains(value));

    /// <summary>Makes input <paramref name="index"/> of <paramref name="node"/> read <paramref name="value"/>.</summary>
    public void SetInput(Node node, int index, Value? value)
    {
        if (value != null) CheckOwned(value, nameof(value));
        if ((uint)index >= (uint)node.InputArray.Length)
            throw new ArgumentOutOfRangeException(nameof(index), $"ForwardGraph.SetInput: {node.Describe()} has {node.InputArray.Length} inputs, got index {index}.");
        node.InputArray[index] = value;
    }

    /// <summary>Changes the inputs of <paramref name="node"/> (for passes that change its op, e.g. adding a bias).</summary>
    public void SetInputs(Node node, IReadOnlyList<Value?> inputs)
    {
        foreach (var v in inputs) if (v != null) CheckOwned(v, nameof(inputs));
        node.InputArray = inputs.ToArray();
    }

    /// <summary>Makes every reader of <paramref name="old"/> (nodes and graph outputs) read <paramref name="replacement"/> instead.</summary>
    public void ReplaceUses(Value old, Value replacement)
    {
        CheckOwned(replacement, nameof(replacement));
        foreach (var n in _nodes)
            for (int i = 0; i < n.InputArray.Length; i++)
                if (ReferenceEquals(n.InputArray[i], old)) n.InputArray[i] = replacement;
        for (int i = 0; i < _outputs.Count; i++)
            if (ReferenceEquals(_outputs[i], old)) _outputs[i] = replacement;
    }

    /// <summary>Removes <paramref name="node"/>, whose output must no longer be read.</summary>
    public void Remove(Node node)
    {
        int index = IndexOf(node);
        if (IsUsed(node.Output))
            throw new InvalidOperationException($"ForwardGraph.Remove: the output of {node.Describe()} is still read; call ReplaceUses first.");
        _nodes.RemoveAt(index);
    }

    /// <summary>
    /// Removes nodes whose outputs nothing reads (transitively from the graph outputs) and constants, parameters and
    /// buffers no node reads. Returns the number of nodes removed.
    /// </summary>
    public int Prune()
    {
        var live = new HashSet<Value>(_outputs, ReferenceEqualityComparer.Instance);
        int removed = 0;
        for (int i = _nodes.Count - 1; i >= 0; i--)
        {
            var n = _nodes[i];
            if (!live.Contains(n.Output)) { _nodes.RemoveAt(i); _owned.Remove(n.Output); removed++; continue; }
            foreach (var v in n.InputArray) if (v != null) live.Add(v);
        }
        foreach (var v in _sources.Where(v => v.Kind != ValueKind.Input && !live.Contains(v))) _owned.Remove(v);
        _sources.RemoveAll(v => v.Kind != ValueKind.Input && !live.Contains(v));
        foreach (var name in _stateByName.Where(p => !live.Contains(p.Value)).Select(p => p.Key).ToList()) _stateByName.Remove(name);
        return removed;
    }

    /// <summary>
    /// Checks that every node reads only values defined before it (graph sources or earlier nodes) and that every
    /// output is defined; throws <see cref="InvalidOperationException"/> naming the first offending node.
    /// </summary>
    public void Validate()
    {
        var defined = new HashSet<Value>(_sources, ReferenceEqualityComparer.Instance);
        foreach (var n in _nodes)
        {
            for (int i = 0; i < n.InputArray.Length; i++)
                if (n.InputArray[i] is { } v && !defined.Contains(v))
                    throw new InvalidOperationException($"ForwardGraph: input {i} of {n.Describe()} ({v.Reference}) is not computed before it.");
            if (!defined.Add(n.Output))
                throw new InvalidOperationException($"ForwardGraph: the output of {n.Describe()} is defined twice.");
        }
        foreach (var o in _outputs)
            if (!defined.Contains(o)) throw new InvalidOperationException($"ForwardGraph: output {o.Reference} is not computed by the graph.");
    }

    /// <summary>A readable dump: inputs, state, then one line per node, then the outputs.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var v in _inputs) sb.Append("input ").Append(v).AppendLine();
        foreach (var v in _sources.Where(v => v.Kind != ValueKind.Input))
            sb.Append(v.Kind.ToString().ToLowerInvariant()).Append(' ').Append(v).AppendLine();
        foreach (var n in _nodes) sb.AppendLine(n.ToString());
        foreach (var v in _outputs) sb.Append("output ").Append(v.Reference).AppendLine();
        return sb.ToString();
    }

    private void CheckOwned(Value v, string argument)
    {
        ArgumentNullException.ThrowIfNull(v, argument);
        if (!_owned.Contains(v)) throw new ArgumentException($"ForwardGraph: value {v.Reference} does not belong to this graph.", argument);
    }

    private static int[] CheckShape(int[] shape, string method)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 0) throw new ArgumentException($"ForwardGraph.{method}: shape {Tensor.FormatShape(shape)} has a negative dimension.", nameof(shape));
        return (int[])shape.Clone();
    }
}
