using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Striate.Onnx.Proto;

namespace Striate.Onnx;

/// <summary>Small builders for ONNX protobuf messages: attributes and tensors (little-endian raw data, as the format stores it).</summary>
internal static class OnnxProtos
{
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A float32 tensor holding <paramref name="data"/> with <paramref name="dims"/>.</summary>
    public static TensorProto FloatTensor(string name, ReadOnlySpan<float> data, ReadOnlySpan<int> dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        foreach (int d in dims) t.Dims.Add(d);
        if (BitConverter.IsLittleEndian) t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data));
        else
        {
            var bytes = new byte[data.Length * 4];
            for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
            t.RawData = ByteString.CopyFrom(bytes);
        }
        return t;
    }

    /// <summary>An int64 tensor holding <paramref name="data"/> (1-D unless <paramref name="dims"/> is given; a scalar when dims is empty).</summary>
    public static TensorProto Int64Tensor(string name, long[] data, int[]? dims = null)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        foreach (int d in dims ?? [data.Length]) t.Dims.Add(d);
        var bytes = new byte[data.Length * 8];
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), data[i]);
        t.RawData = ByteString.CopyFrom(bytes);
        return t;
    }

    /// <summary>A float32 tensor value type, with a symbolic first dimension when <paramref name="batchSymbol"/> is given.</summary>
    public static ValueInfoProto FloatValueInfo(string name, IReadOnlyList<int> shape, string? batchSymbol)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        for (int i = 0; i < shape.Count; i++)
            tensorType.Shape.Dim.Add(i == 0 && batchSymbol != null
                ? new TensorShapeProto.Types.Dimension { DimParam = batchSymbol }
                : new TensorShapeProto.Types.Dimension { DimValue = shape[i] });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}
