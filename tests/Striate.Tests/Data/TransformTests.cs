using Striate.Data;
using Striate.Data.Transforms;

namespace Striate.Tests.Data;

public sealed class TransformTests
{
    private static ImageSample Ramp(int c, int h, int w)
    {
        var s = new ImageSample();
        var px = s.Reshape(c, h, w);
        for (int i = 0; i < px.Length; i++) px[i] = i / (float)px.Length;
        return s;
    }

    [Fact]
    public void NormalizeSubtractsMeanAndDividesByStdPerChannel()
    {
        var s = Ramp(2, 1, 2);
        var before = s.Pixels.ToArray();
        new Normalize([0.5f, 0.25f], [0.5f, 2f]).Apply(s, new Generator());
        Assert.Equal((before[0] - 0.5f) / 0.5f, s.Pixels[0], 6);
        Assert.Equal((before[3] - 0.25f) / 2f, s.Pixels[3], 6);
        Assert.Throws<ArgumentException>(() => new Normalize([0.5f], [0f]));
    }

    [Fact]
    public void HorizontalFlipMirrorsEveryRowWhenItFires()
    {
        var s = Ramp(1, 2, 3);
        var before = s.Pixels.ToArray();
        new RandomHorizontalFlip(1.0).Apply(s, new Generator());
        Assert.Equal([before[2], before[1], before[0], before[5], before[4], before[3]], s.Pixels.ToArray());
        new RandomHorizontalFlip(0.0).Apply(s, new Generator());
        Assert.Equal(before[2], s.Pixels[0]);
    }

    [Fact]
    public void RandomCropWithPaddingKeepsSizeAndTakesAWindowOfThePaddedImage()
    {
        var g = new Generator(1);
        var seen = new HashSet<float>();
        for (int trial = 0; trial < 50; trial++)
        {
            var s = Ramp(1, 4, 4);
            var original = s.Pixels.ToArray();
            new RandomCrop(4, padding: 1).Apply(s, g);
            Assert.Equal((1, 4, 4), (s.Channels, s.Height, s.Width));
            // Every output value is either a padded zero or one of the input's values, and rows stay contiguous.
            Assert.All(s.Pixels.ToArray(), v => Assert.True(v == 0 || original.Contains(v)));
            seen.Add(s.Pixels[5]);
        }
        Assert.True(seen.Count > 3, "the crop offset should vary");
        Assert.Equal((3, 2, 2), new RandomCrop(2).OutputShape((3, 8, 8)));
        Assert.Throws<ArgumentException>(() => new RandomCrop(6).Apply(Ramp(1, 4, 4), g));
    }

    [Fact]
    public void ResizeSamplesBilinearlyLikeInterpolate()
    {
        var s = Ramp(1, 2, 2);
        new Resize(4, 4).Apply(s, new Generator());
        Assert.Equal((1, 4, 4), (s.Channels, s.Height, s.Width));
        // align_corners=false: the corners replicate the input corners, the centre is the mean.
        Assert.Equal(0f, s.Pixels[0], 6);
        Assert.Equal(0.75f, s.Pixels[15], 6);
        // Output (1, 1) samples source (0.25, 0.25): weights 0.75/0.25 on rows 0/1 and on columns 0/1.
        Assert.Equal(0.75f * (0.75f * 0f + 0.25f * 0.25f) + 0.25f * (0.75f * 0.5f + 0.25f * 0.75f), s.Pixels[5], 5);
    }

    [Fact]
    public void ColorJitterStaysInUnitRangeAndChangesTheImage()
    {
        var s = Ramp(3, 4, 4);
        var before = s.Pixels.ToArray();
        new ColorJitter(0.8, 0.8, 0.8).Apply(s, new Generator(5));
        Assert.All(s.Pixels.ToArray(), v => Assert.InRange(v, 0f, 1f));
        Assert.NotEqual(before, s.Pixels.ToArray());
    }

    [Fact]
    public void SaturationBlendsWithGrayAndSoKeepsEachPixelsLuma()
    {
        // Blending x with its own luma g gives f·x + (1 − f)·g, whose luma is f·g + (1 − f)·g = g (no clamping in mid-range).
        var s = new ImageSample();
        var px = s.Reshape(3, 2, 2);
        var g = new Generator(4);
        for (int i = 0; i < px.Length; i++) px[i] = 0.4f + 0.2f * g.NextFloat();
        float Luma(ReadOnlySpan<float> p, int i) => 0.299f * p[i] + 0.587f * p[4 + i] + 0.114f * p[8 + i];
        var before = s.Pixels.ToArray();
        new ColorJitter(saturation: 0.5).Apply(s, new Generator(9));
        Assert.NotEqual(before, s.Pixels.ToArray());
        for (int i = 0; i < 4; i++) Assert.Equal(Luma(before, i), Luma(s.Pixels, i), 5);
    }

    [Fact]
    public void PcaLightingShiftsEachChannelByAConstantAlongTheEigenvectors()
    {
        var s = Ramp(3, 2, 2);
        var before = s.Pixels.ToArray();
        new PcaLighting(0.1).Apply(s, new Generator(2));
        var after = s.Pixels.ToArray();
        for (int c = 0; c < 3; c++)
        {
            float shift = after[c * 4] - before[c * 4];
            for (int i = 1; i < 4; i++) Assert.Equal(shift, after[c * 4 + i] - before[c * 4 + i], 5);
        }
        Assert.NotEqual(before, after);
        Assert.Contains("3 channels", Assert.Throws<ArgumentException>(() => new PcaLighting().Apply(Ramp(1, 2, 2), new Generator())).Message);
    }

    [Fact]
    public void ComposeAppliesInOrderAndReportsTheFinalShape()
    {
        var t = new Compose(new Resize(8, 8), new RandomCrop(6));
        Assert.Equal((1, 6, 6), t.OutputShape((1, 28, 28)));
        var s = Ramp(1, 28, 28);
        t.Apply(s, new Generator());
        Assert.Equal((1, 6, 6), (s.Channels, s.Height, s.Width));
    }
}
