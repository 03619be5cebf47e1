using System.Buffers.Binary;
using System.Text.Json;
using Striate.Functional;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Functional;

/// <summary>F.Conv2d and F.Linear against the PyTorch cases in tests/reference/ops (forward and every gradient).</summary>
public class Conv2dReferenceCaseTests
{
    public static TheoryData<string> ConvCases() => new(ReferenceCase.Files("conv2d_"));

    [Fact]
    public void ReferenceCasesArePresent() => Assert.True(ReferenceCase.Files("conv2d_").Count() >= 12, "expected at least 12 conv2d_*.safetensors cases");

    [Theory, MemberData(nameof(ConvCases))]
    public void Conv2dMatchesPyTorch(string file)
    {
        var c = ReferenceCase.Load(file);
        Assert.Equal("conv2d", c.Meta["op"]);
        var input = c.Tensor("input").RequireGrad();
        var weight = c.Tensor("weight").RequireGrad();
        var bias = c.Meta["bias"] == "True" ? c.Tensor("bias").RequireGrad() : null;
        Assert.Equal(bias != null, c.Has("bias"));
        var output = F.Conv2d(input, weight, bias, ReferenceCase.Pair(c.Meta["stride"]), ReferenceCase.Pair(c.Meta["padding"]),
            ReferenceCase.Pair(c.Meta["dilation"]), int.Parse(c.Meta["groups"]));
        string name = Path.GetFileName(file);
        Close.Assert(c.Tensor("output"), output, 1e-4, 1e-5, $"{name} output");
        output.Backward(c.Tensor("grad_output"));
        Close.Assert(c.Tensor("grad_input"), input.Grad!, 1e-3, 1e-4, $"{name} grad_input");
        Close.Assert(c.Tensor("grad_weight"), weight.Grad!, 1e-3, 1e-4, $"{name} grad_weight");
        if (bias != null) Close.Assert(c.Tensor("grad_bias"), bias.Grad!, 1e-3, 1e-4, $"{name} grad_bias");
    }

    [Fact]
    public void LinearMatchesPyTorch()
    {
        var files = ReferenceCase.Files("linear_").ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var c = ReferenceCase.Load(file);
            Assert.Equal("linear", c.Meta["op"]);
            var input = c.Tensor("input").RequireGrad();
            var weight = c.Tensor("weight").RequireGrad();
            var bias = c.Has("bias") ? c.Tensor("bias").RequireGrad() : null;
            var output = F.Linear(input, weight, bias);
            string name = Path.GetFileName(file);
            Close.Assert(c.Tensor("output"), output, 1e-4, 1e-5, $"{name} output");
            output.Backward(c.Tensor("grad_output"));
            Close.Assert(c.Tensor("grad_input"), input.Grad!, 1e-3, 1e-4, $"{name} grad_input");
            Close.Assert(c.Tensor("grad_weight"), weight.Grad!, 1e-3, 1e-4, $"{name} grad_weight");
            if (bias != null) Close.Assert(c.Tensor("grad_bias"), bias.Grad!, 1e-3, 1e-4, $"{name} grad_bias");
        }
    }
}

/// <summary>
/// TODO(lead): TEMPORARY minimal safetensors reader (F32 only) so these tests can run before the real reader in
/// src/Striate/IO lands; switch <see cref="Load"/> to it and delete this parser.
/// Format: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__: {..}}, data.
/// </summary>
internal sealed class ReferenceCase
{
    private readonly Dictionary<string, (int[] Shape, float[] Data)> _tensors = new();
    public Dictionary<string, string> Meta { get; } = new();

    public static string OpsFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "reference", "ops");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException($"tests/reference/ops not found above {AppContext.BaseDirectory}.");
        }
    }

    public static IEnumerable<string> Files(string prefix) =>
        Directory.GetFiles(OpsFolder, prefix + "*.safetensors").OrderBy(f => f, StringComparer.Ordinal);

    public static (int H, int W) Pair(string value)
    {
        var parts = value.Split(',');
        int h = int.Parse(parts[0]);
        return (h, parts.Length > 1 ? int.Parse(parts[1]) : h);
    }

    public bool Has(string name) => _tensors.ContainsKey(name);

    public Tensor Tensor(string name)
    {
        if (!_tensors.TryGetValue(name, out var t)) throw new KeyNotFoundException($"reference case has no tensor '{name}' (has {string.Join(", ", _tensors.Keys)}).");
        return Striate.Tensor.FromArray(t.Data, t.Shape);
    }

    public static ReferenceCase Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        int dataStart = 8 + (int)headerLength;
        using var json = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var c = new ReferenceCase();
        foreach (var entry in json.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) c.Meta[m.Name] = m.Value.GetString()!;
                continue;
            }
            string dtype = entry.Value.GetProperty("dtype").GetString()!;
            if (dtype != "F32") throw new NotSupportedException($"{path}: tensor {entry.Name} has dtype {dtype}; this temporary reader knows F32 only.");
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var data = new float[(offsets[1] - offsets[0]) / 4];
            for (int i = 0; i < data.Length; i++)
                data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + (int)offsets[0] + 4 * i));
            c._tensors[entry.Name] = (shape, data);
        }
        return c;
    }
}
