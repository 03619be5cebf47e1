using System.Buffers.Binary;
using Striate.Data;
using Striate.Imaging;
using Striate.IO;

namespace Striate.Tests.Data;

/// <summary>
/// JPEG, BMP and GIF through <see cref="ImageDecoders"/> with Striate.Imaging registered, against the pixels Pillow 9.4
/// (libjpeg-turbo) decodes from the same files (testdata/photos, made by make_photos.py beside them).
/// </summary>
/// <remarks>
/// JPEG decoders legitimately differ in two ways: rounding in the inverse DCT (libjpeg-turbo's integer ISLOW against
/// ImageSharp's float IDCT), a level or two; and chroma upsampling of 4:2:2/4:2:0 files, where Pillow (libjpeg-turbo's
/// default) interpolates with a triangular filter and ImageSharp replicates each chroma sample ("box"), as libjpeg-turbo
/// does with do_fancy_upsampling off (djpeg -nosmooth). So: full-resolution chroma (4:4:4, gray, CMYK) agrees with
/// Pillow within <see cref="IdctMax"/> levels; subsampled files agree within <see cref="IdctMax"/> with libjpeg-turbo's
/// box upsampling (the ":box" reference), and with Pillow's pixels within <see cref="UpsamplingMean"/> levels on average
/// (at most <see cref="UpsamplingMax"/> at sharp colour edges). BMP and GIF are lossless: exact.
/// </remarks>
public sealed class PhotoDecodingTests(ITestOutputHelper output)
{
    /// <summary>Largest difference of any sample from the reference decoded the same way, in 8-bit levels.</summary>
    public const int IdctMax = 3;

    /// <summary>Mean absolute difference from the reference decoded the same way.</summary>
    public const double IdctMean = 0.1;

    /// <summary>Mean absolute difference from Pillow's triangular chroma upsampling, for 4:2:2/4:2:0 files.</summary>
    public const double UpsamplingMean = 3.5;

    /// <summary>Largest difference from Pillow's triangular chroma upsampling, for 4:2:2/4:2:0 files.</summary>
    public const int UpsamplingMax = 48;

    static PhotoDecodingTests() => ImageSharpDecoder.Register();

    private static string Photos => Path.Combine(DataTestPaths.TestData, "photos");

    private static readonly Lazy<SafetensorsFile> Expected = new(() => SafetensorsFile.Load(Path.Combine(Photos, "expected.safetensors")));

    public static TheoryData<string> JpegFiles => new(Directory.GetFiles(Photos, "*.jpg").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    public static TheoryData<string> LosslessFiles => new(["rgb24.bmp", "palette8.bmp", "palette.gif", "animated.gif"]);

    private static (int H, int W, int C, long[] Pixels) Pillow(string name)
    {
        var shape = Expected.Value.GetShape(name);
        return (shape[0], shape[1], shape[2], Expected.Value.GetInt64(name));
    }

    [Fact]
    public void EveryFixtureHasPillowsPixels()
    {
        var files = Directory.GetFiles(Photos).Select(Path.GetFileName).Where(n => n is not ("make_photos.py" or "expected.safetensors")).ToList();
        Assert.Equal(25, files.Count);
        foreach (var name in files) Assert.True(Expected.Value.Contains(name!), $"expected.safetensors lacks {name}");
        Assert.Equal(9, Expected.Value.Names.Count(n => n.EndsWith(":box", StringComparison.Ordinal))); // every 4:2:2/4:2:0 file
    }

    [Theory]
    [MemberData(nameof(JpegFiles))]
    public void JpegAgreesWithPillow(string name)
    {
        var image = ImageDecoders.Load(Path.Combine(Photos, name));
        bool subsampled = Expected.Value.Contains(name + ":box");
        Compare(name, image, Pillow(name), subsampled ? UpsamplingMean : IdctMean, subsampled ? UpsamplingMax : IdctMax);
        if (subsampled)
            Compare(name + ":box", image, Pillow(name + ":box"), IdctMean, IdctMax);
    }

    private void Compare(string name, DecodedImage image, (int H, int W, int C, long[] Pixels) reference, double meanLimit, int maxLimit)
    {
        var (h, w, c, expected) = reference;
        Assert.Equal((w, h, c), (image.Width, image.Height, image.Channels));
        long sum = 0;
        int max = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            int d = Math.Abs(image.Pixels[i] - (int)expected[i]);
            sum += d;
            max = Math.Max(max, d);
        }
        double mean = (double)sum / expected.Length;
        output.WriteLine($"{name}: {w}×{h}×{c}, mean |Δ| {mean:F3} (limit {meanLimit}), max |Δ| {max} (limit {maxLimit})");
        Assert.True(max <= maxLimit, $"{name}: max |Δ| {max} > {maxLimit} (mean {mean:F3})");
        Assert.True(mean <= meanLimit, $"{name}: mean |Δ| {mean:F3} > {meanLimit}");
    }

    [Theory]
    [MemberData(nameof(LosslessFiles))]
    public void BmpAndGifFirstFrameMatchPillowExactly(string name)
    {
        var image = ImageDecoders.Load(Path.Combine(Photos, name));
        var (h, w, c, expected) = Pillow(name);
        Assert.Equal((w, h, c), (image.Width, image.Height, image.Channels));
        Assert.Equal(expected.Select(v => (byte)v).ToArray(), image.Pixels);
    }

