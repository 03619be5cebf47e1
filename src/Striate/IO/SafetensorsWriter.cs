using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Striate.Kernels;

namespace Striate.IO;

/// <summary>Writes float tensors to a safetensors file (see <see cref="SafetensorsBuilder"/> for integer tensors too).</summary>
public static class SafetensorsWriter
{
    /// <summary>
    /// Writes <paramref name="tensors"/> (in enumeration order) converted to <paramref name="dtype"/> (F32, F16
    /// or BF16) — integer tensors (<see cref="Tensor.IsInteger"/>, e.g. <c>num_batches_tracked</c>) as I64 — plus
    /// <paramref name="metadata"/>. Atomic: the bytes go to a temporary file in the same folder
    /// that replaces <paramref name="path"/> only once it is complete and flushed, so a failure midway leaves
    /// any existing file untouched. Shapes: any.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, SafetensorsDtype dtype = SafetensorsDtype.F32)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var builder = new SafetensorsBuilder();
        foreach (var (name, tensor) in tensors) builder.Add(name, tensor, dtype);
        if (metadata != null)
            foreach (var (key, value) in metadata) builder.AddMetadata(key, value);
        builder.Save(path);
    }
}

/// <summary>
/// Collects tensors and metadata for one safetensors file, then writes it atomically with <see cref="Save"/>.
/// Tensors are referenced, not copied, until <see cref="Save"/> runs: do not modify them in between.
/// </summary>
public sealed class SafetensorsBuilder
{
    private abstract record Item(string Name, SafetensorsDtype Dtype, int[] Shape, long ByteLength);
    private sealed record FloatItem(string Name, SafetensorsDtype Dtype, int[] Shape, long ByteLength, Tensor Tensor) : Item(Name, Dtype, Shape, ByteLength);
    private sealed record Int64Item(string Name, int[] Shape, long[] Data) : Item(Name, SafetensorsDtype.I64, Shape, Data.LongLength * 8);

