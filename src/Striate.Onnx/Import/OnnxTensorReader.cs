using System.Buffers.Binary;
using Striate.Onnx.Proto;
using DataType = Striate.Onnx.Proto.TensorProto.Types.DataType;

namespace Striate.Onnx;

/// <summary>
/// Reads a <see cref="TensorProto"/> into floats (FLOAT, DOUBLE, FLOAT16, BFLOAT16) or 64-bit integers (INT64, INT32,
/// INT16, INT8, UINT8, BOOL). Dims and data are checked against each other before anything is allocated, so an
/// allocation never exceeds what the file holds.
/// </summary>
internal static class OnnxTensorReader
{
    public static int[] Dims(TensorProto t, OnnxContext where)
    {
        var dims = new int[t.Dims.Count];
        long n = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > int.MaxValue) throw where.Malformed($"tensor '{t.Name}' has dimension {d} at index {i}.");
            dims[i] = (int)d;
            n *= Math.Max(d, 1);
            if (n > int.MaxValue) throw where.Malformed($"tensor '{t.Name}' with dims [{string.Join(", ", t.Dims)}] has more than {int.MaxValue} elements.");
        }
        return dims;
    }

    private static int Count(int[] dims) { long n = 1; foreach (int d in dims) n *= d; return (int)n; }

    public static bool IsFloat(TensorProto t) => (DataType)t.DataType is DataType.Float or DataType.Double or DataType.Float16 or DataType.Bfloat16;

    public static bool IsInteger(TensorProto t) =>
        (DataType)t.DataType is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.Uint8 or DataType.Bool;

    private static void CheckLocation(TensorProto t, OnnxContext where)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
            throw where.Unsupported($"tensor '{t.Name}' keeps its data in an external file; Striate reads self-contained .onnx files (save with onnx.save(model, path, save_as_external_data=False)).");
        if (t.Segment != null) throw where.Unsupported($"tensor '{t.Name}' is segmented, which Striate does not read.");
    }

    private static ReadOnlySpan<byte> Raw(TensorProto t, int count, int size, OnnxContext where)
    {
        var raw = t.RawData.Span;
        if ((long)count * size != raw.Length)
            throw where.Malformed($"tensor '{t.Name}' has dims [{string.Join(", ", t.Dims)}] ({count} elements of {size} bytes) but raw_data holds {raw.Length} bytes.");
        return raw;
    }

    private static void CheckCount(TensorProto t, int count, int actual, string field, OnnxContext where)
    {
        if (count != actual) throw where.Malformed($"tensor '{t.Name}' has dims [{string.Join(", ", t.Dims)}] ({count} elements) but {field} holds {actual}.");
    }

    /// <summary>The tensor's values as float32, with its dims.</summary>
    public static (float[] Data, int[] Dims) ReadFloats(TensorProto t, OnnxContext where)
    {
        CheckLocation(t, where);
        var dims = Dims(t, where);
        int n = Count(dims);
        bool raw = t.HasRawData;
        var type = (DataType)t.DataType;
        float[] data;
        switch (type)
        {
            case DataType.Float:
                if (raw)
                {
                    var bytes = Raw(t, n, 4, where);
                    data = new float[n];
                    for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
                }
                else { CheckCount(t, n, t.FloatData.Count, "float_data", where); data = t.FloatData.ToArray(); }
                break;
            case DataType.Double:
                if (raw)
                {
                    var bytes = Raw(t, n, 8, where);
                    data = new float[n];
                    for (int i = 0; i < n; i++) data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]);
                }
                else { CheckCount(t, n, t.DoubleData.Count, "double_data", where); data = t.DoubleData.Select(v => (float)v).ToArray(); }
                break;
            case DataType.Float16 or DataType.Bfloat16:
                data = new float[n];
                if (raw)
                {
                    var bytes = Raw(t, n, 2, where);
                    for (int i = 0; i < n; i++) data[i] = Half16(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(2 * i)..]), type);
                }
                else
                {
                    // float16 and bfloat16 values are stored one per int32_data entry (their bits in the low 16).
                    CheckCount(t, n, t.Int32Data.Count, "int32_data", where);
                    for (int i = 0; i < n; i++) data[i] = Half16((ushort)t.Int32Data[i], type);
                }
                break;
            default:
                if (IsInteger(t)) { var (ints, d) = ReadInt64s(t, where); return (ints.Select(v => (float)v).ToArray(), d); }
                throw where.Unsupported($"tensor '{t.Name}' has data type {type}; Striate reads float, double, float16, bfloat16 and integer tensors.");
        }
        return (data, dims);
    }

    private static float Half16(ushort bits, DataType type) =>
        type == DataType.Float16 ? (float)BitConverter.UInt16BitsToHalf(bits) : BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>The tensor's values as 64-bit integers, with its dims.</summary>
    public static (long[] Data, int[] Dims) ReadInt64s(TensorProto t, OnnxContext where)
    {
        CheckLocation(t, where);
        var dims = Dims(t, where);
        int n = Count(dims);
        bool raw = t.HasRawData;
        var type = (DataType)t.DataType;
        var data = new long[n];
        switch (type)
        {
            case DataType.Int64:
                if (raw) { var b = Raw(t, n, 8, where); for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadInt64LittleEndian(b[(8 * i)..]); }
                else { CheckCount(t, n, t.Int64Data.Count, "int64_data", where); t.Int64Data.CopyTo(data, 0); }
                break;
            case DataType.Int32:
                if (raw) { var b = Raw(t, n, 4, where); for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadInt32LittleEndian(b[(4 * i)..]); }
                else { CheckCount(t, n, t.Int32Data.Count, "int32_data", where); for (int i = 0; i < n; i++) data[i] = t.Int32Data[i]; }
                break;
            case DataType.Int16:
                if (raw) { var b = Raw(t, n, 2, where); for (int i = 0; i < n; i++) data[i] = BinaryPrimitives.ReadInt16LittleEndian(b[(2 * i)..]); }
                else { CheckCount(t, n, t.Int32Data.Count, "int32_data", where); for (int i = 0; i < n; i++) data[i] = t.Int32Data[i]; }
                break;
            case DataType.Int8 or DataType.Uint8 or DataType.Bool:
                if (raw) { var b = Raw(t, n, 1, where); for (int i = 0; i < n; i++) data[i] = type == DataType.Int8 ? (sbyte)b[i] : b[i]; }
                else { CheckCount(t, n, t.Int32Data.Count, "int32_data", where); for (int i = 0; i < n; i++) data[i] = t.Int32Data[i]; }
                break;
            default:
                if (IsFloat(t)) { var (f, d) = ReadFloats(t, where); return (f.Select(v => (long)v).ToArray(), d); }
                throw where.Unsupported($"tensor '{t.Name}' has data type {type}; Striate reads float, double, float16, bfloat16 and integer tensors.");
        }
        return (data, dims);
    }
}
