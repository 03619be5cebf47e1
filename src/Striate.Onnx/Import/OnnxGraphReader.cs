using Google.Protobuf;
using Striate.Autograd;
using Striate.Graph;
using Striate.Onnx.Proto;

namespace Striate.Onnx;

/// <summary>
/// Builds a <see cref="ForwardGraph"/> from an ONNX model, node by node in file order. Each operator becomes a Striate
/// op (Conv → Conv2d, Gemm → Linear, Clip → Hardtanh, ...); initializers read as weights become parameters (batch norm
/// statistics buffers) under their names, so the module can be fine-tuned; the shape arithmetic exporters emit
/// (Shape, Gather, Unsqueeze, Concat, Slice, Cast feeding a Reshape) is folded into constants. Every node also runs once
/// on a probe input (zeros, batch 1 when the batch is symbolic), which gives each value its shape and turns a shape
/// mismatch into an error that names the node.
/// </summary>
internal sealed partial class OnnxGraphReader
{
    /// <summary>The operator sets (default domain) the importer reads.</summary>
    public const int MinOpset = 7, MaxOpset = 22;

    private readonly ModelProto _model;
    private readonly string _source;
    private readonly long _opset;
    private readonly ForwardGraph _graph = new();
    private readonly Dictionary<string, Item> _items = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _consumers = new(StringComparer.Ordinal);
    private readonly StateNames _stateNames = new();
    private readonly Dictionary<string, Value> _state = new(StringComparer.Ordinal);
    private OnnxContext _where;

    /// <summary>A value while importing: computed by the graph (with its probe tensor), or a constant known now.</summary>
    private sealed class Item
    {
        // A computed value: the graph value, the probe result, whether dimension 0 is the input's batch.
        public Value? Graph;
        public Tensor? Probe;
        public bool Batched;
        // A constant: float data or integers, its dims, and the initializer it came from (null for folded constants).
        public float[]? Floats;
        public long[]? Ints;
        public bool[]? BatchFlags; // for integer constants computed from a Shape: which entries are the batch size
        public int[] Dims = [];
        public string? Initializer;
        public Value? Materialized;

        public bool IsComputed => Graph != null;
        public bool IsConstant => !IsComputed;
        public int[] Shape => IsComputed ? Probe!.ShapeArray : Dims;
        public int Rank => IsComputed ? Probe!.Rank : Dims.Length;
    }

    public OnnxGraphReader(ModelProto model, string source)
    {
        _model = model;
        _source = source;
        _where = new OnnxContext(source, null, 0);
        if (model.Graph == null) throw _where.Malformed("the file holds no graph (an empty or truncated file?).");
        var defaultSets = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (defaultSets.Count == 0) throw _where.Malformed("the file declares no opset for the default ONNX domain (a truncated file?).");
        _opset = defaultSets.Max(o => o.Version);
        if (_opset < MinOpset || _opset > MaxOpset)
            throw _where.Unsupported($"opset {_opset} is not supported; Striate imports opsets {MinOpset} to {MaxOpset}.");
    }

    public long Opset => _opset;

    public (ForwardGraph Graph, int[] InputShape, bool SymbolicBatch) Build(int[]? inputShape)
    {
        var g = _model.Graph;
        foreach (var t in g.Initializer)
        {
            if (t.Name.Length == 0) throw _where.Malformed("an initializer has no name.");
            if (!_initializers.TryAdd(t.Name, t)) throw _where.Malformed($"the initializer '{t.Name}' is defined twice.");
        }
        if (g.SparseInitializer.Count > 0) throw _where.Unsupported("sparse initializers are not supported.");
        foreach (var n in g.Node)
            foreach (var i in n.Input)
                if (i.Length > 0) _consumers[i] = _consumers.GetValueOrDefault(i) + 1;
        foreach (var o in g.Output) _consumers[o.Name] = _consumers.GetValueOrDefault(o.Name) + 1;

        var inputs = g.Input.Where(i => !_initializers.ContainsKey(i.Name)).ToList();
        if (inputs.Count != 1)
            throw _where.Unsupported($"the graph has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => $"'{i.Name}'"))}); Striate imports models with one input.");
        if (g.Output.Count != 1)
            throw _where.Unsupported($"the graph has {g.Output.Count} outputs; Striate imports models with one output.");
        var (shape, symbolic) = InputShape(inputs[0], inputShape);
        var input = _graph.AddInput(inputs[0].Name, shape);
        var probe = Tensor.Zeros(shape);
        _items[inputs[0].Name] = new Item { Graph = input, Probe = probe, Batched = shape.Length > 0 };
        _probes[input] = probe;

        using (GradMode.NoGrad())
            foreach (var node in g.Node)
            {
                _where = new OnnxContext(_source, node, _opset);
                if (node.Domain is not ("" or "ai.onnx"))
                    throw _where.Unsupported($"the operator domain '{node.Domain}' is not supported; Striate imports operators of the default ONNX domain.");
                Import(node);
            }
        _where = new OnnxContext(_source, null, _opset);

        var output = Lookup(g.Output[0].Name, "the graph output");
        if (!output.IsComputed) throw _where.Unsupported($"the graph output '{g.Output[0].Name}' is a constant; Striate imports models whose output depends on the input.");
        _graph.AddOutput(output.Graph!);
        _graph.Prune();
        return (_graph, shape, symbolic);
    }

