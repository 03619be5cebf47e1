using System.Buffers.Binary;
using System.Text;

namespace Striate.IO.Pth;

/// <summary>One file in a zip archive as its central directory describes it (sizes already widened from zip64).</summary>
internal sealed record ZipEntry(string Name, int Method, int Flags, uint Crc32, long CompressedSize, long Size, long LocalHeaderOffset);

/// <summary>
/// The central directory of a zip archive (PKWARE APPNOTE 6.3: end of central directory record §4.3.16, zip64 end
/// record and locator §4.3.14–15, central file header §4.3.12, zip64 extra field §4.5.3). Only what
/// <c>torch.save</c> and ordinary zip writers produce is accepted: one disk, no encryption, stored or deflated entries.
/// Every offset and size is checked against the file before it is used.
/// </summary>
internal sealed partial class ZipDirectory
{
    private const uint EndSignature = 0x06054b50, Zip64EndSignature = 0x06064b50, Zip64LocatorSignature = 0x07064b50;
    private const uint CentralSignature = 0x02014b50, LocalSignature = 0x04034b50;
    private const int EndSize = 22, Zip64LocatorSize = 20, Zip64EndSize = 56, CentralSize = 46, LocalSize = 30;

    private readonly ByteSource _source;
    private readonly Dictionary<string, ZipEntry> _byName;

    /// <summary>Entries in central-directory order.</summary>
    public IReadOnlyList<ZipEntry> Entries { get; }

    /// <summary>Where the central directory starts: no entry's data may reach past it.</summary>
    private readonly long _centralOffset;

    private ZipDirectory(ByteSource source, List<ZipEntry> entries, long centralOffset)
    {
        _source = source;
        Entries = entries;
        _centralOffset = centralOffset;
        _byName = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        foreach (var e in entries)
            if (!_byName.TryAdd(e.Name, e))
                throw new PthFormatException(source.Name, "zip central directory", $"the entry '{e.Name}' appears twice; the archive is corrupt");
    }

    public bool TryGet(string name, out ZipEntry entry) => _byName.TryGetValue(name, out entry!);

