using System.Buffers.Binary;
using System.Text.Json;

namespace Striate.Tests.Optim;

// TODO(lead): temporary test-only safetensors parser (F32 only) for the optimizer reference cases; replace it
// with the real reader from Striate.IO once that lands.
internal static class TempReferenceReader
{
    /// <summary>Tensors and string metadata of one reference case in tests/reference/ops.</summary>
    internal sealed record Case(Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata)
    {
        public float Float(string key) => float.Parse(Metadata[key], System.Globalization.CultureInfo.InvariantCulture);
        public double Double(string key) => double.Parse(Metadata[key], System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static Case Read(string name)
    {
        var bytes = File.ReadAllBytes(Path.Combine(OpsFolder(), name + ".safetensors"));
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        int dataStart = checked(8 + (int)headerLength);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString()!;
                continue;
            }
            string dtype = entry.Value.GetProperty("dtype").GetString()!;
            if (dtype != "F32") throw new NotSupportedException($"TempReferenceReader: tensor '{entry.Name}' has dtype {dtype}; only F32 is supported.");
            int[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            int count = (offsets[1] - offsets[0]) / 4;
            var data = new float[count];
            for (int i = 0; i < count; i++)
                data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + offsets[0] + 4 * i, 4));
            tensors[entry.Name] = Tensor.FromArray(data, shape);
        }
        return new Case(tensors, metadata);
    }

    internal static string OpsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "reference", "ops");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"tests/reference/ops not found above {AppContext.BaseDirectory}.");
    }
}
