using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Striate.Data;

/// <summary>
/// PNG decoder and encoder (PNG spec, ISO/IEC 15948) on System.IO.Compression.ZLibStream.
/// Decoding supports every standard colour type and bit depth, all five filters, Adam7 interlacing and split IDATs,
/// and always yields 8-bit pixels:
/// gray (1/2/4/8-bit, scaled to 0–255) → 1 channel; RGB → 3; RGBA → 4;
/// gray+alpha → 4 channels (gray replicated into R, G, B) so that callers only ever see 1, 3 or 4 channels;
/// palette → 3 channels, or 4 when a tRNS chunk gives palette alpha;
/// 16-bit samples → their high byte (as libpng's png_set_strip_16). tRNS colour keys of gray/RGB images are ignored.
/// Shapes: pixels [Height, Width, Channels] (HWC).
/// </summary>
public static partial class PngCodec
{
    /// <summary>Largest Width·Height·Channels decoded; larger headers are refused before anything is allocated
    /// (a decompression bomb can declare huge sizes in a few hundred bytes).</summary>
    public const long MaxDecodedBytes = 400_000_000;

    internal static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Decodes a PNG held in memory; <paramref name="sourceName"/> names it in error messages.
    /// Throws <see cref="InvalidDataException"/> for malformed files (bad signature, CRC mismatch naming the
    /// chunk, truncation, corrupt zlib data) and <see cref="NotSupportedException"/> for valid but unsupported ones.</summary>
    public static DecodedImage Decode(ReadOnlySpan<byte> png, string sourceName)
    {
        var decoder = new Decoder(sourceName);
        return decoder.Run(png);
    }

