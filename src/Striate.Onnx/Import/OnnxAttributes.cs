using Striate.Onnx.Proto;
using AttributeType = Striate.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace Striate.Onnx;

/// <summary>
/// A node's attributes, checked against the names the importer understands for its operator: any other attribute is
/// refused naming it (an attribute Striate ignored could change what the node computes).
/// </summary>
internal sealed class OnnxAttributes
{
    private readonly Dictionary<string, AttributeProto> _byName = new(StringComparer.Ordinal);
    private readonly OnnxContext _where;

    public OnnxAttributes(NodeProto node, OnnxContext where, params string[] known)
    {
        _where = where;
        foreach (var a in node.Attribute)
        {
            if (Array.IndexOf(known, a.Name) < 0)
                throw where.Unsupported($"attribute '{a.Name}' is not supported" + (known.Length > 0 ? $" (Striate imports {string.Join(", ", known)})." : " (Striate imports this operator without attributes)."));
            if (!_byName.TryAdd(a.Name, a)) throw where.Malformed($"attribute '{a.Name}' is given twice.");
        }
    }

    public bool Has(string name) => _byName.ContainsKey(name);

    private AttributeProto? Get(string name, AttributeType type)
    {
        if (!_byName.TryGetValue(name, out var a)) return null;
        if (a.Type != type && a.Type != AttributeType.Undefined)
            throw _where.Malformed($"attribute '{name}' is a {a.Type}, expected {type}.");
        return a;
    }

    public long Int(string name, long fallback) => Get(name, AttributeType.Int)?.I ?? fallback;

    public float Float(string name, float fallback) => Get(name, AttributeType.Float)?.F ?? fallback;

    public string String(string name, string fallback) => Get(name, AttributeType.String)?.S.ToStringUtf8() ?? fallback;

    public long[]? Ints(string name) => Get(name, AttributeType.Ints)?.Ints.ToArray();

    public float[]? Floats(string name) => Get(name, AttributeType.Floats)?.Floats.ToArray();

    public TensorProto? Tensor(string name) => Get(name, AttributeType.Tensor)?.T;

    public int Int32(string name, long fallback)
    {
        long v = Int(name, fallback);
        if (v < int.MinValue || v > int.MaxValue) throw _where.Malformed($"attribute '{name}' = {v} is out of range.");
        return (int)v;
    }

    /// <summary>A 2-entry INTS attribute (kernel_shape, strides, dilations) as (H, W); the default when absent.</summary>
    public Size2 Pair(string name, Size2 fallback)
    {
        var v = Ints(name);
        if (v == null) return fallback;
        if (v.Length != 2 || v.Any(x => x < 0 || x > int.MaxValue))
            throw _where.Unsupported($"attribute '{name}' = [{string.Join(", ", v)}]: Striate imports 2-D operators (two non-negative entries).");
        return new Size2((int)v[0], (int)v[1]);
    }
}
