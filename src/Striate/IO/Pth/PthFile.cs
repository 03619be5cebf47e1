namespace Striate.IO.Pth;

/// <summary>
/// A PyTorch <c>.pth</c>/<c>.pt</c> file written by <c>torch.save</c> — the zip format (PyTorch ≥ 1.6, detected by
/// <c>PK\x03\x04</c> whatever the extension) or the legacy stream — read as data, never run: the pickle inside is
/// interpreted by Striate's own reader against a fixed allowlist (<c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c>, the storage classes, <c>torch.Size</c>), so a file that names
/// <c>os.system</c>, <c>eval</c> or a module class is refused with a <see cref="PthUnsafeGlobalException"/> and
/// nothing it names is ever imported or called. The state dict is the file's root, the one state dict inside a
/// checkpoint dict, or the entry <c>key</c> names; its tensors are copied to contiguous float32 (with exact
/// integers for integer dtypes). Every size and offset is checked against the file before anything is allocated;
/// any problem is a <see cref="PthFormatException"/> naming the file, the place and what was expected.
/// </summary>
/// <remarks>
/// Shapes: each tensor keeps its stored shape. Keys are the file's own; <see cref="StateDictKeys.Normalize"/>
/// applies torchvision's renames of old checkpoints (DenseNet's <c>norm.1</c> → <c>norm1</c>).
/// <code>
/// var pth = PthFile.Load("resnet18.pth");
/// model.LoadStateDict(pth.ToStateDict());
/// </code>
/// </remarks>
public sealed class PthFile
{
    private readonly Dictionary<string, PthTensor> _byName;

    /// <summary>The file's path (or the name given to <see cref="Parse"/>).</summary>
    public string SourceName { get; }

    /// <summary>Which of torch.save's layouts the file uses.</summary>
    public PthFormat Format { get; }

    /// <summary>The key of the state dict inside a checkpoint (e.g. "model"); null when the file's root is the state dict.</summary>
    public string? Key { get; }

    /// <summary>The tensors in the state dict's order.</summary>
    public IReadOnlyList<PthTensor> Tensors { get; }

    /// <summary>The keys in the state dict's order.</summary>
    public IReadOnlyList<string> Names => Tensors.Select(t => t.Name).ToList();

    /// <summary>Keys of integer and bool tensors (e.g. batch norm's <c>num_batches_tracked</c>).</summary>
    public IReadOnlyCollection<string> IntegerNames => Tensors.Where(t => t.IsInteger).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

    private PthFile(string source, PthFormat format, string? key, List<PthTensor> tensors)
    {
        SourceName = source;
        Format = format;
        Key = key;
        Tensors = tensors;
        _byName = new Dictionary<string, PthTensor>(StringComparer.Ordinal);
        foreach (var t in tensors) _byName[t.Name] = t;
    }

    /// <summary>
    /// Reads the state dict of the file at <paramref name="path"/>; <paramref name="key"/> picks an entry of a
    /// checkpoint dict (a '/'-separated path reaches into nested dicts). Without a key, a checkpoint holding exactly
    /// one state dict gives that one; several, or none, is an error listing the keys.
    /// </summary>
    public static PthFile Load(string path, string? key = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"PyTorch file '{path}' does not exist.", path);
        using var source = ByteSource.OpenFile(path);
        return Read(source, key);
    }

    /// <summary>Like <see cref="Load"/> for a whole file held in memory; <paramref name="sourceName"/> appears in errors.</summary>
    public static PthFile Parse(ReadOnlyMemory<byte> bytes, string sourceName, string? key = null)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        using var source = ByteSource.FromMemory(bytes, sourceName);
        return Read(source, key);
    }

    /// <summary>
    /// True when <paramref name="head"/> (the first 16 bytes of a file or more) starts like a torch.save file: a zip
    /// archive or the legacy magic number. Checkpoint loaders use it to tell .pth from safetensors whatever the extension.
    /// </summary>
    public static bool HasSignature(ReadOnlySpan<byte> head) =>
        head.StartsWith("PK\x03\x04"u8) || TorchLegacyStream.HasMagic(head);

    /// <summary>True when the file at <paramref name="path"/> starts like a torch.save file (see <see cref="HasSignature"/>).</summary>
    public static bool IsPthFile(string path)
    {
        Span<byte> head = stackalloc byte[16];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return HasSignature(head[..n]);
    }

    private static PthFile Read(ByteSource source, string? key)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("The .pth reader converts storages to little-endian and runs on little-endian machines only.");
        var container = PthContainer.Open(source);
        var (picked, tensors) = StateDictSelection.Select(container.Root, key, source.Name);
        return new PthFile(source.Name, container.Format, picked, TensorMaterializer.Build(container, tensors, source.Name));
    }

    /// <summary>True if the state dict has a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The tensor named <paramref name="name"/>; the error lists the names there are.</summary>
    public PthTensor this[string name] => _byName.TryGetValue(name, out var t) ? t
        : throw new KeyNotFoundException($"{SourceName} has no tensor '{name}'. It holds: {string.Join(", ", Tensors.Take(20).Select(x => x.Name))}{(Tensors.Count > 20 ? $", … ({Tensors.Count} in all)" : "")}.");

    /// <summary>Name → float32 tensor, in order, for <see cref="Nn.Module.LoadStateDict"/>. The tensors are this file's own (not copies).</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> ToStateDict() => Tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, t.Value)).ToList();
}
