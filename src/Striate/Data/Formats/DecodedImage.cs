namespace Striate.Data;

/// <summary>
/// An 8-bit image with interleaved channels, as decoded from PNG or PGM/PPM.
/// Channels is 1 (gray), 3 (RGB) or 4 (RGBA). Shapes: <see cref="Pixels"/> [Height, Width, Channels] (HWC).
/// </summary>
public sealed class DecodedImage
{
    public int Width { get; }
    public int Height { get; }
    public int Channels { get; }

    /// <summary>Row-major HWC bytes, length Width·Height·Channels.</summary>
    public byte[] Pixels { get; }

    public DecodedImage(int width, int height, int channels, byte[] pixels)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"DecodedImage: width and height must be positive, got {width}×{height}.");
        if (channels is not (1 or 3 or 4))
            throw new ArgumentException($"DecodedImage: channels must be 1, 3 or 4, got {channels}.");
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)width * height * channels)
            throw new ArgumentException($"DecodedImage: {width}×{height}×{channels} needs {(long)width * height * channels} bytes, got {pixels.Length}.");
        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>The byte at row y, column x, channel c.</summary>
    public byte this[int y, int x, int c] => Pixels[((long)y * Width + x) * Channels + c];

    public override string ToString() => $"DecodedImage {Width}×{Height}×{Channels}";
}
