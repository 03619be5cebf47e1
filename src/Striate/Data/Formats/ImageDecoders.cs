using System.Buffers.Binary;

namespace Striate.Data;

/// <summary>
/// One image file format: how to recognise it by its first bytes, read its size from the header alone, and decode it.
/// Implementations must be safe to call from several threads at once (loader workers decode in parallel).
/// </summary>
public interface IImageDecoder
{
    /// <summary>The format's name in messages ("PNG", "JPEG").</summary>
    string Name { get; }

    /// <summary>File extensions of the format, with the dot (compared case-insensitively).</summary>
    IReadOnlyList<string> Extensions { get; }

    /// <summary>True when <paramref name="head"/> (the file's first bytes, at most 16) starts like this format.</summary>
    bool Recognizes(ReadOnlySpan<byte> head);

    /// <summary>
    /// Width and height from the header, without decoding pixels, so that a huge image is refused before anything is
    /// allocated. Throws <see cref="InvalidDataException"/> naming <paramref name="source"/> when the header is malformed.
    /// </summary>
    (int Width, int Height) ReadSize(byte[] file, string source);

    /// <summary>Decodes the whole file to 8-bit pixels (1, 3 or 4 channels); errors name <paramref name="source"/>.</summary>
    DecodedImage Decode(byte[] file, string source);
}

/// <summary>
/// The one way Striate reads image files: folder datasets, <c>predict</c>, <c>explain</c> and <c>filter</c> all come
/// here. The core assembly registers PNG and PGM/PPM (its own dependency-free codecs); the Striate.Imaging assembly
/// adds JPEG, BMP and GIF (<c>Striate.Imaging.ImageSharpDecoder.Register()</c>). The decoder is chosen by the file's
/// first bytes, never by its extension, and every image's size is checked against <see cref="MaxPixels"/> from its
/// header before it is decoded.
/// </summary>
public static class ImageDecoders
{
    /// <summary>Pillow's decompression-bomb threshold (Image.MAX_IMAGE_PIXELS): about 9,459² pixels, 268 MB as RGB.</summary>
    public const long DefaultMaxPixels = 89_478_485;

    private static readonly object Gate = new();
    private static IImageDecoder[] _decoders = [new PngDecoder(), new PnmDecoder()];
    private static long _maxPixels = DefaultMaxPixels;

