using System.Buffers.Binary;
using Striate.Data;

namespace Striate.Tests.Data;

public class PngCodecTests
{
    /// <summary>expected.txt (written by make_testdata.py from Pillow's decoding): name → (w, h, c, pixels).</summary>
    internal static Dictionary<string, (int W, int H, int C, byte[] Pixels)> Expected { get; } = LoadExpected();

    private static Dictionary<string, (int, int, int, byte[])> LoadExpected()
    {
        var map = new Dictionary<string, (int, int, int, byte[])>();
        foreach (var line in File.ReadAllLines(Path.Combine(DataTestPaths.TestData, "expected.txt")))
        {
            var f = line.Split(' ');
            if (f.Length == 5) map[f[0]] = (int.Parse(f[1]), int.Parse(f[2]), int.Parse(f[3]), Convert.FromHexString(f[4]));
        }
        return map;
    }

    public static TheoryData<string> PngFiles => new(Expected.Keys.Where(k => k.EndsWith(".png")).Order());

    [Theory]
    [MemberData(nameof(PngFiles))]
    public void DecodesPillowAndHandWrittenPngsToPillowsPixels(string name)
    {
        var (w, h, c, pixels) = Expected[name];
        var image = PngCodec.Load(Path.Combine(DataTestPaths.TestData, name));
        Assert.Equal((w, h, c), (image.Width, image.Height, image.Channels));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void ExpectedTableCoversEveryKindOfPng()
    {
        // A guard so that regenerating the data cannot silently drop a case.
        string[] required = ["gray8.png", "rgb8.png", "rgba8.png", "gray_alpha8.png", "palette8.png", "palette4.png",
            "palette2.png", "palette1.png", "palette_trns.png", "gray1.png", "gray16.png", "filters_rgb.png",
            "adam7_rgb.png", "adam7_gray_small.png"];
        Assert.All(required, n => Assert.True(Expected.ContainsKey(n), $"expected.txt lacks {n}"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void EncodeThenDecodeReturnsTheSamePixels(int channels)
    {
        var rng = new Random(channels);
        int w = 37, h = 23;
        var pixels = new byte[w * h * channels];
        // half noise, half gradient, so different rows prefer different filters
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w * channels; x++)
                pixels[y * w * channels + x] = y < h / 2 ? (byte)rng.Next(256) : (byte)(x * 3 + y * 5);
        var png = PngCodec.Encode(pixels, w, h, channels);
        var back = PngCodec.Decode(png, "roundtrip");
        Assert.Equal((w, h, channels), (back.Width, back.Height, back.Channels));
        Assert.Equal(pixels, back.Pixels);
    }

    [Fact]
    public void EncoderPicksNonTrivialFiltersForSmoothImages()
    {
        int w = 64, h = 64;
        var pixels = new byte[w * h * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i / 3 % w * 2 + i / (3 * w));
        var png = PngCodec.Encode(pixels, w, h, 3);
        var filters = FilterTypes(png, w * 3, h);
        Assert.Contains(filters, f => f != 0);
        Assert.True(png.Length < pixels.Length / 4, $"a smooth gradient should compress well, got {png.Length} bytes");
    }

    [Fact]
    public void AnIndependentDecoderReadsWhatTheEncoderWrites()
    {
        // Cross-check against ImageSharp, a decoder written by other people, on every colour type the encoder writes.
        var rng = new Random(7);
        foreach (int channels in new[] { 1, 3, 4 })
        {
            const int w = 5, h = 4;
            var pixels = new byte[w * h * channels];
            rng.NextBytes(pixels);
            using var png = new MemoryStream(PngCodec.Encode(pixels, w, h, channels));
            using var image = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgba32>(png);
            Assert.Equal((w, h), (image.Width, image.Height));
            for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var p = image[x, y];
                int at = (y * w + x) * channels;
                byte[] expected = channels switch
                {
                    1 => [pixels[at], pixels[at], pixels[at], 255],
                    3 => [pixels[at], pixels[at + 1], pixels[at + 2], 255],
                    _ => [pixels[at], pixels[at + 1], pixels[at + 2], pixels[at + 3]],
                };
                Assert.Equal(expected, new[] { p.R, p.G, p.B, p.A });
            }
        }
    }

    private static byte[] ReadTestFile(string name) => File.ReadAllBytes(Path.Combine(DataTestPaths.TestData, name));

    [Fact]
    public void CorruptCrcNamesTheChunk()
    {
        var png = ReadTestFile("rgb8.png");
        // IHDR data starts at 16; its CRC at 29..32. Corrupt one IHDR data byte.
        png[20] ^= 1;
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(png, "crc.png"));
        Assert.Contains("CRC mismatch in chunk 'IHDR'", e.Message);
        Assert.Contains("crc.png", e.Message);

        var png2 = ReadTestFile("filters_rgb.png");
        int idat = IndexOf(png2, "IDAT"u8);
        png2[idat + 6] ^= 0xFF;
        var e2 = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(png2, "crc2.png"));
        Assert.Contains("CRC mismatch in chunk 'IDAT'", e2.Message);
    }

