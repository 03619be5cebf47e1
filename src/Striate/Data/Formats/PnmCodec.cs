namespace Striate.Data;

/// <summary>
/// Netpbm gray and colour images: P5 (binary PGM), P6 (binary PPM), P2 (ASCII PGM), P3 (ASCII PPM).
/// Header comments (# to end of line) are allowed anywhere between header fields. maxval may be 1–65535;
/// samples are rescaled to 0–255 as round(v·255/maxval), so maxval 255 is passed through unchanged
/// (16-bit binary samples are big-endian, per the Netpbm spec).
/// Shapes: pixels [Height, Width, Channels] with Channels 1 (PGM) or 3 (PPM).
/// </summary>
public static class PnmCodec
{
    /// <summary>Largest Width·Height·Channels accepted, checked before allocating.</summary>
    public const long MaxDecodedBytes = PngCodec.MaxDecodedBytes;

    /// <summary>Decodes a PGM/PPM file held in memory; errors name <paramref name="sourceName"/>.</summary>
    public static DecodedImage Decode(ReadOnlySpan<byte> data, string sourceName)
    {
        var r = new Reader(data, sourceName);
        if (data.Length < 2 || data[0] != (byte)'P' || data[1] is not ((byte)'2' or (byte)'3' or (byte)'5' or (byte)'6'))
            throw r.Bad($"not a PGM/PPM file: it starts with [{Convert.ToHexString(data[..Math.Min(2, data.Length)])}], expected P2, P3, P5 or P6.");
        char kind = (char)data[1];
        r.Pos = 2;
        int channels = kind is '3' or '6' ? 3 : 1;
        bool binary = kind is '5' or '6';
        int width = r.ReadHeaderInt("width"), height = r.ReadHeaderInt("height"), maxval = r.ReadHeaderInt("maxval");
        if (width <= 0 || height <= 0) throw r.Bad($"invalid size {width}×{height}.");
        if (maxval < 1 || maxval > 65535) throw r.Bad($"maxval {maxval} must be between 1 and 65535.");
        long count = (long)width * height * channels;
        if (count > MaxDecodedBytes)
            throw r.Bad($"{width}×{height}×{channels} = {count} samples exceeds the limit of {MaxDecodedBytes}; refusing.");

        int bytesPerSample = maxval > 255 ? 2 : 1;
        if (binary)
        {
            // Exactly one whitespace byte separates maxval from the raster.
            if (r.Pos >= data.Length || !IsSpace(data[r.Pos]))
                throw r.Bad("expected one whitespace byte after maxval before the binary raster.");
            r.Pos++;
            long need = count * bytesPerSample;
            long have = data.Length - r.Pos;
            if (have < need)
                throw r.Bad($"truncated: {width}×{height}×{channels} at {bytesPerSample} byte(s) per sample needs {need} raster bytes, the file has {have}.");
        }
        else
        {
            // Every ASCII sample takes at least two bytes (a separator and a digit), so the file's real size bounds
            // what the header may ask for before anything is allocated.
            long have = data.Length - r.Pos;
            if (have < 2 * count)
                throw r.Bad($"truncated: {width}×{height}×{channels} = {count} ASCII samples need at least {2 * count} bytes after maxval, the file has {have}.");
        }
        var pixels = GC.AllocateUninitializedArray<byte>((int)count);
        for (long i = 0; i < count; i++)
        {
            int v;
            if (binary)
            {
                v = bytesPerSample == 1 ? data[r.Pos] : (data[r.Pos] << 8) | data[r.Pos + 1];
                r.Pos += bytesPerSample;
            }
            else
            {
                v = r.ReadHeaderInt($"sample {i}", allowComments: false);
            }
            if (v > maxval) throw r.Bad($"sample {i} is {v}, larger than maxval {maxval}.");
            pixels[i] = maxval == 255 ? (byte)v : (byte)((v * 255L + maxval / 2) / maxval);
        }
        return new DecodedImage(width, height, channels, pixels);
    }

    /// <summary>Width and height from the header alone (for the size check before decoding).</summary>
    public static (int Width, int Height) ReadSize(ReadOnlySpan<byte> data, string sourceName)
    {
        var r = new Reader(data, sourceName);
        if (data.Length < 2 || data[0] != (byte)'P' || data[1] is not ((byte)'2' or (byte)'3' or (byte)'5' or (byte)'6'))
            throw r.Bad($"not a PGM/PPM file: it starts with [{Convert.ToHexString(data[..Math.Min(2, data.Length)])}], expected P2, P3, P5 or P6.");
        r.Pos = 2;
        int width = r.ReadHeaderInt("width"), height = r.ReadHeaderInt("height");
        if (width <= 0 || height <= 0) throw r.Bad($"invalid size {width}×{height}.");
        return (width, height);
    }

    /// <summary>Decodes a PGM/PPM file; errors name the path.</summary>
    public static DecodedImage Load(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>Encodes 1-channel pixels as binary PGM (P5) or 3-channel as binary PPM (P6), maxval 255.</summary>
    public static byte[] Encode(DecodedImage image)
    {
        if (image.Channels is not (1 or 3))
            throw new ArgumentException($"PnmCodec.Encode: PGM/PPM hold 1 or 3 channels, got {image.Channels}.");
        var header = System.Text.Encoding.ASCII.GetBytes($"{(image.Channels == 1 ? "P5" : "P6")}\n{image.Width} {image.Height}\n255\n");
        return [.. header, .. image.Pixels];
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;

    private ref struct Reader(ReadOnlySpan<byte> data, string source)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Pos;

        public readonly InvalidDataException Bad(string message) => new($"PGM/PPM '{source}': {message}");

        public int ReadHeaderInt(string what, bool allowComments = true)
        {
            while (Pos < _data.Length)
            {
                if (IsSpace(_data[Pos])) { Pos++; continue; }
                if (_data[Pos] == (byte)'#' && allowComments)
                {
                    while (Pos < _data.Length && _data[Pos] != (byte)'\n' && _data[Pos] != (byte)'\r') Pos++;
                    continue;
                }
                break;
            }
            if (Pos >= _data.Length) throw Bad($"truncated: the file ends before the {what}.");
            long value = 0;
            int start = Pos;
            while (Pos < _data.Length && _data[Pos] is >= (byte)'0' and <= (byte)'9')
            {
                value = value * 10 + (_data[Pos] - '0');
                if (value > int.MaxValue) throw Bad($"the {what} is too large.");
                Pos++;
            }
            if (Pos == start)
                throw Bad($"expected a decimal number for the {what} at byte {Pos}, found '{(char)_data[Pos]}'.");
            return (int)value;
        }
    }
}
