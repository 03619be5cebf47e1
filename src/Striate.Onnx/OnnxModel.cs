using Striate.Graph;
using Striate.Onnx.Proto;

namespace Striate.Onnx;

/// <summary>
/// An imported ONNX model: a <see cref="GraphModule"/> whose parameters are the file's initializers (under their names,
/// made into dotted module paths), so it runs, trains and saves like any Striate model, plus what the file says about
/// itself.
/// </summary>
/// <remarks>Shapes: input as <see cref="InputShape"/> (any batch size unless a reshape in the file fixes it) → the file's output.</remarks>
public sealed class OnnxModule : GraphModule
{
    internal OnnxModule(ForwardGraph graph, int[] inputShape, bool symbolicBatch, long opset, OnnxMetadata metadata, string producer)
        : base(graph)
    {
        InputShape = inputShape;
        SymbolicBatch = symbolicBatch;
        Opset = opset;
        Metadata = metadata;
        Producer = producer;
    }

    /// <summary>The input shape the file declares (a symbolic batch read as 1).</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>True when the file's batch dimension is symbolic.</summary>
    public bool SymbolicBatch { get; }

    /// <summary>The file's operator set (default domain).</summary>
    public long Opset { get; }

    /// <summary>The model name, class names and normalization from <c>metadata_props</c> (those Striate writes), and the rest.</summary>
    public OnnxMetadata Metadata { get; }

    /// <summary>The program that wrote the file ("pytorch 1.13.1", "striate ...").</summary>
    public string Producer { get; }

    /// <inheritdoc />
    public override string TypeName => "OnnxModule";
}

/// <summary>
/// Reads ONNX files into trainable Striate modules. The file is parsed as data (no code runs); each operator of the
/// supported list becomes a Striate op; an unsupported operator or attribute fails naming the node, the operator and
/// the opset (<see cref="NotSupportedException"/>); a malformed file fails with <see cref="InvalidDataException"/>.
/// </summary>
public static class OnnxModel
{
    /// <summary>
    /// The operators Striate imports: Conv, BatchNormalization, Relu, LeakyRelu, Clip, Sigmoid, Tanh, MaxPool,
    /// AveragePool, GlobalAveragePool, GlobalMaxPool, Gemm, MatMul, Add, Mul, Concat, Flatten, Reshape, Dropout, LRN,
    /// Softmax, LogSoftmax, Identity, Constant, and Shape/Gather/Unsqueeze/Squeeze/Slice/Cast folded as shape arithmetic.
    /// </summary>
    public static IReadOnlyList<string> Operators => OnnxGraphReader.Operators;

    /// <summary>
    /// Loads <paramref name="path"/>. <paramref name="inputShape"/> (full shape, batch included) is needed only when the
    /// file leaves sizes other than the batch symbolic.
    /// </summary>
    public static OnnxModule Load(string path, int[]? inputShape = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist.", path);
        return Load(File.ReadAllBytes(path), Path.GetFileName(path), inputShape);
    }

    /// <summary>Loads an ONNX file from its bytes; <paramref name="source"/> names it in errors.</summary>
    public static OnnxModule Load(ReadOnlySpan<byte> bytes, string source = "model.onnx", int[]? inputShape = null)
    {
        var proto = OnnxGraphReader.Parse(bytes, source);
        var reader = new OnnxGraphReader(proto, source);
        var (graph, shape, symbolic) = reader.Build(inputShape);
        var metadata = OnnxMetadata.FromProperties(proto.MetadataProps.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)), source);
        string producer = (proto.ProducerName + " " + proto.ProducerVersion).Trim();
        return new OnnxModule(graph, shape, symbolic, reader.Opset, metadata, producer);
    }

    /// <summary>True when <paramref name="path"/> names an ONNX file (by its extension).</summary>
    public static bool IsOnnxPath(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
}