    [Theory]
    [InlineData(2, 48, 32, 45, 2)]  // mirrored: the block moves to the top-right
    [InlineData(3, 48, 32, 45, 29)] // turned 180°: bottom-right
    [InlineData(5, 32, 48, 2, 2)]   // transposed: stays top-left, sides swap
    [InlineData(6, 32, 48, 29, 2)]  // turned 90° clockwise: top-right of the upright image
    [InlineData(8, 32, 48, 2, 45)]  // turned 90° counter-clockwise: bottom-left
    public void ExifOrientationComesOutUpright(int orientation, int width, int height, int x, int y)
    {
        // The stored image has a yellow block at rows 2..9, columns 2..13; (x, y) is a pixel inside it once upright.
        var image = ImageDecoders.Load(Path.Combine(Photos, $"exif_orientation_{orientation}.jpg"));
        Assert.Equal((width, height), (image.Width, image.Height));
        Assert.True(image[y, x, 0] > 200 && image[y, x, 1] > 200 && image[y, x, 2] < 100,
            $"orientation {orientation}: pixel ({x}, {y}) is ({image[y, x, 0]}, {image[y, x, 1]}, {image[y, x, 2]}), not the yellow block");
    }

    [Fact]
    public void GrayJpegKeepsOneChannel()
    {
        Assert.Equal(1, ImageDecoders.Load(Path.Combine(Photos, "gray.jpg")).Channels);
        Assert.Equal(3, ImageDecoders.Load(Path.Combine(Photos, "cmyk_adobe.jpg")).Channels);
    }

    [Fact]
    public void HugeJpegHeaderIsRefusedBeforeDecoding()
    {
        // baseline_420.jpg with its SOF0 frame header claiming 60,000×60,000 pixels (3.6 gigapixels).
        var bytes = File.ReadAllBytes(Path.Combine(Photos, "baseline_420.jpg"));
        int sof = FindMarker(bytes, 0xC0);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(sof + 5), 60000); // height
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(sof + 7), 60000); // width
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoders.Decode(bytes, "bomb.jpg"));
        Assert.Contains("bomb.jpg", e.Message);
        Assert.Contains("60000×60000", e.Message);
        Assert.Contains("decompression bomb", e.Message);
    }

    /// <summary>A valid PNG whose IHDR (with a correct CRC) declares <paramref name="width"/>×<paramref name="height"/> RGB pixels.</summary>
    internal static byte[] PngHeaderOnly(int width, int height)
    {
        var png = PngCodec.Encode(new byte[3], 1, 1, 3);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.Compute(png.AsSpan(12, 17)));
        return png;
    }

    [Fact]
    public void HugePngHeaderIsRefusedBeforeDecoding()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoders.Decode(PngHeaderOnly(60000, 60000), "bomb.png"));
        Assert.Contains("bomb.png", e.Message);
        Assert.Contains("60000×60000 = 3,600,000,000 pixels", e.Message);
        Assert.Contains("decompression bomb", e.Message);
        // Just under the limit passes the size check and reaches the decoder, which finds the data does not fit.
        var small = Assert.Throws<InvalidDataException>(() => ImageDecoders.Decode(PngHeaderOnly(100, 100), "small.png"));
        Assert.DoesNotContain("decompression bomb", small.Message);
    }

    [Fact]
    public void TruncatedJpegIsRefusedNamingTheFile()
    {
        var bytes = File.ReadAllBytes(Path.Combine(Photos, "baseline_444.jpg"));
        var e = Assert.ThrowsAny<Exception>(() => ImageDecoders.Decode(bytes[..(FindMarker(bytes, 0xDA) + 40)], "cut.jpg"));
        Assert.IsType<InvalidDataException>(e);
        Assert.Contains("cut.jpg", e.Message);
        var header = Assert.Throws<InvalidDataException>(() => ImageDecoders.Decode(bytes[..30], "header.jpg"));
        Assert.Contains("header.jpg", header.Message);
    }

    [Fact]
    public void GarbageWithAnImageExtensionIsRefusedNamingTheFile()
    {
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoders.Decode("not a photo at all"u8.ToArray(), "fake.jpg"));
        Assert.Contains("fake.jpg", e.Message);
        Assert.Contains("match no image format", e.Message);
    }

    [Fact]
    public void RegisteredFormatsAddTheirExtensions()
    {
        foreach (var ext in new[] { ".jpg", ".jpeg", ".bmp", ".gif", ".png", ".pgm", ".ppm" })
            Assert.Contains(ext, ImageDecoders.Extensions);
        Assert.True(ImageDecoders.HasImageExtension("a/b/IMG_0001.JPG"));
        Assert.False(ImageDecoders.HasImageExtension("a/b/notes.txt"));
    }

    private static int FindMarker(byte[] jpeg, byte marker)
    {
        for (int i = 2; i + 1 < jpeg.Length; i++)
            if (jpeg[i] == 0xFF && jpeg[i + 1] == marker) return i;
        throw new InvalidOperationException($"no FF{marker:X2} marker");
    }
}