    [Fact]
    public void TruncatedFileIsReportedAsTruncated()
    {
        var png = ReadTestFile("rgb8.png");
        foreach (int keep in new[] { png.Length - 12, png.Length / 2, 30 })
        {
            var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(png.AsSpan(0, keep), "cut.png"));
            Assert.Contains("truncated", e.Message);
            Assert.Contains("cut.png", e.Message);
        }
    }

    [Fact]
    public void IdatThatDecompressesToTooFewBytesIsReported()
    {
        // A valid PNG whose zlib stream is complete but holds one row less than the header requires.
        var full = PngCodec.Encode(new byte[4 * 3], 4, 3, 1);
        var shortData = PngCodec.Encode(new byte[4 * 2], 4, 2, 1);
        int idat = IndexOf(shortData, "IDAT"u8) - 4;
        var header = full.AsSpan(0, 33).ToArray(); // signature + IHDR of the 4×3 image
        var forged = header.Concat(shortData.AsSpan(idat).ToArray()).ToArray();
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(forged, "short.png"));
        Assert.Contains("needs 15 bytes", e.Message);
        Assert.Contains("gave 10", e.Message);
    }

    [Fact]
    public void BadSignatureIsRejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode("GIF89a.........."u8, "x.gif"));
        Assert.Contains("not a PNG", e.Message);
        Assert.Contains("x.gif", e.Message);
    }

    [Fact]
    public void HugeDeclaredSizeIsRefusedBeforeDecompressing()
    {
        // IHDR says 100000×100000 RGBA; nothing else is needed to trip the check.
        var png = PngCodec.Encode(new byte[4], 1, 1, 4);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(16), 100_000);
        BinaryPrimitives.WriteInt32BigEndian(png.AsSpan(20), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc(png.AsSpan(12, 17)));
        var e = Assert.Throws<InvalidDataException>(() => PngCodec.Decode(png, "bomb.png"));
        Assert.Contains("decompression bomb", e.Message);
    }

    [Fact]
    public void UnknownCriticalChunkIsNotSupported()
    {
        var png = PngCodec.Encode(new byte[4], 2, 2, 1);
        int at = IndexOf(png, "IDAT"u8) - 4;
        byte[] chunk = [0, 0, 0, 0, (byte)'X', (byte)'Y', (byte)'Z', (byte)'W', 0, 0, 0, 0];
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8), Crc(chunk.AsSpan(4, 4)));
        var forged = png[..at].Concat(chunk).Concat(png[at..]).ToArray();
        var e = Assert.Throws<NotSupportedException>(() => PngCodec.Decode(forged, "crit.png"));
        Assert.Contains("XYZW", e.Message);
        // the same chunk as ancillary (lower-case first letter) is skipped
        forged[at + 4] = (byte)'x';
        BinaryPrimitives.WriteUInt32BigEndian(forged.AsSpan(at + 8), Crc(forged.AsSpan(at + 4, 4)));
        Assert.Equal(new byte[4], PngCodec.Decode(forged, "anc.png").Pixels);
    }

    [Fact]
    public void StreamOverloadMatchesSpanOverload()
    {
        var bytes = ReadTestFile("adam7_rgb.png");
        using var stream = new MemoryStream(bytes);
        Assert.Equal(PngCodec.Decode(bytes, "a").Pixels, PngCodec.Decode(stream, "a").Pixels);
    }

    private static uint Crc(ReadOnlySpan<byte> data) => Striate.Data.Crc32.Compute(data);

    private static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle) => haystack.AsSpan().IndexOf(needle);

    private static List<int> FilterTypes(byte[] png, int rowBytes, int height)
    {
        int idat = IndexOf(png, "IDAT"u8);
        int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(idat - 4));
        using var z = new System.IO.Compression.ZLibStream(new MemoryStream(png, idat + 4, length), System.IO.Compression.CompressionMode.Decompress);
        var raw = new byte[(rowBytes + 1) * height];
        z.ReadExactly(raw);
        return Enumerable.Range(0, height).Select(y => (int)raw[y * (rowBytes + 1)]).ToList();
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc("123456789"u8)); // the CRC-32 catalogue's check value
    }
}