    /// <summary>Images whose header declares more pixels than this are refused before decoding (decompression bombs).</summary>
    public static long MaxPixels
    {
        get => Interlocked.Read(ref _maxPixels);
        set
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(nameof(value), value, "ImageDecoders.MaxPixels must be positive.");
            Interlocked.Exchange(ref _maxPixels, value);
        }
    }

    /// <summary>The registered decoders, the most recently registered first.</summary>
    public static IReadOnlyList<IImageDecoder> All => Volatile.Read(ref _decoders);

    /// <summary>Every extension some registered decoder handles (lower case, with the dot).</summary>
    public static IReadOnlyList<string> Extensions =>
        All.SelectMany(d => d.Extensions).Select(e => e.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Adds <paramref name="decoder"/>; it is asked before the decoders registered earlier, so a later one can take
    /// over a format. Registering a decoder of the same type again does nothing.
    /// </summary>
    public static void Register(IImageDecoder decoder)
    {
        ArgumentNullException.ThrowIfNull(decoder);
        lock (Gate)
        {
            if (_decoders.Any(d => d.GetType() == decoder.GetType())) return;
            Volatile.Write(ref _decoders, [decoder, .. _decoders]);
        }
    }

    /// <summary>True when the file's extension belongs to a registered format (folder datasets list files this way).</summary>
    public static bool HasImageExtension(string path)
    {
        string ext = Path.GetExtension(path);
        foreach (var d in All)
            foreach (var e in d.Extensions)
                if (string.Equals(ext, e, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Reads and decodes an image file; errors name the path.</summary>
    public static DecodedImage Load(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>
    /// Decodes an image held in memory: finds the decoder by the first bytes, checks the header's size against
    /// <see cref="MaxPixels"/>, then decodes. Throws <see cref="InvalidDataException"/> (unknown format, malformed or
    /// truncated file, too many pixels) or <see cref="NotSupportedException"/>, each naming <paramref name="source"/>.
    /// </summary>
    public static DecodedImage Decode(byte[] file, string source)
    {
        var decoder = Find(file, source);
        var (width, height) = decoder.ReadSize(file, source);
        CheckSize(width, height, decoder.Name, source);
        return decoder.Decode(file, source);
    }

    /// <summary>The image's width and height from its header (checked against nothing).</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        var file = File.ReadAllBytes(path);
        return Find(file, path).ReadSize(file, path);
    }

    /// <summary>Refuses a width×height over <see cref="MaxPixels"/>, saying how to raise the limit.</summary>
    public static void CheckSize(int width, int height, string format, string source)
    {
        long pixels = (long)width * height;
        long limit = MaxPixels;
        if (pixels > limit)
            throw new InvalidDataException($"Image '{source}': its {format} header declares {width}×{height} = {pixels:N0} pixels, over the limit of {limit:N0}; " +
                "refused before decoding (possible decompression bomb). Raise ImageDecoders.MaxPixels if the image is genuine.");
    }

    private static IImageDecoder Find(byte[] file, string source)
    {
        var head = file.AsSpan(0, Math.Min(16, file.Length));
        foreach (var d in All)
            if (d.Recognizes(head)) return d;
        string? known = KnownFormat(head);
        if (known != null)
            throw new NotSupportedException($"Image '{source}' is a {known} file, but no {known} decoder is registered; " +
                "reference the Striate.Imaging package and call Striate.Imaging.ImageSharpDecoder.Register() (the striate command does).");
        if (file.Length == 0)
            throw new InvalidDataException($"Image '{source}': the file is empty.");
        throw new InvalidDataException($"Image '{source}': cannot decode: its first bytes [{Convert.ToHexString(head[..Math.Min(8, head.Length)])}] match no image format " +
            $"({string.Join(", ", All.Select(d => d.Name))}).");
    }

    /// <summary>Formats recognised only to say which package decodes them.</summary>
    private static string? KnownFormat(ReadOnlySpan<byte> head) => head switch
    {
        [0xFF, 0xD8, 0xFF, ..] => "JPEG",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => "GIF",
        [(byte)'B', (byte)'M', ..] => "BMP",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "WebP",
        [(byte)'I', (byte)'I', 42, 0, ..] or [(byte)'M', (byte)'M', 0, 42, ..] => "TIFF",
        _ => null,
    };

    /// <summary>PNG through Striate's own codec (<see cref="PngCodec"/>).</summary>
    private sealed class PngDecoder : IImageDecoder
    {
        public string Name => "PNG";
        public IReadOnlyList<string> Extensions { get; } = [".png"];
        public bool Recognizes(ReadOnlySpan<byte> head) => head.StartsWith(PngCodec.Signature);

        public (int Width, int Height) ReadSize(byte[] file, string source)
        {
            // Signature, then the IHDR chunk: length (13), "IHDR", width, height (big-endian).
            if (file.Length < 24 || !file.AsSpan(12, 4).SequenceEqual("IHDR"u8))
                throw new InvalidDataException($"PNG '{source}': truncated or malformed: no IHDR chunk right after the signature ({file.Length} bytes).");
            uint w = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(16)), h = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(20));
            if (w == 0 || h == 0 || w > int.MaxValue || h > int.MaxValue)
                throw new InvalidDataException($"PNG '{source}': invalid size {w}×{h} in IHDR.");
            return ((int)w, (int)h);
        }

        public DecodedImage Decode(byte[] file, string source) => PngCodec.Decode(file, source);
    }

    /// <summary>PGM/PPM through Striate's own codec (<see cref="PnmCodec"/>), which checks its size before allocating.</summary>
    private sealed class PnmDecoder : IImageDecoder
    {
        public string Name => "PGM/PPM";
        public IReadOnlyList<string> Extensions { get; } = [".pgm", ".ppm"];
        public bool Recognizes(ReadOnlySpan<byte> head) => head is [(byte)'P', (byte)'2' or (byte)'3' or (byte)'5' or (byte)'6', ..];
        public (int Width, int Height) ReadSize(byte[] file, string source) => PnmCodec.ReadSize(file, source);
        public DecodedImage Decode(byte[] file, string source) => PnmCodec.Decode(file, source);
    }
}
