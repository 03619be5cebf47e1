using System.Globalization;
using Striate.IO;

namespace Striate.Tests.Reference;

/// <summary>One PyTorch-computed case: its tensors and its metadata arguments, parsed as the generator wrote them.</summary>
public sealed class ReferenceCase
{
    private readonly SafetensorsFile _file;

    public ReferenceCase(string path)
    {
        Path = path;
        _file = SafetensorsFile.Load(path);
        if (!_file.Metadata.TryGetValue("op", out var op))
            throw new InvalidDataException($"{path}: reference case has no 'op' in __metadata__.");
        Op = op;
    }

    public string Path { get; }
    public string Name => System.IO.Path.GetFileNameWithoutExtension(Path);
    public string Op { get; }

    public bool Has(string tensor) => _file.Contains(tensor);

    /// <summary>A float tensor from the file (a fresh copy each call, not requiring grad).</summary>
    public Tensor Tensor(string name)
    {
        if (!_file.Contains(name)) throw new InvalidDataException($"{Name}: tensor '{name}' is missing (op {Op}).");
        return _file.GetTensor(name);
    }

    /// <summary>A float tensor marked as a leaf that requires grad.</summary>
    public Tensor Leaf(string name) => Tensor(name).RequireGrad();

    public int[] Int64AsInt(string name) => _file.GetInt64(name).Select(v => checked((int)v)).ToArray();

    public string Arg(string key) =>
        _file.Metadata.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{Name}: metadata '{key}' is missing (op {Op}).");

    public string? OptionalArg(string key) => _file.Metadata.TryGetValue(key, out var v) ? v : null;

    public int Int(string key) => int.Parse(Arg(key), CultureInfo.InvariantCulture);
    public double Double(string key) => double.Parse(Arg(key), CultureInfo.InvariantCulture);
    public float Float(string key) => float.Parse(Arg(key), CultureInfo.InvariantCulture);
    public bool Bool(string key) => Arg(key) switch
    {
        "True" or "true" or "1" => true,
        "False" or "false" or "0" => false,
        var v => throw new InvalidDataException($"{Name}: metadata '{key}' = '{v}' is not a boolean."),
    };

    /// <summary>"3" → (3, 3); "4,4" → (4, 4).</summary>
    public (int H, int W) Pair(string key)
    {
        var parts = Arg(key).Split(',');
        int h = int.Parse(parts[0], CultureInfo.InvariantCulture);
        return (h, parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : h);
    }

    public int[] Ints(string key) => Arg(key).Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}
