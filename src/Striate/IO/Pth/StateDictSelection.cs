namespace Striate.IO.Pth;

/// <summary>
/// Finds the state dict in what a <c>.pth</c> file holds: the file's root when it is one, else the one entry of a
/// training checkpoint (<c>{"model": …, "optimizer": …, "epoch": 3}</c>) that is a dict of tensors, or the entry a
/// key names (<c>model</c>, or a path <c>checkpoint/model</c> through nested dicts). Ambiguity and absence are errors
/// that list the keys there are. Only the picked dict's values must be tensors; anything else in the file (an
/// <c>argparse.Namespace</c>, numpy scalars) stays an unused, inert stand-in.
/// </summary>
internal static class StateDictSelection
{
    public static (string? Key, List<(string Name, TensorRef Tensor)> Tensors) Select(object? root, string? key, string source)
    {
        string? picked = null;
        object? target = root;
        if (key != null)
        {
            target = Navigate(root, key, source);
            picked = key;
        }
        else if (!IsStateDict(root))
        {
            if (root is RefusedObject r)
                throw StorageIds.Refuse(source, r.Where, r.Global,
                    $"the file holds {r.Detail ?? $"an object made by {r.Global}{(r.Global.StartsWith("torch.nn.", StringComparison.Ordinal) ? " (a whole model saved with torch.save(model))" : "")}"}, not a state dict");
            if (root is not PickleDict dict)
                throw new PthFormatException(source, null, $"the file holds {PickleReader.Describe(root)}, not a state dict (a dict of tensors)");
            var candidates = dict.Entries.Where(e => e.Key is string && IsStateDict(e.Value)).Select(e => (string)e.Key!).ToList();
            if (candidates.Count != 1)
                throw new PthFormatException(source, null, candidates.Count == 0
                    ? $"the file holds a dict that is not a state dict and has no state dict inside. Its keys: {ListKeys(dict)}"
                    : $"the file holds {candidates.Count} state dicts ({string.Join(", ", candidates.Select(c => $"'{c}'"))}); pick one with --key NAME " +
                      $"(PthFile.Load(path, key: \"{candidates[0]}\")). Its keys: {ListKeys(dict)}");
            picked = candidates[0];
            dict.TryGet(picked, out target);
        }
        return (picked, Collect(target, picked, source));
    }

    /// <summary>A non-empty dict with string keys whose values are tensors or refused stand-ins, and at least one of them.</summary>
    private static bool IsStateDict(object? value) =>
        value is PickleDict { Count: > 0 } dict
        && dict.Entries.All(e => e.Key is string && e.Value is not (PickleDict or PickleList or PickleTuple or PickleSet))
        && dict.Entries.Any(e => e.Value is TensorRef or RefusedObject);

    private static object? Navigate(object? root, string key, string source)
    {
        if (root is PickleDict dict && dict.TryGet(key, out var whole)) return whole;
        object? at = root;
        string path = "";
        foreach (var part in key.Split('/'))
        {
            if (at is not PickleDict d)
                throw new PthFormatException(source, null, path.Length == 0
                    ? $"there is no key '{key}': the file holds {PickleReader.Describe(root)}, not a dict of entries"
                    : $"there is no key '{key}': '{path}' is {PickleReader.Describe(at)}, not a dict");
            if (!d.TryGet(part, out at))
                throw new PthFormatException(source, null, $"there is no key '{key}'{(path.Length > 0 ? $" ('{path}' has no '{part}')" : "")}. The keys there are: {ListKeys(d)}");
            path = path.Length == 0 ? part : path + "/" + part;
        }
        return at;
    }

    private static List<(string, TensorRef)> Collect(object? target, string? key, string source)
    {
        string what = key == null ? "the file" : $"key '{key}'";
        if (target is RefusedObject r)
            throw StorageIds.Refuse(source, r.Where, r.Global, $"{what} holds {r.Description}, not a state dict");
        if (target is not PickleDict dict)
            throw new PthFormatException(source, null, $"{what} holds {PickleReader.Describe(target)}, not a state dict (a dict of tensors)");
        var tensors = new List<(string, TensorRef)>(dict.Count);
        foreach (var (k, value) in dict.Entries)
        {
            if (k is not string name)
                throw new PthFormatException(source, null, $"{what} has a key that is {PickleReader.Describe(k)}, not a string, so it is not a state dict");
            switch (value)
            {
                case TensorRef tensor: tensors.Add((name, tensor)); break;
                case RefusedObject refused:
                    throw StorageIds.Refuse(source, refused.Where, refused.Global,
                        refused.Detail != null ? $"'{name}' is {refused.Detail}" : $"'{name}' is made by {refused.Global}, not a tensor");
                default:
                    throw new PthFormatException(source, null, $"{what} is not a state dict: its entry '{name}' is {PickleReader.Describe(value)}, not a tensor");
            }
        }
        return tensors;
    }

    /// <summary>Up to 30 keys, each with what its value is: "'model' (a state dict of 12 tensors), 'epoch' (the integer 3)".</summary>
    public static string ListKeys(PickleDict dict)
    {
        var parts = dict.Entries.Take(30).Select(e =>
        {
            string name = e.Key is string s ? $"'{s}'" : PickleReader.Describe(e.Key);
            string value = IsStateDict(e.Value) ? $"a state dict of {((PickleDict)e.Value!).Entries.Count(x => x.Value is TensorRef)} tensors" : PickleReader.Describe(e.Value);
            return $"{name} ({value})";
        });
        return string.Join(", ", parts) + (dict.Count > 30 ? $", … ({dict.Count} in all)" : "");
    }
}
