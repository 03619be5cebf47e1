using Striate.Onnx.Proto;

namespace Striate.Onnx;

/// <summary>
/// Where the importer is, for messages: "model.onnx: node '/conv1/Conv' (Conv, opset 14): ...". A malformed file (not
/// a protobuf, truncated, data that does not fit its dims, a name nothing produces, shapes that do not fit) is an
/// <see cref="InvalidDataException"/>; an operator or attribute Striate does not import a <see cref="NotSupportedException"/>.
/// </summary>
internal readonly record struct OnnxContext(string Source, NodeProto? Node, long Opset)
{
    public string Where => Node == null ? Source
        : $"{Source}: node '{(Node.Name.Length > 0 ? Node.Name : Node.Output.FirstOrDefault() ?? "?")}' ({Node.OpType}, opset {Opset})";

    public InvalidDataException Malformed(string what, Exception? inner = null) => new($"{Where}: {what}", inner);

    public NotSupportedException Unsupported(string what) => new($"{Where}: {what}");
}
