using System.Text.Json;

namespace Striate.Tests.Functional;

/// <summary>
/// TODO(lead): temporary test-only safetensors parser for the op reference cases; replace with the real reader
/// from Striate.IO once it lands. Format: 8-byte little-endian header length, JSON header
/// (name → dtype, shape, data_offsets; "__metadata__" → strings), then raw little-endian data. F32 and I64 only.
/// </summary>
internal sealed class TempReferenceReader
{
    private readonly byte[] _bytes;
    private readonly long _dataStart;
    private readonly Dictionary<string, (string Dtype, int[] Shape, long Begin, long End)> _entries = new();

    public Dictionary<string, string> Metadata { get; } = new();

    public string Name { get; }

    public TempReferenceReader(string path)
    {
        Name = Path.GetFileNameWithoutExtension(path);
        _bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(_bytes, 0);
        _dataStart = 8 + headerLength;
        using var doc = JsonDocument.Parse(_bytes.AsMemory(8, (int)headerLength));
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) Metadata[m.Name] = m.Value.GetString()!;
                continue;
            }
            var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            _entries[prop.Name] = (prop.Value.GetProperty("dtype").GetString()!, shape, offsets[0], offsets[1]);
        }
    }

    public bool Has(string name) => _entries.ContainsKey(name);

    public Tensor Tensor(string name)
    {
        var (dtype, shape, begin, end) = Entry(name);
        if (dtype != "F32") throw new InvalidOperationException($"{Name}: tensor {name} has dtype {dtype}, expected F32.");
        var data = new float[(end - begin) / 4];
        Buffer.BlockCopy(_bytes, (int)(_dataStart + begin), data, 0, (int)(end - begin));
        return Striate.Tensor.Wrap(data, shape);
    }

    public int[] Ints(string name)
    {
        var (dtype, _, begin, end) = Entry(name);
        if (dtype != "I64") throw new InvalidOperationException($"{Name}: tensor {name} has dtype {dtype}, expected I64.");
        var result = new int[(end - begin) / 8];
        for (int i = 0; i < result.Length; i++) result[i] = checked((int)BitConverter.ToInt64(_bytes, (int)(_dataStart + begin + 8 * i)));
        return result;
    }

    private (string, int[], long, long) Entry(string name) =>
        _entries.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"{Name}: no tensor named {name}; has {string.Join(", ", _entries.Keys)}.");

    public static string ReferenceDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "reference", "ops");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"tests/reference/ops not found above {AppContext.BaseDirectory}.");
    }
}
