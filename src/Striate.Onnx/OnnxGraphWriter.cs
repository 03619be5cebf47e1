using System.Reflection;
using Striate.Graph;
using Striate.Onnx.Proto;

namespace Striate.Onnx;

/// <summary>
/// Turns a <see cref="ForwardGraph"/> into an ONNX <see cref="ModelProto"/>: names, initializers, the batch dimension,
/// and the model-level fields; the per-op translation is in OnnxGraphWriter.Ops.cs.
/// </summary>
internal sealed partial class OnnxGraphWriter
{
    /// <summary>The symbolic batch dimension of a dynamic-batch file.</summary>
    public const string BatchSymbol = "batch";

    private readonly ForwardGraph _graph;
    private readonly OnnxExportOptions _options;
    private readonly GraphProto _proto = new() { Name = "striate" };
    private readonly Dictionary<Value, string> _names = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);
    // Values whose first dimension is the input's batch dimension (what a dynamic-batch reshape may keep).
    private readonly HashSet<Value> _batched = new(ReferenceEqualityComparer.Instance);

    public OnnxGraphWriter(ForwardGraph graph, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(options);
        CheckOptions(options);
        if (graph.Inputs.Count != 1 || graph.Outputs.Count != 1)
            throw new ArgumentException($"ONNX export: the graph must have one input and one output, got {graph.Inputs.Count} and {graph.Outputs.Count}.", nameof(graph));
        graph.Validate();
        _graph = graph;
        _options = options;
    }

    internal static void CheckOptions(OnnxExportOptions options)
    {
        if (options.Opset < OnnxExportOptions.MinOpset || options.Opset > OnnxExportOptions.MaxOpset)
            throw new ArgumentException($"ONNX export: opset {options.Opset} is not supported; choose {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset} (default 17).", nameof(options));
        if (string.IsNullOrEmpty(options.InputName) || string.IsNullOrEmpty(options.OutputName) || options.InputName == options.OutputName)
            throw new ArgumentException($"ONNX export: the input and output names must be non-empty and differ, got '{options.InputName}' and '{options.OutputName}'.", nameof(options));
    }

    private int Opset => _options.Opset;

    public ModelProto Build()
    {
        var input = _graph.Inputs[0];
        var output = _graph.Outputs[0];
        if (_options.DynamicBatch && input.Rank == 0)
            throw new ArgumentException("ONNX export: a scalar input has no batch dimension to make dynamic.");
        Reserve(_options.InputName);
        Reserve(_options.OutputName);
        _names[input] = _options.InputName;
        _batched.Add(input);
        foreach (var node in _graph.Nodes) Emit(node);

        // The output must carry the output name: rename the last node's output, or copy when it is the input or state.
        string produced = NameOf(output);
        if (output.Producer != null && _proto.Node.LastOrDefault(n => n.Output.Contains(produced)) is { } last && produced != _options.InputName)
        {
            last.Output[last.Output.IndexOf(produced)] = _options.OutputName;
            foreach (var n in _proto.Node)
                for (int i = 0; i < n.Input.Count; i++)
                    if (n.Input[i] == produced) n.Input[i] = _options.OutputName;
        }
        else AddNode("Identity", "/Identity", [produced], _options.OutputName);

        bool dynamic = _options.DynamicBatch;
        if (dynamic && !_batched.Contains(output))
            throw new NotSupportedException($"ONNX export: the output {Tensor.FormatShape(output.ShapeArray)} does not keep the batch dimension, so it cannot be exported with a dynamic batch.");
        _proto.Input.Add(OnnxProtos.FloatValueInfo(_options.InputName, input.Shape, dynamic ? BatchSymbol : null));
        _proto.Output.Add(OnnxProtos.FloatValueInfo(_options.OutputName, output.Shape, dynamic ? BatchSymbol : null));

        var model = new ModelProto
        {
            IrVersion = IrVersion(Opset),
            ProducerName = "striate",
            ProducerVersion = typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0",
            Graph = _proto,
            DocString = "Exported by Striate (pure-C# CNN library): evaluation-mode forward pass.",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in (_options.Metadata ?? new OnnxMetadata()).ToProperties())
            model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>The IR version released with each opset (ONNX 1.8: IR 7 opset 13 … ONNX 1.16: IR 10 opset 21).</summary>
    internal static long IrVersion(int opset) => opset switch
    {
        <= 14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };

    // ---- names and initializers ----------------------------------------------------------------------

    /// <summary>The ONNX name of <paramref name="v"/>; parameters, buffers and constants become initializers on first use.</summary>
    private string NameOf(Value v)
    {
        if (_names.TryGetValue(v, out var name)) return name;
        if (v.Data is null)
            throw new InvalidOperationException($"ONNX export: value {v.Reference} is read before any node produced it.");
        name = Reserve(v.IsState ? v.Name : $"const_{v.Id}");
        _proto.Initializer.Add(OnnxProtos.FloatTensor(name, v.Data.ReadOnlySpan, v.Data.Shape));
        _names[v] = name;
        return name;
    }

    /// <summary>A new int64 initializer (shapes, axes, slice bounds).</summary>
    private string Int64Constant(string baseName, long[] values, int[]? dims = null)
    {
        string name = Reserve(baseName);
        _proto.Initializer.Add(OnnxProtos.Int64Tensor(name, values, dims));
        return name;
    }

    /// <summary>A new float32 initializer (clip bounds, scales, pooling matrices).</summary>
    private string FloatConstant(string baseName, float[] values, int[] dims)
    {
        string name = Reserve(baseName);
        _proto.Initializer.Add(OnnxProtos.FloatTensor(name, values, dims));
        return name;
    }

    /// <summary><paramref name="wanted"/>, or with a suffix _1, _2, … when taken.</summary>
    private string Reserve(string wanted)
    {
        string name = wanted;
        for (int k = 1; !_taken.Add(name); k++) name = $"{wanted}_{k}";
        return name;
    }

    /// <summary>
    /// Adds an ONNX node; returns its output name (a fresh one derived from the node name unless given).
    /// </summary>
    private string AddNode(string opType, string nodeName, IEnumerable<string> inputs, string? output = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Reserve(nodeName) };
        node.Input.AddRange(inputs);
        string result = output ?? Reserve(node.Name + "_output_0");
        node.Output.Add(result);
        node.Attribute.AddRange(attributes);
        _proto.Node.Add(node);
        return result;
    }

    /// <summary>The node name for an op of <paramref name="node"/>: "/layer1.0.conv1/Conv" (as torch.onnx names them).</summary>
    private static string NodeName(Node node, string opType) => $"/{node.ModulePath}/{opType}".Replace("//", "/", StringComparison.Ordinal);

    /// <summary>Fails for an op (or argument) that has no ONNX form, naming the op, the module and why.</summary>
    private static NotSupportedException Unsupported(Node node, string why) =>
        new($"ONNX export: {node.Describe()} has no ONNX form: {why}.");
}
