using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Striate.Data;

namespace Striate.IO.Pth;

internal sealed partial class ZipDirectory
{
    /// <summary>
    /// Deflate cannot expand more than about 1032:1 (its longest match, 258 bytes, costs at least 2 bits), so a larger
    /// claimed size is a lie told to make a reader allocate; a little slack covers the stream's fixed overhead.
    /// </summary>
    private const long MaxDeflateRatio = 1032, DeflateSlack = 1024;

    /// <summary>
    /// Where <paramref name="entry"/>'s data starts: after its local header, whose extra field may differ from the
    /// central directory's (torch pads it so that data starts 64-byte aligned).
    /// </summary>
    public long DataOffset(ZipEntry entry)
    {
        string where = $"zip entry '{entry.Name}' (local header at offset {entry.LocalHeaderOffset})";
        Span<byte> header = stackalloc byte[LocalSize];
        _source.Read(entry.LocalHeaderOffset, header, where);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalSignature)
            throw Corrupt(_source, where, "expected a local file header (PK\\x03\\x04)");
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[26..]);
        int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        var name = new byte[nameLength];
        _source.Read(entry.LocalHeaderOffset + LocalSize, name, where);
        if (Encoding.UTF8.GetString(name) != entry.Name)
            throw Corrupt(_source, where, $"the local header names '{Encoding.UTF8.GetString(name)}', the central directory '{entry.Name}'");
        long data = entry.LocalHeaderOffset + LocalSize + nameLength + extraLength;
        if (entry.CompressedSize > _centralOffset - data)
            throw Corrupt(_source, where,
                $"its {entry.CompressedSize} bytes of data from offset {data} run past the central directory at offset {_centralOffset}; the archive is truncated or corrupt");
        return data;
    }

    /// <summary>The entry's bytes, inflated if deflated, with the CRC-32 checked against the central directory.</summary>
    public byte[] ReadEntry(ZipEntry entry)
    {
        string where = $"zip entry '{entry.Name}'";
        long data = DataOffset(entry);
        byte[] bytes;
        if (entry.Method == 0)
        {
            if (entry.CompressedSize != entry.Size)
                throw Corrupt(_source, where, $"it is stored (not compressed) but its sizes differ: {entry.CompressedSize} stored, {entry.Size} uncompressed");
            bytes = _source.ReadArray(data, entry.Size, where);
        }
        else
        {
            bytes = Inflate(entry, data, where);
        }
        uint crc = Crc32.Compute(bytes);
        if (crc != entry.Crc32)
            throw Corrupt(_source, where, $"its CRC-32 is 0x{crc:x8} but the central directory says 0x{entry.Crc32:x8}; the entry is corrupt");
        return bytes;
    }

    private byte[] Inflate(ZipEntry entry, long data, string where)
    {
        if (entry.Size > entry.CompressedSize * MaxDeflateRatio + DeflateSlack)
            throw Corrupt(_source, where, $"it claims {entry.Size} bytes from {entry.CompressedSize} deflated bytes, more than deflate can produce");
        if (entry.Size > Array.MaxLength)
            throw Corrupt(_source, where, $"it is {entry.Size} bytes uncompressed; entries above {Array.MaxLength} bytes are not supported");
        var compressed = _source.ReadArray(data, entry.CompressedSize, where);
        var bytes = new byte[entry.Size];
        try
        {
            using var inflater = new DeflateStream(new MemoryStream(compressed), CompressionMode.Decompress);
            int got = inflater.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (got < bytes.Length)
                throw Corrupt(_source, where, $"it inflates to {got} bytes, fewer than the {entry.Size} its central directory says; it is truncated or corrupt");
            if (inflater.Read(new byte[1]) != 0)
                throw Corrupt(_source, where, $"it inflates to more than the {entry.Size} bytes its central directory says; it is corrupt");
        }
        catch (InvalidDataException e)
        {
            throw new PthFormatException(_source.Name, where, $"its deflate stream is corrupt ({e.Message})", e);
        }
        return bytes;
    }
}