    /// <summary>Reads the whole stream, then decodes it (see <see cref="Decode(ReadOnlySpan{byte}, string)"/>).</summary>
    public static DecodedImage Decode(Stream stream, string sourceName)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), sourceName);
    }

    /// <summary>Decodes a PNG file; errors name the path.</summary>
    public static DecodedImage Load(string path) => Decode(File.ReadAllBytes(path), path);

    private sealed class Decoder(string source)
    {
        private int _width, _height, _bitDepth, _colorType, _interlace;
        private int _samples;      // samples per pixel in the file
        private int _bitsPerPixel; // bits per pixel in the file
        private int _outChannels;
        private byte[]? _palette;  // RGB triples
        private byte[]? _paletteAlpha;
        private bool _sawIhdr, _sawIdat, _sawIend;
        private readonly MemoryStream _idat = new();

        private InvalidDataException Bad(string message) => new($"PNG '{source}': {message}");

        public DecodedImage Run(ReadOnlySpan<byte> png)
        {
            if (png.Length < 8 || !png[..8].SequenceEqual(Signature))
                throw Bad($"not a PNG file: the first 8 bytes are [{Convert.ToHexString(png[..Math.Min(8, png.Length)])}], a PNG starts with [89504E470D0A1A0A].");
            int pos = 8, index = 0;
            while (!_sawIend)
            {
                if (png.Length - pos < 12)
                    throw Bad($"truncated: the file ends at byte {png.Length} inside the header of chunk #{index} (offset {pos}) before any IEND chunk.");
                uint length = BinaryPrimitives.ReadUInt32BigEndian(png.Slice(pos, 4));
                var typeBytes = png.Slice(pos + 4, 4);
                string type = Encoding.ASCII.GetString(typeBytes);
                foreach (byte b in typeBytes)
                    if (!(b is >= (byte)'A' and <= (byte)'Z' || b is >= (byte)'a' and <= (byte)'z'))
                        throw Bad($"chunk #{index} at offset {pos} has an invalid type [{Convert.ToHexString(typeBytes)}]; the file is corrupt.");
                if (length > int.MaxValue || length > png.Length - pos - 12)
                    throw Bad($"truncated: chunk '{type}' (#{index}, offset {pos}) declares {length} data bytes but only {Math.Max(0, png.Length - pos - 12)} remain before its CRC.");
                var data = png.Slice(pos + 8, (int)length);
                uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.Slice(pos + 8 + (int)length, 4));
                uint computed = Crc32.Compute(png.Slice(pos + 4, 4 + (int)length));
                if (stored != computed)
                    throw Bad($"CRC mismatch in chunk '{type}' (#{index}, offset {pos}, {length} bytes): stored 0x{stored:x8}, computed 0x{computed:x8}; the file is corrupt.");
                HandleChunk(type, data, index);
                pos += 12 + (int)length;
                index++;
            }
            if (!_sawIdat)
                throw Bad("no IDAT chunk: the file has no image data.");
            return BuildImage();
        }

        private void HandleChunk(string type, ReadOnlySpan<byte> data, int index)
        {
            if (index == 0 && type != "IHDR")
                throw Bad($"the first chunk is '{type}', expected 'IHDR'.");
            switch (type)
            {
                case "IHDR":
                    if (_sawIhdr) throw Bad("more than one IHDR chunk.");
                    ReadHeader(data);
                    _sawIhdr = true;
                    break;
                case "PLTE":
                    if (_sawIdat) throw Bad("PLTE chunk after IDAT.");
                    if (data.Length == 0 || data.Length % 3 != 0 || data.Length > 256 * 3)
                        throw Bad($"PLTE chunk has {data.Length} bytes; expected a multiple of 3 up to 768.");
                    _palette = data.ToArray();
                    break;
                case "tRNS":
                    if (_colorType == 3) _paletteAlpha = data.ToArray();
                    break; // colour keys of gray/RGB images are ignored (documented on the class)
                case "IDAT":
                    _idat.Write(data);
                    _sawIdat = true;
                    break;
                case "IEND":
                    _sawIend = true;
                    break;
                default:
                    // Bit 5 of the first byte clear = critical chunk: a decoder that does not know it must stop.
                    if ((type[0] & 0x20) == 0)
                        throw new NotSupportedException($"PNG '{source}': unknown critical chunk '{type}'.");
                    break;
            }
        }

        private void ReadHeader(ReadOnlySpan<byte> d)
        {
            if (d.Length != 13) throw Bad($"IHDR has {d.Length} bytes, expected 13.");
            uint w = BinaryPrimitives.ReadUInt32BigEndian(d), h = BinaryPrimitives.ReadUInt32BigEndian(d[4..]);
            if (w == 0 || h == 0 || w > int.MaxValue || h > int.MaxValue)
                throw Bad($"invalid size {w}×{h}.");
            _width = (int)w; _height = (int)h;
            _bitDepth = d[8]; _colorType = d[9];
            if (d[10] != 0) throw Bad($"compression method {d[10]}, only 0 (deflate) exists.");
            if (d[11] != 0) throw Bad($"filter method {d[11]}, only 0 exists.");
            if (d[12] > 1) throw Bad($"interlace method {d[12]}, expected 0 (none) or 1 (Adam7).");
            _interlace = d[12];
            (_samples, int[] depths) = _colorType switch
            {
                0 => (1, new[] { 1, 2, 4, 8, 16 }),
                2 => (3, new[] { 8, 16 }),
                3 => (1, new[] { 1, 2, 4, 8 }),
                4 => (2, new[] { 8, 16 }),
                6 => (4, new[] { 8, 16 }),
                _ => throw Bad($"colour type {_colorType} does not exist (expected 0, 2, 3, 4 or 6)."),
            };
            if (Array.IndexOf(depths, _bitDepth) < 0)
                throw Bad($"bit depth {_bitDepth} is not allowed for colour type {_colorType} (allowed: {string.Join(", ", depths)}).");
            _bitsPerPixel = _samples * _bitDepth;
            _outChannels = _colorType switch { 0 => 1, 2 => 3, 3 => 3, _ => 4 };
            // Checked again in BuildImage, where a palette with tRNS alpha turns 3 channels into 4.
            if ((long)_width * _height * _outChannels > MaxDecodedBytes)
                throw Bad($"{_width}×{_height}×{_outChannels} = {(long)_width * _height * _outChannels} bytes exceeds the decoder's limit of {MaxDecodedBytes}; refusing (possible decompression bomb).");
        }

        private long RowBytes(int width) => ((long)width * _bitsPerPixel + 7) / 8;

        private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 =
            [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

        private DecodedImage BuildImage()
        {
            if (_colorType == 3)
            {
                if (_palette is null) throw Bad("palette image (colour type 3) without a PLTE chunk.");
                if (_paletteAlpha is not null) _outChannels = 4;
            }
            long outBytes = (long)_width * _height * _outChannels;
            if (outBytes > MaxDecodedBytes)
                throw Bad($"{_width}×{_height}×{_outChannels} = {outBytes} bytes exceeds the decoder's limit of {MaxDecodedBytes}; refusing (possible decompression bomb).");

            var passes = _interlace == 0 ? [(0, 0, 1, 1)] : Adam7;
            long rawLength = 0;
            foreach (var (x0, y0, dx, dy) in passes)
            {
                long pw = PassSize(_width, x0, dx), ph = PassSize(_height, y0, dy);
                if (pw > 0 && ph > 0) rawLength += ph * (1 + RowBytes((int)pw));
            }
            if (rawLength > int.MaxValue)
                throw Bad($"the filtered image data would be {rawLength} bytes; refusing.");

            // The header's size is a claim: the buffer grows as IDAT really decompresses, so a 68-byte file claiming
            // 20000×20000 costs kilobytes, and the pixels are allocated only once the data is known to be there.
            byte[] raw;
            int got;
            _idat.Position = 0;
            try
            {
                using var z = new ZLibStream(_idat, CompressionMode.Decompress);
                raw = GrowingRead.ReadUpTo(z, (int)rawLength, out got);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"PNG '{source}': the zlib stream in IDAT is corrupt ({e.Message}).", e);
            }
            if (got < rawLength)
                throw Bad($"truncated image data: {_width}×{_height} (colour type {_colorType}, {_bitDepth}-bit{(_interlace == 1 ? ", Adam7" : "")}) needs {rawLength} bytes after decompression, IDAT gave {got}.");

            var pixels = GC.AllocateUninitializedArray<byte>((int)outBytes);
            int filterBpp = Math.Max(1, _bitsPerPixel / 8);
            int offset = 0;
            byte[] previous = [];
            foreach (var (x0, y0, dx, dy) in passes)
            {
                int pw = PassSize(_width, x0, dx), ph = PassSize(_height, y0, dy);
                if (pw == 0 || ph == 0) continue;
                int rowBytes = (int)RowBytes(pw);
                if (previous.Length < rowBytes) previous = new byte[rowBytes];
                Array.Clear(previous, 0, rowBytes); // the row above the first row of a pass is all zeros
                for (int r = 0; r < ph; r++)
                {
                    byte filter = raw[offset];
                    var line = raw.AsSpan(offset + 1, rowBytes);
                    Unfilter(filter, line, previous.AsSpan(0, rowBytes), filterBpp, y0 + r * dy);
                    ConvertRow(line, pw, pixels, ((long)(y0 + r * dy) * _width + x0) * _outChannels, dx * _outChannels);
                    line.CopyTo(previous);
                    offset += 1 + rowBytes;
                }
            }
            return new DecodedImage(_width, _height, _outChannels, pixels);
        }

        private static int PassSize(int size, int start, int step) => size <= start ? 0 : (size - start + step - 1) / step;

        private void Unfilter(byte filter, Span<byte> line, ReadOnlySpan<byte> prior, int bpp, int y)
        {
            int n = line.Length;
            switch (filter)
            {
                case 0: break;
                case 1: // Sub
                    for (int i = bpp; i < n; i++) line[i] += line[i - bpp];
                    break;
                case 2: // Up
                    for (int i = 0; i < n; i++) line[i] += prior[i];
                    break;
                case 3: // Average
                    for (int i = 0; i < bpp; i++) line[i] += (byte)(prior[i] >> 1);
                    for (int i = bpp; i < n; i++) line[i] += (byte)((line[i - bpp] + prior[i]) >> 1);
                    break;
                case 4: // Paeth
                    for (int i = 0; i < bpp; i++) line[i] += prior[i];
                    for (int i = bpp; i < n; i++) line[i] += Paeth(line[i - bpp], prior[i], prior[i - bpp]);
                    break;
                default:
                    throw Bad($"row {y} uses filter type {filter}; only 0–4 exist. The image data is corrupt.");
            }
        }

        private void ConvertRow(ReadOnlySpan<byte> line, int count, byte[] pixels, long start, int step)
        {
            int o = (int)start;
            int oc = _outChannels;
            if (_colorType == 3 || (_colorType == 0 && _bitDepth < 8))
            {
                int depth = _bitDepth, mask = (1 << depth) - 1, perByte = 8 / depth;
                int scale = 255 / mask; // exact for 1, 2, 4, 8 bits: 255, 85, 17, 1
                for (int x = 0; x < count; x++, o += step)
                {
                    int b = line[x / perByte];
                    int shift = 8 - depth * (x % perByte + 1);
                    int v = (b >> shift) & mask;
                    if (_colorType == 0) { pixels[o] = (byte)(v * scale); continue; }
                    if (3 * v + 2 >= _palette!.Length)
                        throw Bad($"pixel uses palette index {v} but PLTE has only {_palette.Length / 3} entries.");
                    pixels[o] = _palette[3 * v];
                    pixels[o + 1] = _palette[3 * v + 1];
                    pixels[o + 2] = _palette[3 * v + 2];
                    if (oc == 4) pixels[o + 3] = v < _paletteAlpha!.Length ? _paletteAlpha[v] : (byte)255;
                }
                return;
            }
            int bytesPerSample = _bitDepth / 8; // 1 or 2; for 16-bit keep the high (first, big-endian) byte
            int inStride = _samples * bytesPerSample;
            if (_colorType == 4)
            {
                for (int x = 0, i = 0; x < count; x++, o += step, i += inStride)
                {
                    byte g = line[i], a = line[i + bytesPerSample];
                    pixels[o] = g; pixels[o + 1] = g; pixels[o + 2] = g; pixels[o + 3] = a;
                }
                return;
            }
            if (bytesPerSample == 1 && step == oc)
            {
                line[..(count * oc)].CopyTo(pixels.AsSpan(o, count * oc));
                return;
            }
            for (int x = 0, i = 0; x < count; x++, o += step, i += inStride)
                for (int c = 0; c < oc; c++)
                    pixels[o + c] = line[i + c * bytesPerSample];
        }
    }

    /// <summary>Paeth predictor (PNG spec §9.4): whichever of left, up, upper-left is closest to left + up − upper-left.</summary>
    internal static byte Paeth(byte a, byte b, byte c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
