using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using Striate.Data;
using SharpDecoder = SixLabors.ImageSharp.Formats.IImageDecoder;
using IImageDecoder = Striate.Data.IImageDecoder;

namespace Striate.Imaging;

/// <summary>
/// JPEG, BMP and GIF for <see cref="ImageDecoders"/>, decoded by SixLabors.ImageSharp 2.1 (a pure-managed decoder):
/// JPEG baseline and progressive, gray, YCbCr at any subsampling, CMYK/YCCK (Adobe), restart markers; BMP of every
/// common depth; the first frame of a GIF. EXIF orientation is applied, so a photo taken sideways comes out upright,
/// as browsers and torchvision's users (PIL's ImageOps.exif_transpose) see it.
/// Gray JPEGs decode to 1 channel, everything else to 3 (RGB; GIF transparency and BMP alpha are dropped).
/// </summary>
/// <remarks>
/// Register once at start-up: <c>ImageSharpDecoder.Register();</c> (the striate command does). Decoding runs on the
/// calling thread only (ImageSharp's own parallelism is off): loader workers already decode images in parallel.
/// </remarks>
public abstract class ImageSharpDecoder : IImageDecoder
{
    /// <summary>
    /// No format modules: each decoder is called directly, so nothing else is ever tried on a file. The buffer pool
    /// (unmanaged memory ImageSharp keeps between images) is capped, so a long run over many photos holds at most this
    /// much besides the images in flight.
    /// </summary>
    private static readonly Configuration Settings = new()
    {
        MaxDegreeOfParallelism = 1,
        PreferContiguousImageBuffers = true,
        MemoryAllocator = SixLabors.ImageSharp.Memory.MemoryAllocator.Create(new SixLabors.ImageSharp.Memory.MemoryAllocatorOptions { MaximumPoolSizeMegabytes = 64 }),
    };

    /// <summary>Adds the JPEG, BMP and GIF decoders to <see cref="ImageDecoders"/> (calling it again does nothing).</summary>
    public static void Register()
    {
        ImageDecoders.Register(new Jpeg());
        ImageDecoders.Register(new Bmp());
        ImageDecoders.Register(new Gif());
    }

    public abstract string Name { get; }
    public abstract IReadOnlyList<string> Extensions { get; }
    public abstract bool Recognizes(ReadOnlySpan<byte> head);
    private protected abstract SharpDecoder Decoder { get; }

    public (int Width, int Height) ReadSize(byte[] file, string source)
    {
        var info = Guard(source, () =>
        {
            using var stream = new MemoryStream(file, writable: false);
            return ((SixLabors.ImageSharp.Formats.IImageInfoDetector)Decoder).Identify(Settings, stream, CancellationToken.None);
        });
        if (info is null || info.Width <= 0 || info.Height <= 0)
            throw new InvalidDataException($"{Name} '{source}': the header gives no image size; the file is corrupt or not a {Name}.");
        // A quarter turn from EXIF swaps the sides, but not the pixel count the limit is about.
        return (info.Width, info.Height);
    }

    public DecodedImage Decode(byte[] file, string source) => Guard(source, () =>
    {
        CheckComplete(file, source);
        using var stream = new MemoryStream(file, writable: false);
        using var image = Decoder.Decode<Rgb24>(Settings, stream, CancellationToken.None);
        // Applies EXIF orientation (a no-op without it) and resets the tag, as PIL's exif_transpose does.
        image.Mutate(x => x.AutoOrient());
        int w = image.Width, h = image.Height;
        var rgb = new byte[checked(w * h * 3)];
        image.CopyPixelDataTo(rgb);
        if (!IsGray(image.Metadata)) return new DecodedImage(w, h, 3, rgb);
        var gray = new byte[w * h];
        for (int i = 0; i < gray.Length; i++) gray[i] = rgb[3 * i];
        return new DecodedImage(w, h, 1, gray);
    });

