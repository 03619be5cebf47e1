using Striate.Insight;

namespace Striate.Tests.Insight;

/// <summary>Grids of maps and kernels: per-tile normalization, nearest-neighbour scaling, separators, legend text.</summary>
public sealed class ImageGridTests
{
    private static (byte, byte, byte) Pixel(RgbCanvas c, int x, int y) => (c.Pixels[(y * c.Width + x) * 3], c.Pixels[(y * c.Width + x) * 3 + 1], c.Pixels[(y * c.Width + x) * 3 + 2]);

    [Fact]
    public void EachTileIsScaledToItsOwnMinAndMaxAndMagnifiedByNearestNeighbour()
    {
        // Two 2×2 tiles with very different ranges both end up black-to-white.
        var a = new GridTile([0f, 1f, 2f, 3f], 1, 2, 2);
        var b = new GridTile([-100f, -50f, 0f, 100f], 1, 2, 2);
        var canvas = ImageGrid.Render([a, b], [], columns: 2, tileSize: 8);
        int m = ImageGrid.Margin, scale = 4;
        Assert.Equal(2 * m + 2 * 2 * scale + ImageGrid.Separator, canvas.Width);
        Assert.Equal((0, 0, 0), Pixel(canvas, m, m));                                  // a's min
        Assert.Equal((0, 0, 0), Pixel(canvas, m + scale - 1, m + scale - 1));          // same source cell
        Assert.Equal((255, 255, 255), Pixel(canvas, m + 2 * scale - 1, m + 2 * scale - 1)); // a's max
        Assert.Equal((85, 85, 85), Pixel(canvas, m + scale, m));                       // 1/3
        Assert.Equal((255, 255, 255), Pixel(canvas, m + 2 * scale, m));                // separator (white)
        int bx = m + 2 * scale + ImageGrid.Separator;
        Assert.Equal((0, 0, 0), Pixel(canvas, bx, m));                                 // b's min
        Assert.Equal((255, 255, 255), Pixel(canvas, bx + scale, m + scale));           // b's max
    }

    [Fact]
    public void ConstantTilesAreMidGrayAndColourTilesKeepTheirHue()
    {
        var constant = new GridTile([5f, 5f, 5f, 5f], 1, 2, 2);
        // RGB 1×1 kernel: red channel high, others low → red after joint normalization.
        var red = new GridTile([2f, -1f, -1f], 3, 1, 1);
        var canvas = ImageGrid.Render([constant, red], [], columns: 2, tileSize: 2);
        Assert.Equal((128, 128, 128), Pixel(canvas, ImageGrid.Margin, ImageGrid.Margin));
        Assert.Equal((255, 0, 0), Pixel(canvas, ImageGrid.Margin + 2 + ImageGrid.Separator, ImageGrid.Margin));
    }

    [Fact]
    public void LegendIsDrawnAboveTheGridWithTheBitmapFont()
    {
        var tile = new GridTile(new float[16], 1, 4, 4);
        var plain = ImageGrid.Render([tile], [], tileSize: 16);
        var legend = ImageGrid.Render([tile], ["conv1 [6, 1, 5, 5]"], tileSize: 16);
        Assert.True(legend.Height > plain.Height);
        int dark = 0;
        for (int y = 0; y < legend.Height - plain.Height; y++)
            for (int x = 0; x < legend.Width; x++) if (Pixel(legend, x, y).Item1 < 100) dark++;
        Assert.True(dark > 50, $"legend drew {dark} dark pixels");
        foreach (char ch in "0123456789ABCXYZabcxyz.,:-_()[]%/×") Assert.True(BitmapFont.HasGlyph(ch), $"no glyph for '{ch}'");
        Assert.Equal(BitmapFont.Glyph('?').ToArray(), BitmapFont.Glyph('€').ToArray());
    }

    [Fact]
    public void ConvFiltersAreColourForThreeInputsAndOneGraySlicePerInputOtherwise()
    {
        var rgbWeight = Tensor.Randn([8, 3, 3, 3], new Generator(1));
        var colour = ImageGrid.ConvFilters(rgbWeight, "conv1");
        bool anyColour = false;
        for (int i = 0; i < colour.Pixels.Length; i += 3)
            if (colour.Pixels[i] != colour.Pixels[i + 1] || colour.Pixels[i + 1] != colour.Pixels[i + 2]) { anyColour = true; break; }
        Assert.True(anyColour, "3-input filters should be drawn in colour");

        var grayWeight = Tensor.Randn([4, 2, 5, 5], new Generator(2));
        var gray = ImageGrid.ConvFilters(grayWeight, "features.3");
        for (int i = 0; i < gray.Pixels.Length; i += 3)
            Assert.True(gray.Pixels[i] == gray.Pixels[i + 1] && gray.Pixels[i + 1] == gray.Pixels[i + 2]);
    }

    [Fact]
    public void FeatureMapsAcceptABatchOfOneAndRejectOtherShapes()
    {
        var maps = Tensor.Rand([1, 6, 7, 7], new Generator(3));
        var canvas = ImageGrid.FeatureMaps(maps, "layer1");
        Assert.True(canvas.Width > 3 * 7 && canvas.Height > 2 * 7);
        var png = Striate.Data.PngCodec.Decode(canvas.ToPng(), "grid");
        Assert.Equal((canvas.Width, canvas.Height, 3), (png.Width, png.Height, png.Channels));
        Assert.Throws<ArgumentException>(() => ImageGrid.FeatureMaps(Tensor.Zeros(2, 3, 4, 4), "x"));
    }
}