    private readonly List<Item> _items = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>
    /// Adds a tensor as every Striate writer stores it: I64 when <see cref="Tensor.IsInteger"/> (PyTorch's int64
    /// buffers such as <c>num_batches_tracked</c>), otherwise as <paramref name="floatDtype"/> (F32, F16 or BF16). Shapes: any.
    /// </summary>
    public SafetensorsBuilder Add(string name, Tensor tensor, SafetensorsDtype floatDtype = SafetensorsDtype.F32)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!tensor.IsInteger) return AddFloat(name, tensor, floatDtype);
        var values = tensor.ReadOnlySpan;
        var data = new long[values.Length];
        for (int i = 0; i < data.Length; i++)
        {
            float v = values[i];
            if (v != MathF.Round(v))
                throw new ArgumentException($"SafetensorsBuilder.Add: integer tensor '{name}' holds {v} at element {i}; expected whole numbers.", nameof(tensor));
            data[i] = (long)v;
        }
        return AddInt64(name, data, tensor.ShapeArray);
    }

    /// <summary>Adds a float tensor to be stored as <paramref name="dtype"/> (F32, F16 or BF16). Shapes: any.</summary>
    public SafetensorsBuilder AddFloat(string name, Tensor tensor, SafetensorsDtype dtype = SafetensorsDtype.F32)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckName(name);
        if (dtype is not (SafetensorsDtype.F32 or SafetensorsDtype.F16 or SafetensorsDtype.BF16))
            throw new ArgumentException($"SafetensorsBuilder.AddFloat: tensor '{name}' cannot be written as {dtype}; expected F32, F16 or BF16 (use AddInt64 for I64).", nameof(dtype));
        _names.Add(name);
        _items.Add(new FloatItem(name, dtype, tensor.ShapeArray, (long)tensor.Numel * SafetensorsDtypes.SizeOf(dtype), tensor));
        return this;
    }

    /// <summary>Adds an I64 tensor; <paramref name="data"/> is row-major and must hold exactly the shape's element count. Shapes: any.</summary>
    public SafetensorsBuilder AddInt64(string name, long[] data, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        CheckName(name);
        int numel = Tensor.CountElements(shape, "SafetensorsBuilder.AddInt64");
        if (numel != data.Length)
            throw new ArgumentException($"SafetensorsBuilder.AddInt64: tensor '{name}' has shape {Tensor.FormatShape(shape)} ({numel} elements), but data has {data.Length}.", nameof(data));
        _names.Add(name);
        _items.Add(new Int64Item(name, (int[])shape.Clone(), data));
        return this;
    }

    /// <summary>Adds (or replaces) one <c>__metadata__</c> entry.</summary>
    public SafetensorsBuilder AddMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
        return this;
    }

    /// <summary>Writes the file atomically (temporary file in the same folder, flushed to disk, then moved over <paramref name="path"/>).</summary>
    public void Save(string path) => SaveCore(path, afterHeader: null);

    /// <summary>The whole file as bytes (for tests and in-memory use).</summary>
    public byte[] ToArray()
    {
        using var memory = new MemoryStream();
        WriteTo(memory, afterHeader: null);
        return memory.ToArray();
    }

    /// <summary><paramref name="afterHeader"/> lets tests inject a failure once the temporary file is half written.</summary>
    internal void SaveCore(string path, Action? afterHeader) => AtomicFile.Write(path, stream => WriteTo(stream, afterHeader));

    private void WriteTo(Stream stream, Action? afterHeader)
    {
        byte[] header = BuildHeader();
        Span<byte> prefix = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        afterHeader?.Invoke();
        foreach (var item in _items) WriteData(stream, item);
    }

    /// <summary>The JSON header, padded with spaces so the data buffer starts 8-byte aligned.</summary>
    private byte[] BuildHeader()
    {
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (_metadata.Count > 0)
            {
                writer.WriteStartObject(SafetensorsHeader.MetadataKey);
                foreach (var (key, value) in _metadata) writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var item in _items)
            {
                writer.WriteStartObject(item.Name);
                writer.WriteString("dtype", SafetensorsDtypes.ToHeaderString(item.Dtype));
                writer.WriteStartArray("shape");
                foreach (int d in item.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + item.ByteLength);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += item.ByteLength;
            }
            writer.WriteEndObject();
        }
        int padded = (json.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteData(Stream stream, Item item)
    {
        switch (item)
        {
            case Int64Item ints:
                stream.Write(MemoryMarshal.AsBytes(ints.Data.AsSpan()));
                break;
            case FloatItem { Dtype: SafetensorsDtype.F32 } f:
                stream.Write(MemoryMarshal.AsBytes(f.Tensor.ReadOnlySpan));
                break;
            case FloatItem f:
                // Convert in chunks through one pooled buffer rather than a full-size copy.
                const int chunk = 1 << 16;
                var scratch = ArrayPool<ushort>.Shared.Rent(chunk); // scratch: [chunk] 16-bit patterns
                try
                {
                    var source = f.Tensor.ReadOnlySpan;
                    for (int start = 0; start < source.Length; start += chunk)
                    {
                        var part = source.Slice(start, Math.Min(chunk, source.Length - start));
                        var bits = scratch.AsSpan(0, part.Length);
                        if (f.Dtype == SafetensorsDtype.F16) HalfConversion.SingleToHalf(part, bits);
                        else HalfConversion.SingleToBFloat16(part, bits);
                        stream.Write(MemoryMarshal.AsBytes(bits));
                    }
                }
                finally
                {
                    ArrayPool<ushort>.Shared.Return(scratch);
                }
                break;
        }
    }

    private void CheckName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
            throw new ArgumentException("SafetensorsBuilder: a tensor name must not be empty.", nameof(name));
        if (name == SafetensorsHeader.MetadataKey)
            throw new ArgumentException($"SafetensorsBuilder: '{SafetensorsHeader.MetadataKey}' is reserved for the metadata map and cannot name a tensor.", nameof(name));
        if (_names.Contains(name))
            throw new ArgumentException($"SafetensorsBuilder: tensor '{name}' was already added.", nameof(name));
    }
}
