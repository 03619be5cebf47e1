using System.Buffers.Binary;
using System.Text;

namespace Striate.IO.Pth;

/// <summary>
/// The persistent ids <c>torch.save</c> writes for storages — <c>('storage', storage_type, key, location, numel)</c>
/// in the zip format, plus a sixth item <c>view_metadata</c> (None, or <c>(view_key, offset, size)</c> before
/// PyTorch 1.0) in the legacy format — and the refusals every part of the reader shares.
/// </summary>
internal static class StorageIds
{
    public readonly record struct View(string Key, long Offset, long Numel);

    /// <summary>
    /// The storage a persistent id describes; null with <paramref name="refused"/> set when it names a global outside
    /// the allowlist (a module class, a storage class Striate does not read), which stays inert unless a tensor of the
    /// state dict needs it.
    /// </summary>
    public static (PthDtype Dtype, string Key, string Location, long Numel)? Parse(object? pid, PickleReader reader, bool legacy, out View? view, out RefusedObject? refused)
    {
        view = null;
        refused = null;
        if (pid is not PickleTuple { Items.Length: > 0 } tuple)
            throw reader.Error($"a persistent id is {PickleReader.Describe(pid)}, expected a tuple ('storage', storage_type, key, location, numel)");
        var items = tuple.Items;
        string kind = Text(reader, items[0], "the persistent id's kind");
        if (kind == "module")
        {
            // The legacy format records each module class (and its source) when a whole model is saved.
            string global = items.Length > 1 ? items[1] switch { RefusedObject r => r.Global, TorchGlobal g => g.FullName, _ => "a module class" } : "a module class";
            refused = new RefusedObject(global, reader.Where, $"a whole module ({global}) saved with torch.save(model)");
            return null;
        }
        if (kind != "storage") throw reader.Error($"a persistent id of kind '{kind}'; torch.save writes only 'storage'");
        int expected = legacy ? 6 : 5;
        if (items.Length != expected)
            throw reader.Error($"a storage persistent id has {items.Length} items; the {(legacy ? "legacy" : "zip")} format writes {expected}");

        if (items[1] is RefusedObject type)
        {
            refused = new RefusedObject(type.Global, reader.Where,
                $"a storage of type {type.Global}, not one of the storage classes Striate reads ({PthDtypes.SupportedStorageClasses})");
            return null;
        }
        var dtype = items[1] is TorchGlobal { Kind: TorchGlobalKind.Storage } storageClass ? storageClass.StorageDtype
            : throw reader.Error($"a storage's type is {PickleReader.Describe(items[1])}, expected a storage class such as torch.FloatStorage");
        string key = Text(reader, items[2], "a storage key");
        string location = Text(reader, items[3], "a storage location");
        long numel = TorchGlobals.NonNegative(reader, items[4], $"storage '{key}''s element count");
        if (legacy && items[5] is PickleTuple { Items: [var viewKey, var offset, var size] })
            view = new View(Text(reader, viewKey, "a storage view key"), TorchGlobals.NonNegative(reader, offset, "a storage view's offset"),
                TorchGlobals.NonNegative(reader, size, "a storage view's size"));
        else if (legacy && items[5] != null)
            throw reader.Error($"a storage's view metadata is {PickleReader.Describe(items[5])}, expected None or (view_key, offset, size)");
        return (dtype, key, location, numel);
    }

    /// <summary>A str, or Python 2 bytes decoded as ASCII (as <c>torch.serialization._maybe_decode_ascii</c> does).</summary>
    private static string Text(PickleReader reader, object? value, string what) => value switch
    {
        string s => s,
        byte[] b => Encoding.Latin1.GetString(b),
        _ => throw reader.Error($"{what} is {PickleReader.Describe(value)}, expected a string"),
    };

    /// <summary>Byte-swaps every <paramref name="elementSize"/>-byte element in place.</summary>
    public static void SwapToLittleEndian(Span<byte> bytes, int elementSize)
    {
        switch (elementSize)
        {
            case 2:
                var u16 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes);
                BinaryPrimitives.ReverseEndianness(u16, u16);
                break;
            case 4:
                var u32 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(bytes);
                BinaryPrimitives.ReverseEndianness(u32, u32);
                break;
            case 8:
                var u64 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bytes);
                BinaryPrimitives.ReverseEndianness(u64, u64);
                break;
        }
    }

    /// <summary>
    /// The refusal of a global outside the allowlist, saying what it is, that nothing ran, and what to save instead.
    /// </summary>
    public static PthUnsafeGlobalException Refuse(string source, string? where, string global, string what) =>
        new(source, where, global,
            $"{what}. {global} is a Python global outside Striate's allowlist: a .pth file is read as data and never run, so only " +
            "tensors, their storages and plain containers are accepted (collections.OrderedDict, torch._utils._rebuild_tensor_v2, " +
            "torch.*Storage, torch.Size). Save the weights with torch.save(model.state_dict(), path) and load that file.");
}
