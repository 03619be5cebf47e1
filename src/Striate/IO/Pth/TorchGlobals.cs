namespace Striate.IO.Pth;

/// <summary>
/// The fixed allowlist of Python globals a state dict needs, and what each means to the reader:
/// <c>collections.OrderedDict</c> (a dict), <c>torch._utils._rebuild_tensor_v2</c> and <c>_rebuild_tensor</c> (a
/// view of a storage), <c>torch.Size</c> (a tuple) and the storage classes <c>torch.FloatStorage</c>, … (a dtype,
/// only inside a storage reference). Nothing a file contains can add to this list or choose another type.
/// </summary>
internal static class TorchGlobals
{
    /// <summary>The allowlist, spelled for messages.</summary>
    public static string Allowed =>
        "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor, torch.Size and the storage classes " +
        PthDtypes.SupportedStorageClasses;

    /// <summary>The tensor rank above which a file is treated as corrupt (PyTorch itself allows 64 dimensions).</summary>
    private const int MaxRank = 64;

    public static TorchGlobal? TryResolve(string module, string name)
    {
        switch (module, name)
        {
            case ("collections", "OrderedDict"): return new TorchGlobal(module, name, TorchGlobalKind.OrderedDict);
            case ("torch._utils", "_rebuild_tensor_v2"): return new TorchGlobal(module, name, TorchGlobalKind.RebuildTensorV2);
            case ("torch._utils", "_rebuild_tensor"): return new TorchGlobal(module, name, TorchGlobalKind.RebuildTensor);
            case ("torch", "Size"): return new TorchGlobal(module, name, TorchGlobalKind.Size);
        }
        return PthDtypes.TryFromStorageClass(module, name, out var dtype) ? new TorchGlobal(module, name, TorchGlobalKind.Storage, dtype) : null;
    }

    /// <summary>REDUCE of an allowlisted global.</summary>
    public static object Call(PickleReader reader, TorchGlobal global, object?[] args)
    {
        switch (global.Kind)
        {
            case TorchGlobalKind.OrderedDict: return NewOrderedDict(reader, args);
            case TorchGlobalKind.Size:
                if (args.Length == 1 && args[0] is PickleTuple t) return new PickleTuple(t.Items);
                if (args.Length == 1 && args[0] is PickleList l) return new PickleTuple(l.Items.ToArray());
                throw reader.Error($"torch.Size is called with {args.Length} argument(s) that are not one tuple of sizes");
            case TorchGlobalKind.RebuildTensorV2:
                if (args.Length is not (6 or 7))
                    throw reader.Error($"torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]), got {args.Length}");
                if (args[4] is not bool) throw reader.Error($"_rebuild_tensor_v2's requires_grad is {PickleReader.Describe(args[4])}, expected True or False");
                if (args[5] is not PickleDict) throw reader.Error($"_rebuild_tensor_v2's backward_hooks is {PickleReader.Describe(args[5])}, expected an OrderedDict");
                return RebuildTensor(reader, global, args);
            case TorchGlobalKind.RebuildTensor:
                if (args.Length != 4)
                    throw reader.Error($"torch._utils._rebuild_tensor takes 4 arguments (storage, storage_offset, size, stride), got {args.Length}");
                return RebuildTensor(reader, global, args);
            default:
                throw reader.Error($"{global.FullName} is called, but a storage class may only name the type in a storage reference; the pickle is corrupt");
        }
    }

    /// <summary>OrderedDict() or, as Python 2 pickled it, OrderedDict([[key, value], ...]).</summary>
    private static PickleDict NewOrderedDict(PickleReader reader, object?[] args)
    {
        var dict = new PickleDict();
        if (args.Length == 0) return dict;
        IEnumerable<object?>? pairs = args.Length == 1 ? args[0] switch
        {
            PickleList l => l.Items,
            PickleTuple t => t.Items,
            _ => null,
        } : null;
        if (pairs == null) throw reader.Error($"collections.OrderedDict is called with {args.Length} argument(s) that are not a list of pairs");
        foreach (var pair in pairs)
        {
            var kv = pair switch { PickleList l => l.Items.ToArray(), PickleTuple t => t.Items, _ => null };
            if (kv is not { Length: 2 }) throw reader.Error($"an OrderedDict item is {PickleReader.Describe(pair)}, not a key-value pair");
            dict.Set(kv[0], kv[1]);
        }
        return dict;
    }

    /// <summary>
    /// <c>_rebuild_tensor(_v2)(storage, storage_offset, size, stride, …)</c>: a view of a storage, checked to lie inside
    /// it now, while the pickle offset is known, rather than when its bytes are read.
    /// </summary>
    private static object RebuildTensor(PickleReader reader, TorchGlobal global, object?[] args)
    {
        string fn = global.Name;
        // A tensor on a refused storage stays inert too: it is refused if, and only if, the state dict needs it.
        if (args[0] is RefusedObject r)
            return new RefusedObject(r.Global, r.Where, $"a tensor on {r.Description}");
        var storage = args[0] as StorageRef
            ?? throw reader.Error($"{fn}'s storage is {PickleReader.Describe(args[0])}, expected a storage reference (BINPERSID)");
        long offset = NonNegative(reader, args[1], $"{fn}'s storage_offset");
        var size = Dims(reader, args[2], $"{fn}'s size");
        var stride = Dims(reader, args[3], $"{fn}'s stride");
        if (stride.Length != size.Length)
            throw reader.Error($"{fn}'s size has {size.Length} dimensions but its stride {stride.Length}");

        long numel = 1;
        foreach (long d in size)
        {
            if (d > int.MaxValue) throw reader.Error($"{fn}'s size [{string.Join(", ", size)}] has a dimension above {int.MaxValue}, which Striate cannot hold");
            numel = d == 0 || numel <= Array.MaxLength / d ? numel * d : long.MaxValue;
        }
        if (numel > Array.MaxLength)
            throw reader.Error($"{fn}'s size [{string.Join(", ", size)}] has more than {Array.MaxLength} elements, more than a Striate tensor can hold");

        if (numel > 0)
        {
            // The last element the view touches: offset + Σ (size_i − 1)·stride_i, in checked arithmetic.
            Int128 last = offset;
            for (int i = 0; i < size.Length; i++) last += (Int128)(size[i] - 1) * stride[i];
            if (last >= storage.Numel)
                throw reader.Error(
                    $"a tensor of size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}] at storage offset {offset} reaches element {last}, " +
                    $"but its storage '{storage.Key}' ({PthDtypes.StorageClassName(storage.Dtype)}) holds {storage.Numel} elements; the shape does not fit its storage");
        }
        return new TensorRef(storage, offset, size, stride, reader.Where);
    }

    private static long[] Dims(PickleReader reader, object? value, string what)
    {
        var items = value switch { PickleTuple t => t.Items, PickleList l => l.Items.ToArray(), _ => null };
        if (items == null) throw reader.Error($"{what} is {PickleReader.Describe(value)}, expected a tuple of integers");
        if (items.Length > MaxRank) throw reader.Error($"{what} has {items.Length} dimensions; more than {MaxRank} means the file is corrupt");
        var dims = new long[items.Length];
        for (int i = 0; i < dims.Length; i++) dims[i] = NonNegative(reader, items[i], what);
        return dims;
    }

    internal static long NonNegative(PickleReader reader, object? value, string what) => value switch
    {
        long n when n >= 0 => n,
        _ => throw reader.Error($"{what} is {PickleReader.Describe(value)}, expected a non-negative integer"),
    };
}
