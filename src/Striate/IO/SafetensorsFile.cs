using System.Runtime.InteropServices;
using Striate.Kernels;

namespace Striate.IO;

/// <summary>
/// A safetensors file (https://github.com/huggingface/safetensors) read into memory: an 8-byte little-endian
/// header length N, N bytes of UTF-8 JSON describing each tensor (dtype, shape, byte offsets into the data
/// buffer) plus optional string metadata, then the data buffer. The header is fully validated on load, so a
/// corrupt file fails there with an <see cref="InvalidDataException"/> naming the file and the field.
/// </summary>
/// <remarks>
/// Shapes: tensors come back with the shape stored in the file; floating dtypes and integers are converted
/// to float32 by <see cref="GetTensor"/>.
/// </remarks>
public sealed class SafetensorsFile
{
    private readonly byte[] _buffer;
    private readonly Dictionary<string, SafetensorsEntry> _entries;
    private readonly string[] _names;

    /// <summary>Where the file came from (its path, or the name given to <see cref="Parse"/>).</summary>
    public string SourceName { get; }

    /// <summary>The header's <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names in header order (without <c>__metadata__</c>).</summary>
    public IReadOnlyList<string> Names => _names;

    private SafetensorsFile(string source, List<SafetensorsEntry> entries, Dictionary<string, string> metadata, byte[] buffer)
    {
        SourceName = source;
        _buffer = buffer;
        _names = entries.Select(e => e.Name).ToArray();
        _entries = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Metadata = metadata;
    }

    /// <summary>Reads and validates the file at <paramref name="path"/>.</summary>
    public static SafetensorsFile Load(string path)
    {
        CheckEndianness();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        long fileLength = stream.Length;
        Span<byte> prefix = stackalloc byte[8];
        int got = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        long headerLength = SafetensorsHeader.ReadHeaderLength(prefix[..got], fileLength, path);

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long bufferLength = fileLength - 8 - headerLength;
        var (entries, metadata) = SafetensorsHeader.Parse(header, bufferLength, path);

        if (bufferLength > Array.MaxLength)
            throw SafetensorsHeader.Invalid(path, $"the data buffer is {bufferLength} bytes; files above {Array.MaxLength} bytes are not supported");
        var buffer = new byte[bufferLength];
        stream.ReadExactly(buffer);
        return new SafetensorsFile(path, entries, metadata, buffer);
    }

    /// <summary>Parses and validates a whole file held in memory; <paramref name="sourceName"/> appears in error messages.</summary>
    public static SafetensorsFile Parse(ReadOnlySpan<byte> bytes, string sourceName)
    {
        CheckEndianness();
        long headerLength = SafetensorsHeader.ReadHeaderLength(bytes, bytes.Length, sourceName);
        var header = bytes.Slice(8, (int)headerLength).ToArray();
        long bufferLength = bytes.Length - 8 - headerLength;
        var (entries, metadata) = SafetensorsHeader.Parse(header, bufferLength, sourceName);
        var buffer = bytes[(8 + (int)headerLength)..].ToArray();
        return new SafetensorsFile(sourceName, entries, metadata, buffer);
    }

    /// <summary>True if the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The stored element type of tensor <paramref name="name"/>.</summary>
    public SafetensorsDtype GetDtype(string name) => Entry(name).Dtype;

    /// <summary>The stored shape of tensor <paramref name="name"/> (a fresh array).</summary>
    public int[] GetShape(string name) => (int[])Entry(name).Shape.Clone();

    /// <summary>
    /// Tensor <paramref name="name"/> as a new float32 tensor that no scope reclaims. F16, BF16 and F32
    /// convert exactly; F64 rounds to nearest; integers and BOOL convert to their float values. An I64 tensor comes
    /// back with <see cref="Tensor.IsInteger"/> set, so writing it again stores I64.
    /// Shapes: the stored shape.
    /// </summary>
    public Tensor GetTensor(string name)
    {
        var entry = Entry(name);
        if (entry.Numel > Array.MaxLength)
            throw new InvalidOperationException($"Safetensors file '{SourceName}': tensor '{name}' has {entry.Numel} elements, more than a Tensor can hold.");
        var tensor = Tensor.AllocatePersistent(entry.Shape);
        ReadSingles(entry, tensor.Span);
        tensor.IsInteger = entry.Dtype == SafetensorsDtype.I64;
        return tensor;
    }

