using Google.Protobuf;
using Striate.Graph;
using Striate.Nn;
using Striate.Onnx.Proto;

namespace Striate.Onnx;

/// <summary>How <see cref="OnnxExport"/> writes a model.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The ONNX operator set (default opset of the file); 13 to 21 are supported.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>
    /// When true the batch dimension of the input and output is symbolic (<c>batch</c>), so the file runs on any batch
    /// size; reshapes then keep the batch (a reshape that mixes it into other dimensions cannot be exported).
    /// </summary>
    public bool DynamicBatch { get; init; }

    /// <summary>The batch size traced (and, without <see cref="DynamicBatch"/>, fixed in the file).</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>The name of the graph input.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The name of the graph output.</summary>
    public string OutputName { get; init; } = "logits";

    /// <summary>Class names, normalization and the model name for <c>metadata_props</c>.</summary>
    public OnnxMetadata? Metadata { get; init; }

    /// <summary>The lowest and highest <see cref="Opset"/> the exporter writes.</summary>
    public const int MinOpset = 13, MaxOpset = 21;
}

/// <summary>
/// Writes a Striate model as an ONNX file: the forward pass is traced (<see cref="GraphTracer"/>) in evaluation mode —
/// batch norm on running statistics, dropout off — and each functional op becomes ONNX operators; parameters and
/// buffers become initializers under their state-dict names (<c>layer1.0.conv1.weight</c>), so the file reads like
/// the model. An op with no ONNX form fails naming the op and the module that ran it.
/// </summary>
/// <remarks>Shapes: input [N, C, H, W] (N = <see cref="OnnxExportOptions.BatchSize"/>, or symbolic) → the model's output.</remarks>
public static class OnnxExport
{
    /// <summary>
    /// Traces <paramref name="model"/> on a C×H×W input and writes it to <paramref name="path"/> (atomically: a
    /// temporary file in the same folder, then a rename).
    /// </summary>
    public static void Save(Module model, string path, (int Channels, int Height, int Width) inputShape, int opset = 17, bool dynamicBatch = false,
        OnnxMetadata? metadata = null) =>
        Save(model, path, inputShape, new OnnxExportOptions { Opset = opset, DynamicBatch = dynamicBatch, Metadata = metadata });

    /// <summary>As <see cref="Save(Module, string, ValueTuple{int, int, int}, int, bool, OnnxMetadata?)"/> with all options.</summary>
    public static void Save(Module model, string path, (int Channels, int Height, int Width) inputShape, OnnxExportOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var proto = ToProto(model, inputShape, options);
        WriteAtomically(proto, path);
    }

    /// <summary>The ONNX file's bytes for <paramref name="model"/> (for tests and in-memory use, e.g. an ONNX Runtime session).</summary>
    public static byte[] ToBytes(Module model, (int Channels, int Height, int Width) inputShape, OnnxExportOptions? options = null) =>
        ToProto(model, inputShape, options ?? new OnnxExportOptions()).ToByteArray();

    /// <summary>
    /// The ONNX file's bytes for an already traced (or imported, or rewritten) <paramref name="graph"/>. The graph must
    /// be in evaluation form: no dropout, batch norm on running statistics.
    /// </summary>
    public static byte[] ToBytes(ForwardGraph graph, OnnxExportOptions? options = null) =>
        new OnnxGraphWriter(graph, options ?? new OnnxExportOptions()).Build().ToByteArray();

    /// <summary>Writes an already traced <paramref name="graph"/> to <paramref name="path"/> (atomically).</summary>
    public static void Save(ForwardGraph graph, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        WriteAtomically(new OnnxGraphWriter(graph, options ?? new OnnxExportOptions()).Build(), path);
    }

    internal static ModelProto ToProto(Module model, (int Channels, int Height, int Width) inputShape, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var (c, h, w) = inputShape;
        if (c <= 0 || h <= 0 || w <= 0)
            throw new ArgumentException($"OnnxExport: the input shape must be three positive sizes C×H×W, got {c}×{h}×{w}.", nameof(inputShape));
        if (options.BatchSize <= 0)
            throw new ArgumentException($"OnnxExport: BatchSize must be positive, got {options.BatchSize}.", nameof(options));
        OnnxGraphWriter.CheckOptions(options);
        var graph = GraphTracer.Trace(model, Tensor.Zeros(options.BatchSize, c, h, w), eval: true, inputName: options.InputName);
        return new OnnxGraphWriter(graph, options).Build();
    }

    private static void WriteAtomically(ModelProto proto, string path)
    {
        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"OnnxExport: the folder {folder} does not exist.");
        string temp = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                proto.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
