using System.Text;

namespace Striate.IO.Pth;

/// <summary>
/// <c>torch.save</c>'s zip format (PyTorch ≥ 1.6, <c>torch/serialization.py: _save</c>): one top-level folder NAME
/// holding <c>data.pkl</c> (the pickle, whose persistent ids <c>('storage', storage_type, key, location, numel)</c>
/// name storages), <c>data/KEY</c> (each storage's raw bytes, stored and 64-byte aligned), <c>version</c> and, since
/// PyTorch 2.1, <c>byteorder</c> ("little" or "big"; big-endian storages are byte-swapped on read).
/// </summary>
internal sealed class TorchZipArchive : PthContainer
{
    private readonly ByteSource _source;
    private readonly ZipDirectory _zip;
    private readonly string _prefix;
    private readonly bool _bigEndian;
    private readonly Dictionary<string, (StorageRef Storage, ZipEntry Entry)> _storages = new(StringComparer.Ordinal);

    public override PthFormat Format => PthFormat.Zip;

    private TorchZipArchive(ByteSource source, ZipDirectory zip, string prefix, bool bigEndian)
    {
        _source = source;
        _zip = zip;
        _prefix = prefix;
        _bigEndian = bigEndian;
    }

    public static TorchZipArchive Read(ByteSource source)
    {
        var zip = ZipDirectory.Read(source);
        var pickles = zip.Entries.Where(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && e.Name.IndexOf('/') == e.Name.Length - "/data.pkl".Length).ToList();
        if (pickles.Count != 1)
        {
            string names = string.Join(", ", zip.Entries.Take(8).Select(e => e.Name)) + (zip.Entries.Count > 8 ? $", … ({zip.Entries.Count} entries)" : "");
            throw new PthFormatException(source.Name, null, pickles.Count == 0
                ? $"this zip archive has no NAME/data.pkl entry, so torch.save did not write it (entries: {(names.Length > 0 ? names : "none")})"
                : $"this zip archive has {pickles.Count} NAME/data.pkl entries ({string.Join(", ", pickles.Select(p => p.Name))}); torch.save writes one");
        }
        string prefix = pickles[0].Name[..^"/data.pkl".Length];
        if (zip.TryGet(prefix + "/constants.pkl", out _) || zip.Entries.Any(e => e.Name.StartsWith(prefix + "/code/", StringComparison.Ordinal)))
            throw new PthFormatException(source.Name, null,
                "this is a TorchScript archive (torch.jit.save), whose code Striate does not run; in Python, load it with torch.jit.load and save model.state_dict() with torch.save");

        bool bigEndian = false;
        if (zip.TryGet(prefix + "/byteorder", out var byteorderEntry))
        {
            string order = Encoding.ASCII.GetString(ReadSmall(zip, source, byteorderEntry)).Trim();
            bigEndian = order switch
            {
                "little" => false,
                "big" => true,
                _ => throw new PthFormatException(source.Name, $"zip entry '{byteorderEntry.Name}'", $"byte order '{Shorten(order)}' is neither 'little' nor 'big'"),
            };
        }

        var archive = new TorchZipArchive(source, zip, prefix, bigEndian);
        var pickle = zip.ReadEntry(pickles[0]);
        var input = new PickleInput(ByteSource.FromMemory(pickle, source.Name), 0, pickle.Length);
        archive.Root = PickleReader.Load(input, pickles[0].Name, 0, archive.PersistentLoad);
        return archive;
    }

    private static byte[] ReadSmall(ZipDirectory zip, ByteSource source, ZipEntry entry) =>
        entry.Size <= 64 ? zip.ReadEntry(entry)
            : throw new PthFormatException(source.Name, $"zip entry '{entry.Name}'", $"it is {entry.Size} bytes; a byte order record is a word");

    /// <summary>The persistent id <c>('storage', storage_type, key, location, numel)</c> of one storage.</summary>
    private object? PersistentLoad(object? pid, PickleReader reader)
    {
        if (StorageIds.Parse(pid, reader, legacy: false, out _, out var refused) is not var (dtype, key, location, numel)) return refused;
        if (_storages.TryGetValue(key, out var known))
        {
            if (known.Storage.Dtype != dtype)
                throw reader.Error($"storage '{key}' is referenced as {PthDtypes.StorageClassName(known.Storage.Dtype)} and as {PthDtypes.StorageClassName(dtype)}; torch.save never mixes them");
            return known.Storage;
        }
        string name = $"{_prefix}/data/{key}";
        if (!_zip.TryGet(name, out var entry))
            throw reader.Error($"storage '{key}' ({PthDtypes.StorageClassName(dtype)}, {numel} elements) is missing: the archive has no entry '{name}'");
        long bytes = numel <= long.MaxValue / PthDtypes.SizeOf(dtype) ? numel * PthDtypes.SizeOf(dtype) : -1;
        if (bytes != entry.Size)
            throw reader.Error($"storage '{key}' is {numel} elements of {PthDtypes.StorageClassName(dtype)} ({(bytes < 0 ? "overflow" : bytes.ToString())} bytes), but entry '{name}' holds {entry.Size} bytes");
        var storage = new StorageRef(key, dtype, numel, location);
        _storages[key] = (storage, entry);
        return storage;
    }

    public override long RootNumel(string rootKey) => _storages[rootKey].Storage.Numel;

    public override byte[] ReadStorage(string rootKey)
    {
        var (storage, entry) = _storages[rootKey];
        var bytes = _zip.ReadEntry(entry);
        if (_bigEndian) StorageIds.SwapToLittleEndian(bytes, PthDtypes.SizeOf(storage.Dtype));
        return bytes;
    }

    private static string Shorten(string text) => text.Length <= 20 ? text : text[..20] + "…";
}
