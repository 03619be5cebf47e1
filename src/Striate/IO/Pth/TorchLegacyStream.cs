using System.Buffers.Binary;
using System.Numerics;

namespace Striate.IO.Pth;

/// <summary>
/// <c>torch.save</c>'s format before PyTorch 1.6 (<c>torch/serialization.py: _legacy_save</c>), five pickles in a row —
/// the magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, a dict of system information, the object
/// itself (storages as persistent ids), the list of storage keys — then each listed storage as an 8-byte
/// little-endian element count followed by its little-endian data.
/// </summary>
internal sealed class TorchLegacyStream : PthContainer
{
    private static readonly BigInteger Magic = BigInteger.Parse("119547037146038801333356"); // 0x1950a86a20f9469cfc6c
    private const long ProtocolVersion = 1001;

    private readonly ByteSource _source;
    private readonly Dictionary<string, StorageRef> _roots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StorageRef> _views = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _dataOffsets = new(StringComparer.Ordinal);

    public override PthFormat Format => PthFormat.Legacy;

    private TorchLegacyStream(ByteSource source) => _source = source;

    /// <summary>
    /// The magic number as pickle protocol 2+ writes it (PROTO n, LONG1 of 10 bytes) or protocol 1 does
    /// (LONG as decimal text); a file starting otherwise is not a legacy torch file.
    /// </summary>
    public static bool HasMagic(ReadOnlySpan<byte> head)
    {
        ReadOnlySpan<byte> binary = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
        if (head.Length >= 14 && head[0] == 0x80 && head[1] is >= 2 and <= 5 && head[2..14].SequenceEqual(binary)) return true;
        return head.StartsWith("L119547037146038"u8);
    }

    public static TorchLegacyStream Read(ByteSource source)
    {
        var stream = new TorchLegacyStream(source);
        var input = new PickleInput(source, 0, source.Length);

        long at = input.Position;
        var magic = PickleReader.Load(input, "", 0, null);
        if (!(magic is BigInteger m && m == Magic))
            throw new PthFormatException(source.Name, $"file offset {at}", $"the first pickle is {PickleReader.Describe(magic)}, not torch.save's magic number 0x1950a86a20f9469cfc6c");
        at = input.Position;
        var version = PickleReader.Load(input, "", 0, null);
        if (version is not ProtocolVersion)
            throw new PthFormatException(source.Name, $"file offset {at}", $"the protocol version is {PickleReader.Describe(version)}; the legacy format has 1001");
        at = input.Position;
        var info = PickleReader.Load(input, "", 0, null);
        if (info is not PickleDict sys)
            throw new PthFormatException(source.Name, $"file offset {at}", $"the system information is {PickleReader.Describe(info)}, expected a dict");
        if (sys.TryGet("little_endian", out var little) && little is false)
            throw new PthFormatException(source.Name, $"file offset {at}",
                "the file was written on a big-endian machine in the legacy format, which Striate does not read; save it again with PyTorch 1.6 or later (the zip format records its byte order)");

        stream.Root = PickleReader.Load(input, "", 0, stream.PersistentLoad);
        at = input.Position;
        var keys = PickleReader.Load(input, "", 0, null);
        if (keys is not PickleList list)
            throw new PthFormatException(source.Name, $"file offset {at}", $"the storage key list is {PickleReader.Describe(keys)}, expected a list");
        stream.LocateStorages(list, input.Position);
        return stream;
    }

    private object? PersistentLoad(object? pid, PickleReader reader)
    {
        if (StorageIds.Parse(pid, reader, legacy: true, out var view, out var refused) is not var (dtype, key, location, numel)) return refused;
        if (_roots.TryGetValue(key, out var root))
        {
            if (root.Dtype != dtype || root.Numel != numel)
                throw reader.Error($"storage '{key}' is referenced as {numel} × {PthDtypes.StorageClassName(dtype)} and as {root.Numel} × {PthDtypes.StorageClassName(root.Dtype)}");
        }
        else
        {
            root = new StorageRef(key, dtype, numel, location);
            _roots[key] = root;
        }
        if (view is not { } v) return root;
        if (v.Offset > numel || v.Numel > numel - v.Offset)
            throw reader.Error($"storage view '{v.Key}' covers elements {v.Offset}..{v.Offset + v.Numel} of storage '{key}', which has {numel}");
        if (!_views.TryGetValue(v.Key, out var viewRef))
        {
            viewRef = new StorageRef(v.Key, dtype, v.Numel, location) { RootKey = key, ViewOffset = v.Offset };
            _views[v.Key] = viewRef;
        }
        return viewRef;
    }

    /// <summary>Walks the storages after the key list: every size header checked, nothing read but the headers.</summary>
    private void LocateStorages(PickleList keys, long offset)
    {
        Span<byte> header = stackalloc byte[8];
        foreach (var item in keys.Items)
        {
            if (item is not string key)
                throw new PthFormatException(_source.Name, $"storage key list", $"an item is {PickleReader.Describe(item)}, expected a string");
            if (!_roots.TryGetValue(key, out var root))
                throw new PthFormatException(_source.Name, "storage key list", $"storage '{key}' is listed but no tensor of the pickle references it");
            if (_dataOffsets.ContainsKey(key))
                throw new PthFormatException(_source.Name, "storage key list", $"storage '{key}' is listed twice");
            string where = $"storage '{key}' at file offset {offset}";
            _source.Read(offset, header, where);
            long count = BinaryPrimitives.ReadInt64LittleEndian(header);
            if (count != root.Numel)
                throw new PthFormatException(_source.Name, where, $"its size header says {count} elements, but the pickle says {root.Numel}");
            int size = PthDtypes.SizeOf(root.Dtype);
            if (root.Numel > (_source.Length - offset - 8) / size)
                throw new PthFormatException(_source.Name, where,
                    $"its {root.Numel} elements of {PthDtypes.StorageClassName(root.Dtype)} need {(BigInteger)root.Numel * size} bytes but only {_source.Length - offset - 8} remain; the file is truncated");
            _dataOffsets[key] = offset + 8;
            offset += 8 + root.Numel * size;
        }
        var missing = _roots.Keys.FirstOrDefault(k => !_dataOffsets.ContainsKey(k));
        if (missing != null)
            throw new PthFormatException(_source.Name, "storage key list", $"storage '{missing}' is referenced by the pickle but missing from the file's storages");
    }

    public override long RootNumel(string rootKey) => _roots[rootKey].Numel;

    public override byte[] ReadStorage(string rootKey)
    {
        var root = _roots[rootKey];
        return _source.ReadArray(_dataOffsets[rootKey], root.Numel * PthDtypes.SizeOf(root.Dtype), $"storage '{rootKey}'");
    }
}