    /// <summary>Reads the central directory of <paramref name="source"/>.</summary>
    public static ZipDirectory Read(ByteSource source)
    {
        long endOffset = FindEnd(source);
        Span<byte> end = stackalloc byte[EndSize];
        source.Read(endOffset, end, "zip end of central directory");
        if (BinaryPrimitives.ReadUInt16LittleEndian(end[4..]) != 0 || BinaryPrimitives.ReadUInt16LittleEndian(end[6..]) != 0)
            throw Corrupt(source, "zip end of central directory", "the archive spans several disks, which torch.save never writes");
        long count = BinaryPrimitives.ReadUInt16LittleEndian(end[10..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(end[12..]);
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(end[16..]);
        long limit = endOffset; // the central directory ends before the end record (or the zip64 records)

        if (endOffset >= Zip64LocatorSize + Zip64EndSize)
        {
            Span<byte> locator = stackalloc byte[Zip64LocatorSize];
            source.Read(endOffset - Zip64LocatorSize, locator, "zip64 end of central directory locator");
            if (BinaryPrimitives.ReadUInt32LittleEndian(locator) == Zip64LocatorSignature)
            {
                ulong recordOffset = BinaryPrimitives.ReadUInt64LittleEndian(locator[8..]);
                if (recordOffset > (ulong)(endOffset - Zip64LocatorSize - Zip64EndSize))
                    throw Corrupt(source, "zip64 end of central directory locator",
                        $"it points at offset {recordOffset}, past where a zip64 end record can start ({endOffset - Zip64LocatorSize - Zip64EndSize})");
                Span<byte> record = stackalloc byte[Zip64EndSize];
                source.Read((long)recordOffset, record, "zip64 end of central directory record");
                if (BinaryPrimitives.ReadUInt32LittleEndian(record) != Zip64EndSignature)
                    throw Corrupt(source, $"zip64 end of central directory record at offset {recordOffset}", "its signature is not PK\\x06\\x06");
                count = CheckedLong(source, BinaryPrimitives.ReadUInt64LittleEndian(record[32..]), "zip64 entry count");
                size = CheckedLong(source, BinaryPrimitives.ReadUInt64LittleEndian(record[40..]), "zip64 central directory size");
                offset = CheckedLong(source, BinaryPrimitives.ReadUInt64LittleEndian(record[48..]), "zip64 central directory offset");
                limit = (long)recordOffset;
            }
        }
        if (count == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF)
            if (limit == endOffset)
                throw Corrupt(source, "zip end of central directory", "its fields say zip64 (0xFFFF…) but there is no zip64 end record before it");
        if (offset > limit || size > limit - offset)
            throw Corrupt(source, "zip end of central directory",
                $"the central directory (offset {offset}, {size} bytes) does not end before the end record at offset {limit}; the file is truncated or corrupt");
        if (count > size / CentralSize)
            throw Corrupt(source, "zip end of central directory", $"{count} entries cannot fit in a central directory of {size} bytes");

        var central = source.ReadArray(offset, size, "zip central directory");
        return new ZipDirectory(source, ParseCentral(source, central, (int)count, offset), offset);
    }

    /// <summary>The end record: 22 bytes plus a comment of up to 65,535 bytes at the very end of the file.</summary>
    private static long FindEnd(ByteSource source)
    {
        if (source.Length < EndSize)
            throw Corrupt(source, null, $"the file is {source.Length} bytes, too short for a zip archive's 22-byte end record; it is truncated");
        int tail = (int)Math.Min(source.Length, EndSize + 0xFFFF);
        var bytes = new byte[tail];
        source.Read(source.Length - tail, bytes, "zip end of central directory");
        for (int i = tail - EndSize; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)) != EndSignature) continue;
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 20));
            if (i + EndSize + commentLength == tail) return source.Length - tail + i;
        }
        throw Corrupt(source, null, "no zip end of central directory record (PK\\x05\\x06) in the last 64 KiB; the archive is truncated or corrupt");
    }

    private static List<ZipEntry> ParseCentral(ByteSource source, byte[] central, int count, long centralOffset)
    {
        var entries = new List<ZipEntry>(count);
        int at = 0;
        for (int n = 0; n < count; n++)
        {
            string where = $"zip central directory entry {n} (offset {centralOffset + at})";
            if (central.Length - at < CentralSize || BinaryPrimitives.ReadUInt32LittleEndian(central.AsSpan(at)) != CentralSignature)
                throw Corrupt(source, where, "expected a central file header (PK\\x01\\x02)");
            var h = central.AsSpan(at, CentralSize);
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            int disk = BinaryPrimitives.ReadUInt16LittleEndian(h[34..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            if (central.Length - at - CentralSize < (long)nameLength + extraLength + commentLength)
                throw Corrupt(source, where, "its name, extra field and comment run past the end of the central directory");
            string name = Encoding.UTF8.GetString(central, at + CentralSize, nameLength);
            var extra = central.AsSpan(at + CentralSize + nameLength, extraLength);
            ReadZip64Extra(source, $"zip entry '{name}'", extra, ref size, ref compressed, ref local, ref disk);
            if (disk != 0) throw Corrupt(source, $"zip entry '{name}'", "it starts on another disk of a multi-disk archive");
            if ((flags & 1) != 0) throw Corrupt(source, $"zip entry '{name}'", "it is encrypted; torch.save never encrypts");
            if (method is not (0 or 8))
                throw Corrupt(source, $"zip entry '{name}'", $"compression method {method} is not supported (expected 0, stored, or 8, deflate)");
            if (local > centralOffset)
                throw Corrupt(source, $"zip entry '{name}'", $"its local header offset {local} lies past the central directory at {centralOffset}");
            entries.Add(new ZipEntry(name, method, flags, crc, compressed, size, local));
            at += CentralSize + nameLength + extraLength + commentLength;
        }
        return entries;
    }

    /// <summary>The zip64 extended information extra field (id 1): each 32-bit field that is all ones is widened, in order.</summary>
    private static void ReadZip64Extra(ByteSource source, string where, ReadOnlySpan<byte> extra, ref long size, ref long compressed, ref long local, ref int disk)
    {
        bool needSize = size == 0xFFFFFFFF, needCompressed = compressed == 0xFFFFFFFF, needLocal = local == 0xFFFFFFFF, needDisk = disk == 0xFFFF;
        if (!(needSize || needCompressed || needLocal || needDisk)) return;
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (length > extra.Length - 4) break;
            var data = extra.Slice(4, length);
            extra = extra[(4 + length)..];
            if (id != 1) continue;
            int at = 0;
            if (needSize) size = NextZip64(source, where, data, ref at, "size");
            if (needCompressed) compressed = NextZip64(source, where, data, ref at, "compressed size");
            if (needLocal) local = NextZip64(source, where, data, ref at, "local header offset");
            if (needDisk)
            {
                if (data.Length - at < 4) throw Corrupt(source, where, "its zip64 extra field is too short for the disk number");
                disk = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data[at..]), int.MaxValue);
            }
            return;
        }
        throw Corrupt(source, where, "its sizes say zip64 (0xFFFFFFFF) but it has no zip64 extra field");
    }

    private static long NextZip64(ByteSource source, string where, ReadOnlySpan<byte> data, ref int at, string field)
    {
        if (data.Length - at < 8) throw Corrupt(source, where, $"its zip64 extra field is {data.Length} bytes, too short for the {field}");
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
        at += 8;
        return CheckedLong(source, v, $"zip64 {field} of {where}");
    }

    private static long CheckedLong(ByteSource source, ulong value, string what) =>
        value <= long.MaxValue ? (long)value : throw Corrupt(source, null, $"the {what} is {value}, beyond any file");

    internal static PthFormatException Corrupt(ByteSource source, string? where, string problem) => new(source.Name, where, problem);
}
