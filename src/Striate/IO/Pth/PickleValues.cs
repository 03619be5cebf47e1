using System.Numerics;

namespace Striate.IO.Pth;

// The only values the pickle reader ever builds. Python's None, bool, int, float, str and bytes become null, bool,
// long (BigInteger beyond 64 bits), double, string and byte[]; containers become the classes below. Nothing else
// exists: a global outside the allowlist becomes an inert RefusedObject that only remembers its name.

/// <summary>A Python tuple (also <c>torch.Size</c>, a tuple subclass).</summary>
internal sealed class PickleTuple(object?[] items)
{
    public object?[] Items { get; } = items;
}

/// <summary>A Python list.</summary>
internal sealed class PickleList
{
    public List<object?> Items { get; } = new();
}

/// <summary>A Python set or frozenset (only kept so that checkpoints holding one parse).</summary>
internal sealed class PickleSet
{
    public List<object?> Items { get; } = new();
}

/// <summary>
/// A Python dict or <c>collections.OrderedDict</c>, in insertion order. Keys of simple types (str, int, bool, float,
/// None, bytes) compare by value as in Python; other keys by identity (no recursive hashing of untrusted data).
/// </summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object?, object?>> _entries = new();
    private readonly Dictionary<object, int> _index = new(KeyComparer.Instance);
    private static readonly object NoneKey = new();

    public int Count => _entries.Count;

    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => _entries;

    public void Set(object? key, object? value)
    {
        var k = key ?? NoneKey;
        if (_index.TryGetValue(k, out int at)) _entries[at] = new(key, value);
        else
        {
            _index[k] = _entries.Count;
            _entries.Add(new(key, value));
        }
    }

    public bool TryGet(string key, out object? value)
    {
        if (_index.TryGetValue(key, out int at)) { value = _entries[at].Value; return true; }
        value = null;
        return false;
    }

    private sealed class KeyComparer : IEqualityComparer<object>
    {
        public static readonly KeyComparer Instance = new();

        public new bool Equals(object? x, object? y) => (x, y) switch
        {
            (string a, string b) => string.Equals(a, b, StringComparison.Ordinal),
            (long a, long b) => a == b,
            (BigInteger a, BigInteger b) => a == b,
            (bool a, bool b) => a == b,
            (double a, double b) => a.Equals(b),
            (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
            _ => ReferenceEquals(x, y),
        };

        public int GetHashCode(object obj) => obj switch
        {
            string s => StringComparer.Ordinal.GetHashCode(s),
            long or BigInteger or bool or double => obj.GetHashCode(),
            byte[] b => b.Length,
            _ => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj),
        };
    }
}

/// <summary>What an allowlisted global is.</summary>
internal enum TorchGlobalKind { OrderedDict, RebuildTensorV2, RebuildTensor, Size, Storage }

/// <summary>A global on the allowlist, resolved to what the reader does with it (never to a .NET type or method).</summary>
internal sealed record TorchGlobal(string Module, string Name, TorchGlobalKind Kind, PthDtype StorageDtype = default)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>
/// Whatever a global outside the allowlist would have built (the global itself, an instance of it, the result of
/// calling it): an inert stand-in that remembers only the global's name and where the file named it. A file that
/// needs one where a tensor belongs is refused; elsewhere (an <c>argparse.Namespace</c> beside the weights in a
/// training checkpoint) it is simply never used.
/// </summary>
internal sealed class RefusedObject(string global, string where, string? detail = null)
{
    public string Global { get; } = global;
    public string Where { get; } = where;

    /// <summary>What the stand-in replaces, when more can be said than "an object made by Global".</summary>
    public string? Detail { get; } = detail;

    /// <summary>"an object made by posix.system", or the detail.</summary>
    public string Description => Detail ?? $"an object made by {Global}";
}

/// <summary>A storage a persistent id names: its key in the file, element type and element count.</summary>
internal sealed class StorageRef(string key, PthDtype dtype, long numel, string location)
{
    public string Key { get; } = key;
    public PthDtype Dtype { get; } = dtype;
    public long Numel { get; } = numel;
    public string Location { get; } = location;

    /// <summary>For legacy storage views (files before PyTorch 1.0): the element offset into the root storage.</summary>
    public long ViewOffset { get; init; }

    /// <summary>For legacy storage views: the root storage's key.</summary>
    public string RootKey { get; init; } = key;
}

/// <summary>A tensor as <c>_rebuild_tensor_v2</c> describes it: a view of a storage (checked to fit when it is built).</summary>
internal sealed class TensorRef(StorageRef storage, long offset, long[] size, long[] stride, string where)
{
    public StorageRef Storage { get; } = storage;
    public long Offset { get; } = offset;
    public long[] Size { get; } = size;
    public long[] Stride { get; } = stride;
    public string Where { get; } = where;

    public long Numel
    {
        get
        {
            long n = 1;
            foreach (long d in Size) n *= d; // checked against overflow when the tensor was built
            return n;
        }
    }
}