    private (int[] Shape, bool Symbolic) InputShape(ValueInfoProto input, int[]? given)
    {
        var type = input.Type?.TensorType;
        if (type != null && type.ElemType != (int)TensorProto.Types.DataType.Float && type.ElemType != 0)
            throw _where.Unsupported($"the input '{input.Name}' has element type {(TensorProto.Types.DataType)type.ElemType}; Striate imports float32 inputs.");
        var dims = type?.Shape?.Dim;
        if (given != null)
        {
            if (dims != null && dims.Count != given.Length)
                throw new ArgumentException($"{_source}: the input '{input.Name}' has rank {dims.Count}, but the given input shape {Tensor.FormatShape(given)} has rank {given.Length}.");
            return (given, dims != null && dims.Count > 0 && dims[0].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue);
        }
        if (dims == null) throw _where.Unsupported($"the input '{input.Name}' has no shape; pass the input shape to OnnxModel.Load.");
        var shape = new int[dims.Count];
        bool symbolic = false;
        for (int i = 0; i < shape.Length; i++)
        {
            var d = dims[i];
            if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 && d.DimValue <= int.MaxValue) shape[i] = (int)d.DimValue;
            else if (i == 0) { shape[i] = 1; symbolic = true; }
            else throw _where.Unsupported($"dimension {i} of the input '{input.Name}' is '{(d.DimParam.Length > 0 ? d.DimParam : d.DimValue.ToString())}', not a fixed size; pass the input shape to OnnxModel.Load.");
        }
        return (shape, symbolic);
    }

    // ---- values ---------------------------------------------------------------------------------------

    /// <summary>The item named <paramref name="name"/>: a computed value, a folded constant, or an initializer read now.</summary>
    private Item Lookup(string name, string role)
    {
        if (_items.TryGetValue(name, out var item)) return item;
        if (_initializers.TryGetValue(name, out var t))
        {
            item = new Item { Initializer = name };
            if (OnnxTensorReader.IsInteger(t)) (item.Ints, item.Dims) = OnnxTensorReader.ReadInt64s(t, _where);
            else (item.Floats, item.Dims) = OnnxTensorReader.ReadFloats(t, _where);
            _items[name] = item;
            return item;
        }
        throw _where.Malformed($"{role} '{name}' is not produced by any node, initializer or graph input (a missing initializer?).");
    }

    private Item In(NodeProto node, int index)
    {
        if (index >= node.Input.Count || node.Input[index].Length == 0)
            throw _where.Malformed($"input {index} is missing (the node has {node.Input.Count} inputs).");
        return Lookup(node.Input[index], $"input {index}");
    }

    private Item? Optional(NodeProto node, int index) =>
        index < node.Input.Count && node.Input[index].Length > 0 ? Lookup(node.Input[index], $"input {index}") : null;

    private void SetOutput(NodeProto node, Item item, int index = 0)
    {
        if (index >= node.Output.Count || node.Output[index].Length == 0) return;
        if (!_items.TryAdd(node.Output[index], item) || _initializers.ContainsKey(node.Output[index]))
            throw _where.Malformed($"the value '{node.Output[index]}' is defined twice.");
    }

    /// <summary>Refuses a node whose extra outputs (e.g. MaxPool's indices, BatchNormalization's statistics) are read.</summary>
    private void OnlyFirstOutput(NodeProto node)
    {
        for (int i = 1; i < node.Output.Count; i++)
            if (node.Output[i].Length > 0 && _consumers.ContainsKey(node.Output[i]))
                throw _where.Unsupported($"output {i} ('{node.Output[i]}') is read by the model; Striate imports only the first output of {node.OpType}.");
    }

    private bool UsedOnce(string name) => _consumers.GetValueOrDefault(name) == 1;

    /// <summary>
    /// The graph value for <paramref name="item"/>: computed values as they are; an initializer as a parameter (or a
    /// buffer when <paramref name="buffer"/>), named after it; other constants as graph constants.
    /// </summary>
    private Value AsValue(Item item, bool buffer = false)
    {
        if (item.IsComputed) return item.Graph!;
        if (item.Materialized != null) return item.Materialized;
        var data = item.Floats ?? item.Ints!.Select(v => (float)v).ToArray();
        if (item.Initializer != null)
        {
            item.Materialized = State(item.Initializer, data, item.Dims, buffer);
            return item.Materialized;
        }
        item.Materialized = _graph.AddConstant(Tensor.Wrap(data, item.Dims));
        return item.Materialized;
    }

    /// <summary>A parameter (or buffer) holding <paramref name="data"/>, named after the initializer it came from.</summary>
    private Value State(string initializer, float[] data, int[] dims, bool buffer)
    {
        string name = _stateNames.Get(initializer);
        var v = _graph.AddState(name, Tensor.Wrap(data, dims), buffer);
        return v;
    }

    /// <summary>Appends <paramref name="op"/> on <paramref name="inputs"/>, runs it on the probes, and names its output.</summary>
    private Item Emit(NodeProto node, Op op, Value?[] inputs, bool batched)
    {
        var probes = inputs.Select(v => v == null ? null : ProbeOf(v)).ToList();
        Tensor result;
        try
        {
            result = OpExecutor.Run(op, probes, training: false);
        }
        catch (ArgumentException e)
        {
            throw _where.Malformed($"{op} does not fit its inputs ({string.Join(", ", inputs.Select(v => v == null ? "none" : Tensor.FormatShape(v.ShapeArray)))}): {e.Message}", e);
        }
        if (ReferenceEquals(result, probes[0])) result = result.Clone();
        var n = _graph.Append(op, inputs, result.ShapeArray, node.Name, node.OpType);
        var item = new Item { Graph = n.Output, Probe = result, Batched = batched };
        _probes[n.Output] = result;
        return item;
    }

    private readonly Dictionary<Value, Tensor> _probes = new(ReferenceEqualityComparer.Instance);

    private Tensor ProbeOf(Value v)
    {
        if (v.Data != null) return v.Data;
        if (_probes.TryGetValue(v, out var t)) return t;
        throw new InvalidOperationException($"OnnxGraphReader: no probe for {v.Reference}.");
    }

    /// <summary>
    /// Unique dotted names for parameters: characters other than letters, digits, '_' and '.' become '_'
    /// (<c>onnx::Conv_538</c> → <c>onnx__Conv_538</c>), empty parts '_', and a name that would both hold a tensor
    /// and be the prefix of another loses its dots.
    /// </summary>
    private sealed class StateNames
    {
        private readonly Dictionary<string, string> _given = new(StringComparer.Ordinal);
        private readonly HashSet<string> _leaves = new(StringComparer.Ordinal), _prefixes = new(StringComparer.Ordinal);

        public string Get(string original)
        {
            if (_given.TryGetValue(original, out var name)) return name;
            var parts = original.Split('.').Select(p => p.Length == 0 ? "_" : new string(p.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray())).ToArray();
            name = string.Join('.', parts);
            if (Conflicts(name)) name = string.Join('_', parts);
            string unique = name;
            for (int k = 1; Conflicts(unique); k++) unique = $"{name}_{k}";
            _leaves.Add(unique);
            for (int i = unique.IndexOf('.'); i >= 0; i = unique.IndexOf('.', i + 1)) _prefixes.Add(unique[..i]);
            return _given[original] = unique;
        }

        private bool Conflicts(string name)
        {
            if (_leaves.Contains(name) || _prefixes.Contains(name)) return true;
            for (int i = name.IndexOf('.'); i >= 0; i = name.IndexOf('.', i + 1))
                if (_leaves.Contains(name[..i])) return true;
            return false;
        }
    }

    internal static ModelProto Parse(ReadOnlySpan<byte> bytes, string source)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{source}: not a valid ONNX file ({e.Message.TrimEnd('.')}; truncated or not a protobuf ModelProto).", e);
        }
    }
}
