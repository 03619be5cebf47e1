using System.Text.Json;

namespace Striate.IO;

/// <summary>One tensor's header entry after validation; offsets are relative to the data buffer.</summary>
internal sealed record SafetensorsEntry(string Name, SafetensorsDtype Dtype, int[] Shape, long Numel, long Begin, long End);

/// <summary>
/// Parses and validates a safetensors header (https://github.com/huggingface/safetensors, "Format"): the
/// 8-byte little-endian length prefix and the JSON object that follows it. Every claim the header makes is
/// checked against the real size of the data buffer before anyone allocates or reads what it describes.
/// </summary>
internal static class SafetensorsHeader
{
    /// <summary>Same cap as the reference implementation: a larger header is a corrupt length prefix, not a header.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public const string MetadataKey = "__metadata__";

    /// <summary>Reads the length prefix and checks it against the file's total length.</summary>
    public static long ReadHeaderLength(ReadOnlySpan<byte> bytes, long fileLength, string source)
    {
        if (fileLength < 8 || bytes.Length < 8)
            throw Invalid(source, $"the file is {fileLength} bytes long, shorter than the 8-byte header-length prefix");
        if (bytes.StartsWith("PK\x03\x04"u8) || (bytes[0] == 0x80 && bytes[2] == 0x8a && bytes[3] == 0x0a))
            throw Invalid(source, "this is a PyTorch file written by torch.save (a .pth), not safetensors; read it with Striate.IO.Pth.PthFile.Load or Checkpoint.Load");
        ulong n = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > MaxHeaderBytes)
            throw Invalid(source, $"header length {n} (the first 8 bytes) exceeds the {MaxHeaderBytes}-byte limit; the file is corrupt or not safetensors");
        if ((long)n > fileLength - 8)
            throw Invalid(source, $"header length {n} (the first 8 bytes) exceeds the {fileLength - 8} bytes that follow the prefix; the file is truncated or not safetensors");
        return (long)n;
    }

    /// <summary>Parses the JSON header; <paramref name="bufferLength"/> is the real size of the data that follows it.</summary>
    public static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(
        ReadOnlyMemory<byte> json, long bufferLength, string source)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json.Span))
            throw Invalid(source, "the header is not valid UTF-8, so it cannot be JSON");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw Invalid(source, $"the header is not valid JSON ({e.Message})", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Invalid(source, $"the header must be a JSON object, but it is a JSON {Describe(root.ValueKind)}");

            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var property in root.EnumerateObject())
            {
                string name = KeyOf(property, "a tensor name", source);
                if (name == MetadataKey)
                {
                    if (sawMetadata) throw Invalid(source, $"\"{MetadataKey}\" appears twice in the header");
                    sawMetadata = true;
                    ParseMetadata(property.Value, metadata, source);
                    continue;
                }
                if (!seen.Add(name))
                    throw Invalid(source, $"tensor '{name}' appears twice in the header");
                entries.Add(ParseEntry(name, property.Value, bufferLength, source));
            }
            CheckNoOverlap(entries, source);
            return (entries, metadata);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(source, $"\"{MetadataKey}\" must be an object of string values, but it is a JSON {Describe(value.ValueKind)}");
        foreach (var item in value.EnumerateObject())
        {
            string key = KeyOf(item, $"a \"{MetadataKey}\" key", source);
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Invalid(source, $"\"{MetadataKey}\" entry '{key}' must be a string, but it is a JSON {Describe(item.Value.ValueKind)}");
            if (!metadata.TryAdd(key, TextOf(item.Value, $"\"{MetadataKey}\" entry '{key}'", source)))
                throw Invalid(source, $"\"{MetadataKey}\" entry '{key}' appears twice");
        }
    }

    private static SafetensorsEntry ParseEntry(string name, JsonElement value, long bufferLength, string source)
    {
        string where = $"tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(source, $"{where}: the entry must be an object with dtype, shape and data_offsets, but it is a JSON {Describe(value.ValueKind)}");

        // dtype
        if (!value.TryGetProperty("dtype", out var dtypeElement))
            throw Invalid(source, $"{where}: the entry has no \"dtype\"");
        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw Invalid(source, $"{where}: \"dtype\" must be a string, but it is a JSON {Describe(dtypeElement.ValueKind)}");
        string dtypeText = TextOf(dtypeElement, $"{where}: \"dtype\"", source);
        if (!SafetensorsDtypes.TryParse(dtypeText, out var dtype))
            throw Invalid(source, $"{where}: unknown \"dtype\" \"{dtypeText}\"; supported: {SafetensorsDtypes.Supported}");

        // shape
        if (!value.TryGetProperty("shape", out var shapeElement))
            throw Invalid(source, $"{where}: the entry has no \"shape\"");
        if (shapeElement.ValueKind != JsonValueKind.Array)
            throw Invalid(source, $"{where}: \"shape\" must be an array of integers, but it is a JSON {Describe(shapeElement.ValueKind)}");
        var shape = new int[shapeElement.GetArrayLength()];
        int d = 0;
        bool hasZero = false;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size))
                throw Invalid(source, $"{where}: \"shape\" dimension {d} is {dim.GetRawText()}, not an integer");
            if (size < 0)
                throw Invalid(source, $"{where}: \"shape\" dimension {d} is negative ({size})");
            if (size > int.MaxValue)
                throw Invalid(source, $"{where}: \"shape\" dimension {d} is {size}, more than {int.MaxValue}");
            hasZero |= size == 0;
            shape[d++] = (int)size;
        }
        long numel = 1;
        if (hasZero) numel = 0;
        else
        {
            try
            {
                foreach (int s in shape) numel = checked(numel * s);
            }
            catch (OverflowException)
            {
                throw Invalid(source, $"{where}: \"shape\" {Tensor.FormatShape(shape)} has more elements than a 64-bit count can hold");
            }
        }

        // data_offsets
        if (!value.TryGetProperty("data_offsets", out var offsetsElement))
            throw Invalid(source, $"{where}: the entry has no \"data_offsets\"");
        if (offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw Invalid(source, $"{where}: \"data_offsets\" must be an array [begin, end], but it is {Truncate(offsetsElement.GetRawText())}");
        long begin = ReadOffset(offsetsElement[0], "begin", where, source);
        long end = ReadOffset(offsetsElement[1], "end", where, source);
        if (end < begin)
            throw Invalid(source, $"{where}: \"data_offsets\" end {end} is before begin {begin}");
        if (end > bufferLength)
            throw Invalid(source, $"{where}: \"data_offsets\" [{begin}, {end}] reach past the end of the data buffer ({bufferLength} bytes); the file is truncated or the header is wrong");

        int elementSize = SafetensorsDtypes.SizeOf(dtype);
        long expectedBytes = numel > long.MaxValue / elementSize ? -1 : numel * elementSize;
        if (expectedBytes != end - begin)
            throw Invalid(source, $"{where}: \"data_offsets\" [{begin}, {end}] span {end - begin} bytes, but shape {Tensor.FormatShape(shape)} of {dtypeText} needs {numel} × {elementSize} = {(expectedBytes < 0 ? "more than 2^63" : expectedBytes.ToString())} bytes");

        return new SafetensorsEntry(name, dtype, shape, numel, begin, end);
    }

    private static long ReadOffset(JsonElement element, string which, string where, string source)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out long value))
            throw Invalid(source, $"{where}: \"data_offsets\" {which} is {Truncate(element.GetRawText())}, not an integer offset");
        if (value < 0)
            throw Invalid(source, $"{where}: \"data_offsets\" {which} is negative ({value})");
        return value;
    }

    private static void CheckNoOverlap(List<SafetensorsEntry> entries, string source)
    {
        // Zero-byte tensors occupy nothing and may sit anywhere.
        var occupied = entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < occupied.Count; i++)
        {
            var previous = occupied[i - 1];
            var current = occupied[i];
            if (current.Begin < previous.End)
                throw Invalid(source, $"tensors '{previous.Name}' (data_offsets [{previous.Begin}, {previous.End}]) and '{current.Name}' (data_offsets [{current.Begin}, {current.End}]) overlap");
        }
    }

    // JSON may escape half of a UTF-16 surrogate pair (\uD800) with no other half; System.Text.Json parses such a
    // document but throws InvalidOperationException when the string is read, so every string goes through these two.
    private static string KeyOf(JsonProperty property, string what, string source)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException e)
        {
            throw Invalid(source, $"{what} escapes a lone UTF-16 surrogate (like \\uD800 without its pair), which is not text; expected a valid string key (its value is {Truncate(property.Value.GetRawText())})", e);
        }
    }

    private static string TextOf(JsonElement value, string where, string source)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw Invalid(source, $"{where} is {Truncate(value.GetRawText())}, which escapes a lone UTF-16 surrogate (a \\uD800–\\uDFFF without its pair); expected valid text", e);
        }
    }

    internal static InvalidDataException Invalid(string source, string problem, Exception? inner = null) =>
        new($"Safetensors file '{source}': {problem}.", inner);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
