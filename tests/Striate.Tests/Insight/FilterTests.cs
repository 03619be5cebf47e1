using Striate.Insight;

namespace Striate.Tests.Insight;

/// <summary>Classic kernels through the library's depthwise convolution (zero padding at the border).</summary>
public sealed class FilterTests
{
    private const int H = 12, W = 12;

    /// <summary>Left half black (0), right half white (1): a vertical edge between columns W/2−1 and W/2.</summary>
    private static Tensor HalfBlackHalfWhite(int channels = 1)
    {
        var v = new float[channels * H * W];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < H; y++)
                for (int x = W / 2; x < W; x++) v[(c * H + y) * W + x] = 1f;
        return Tensor.FromArray(v, channels, H, W);
    }

    /// <summary>Pixels whose whole 3×3 neighbourhood is inside the image (zero padding makes the border respond).</summary>
    private static IEnumerable<(int Y, int X)> Interior() =>
        from y in Enumerable.Range(1, H - 2) from x in Enumerable.Range(1, W - 2) select (y, x);

    [Fact]
    public void EdgeKernelIsNonZeroOnlyInTheColumnsBesideTheBoundary()
    {
        var outImage = ImageFilter.Apply(HalfBlackHalfWhite(), ClassicKernels.Get("edge"));
        Assert.Equal([1, H, W], outImage.ShapeArray);
        foreach (var (y, x) in Interior())
        {
            float v = outImage[0, y, x];
            if (x == W / 2 - 1 || x == W / 2) Assert.True(MathF.Abs(v) > 2.5f, $"({y},{x}) beside the edge gave {v}");
            else Assert.True(v == 0f, $"({y},{x}) away from the edge gave {v}");
        }
    }

    [Fact]
    public void SobelXRespondsToVerticalEdgesOnly()
    {
        var vertical = ImageFilter.Apply(HalfBlackHalfWhite(), ClassicKernels.Get("sobel-x"));
        Assert.Equal(4f, vertical[0, H / 2, W / 2 - 1]); // 1·(1 + 2 + 1) from the white column to the right
        var horizontalEdge = new float[H * W];
        for (int y = H / 2; y < H; y++) for (int x = 0; x < W; x++) horizontalEdge[y * W + x] = 1f;
        var horizontal = ImageFilter.Apply(Tensor.FromArray(horizontalEdge, 1, H, W), ClassicKernels.Get("sobel-x"));
        foreach (var (y, x) in Interior()) Assert.Equal(0f, horizontal[0, y, x]);
        var sobelY = ImageFilter.Apply(Tensor.FromArray(horizontalEdge, 1, H, W), ClassicKernels.Get("sobel-y"));
        Assert.Equal(4f, sobelY[0, H / 2 - 1, W / 2]);
    }

    [Theory]
    [InlineData("gaussian-blur", 5)]
    [InlineData("gaussian-blur", 7)]
    [InlineData("box-blur", 3)]
    public void BlurKeepsTheMeanOfAConstantImageAwayFromTheBorder(string name, int size)
    {
        var k = ClassicKernels.Get(name, size);
        Assert.Equal(1.0, k.ToArray().Sum(v => (double)v), 5);
        var image = Tensor.Full(0.4f, 3, H, W);
        var blurred = ImageFilter.Apply(image, k);
        int r = size / 2;
        double sum = 0; int n = 0;
        for (int c = 0; c < 3; c++)
            for (int y = r; y < H - r; y++)
                for (int x = r; x < W - r; x++) { sum += blurred[c, y, x]; n++; }
        Assert.Equal(0.4, sum / n, 5);
        Assert.True(blurred[0, 0, 0] < 0.4f, "zero padding darkens the corner");
    }

    [Fact]
    public void ColourChannelsAreFilteredEachOnItsOwn()
    {
        var image = HalfBlackHalfWhite(3);
        image.Span.Slice(H * W, H * W).Clear(); // green plane black: no edge there
        var outImage = ImageFilter.Apply(image, ClassicKernels.Get("edge"));
        Assert.Equal([3, H, W], outImage.ShapeArray);
        Assert.True(MathF.Abs(outImage[0, H / 2, W / 2]) > 2.5f);
        Assert.Equal(0f, outImage[1, H / 2, W / 2]);
        Assert.Equal(outImage[0, H / 2, W / 2], outImage[2, H / 2, W / 2]);
    }

    [Fact]
    public void GaussianIsSymmetricAndPeaksInTheMiddle()
    {
        var k = ClassicKernels.Get("gaussian-blur", 5, 1.5);
        Assert.Equal(k[0, 1], k[1, 0]);
        Assert.Equal(k[0, 0], k[4, 4]);
        Assert.Equal(k.ToArray().Max(), k[2, 2]);
    }

    [Fact]
    public void UnknownKernelListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => ClassicKernels.Get("blurry"));
        Assert.Contains("Unknown kernel 'blurry'. Known kernels: edge, sharpen, gaussian-blur, box-blur, sobel-x, sobel-y, emboss", e.Message);
    }

    [Theory]
    [InlineData("box-blur", 4, null, "positive odd number")]
    [InlineData("edge", 5, null, "3×3 only")]
    [InlineData("box-blur", 3, 1.0, "no sigma")]
    [InlineData("gaussian-blur", 5, -1.0, "sigma must be positive")]
    public void SizesAndSigmasAKernelCannotTakeAreRejected(string name, int size, double? sigma, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ClassicKernels.Get(name, size, sigma));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void FilterCommandWritesAnAbsoluteEdgeImageAndRejectsUnknownKernels()
    {
        string dir = Directory.CreateTempSubdirectory("striate-filter").FullName;
        try
        {
            var pixels = new byte[16 * 16 * 3];
            for (int y = 0; y < 16; y++) for (int x = 8; x < 16; x++) for (int c = 0; c < 3; c++) pixels[(y * 16 + x) * 3 + c] = 255;
            string input = Path.Combine(dir, "in.png"), output = Path.Combine(dir, "out.png");
            Striate.Data.PngCodec.Save(input, pixels, 16, 16, 3);
            var r = Cli.StriateProcess.Run("filter", input, "--kernel", "sobel-x", "--out", output);
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
            var result = Striate.Data.PngCodec.Load(output);
            Assert.Equal((16, 16, 3), (result.Width, result.Height, result.Channels));
            Assert.Equal(255, result[8, 7, 0]); // |4| clamped to 1 on the dark side of the edge
            Assert.Equal(255, result[8, 8, 0]);
            Assert.Equal(0, result[8, 3, 0]);

            r = Cli.StriateProcess.Run("filter", input, "--kernel", "wobble", "--out", output);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("Known kernels: edge", r.Stderr);
        }
        finally { Directory.Delete(dir, true); }
    }
}
