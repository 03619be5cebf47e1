using System.Text;
using Striate.Data;

namespace Striate.Tests.Data;

public class PnmCodecTests
{
    public static TheoryData<string> PnmFiles => new(PngCodecTests.Expected.Keys.Where(k => k.EndsWith(".pgm") || k.EndsWith(".ppm")).Order());

    [Theory]
    [MemberData(nameof(PnmFiles))]
    public void DecodesBinaryAndAsciiFilesToPillowsPixels(string name)
    {
        var (w, h, c, pixels) = PngCodecTests.Expected[name];
        var image = PnmCodec.Load(Path.Combine(DataTestPaths.TestData, name));
        Assert.Equal((w, h, c), (image.Width, image.Height, image.Channels));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void CommentsMayAppearBetweenAnyHeaderFields()
    {
        var bytes = Encoding.ASCII.GetBytes("P5#a\n# b\n2#c\n 1\n#d\n255\n").Concat(new byte[] { 7, 200 }).ToArray();
        var image = PnmCodec.Decode(bytes, "c.pgm");
        Assert.Equal((2, 1, 1), (image.Width, image.Height, image.Channels));
        Assert.Equal([7, 200], image.Pixels);
    }

    [Fact]
    public void EncodeThenDecodeReturnsTheSamePixels()
    {
        var rgb = new DecodedImage(3, 2, 3, Enumerable.Range(0, 18).Select(i => (byte)(i * 13)).ToArray());
        Assert.Equal(rgb.Pixels, PnmCodec.Decode(PnmCodec.Encode(rgb), "rt.ppm").Pixels);
    }

    [Theory]
    [InlineData("P5\n4 4\n255\n\u0001\u0002", "truncated")]
    [InlineData("P7\n1 1\n255\n\u0000", "not a PGM/PPM")]
    [InlineData("P5\n0 4\n255\n", "invalid size")]
    [InlineData("P5\n1 1\n70000\n\u0000\u0000", "maxval 70000")]
    [InlineData("P2\n2 1\n10\n3 11\n", "larger than maxval")]
    [InlineData("P2\n2 1\n10\n3 x\n", "expected a decimal number")]
    [InlineData("P6\n1 1\n", "truncated")]
    public void MalformedFilesAreRejectedWithAReason(string content, string reason)
    {
        var e = Assert.Throws<InvalidDataException>(() => PnmCodec.Decode(Encoding.Latin1.GetBytes(content), "bad.pnm"));
        Assert.Contains(reason, e.Message);
        Assert.Contains("bad.pnm", e.Message);
    }
}
