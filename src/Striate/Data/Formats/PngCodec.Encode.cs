using System.Buffers.Binary;
using System.IO.Compression;

namespace Striate.Data;

public static partial class PngCodec
{
    /// <summary>Encodes an image as a non-interlaced 8-bit PNG (gray, RGB or RGBA by its channel count).</summary>
    public static byte[] Encode(DecodedImage image) => Encode(image.Pixels, image.Width, image.Height, image.Channels);

    /// <summary>
    /// Encodes 8-bit HWC pixels as a non-interlaced PNG: 1 channel → gray, 3 → RGB, 4 → RGBA.
    /// Each row gets the filter whose output has the smallest sum of absolute values (as signed bytes), the
    /// heuristic the PNG spec recommends (§12.8) and libpng uses. Shapes: pixels [height, width, channels].
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, int channels)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"PngCodec.Encode: width and height must be positive, got {width}×{height}.");
        byte colorType = channels switch
        {
            1 => 0, 3 => 2, 4 => 6,
            _ => throw new ArgumentException($"PngCodec.Encode: channels must be 1, 3 or 4, got {channels}."),
        };
        long stride = (long)width * channels;
        if (pixels.Length != stride * height)
            throw new ArgumentException($"PngCodec.Encode: {width}×{height}×{channels} needs {stride * height} bytes, got {pixels.Length}.");
        if ((stride + 1) * height > int.MaxValue)
            throw new ArgumentException($"PngCodec.Encode: {width}×{height}×{channels} is too large for one PNG here.");

        int rowBytes = (int)stride;
        // candidates: [5, rowBytes] — one filtered version of the row per filter type
        var candidates = new byte[5 * rowBytes];
        var zeros = new byte[rowBytes];
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                var row = pixels.Slice(y * rowBytes, rowBytes);
                var prior = y == 0 ? zeros : pixels.Slice((y - 1) * rowBytes, rowBytes);
                int best = ChooseFilter(row, prior, channels, candidates, rowBytes);
                z.WriteByte((byte)best);
                z.Write(candidates, best * rowBytes, rowBytes);
            }
        }

        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8; ihdr[9] = colorType; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
        WriteChunk(output, "IHDR"u8, ihdr);
        WriteChunk(output, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    /// <summary>Encodes and writes a PNG file.</summary>
    public static void Save(string path, DecodedImage image) => File.WriteAllBytes(path, Encode(image));

    /// <summary>Encodes 8-bit HWC pixels and writes a PNG file. Shapes: pixels [height, width, channels].</summary>
    public static void Save(string path, ReadOnlySpan<byte> pixels, int width, int height, int channels)
        => File.WriteAllBytes(path, Encode(pixels, width, height, channels));

    private static int ChooseFilter(ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int bpp, byte[] candidates, int n)
    {
        int best = 0;
        long bestScore = long.MaxValue;
        for (int f = 0; f < 5; f++)
        {
            var o = candidates.AsSpan(f * n, n);
            long score = 0;
            for (int i = 0; i < n; i++)
            {
                int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
                byte v = f switch
                {
                    0 => row[i],
                    1 => (byte)(row[i] - a),
                    2 => (byte)(row[i] - b),
                    3 => (byte)(row[i] - ((a + b) >> 1)),
                    _ => (byte)(row[i] - Paeth((byte)a, (byte)b, (byte)c)),
                };
                o[i] = v;
                int s = (sbyte)v;
                score += s < 0 ? -s : s;
            }
            if (score < bestScore) { bestScore = score; best = f; }
        }
        return best;
    }

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        output.Write(word);
    }
}