    /// <summary>
    /// Tensor <paramref name="name"/> as 64-bit integers (row-major). Integer dtypes convert exactly; a
    /// floating tensor is accepted only if every value is a whole number within range.
    /// </summary>
    public long[] GetInt64(string name)
    {
        var entry = Entry(name);
        var bytes = Bytes(entry);
        var result = new long[entry.Numel];
        switch (entry.Dtype)
        {
            case SafetensorsDtype.I64:
                bytes.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
                break;
            case SafetensorsDtype.I32:
                var i32 = MemoryMarshal.Cast<byte, int>(bytes);
                for (int i = 0; i < result.Length; i++) result[i] = i32[i];
                break;
            case SafetensorsDtype.I16:
                var i16 = MemoryMarshal.Cast<byte, short>(bytes);
                for (int i = 0; i < result.Length; i++) result[i] = i16[i];
                break;
            case SafetensorsDtype.I8:
                for (int i = 0; i < result.Length; i++) result[i] = (sbyte)bytes[i];
                break;
            case SafetensorsDtype.U8:
            case SafetensorsDtype.BOOL:
                for (int i = 0; i < result.Length; i++) result[i] = bytes[i];
                break;
            default:
                double[] values = new double[entry.Numel];
                if (entry.Dtype == SafetensorsDtype.F64) bytes.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
                else
                {
                    var singles = new float[entry.Numel];
                    ReadSingles(entry, singles);
                    for (int i = 0; i < values.Length; i++) values[i] = singles[i];
                }
                for (int i = 0; i < values.Length; i++)
                {
                    double v = values[i];
                    // 2^63 is exactly representable; anything at or above it does not fit.
                    if (v != Math.Floor(v) || v < -9.2233720368547758E18 || v >= 9.2233720368547758E18)
                        throw new InvalidOperationException($"Safetensors file '{SourceName}': tensor '{name}' ({entry.Dtype}) element {i} is {v:R}, not a whole number that fits in Int64.");
                    result[i] = (long)v;
                }
                break;
        }
        return result;
    }

    private void ReadSingles(SafetensorsEntry entry, Span<float> destination)
    {
        var bytes = Bytes(entry);
        int n = (int)entry.Numel;
        switch (entry.Dtype)
        {
            case SafetensorsDtype.F32:
                bytes.CopyTo(MemoryMarshal.AsBytes(destination));
                break;
            case SafetensorsDtype.F16:
                HalfConversion.HalfToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), destination);
                break;
            case SafetensorsDtype.BF16:
                HalfConversion.BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), destination);
                break;
            case SafetensorsDtype.F64:
                var f64 = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < n; i++) destination[i] = (float)f64[i];
                break;
            case SafetensorsDtype.I64:
                var i64 = MemoryMarshal.Cast<byte, long>(bytes);
                for (int i = 0; i < n; i++) destination[i] = i64[i];
                break;
            case SafetensorsDtype.I32:
                var i32 = MemoryMarshal.Cast<byte, int>(bytes);
                for (int i = 0; i < n; i++) destination[i] = i32[i];
                break;
            case SafetensorsDtype.I16:
                var i16 = MemoryMarshal.Cast<byte, short>(bytes);
                for (int i = 0; i < n; i++) destination[i] = i16[i];
                break;
            case SafetensorsDtype.I8:
                for (int i = 0; i < n; i++) destination[i] = (sbyte)bytes[i];
                break;
            case SafetensorsDtype.U8:
            case SafetensorsDtype.BOOL:
                for (int i = 0; i < n; i++) destination[i] = bytes[i];
                break;
            default:
                throw new InvalidOperationException($"Safetensors file '{SourceName}': tensor '{entry.Name}' has unsupported dtype {entry.Dtype}.");
        }
    }

    private ReadOnlySpan<byte> Bytes(SafetensorsEntry entry) =>
        _buffer.AsSpan((int)entry.Begin, (int)(entry.End - entry.Begin));

    private SafetensorsEntry Entry(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_entries.TryGetValue(name, out var entry)) return entry;
        var known = string.Join(", ", _names.Take(20)) + (_names.Length > 20 ? $", … ({_names.Length} in all)" : "");
        throw new KeyNotFoundException($"Safetensors file '{SourceName}' has no tensor '{name}'. It holds: {(known.Length == 0 ? "(none)" : known)}.");
    }

    private static void CheckEndianness()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors data is little-endian; this reader does not support big-endian machines.");
    }
}
