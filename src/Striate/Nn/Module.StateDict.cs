using System.Text;

namespace Striate.Nn;

public abstract partial class Module
{
    /// <summary>
    /// Parameters and buffers by dotted name, in PyTorch's state_dict order (each module's parameters, then its
    /// buffers, then its children). The tensors are the module's own (not copies).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> StateDict()
    {
        var entries = new List<KeyValuePair<string, Tensor>>();
        CollectState("", entries);
        return entries;
    }

    private void CollectState(string prefix, List<KeyValuePair<string, Tensor>> entries)
    {
        RegisterFields();
        foreach (var (name, p) in _parameters) entries.Add(new(Join(prefix, name), p));
        foreach (var (name, b) in _buffers) entries.Add(new(Join(prefix, name), b));
        foreach (var (name, child) in _children) child.CollectState(Join(prefix, name), entries);
    }

    /// <summary>
    /// Copies values by name into this module's parameters and buffers. With <paramref name="strict"/> (the default)
    /// every name must match and every shape agree; otherwise only matching names are copied, but shapes must still
    /// agree. The error lists every missing, unexpected and misshapen key at once.
    /// </summary>
    public void LoadStateDict(IEnumerable<KeyValuePair<string, Tensor>> state, bool strict = true)
    {
        var (own, given) = CheckStateDict(state, strict);
        foreach (var (name, tensor) in given)
            if (own.TryGetValue(name, out var target)) tensor.ReadOnlySpan.CopyTo(target.Span);
    }

    /// <summary>Throws, as <see cref="LoadStateDict"/> would, if <paramref name="state"/> does not fit; changes nothing.</summary>
    public void ValidateStateDict(IEnumerable<KeyValuePair<string, Tensor>> state, bool strict = true) => CheckStateDict(state, strict);

    private (Dictionary<string, Tensor> Own, Dictionary<string, Tensor> Given) CheckStateDict(IEnumerable<KeyValuePair<string, Tensor>> state, bool strict)
    {
        var own = StateDict().ToDictionary(e => e.Key, e => e.Value);
        var given = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in state) given[name] = tensor;

        var missing = own.Keys.Where(k => !given.ContainsKey(k)).ToList();
        var unexpected = given.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var misshapen = given.Where(g => own.TryGetValue(g.Key, out var t) && !t.Shape.SequenceEqual(g.Value.Shape))
            .Select(g => $"{g.Key}: checkpoint {Tensor.FormatShape(g.Value.Shape)}, model {Tensor.FormatShape(own[g.Key].Shape)}")
            .ToList();

        if (misshapen.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            var sb = new StringBuilder($"{TypeName}.LoadStateDict: the state does not fit this model.");
            if (missing.Count > 0) sb.Append($" Missing keys ({missing.Count}): {string.Join(", ", missing.Take(20))}{(missing.Count > 20 ? ", ..." : "")}.");
            if (unexpected.Count > 0) sb.Append($" Unexpected keys ({unexpected.Count}): {string.Join(", ", unexpected.Take(20))}{(unexpected.Count > 20 ? ", ..." : "")}.");
            if (misshapen.Count > 0) sb.Append($" Shape mismatches ({misshapen.Count}): {string.Join("; ", misshapen.Take(20))}.");
            throw new ArgumentException(sb.ToString(), nameof(state));
        }
        return (own, given);
    }
}
