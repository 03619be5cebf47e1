using System.Buffers.Binary;
using System.IO.Compression;

namespace Striate.Data;

/// <summary>
/// An IDX file (LeCun's format used by MNIST and Fashion-MNIST), raw or gzip-compressed.
/// Only the unsigned-byte element type (0x08) is supported, which is what every MNIST-family file uses.
/// Shapes: <see cref="Data"/> holds product(<see cref="Dimensions"/>) bytes in row-major order,
/// e.g. images [N, rows, cols], labels [N].
/// </summary>
public sealed class IdxFile
{
    /// <summary>Largest payload accepted, so a corrupt header cannot make us allocate absurd amounts.</summary>
    public const long MaxDataBytes = 1L << 30;

    /// <summary>Dimension sizes from the header, outermost first (1 to 4 of them, each &gt; 0).</summary>
    public int[] Dimensions { get; }

    /// <summary>The elements, row-major; length is the product of <see cref="Dimensions"/>.</summary>
    public byte[] Data { get; }

    public IdxFile(int[] dimensions, byte[] data)
    {
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>
    /// Reads an IDX file. Gzip is detected from the 1f 8b magic bytes, not from the file name.
    /// Throws <see cref="InvalidDataException"/> naming the file for a bad header, a truncated payload,
    /// trailing bytes, or a corrupt gzip stream; <see cref="FileNotFoundException"/> when absent.
    /// </summary>
    public static IdxFile Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (!gzip)
            return ReadFrom(file, path, file.Length, compressed: false);
        using var unzip = new GZipStream(file, CompressionMode.Decompress);
        try
        {
            return ReadFrom(unzip, path, knownLength: -1, compressed: true);
        }
        catch (InvalidDataException e) when (e.Data["Striate"] is null)
        {
            throw new InvalidDataException($"IDX file '{path}': the gzip stream is corrupt ({e.Message}).", e);
        }
    }

    private static IdxFile ReadFrom(Stream stream, string path, long knownLength, bool compressed)
    {
        string what = compressed ? "decompressed " : "";
        Span<byte> head = stackalloc byte[4];
        int n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (n < 4)
            throw Fail(path, $"the {what}file has {n} bytes, too short for the 4-byte IDX magic.");
        if (head[0] != 0 || head[1] != 0)
            throw Fail(path, $"bad magic {head[0]:x2} {head[1]:x2} {head[2]:x2} {head[3]:x2}: an IDX file starts with 00 00 <type> <ndims>.");
        byte type = head[2];
        int ndims = head[3];
        if (type != 0x08)
            throw Fail(path, $"element type 0x{type:x2} ({TypeName(type)}) is not supported; only unsigned byte (0x08) is.");
        if (ndims < 1 || ndims > 4)
            throw Fail(path, $"header declares {ndims} dimensions; expected 1 to 4.");

        Span<byte> dimBytes = stackalloc byte[4 * 4];
        dimBytes = dimBytes[..(4 * ndims)];
        n = stream.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false);
        if (n < dimBytes.Length)
            throw Fail(path, $"truncated header: {ndims} dimensions need {4 + 4 * ndims} bytes, the {what}file has {4 + n}.");
        var dims = new int[ndims];
        long count = 1;
        for (int d = 0; d < ndims; d++)
        {
            uint v = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.Slice(4 * d, 4));
            if (v == 0 || v > int.MaxValue)
                throw Fail(path, $"dimension {d} is {v}; every dimension must be between 1 and {int.MaxValue}.");
            dims[d] = (int)v;
            count *= v;
            if (count > MaxDataBytes)
                throw Fail(path, $"header dimensions [{string.Join(", ", dims[..(d + 1)])}...] describe more than {MaxDataBytes} bytes; refusing.");
        }
        long headerBytes = 4 + 4L * ndims;
        if (knownLength >= 0)
        {
            // Raw file: compare with the real size before allocating anything.
            long actual = knownLength - headerBytes;
            if (actual < count)
                throw Fail(path, $"truncated: dimensions [{string.Join(", ", dims)}] need {count} data bytes after the {headerBytes}-byte header, but only {actual} are present.");
            if (actual > count)
                throw Fail(path, $"{actual - count} unexpected trailing bytes: dimensions [{string.Join(", ", dims)}] need {count} data bytes after the {headerBytes}-byte header, the file has {actual}.");
        }
        // Gzip: the decompressed size is unknown up front, so the buffer grows as data arrives instead of trusting
        // the header (a 28-byte gzip may claim a gigabyte).
        var data = GrowingRead.ReadUpTo(stream, (int)count, out int read);
        if (read < count)
            throw Fail(path, $"truncated: dimensions [{string.Join(", ", dims)}] need {count} data bytes after the {headerBytes}-byte header, but the {what}stream ends after {read}.");
        if (compressed)
        {
            Span<byte> probe = stackalloc byte[256];
            long extra = 0;
            int m;
            while ((m = stream.Read(probe)) > 0 && extra < 1 << 20) extra += m;
            if (extra > 0)
                throw Fail(path, $"{(extra >= 1 << 20 ? "at least " : "")}{extra} unexpected trailing bytes after the {count} data bytes that dimensions [{string.Join(", ", dims)}] need.");
        }
        return new IdxFile(dims, data);
    }

    private static InvalidDataException Fail(string path, string message)
    {
        var e = new InvalidDataException($"IDX file '{path}': {message}");
        e.Data["Striate"] = true; // already names the file; do not re-wrap as a gzip error
        return e;
    }

    private static string TypeName(byte type) => type switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown",
    };
}