    /// <summary>
    /// Refuses a file cut short. ImageSharp decodes what is there and leaves the rest gray, which would let a half-copied
    /// photo train silently; Pillow refuses it too ("image file is truncated").
    /// </summary>
    private protected virtual void CheckComplete(byte[] file, string source) { }

    /// <summary>True for a one-component (gray) JPEG, which keeps one channel as a gray PNG does.</summary>
    private protected virtual bool IsGray(ImageMetadata metadata) => false;

    /// <summary>
    /// ImageSharp's errors as one-line messages naming the file. ImageSharp is a parser of untrusted bytes: besides its
    /// own format exceptions, malformed files make it throw whatever its code trips over (the fuzz suite found
    /// NullReferenceException in JpegDecoderCore.Identify on 18-byte inputs), so anything but running out of memory
    /// means "this file cannot be decoded" — with the exception's type kept in the message for a bug report.
    /// </summary>
    private T Guard<T>(string source, Func<T> run)
    {
        try
        {
            return run();
        }
        catch (NotSupportedException e)
        {
            throw new NotSupportedException($"{Name} '{source}': {e.Message}", e);
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or InvalidImageContentException or EndOfStreamException)
        {
            throw new InvalidDataException($"{Name} '{source}': cannot decode: {e.Message.TrimEnd('.')}; the file is corrupt or truncated.", e);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or InvalidDataException or OperationCanceledException))
        {
            throw new InvalidDataException($"{Name} '{source}': cannot decode (the decoder failed with {e.GetType().Name}: {e.Message.TrimEnd('.')}); the file is corrupt or truncated.", e);
        }
    }

    private sealed class Jpeg : ImageSharpDecoder
    {
        public override string Name => "JPEG";
        public override IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".jpe", ".jfif"];
        public override bool Recognizes(ReadOnlySpan<byte> head) => head is [0xFF, 0xD8, 0xFF, ..];
        private protected override SharpDecoder Decoder { get; } = new JpegDecoder();
        private protected override bool IsGray(ImageMetadata metadata) => metadata.GetJpegMetadata().ColorType == JpegColorType.Luminance;

        // Entropy-coded data never holds FF D9 (a data byte FF is followed by 00), so after the first start-of-scan
        // marker (FF DA) the only FF D9 is the end-of-image marker. Bytes after it (some cameras pad) are allowed.
        private protected override void CheckComplete(byte[] file, string source)
        {
            var data = file.AsSpan();
            int scan = data.IndexOf([(byte)0xFF, (byte)0xDA]);
            if (scan < 0)
                throw new InvalidDataException($"JPEG '{source}': truncated: no start-of-scan marker (FF DA) in its {file.Length} bytes, so no image data.");
            if (data[(scan + 2)..].IndexOf([(byte)0xFF, (byte)0xD9]) < 0)
                throw new InvalidDataException($"JPEG '{source}': truncated: no end-of-image marker (FF D9) after the image data; the file was cut short at {file.Length} bytes.");
        }
    }

    private sealed class Bmp : ImageSharpDecoder
    {
        public override string Name => "BMP";
        public override IReadOnlyList<string> Extensions { get; } = [".bmp", ".dib"];
        public override bool Recognizes(ReadOnlySpan<byte> head) => head is [(byte)'B', (byte)'M', ..];
        private protected override SharpDecoder Decoder { get; } = new BmpDecoder();
    }

    private sealed class Gif : ImageSharpDecoder
    {
        public override string Name => "GIF";
        public override IReadOnlyList<string> Extensions { get; } = [".gif"];
        public override bool Recognizes(ReadOnlySpan<byte> head) => head is [(byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'7' or (byte)'9', (byte)'a', ..];
        // The first frame only: an animation's other frames would cost memory and time for nothing.
        private protected override SharpDecoder Decoder { get; } = new GifDecoder { DecodingMode = FrameDecodingMode.First };
    }
}
