using Striate.Insight;

namespace Striate.Tests.Insight;

/// <summary>Heat maps upsampled, normalized, coloured and blended over the image.</summary>
public sealed class HeatMapTests
{
    private static Tensor OneHotCell(int mh, int mw, int row, int col)
    {
        var m = new float[mh * mw];
        m[row * mw + col] = 3f;
        return Tensor.FromArray(m, mh, mw);
    }

    [Fact]
    public void OneHotCellGivesTheHottestColourInItsRegionAndTheColdestFarAway()
    {
        // A 4×4 map over a 32×32 image: cell (1, 2) covers rows 8..15 and columns 16..23.
        var image = new float[32 * 32];
        var rgb = HeatMapRendering.Overlay(image, 1, 32, 32, OneHotCell(4, 4, 1, 2), alpha: 1.0);
        Assert.Equal(32 * 32 * 3, rgb.Length);
        var hot = HeatMapRendering.Colormap(1f);
        var cold = HeatMapRendering.Colormap(0f);
        (byte, byte, byte) At(int y, int x) => (rgb[(y * 32 + x) * 3], rgb[(y * 32 + x) * 3 + 1], rgb[(y * 32 + x) * 3 + 2]);
        var hottest = new List<(int Y, int X)>();
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) if (At(y, x) == hot) hottest.Add((y, x));
        Assert.NotEmpty(hottest);
        Assert.All(hottest, p => Assert.True(p.Y is >= 8 and < 16 && p.X is >= 16 && p.X < 24, $"hottest pixel at {p} outside the cell"));
        Assert.Equal(cold, At(31, 0));
        Assert.Equal(cold, At(0, 0));
    }

    [Fact]
    public void BlendingMixesTheImageAndTheColour()
    {
        var image = Enumerable.Repeat(1f, 3 * 8 * 8).ToArray(); // white RGB image
        var rgb = HeatMapRendering.Overlay(image, 3, 8, 8, OneHotCell(2, 2, 0, 0), alpha: 0.5);
        var cold = HeatMapRendering.Colormap(0f);
        int o = (7 * 8 + 7) * 3;
        Assert.Equal((int)MathF.Round(0.5f * 255 + 0.5f * cold.R), rgb[o]);
        Assert.Equal((int)MathF.Round(0.5f * 255 + 0.5f * cold.B), rgb[o + 2]);
        var plain = HeatMapRendering.Overlay(image, 3, 8, 8, OneHotCell(2, 2, 0, 0), alpha: 0.0);
        Assert.All(plain, b => Assert.Equal(255, b));
    }

    [Fact]
    public void ColormapRunsFromBlueToRed()
    {
        var cold = HeatMapRendering.Colormap(0f);
        var hot = HeatMapRendering.Colormap(1f);
        Assert.True(cold.B > cold.R, "cold end is blue");
        Assert.True(hot.R > hot.B && hot.R > hot.G, "hot end is red");
        Assert.Equal(cold, HeatMapRendering.Colormap(-5f));
        Assert.Equal(hot, HeatMapRendering.Colormap(7f));
    }

    [Fact]
    public void NonMapsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => HeatMapRendering.Overlay(new float[16], 1, 4, 4, Tensor.Zeros(1, 2, 2)));
        Assert.Contains("map must be 2-D", e.Message);
    }
}
