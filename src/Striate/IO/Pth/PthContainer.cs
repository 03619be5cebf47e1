namespace Striate.IO.Pth;

/// <summary>The two layouts <c>torch.save</c> writes.</summary>
public enum PthFormat
{
    /// <summary>A zip archive (PyTorch 1.6 and later): <c>NAME/data.pkl</c>, <c>NAME/data/KEY</c> per storage, <c>NAME/version</c>.</summary>
    Zip,
    /// <summary>The pre-1.6 stream: magic number, protocol 1001, system info, the pickle, the storage keys, then each storage.</summary>
    Legacy,
}

/// <summary>
/// A parsed <c>.pth</c> container: the unpickled root object, and access to the bytes of each storage it references
/// (read only when a tensor that views it is wanted).
/// </summary>
internal abstract class PthContainer
{
    /// <summary>The pickle's result: a dict for a state dict or a checkpoint.</summary>
    public object? Root { get; protected set; }

    public abstract PthFormat Format { get; }

    /// <summary>
    /// The bytes of the root storage <paramref name="rootKey"/>, little-endian, exactly its element count times its element
    /// size, integrity-checked where the format allows (the zip entry's CRC-32).
    /// </summary>
    public abstract byte[] ReadStorage(string rootKey);

    /// <summary>Element count of root storage <paramref name="rootKey"/>.</summary>
    public abstract long RootNumel(string rootKey);

    /// <summary>Opens either format by its first bytes.</summary>
    public static PthContainer Open(ByteSource source)
    {
        Span<byte> head = stackalloc byte[16];
        int n = (int)Math.Min(head.Length, source.Length);
        source.Read(0, head[..n], "file header");
        head = head[..n];
        if (head.StartsWith("PK\x03\x04"u8) || head.StartsWith("PK\x05\x06"u8)) return TorchZipArchive.Read(source);
        if (TorchLegacyStream.HasMagic(head)) return TorchLegacyStream.Read(source);
        throw new PthFormatException(source.Name, null, Describe(source, head));
    }

    private static string Describe(ByteSource source, ReadOnlySpan<byte> head)
    {
        string expected = "expected a zip archive (PK\\x03\\x04, torch.save since PyTorch 1.6) or a pickled magic number " +
            "0x1950a86a20f9469cfc6c (torch.save before 1.6)";
        if (source.Length == 0) return $"the file is empty; {expected}";
        if (source.Length >= 262)
        {
            Span<byte> ustar = stackalloc byte[5];
            source.Read(257, ustar, "file header");
            if (ustar.SequenceEqual("ustar"u8))
                return "this is a tar archive: the format of PyTorch before 0.4, which Striate does not read; load it with an old PyTorch and save model.state_dict() again";
        }
        if (head.Length >= 9 && head[8] == (byte)'{')
            return $"this looks like a safetensors file, not a PyTorch .pth file; {expected}";
        if (head[0] == 0x80 || head[0] == (byte)'L')
            return $"it starts with a pickle that is not torch.save's magic number; {expected}";
        return $"it starts with bytes {Convert.ToHexString(head[..Math.Min(8, head.Length)])}; {expected}";
    }
}
