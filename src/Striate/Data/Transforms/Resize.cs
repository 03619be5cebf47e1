using Striate.Kernels;

namespace Striate.Data.Transforms;

/// <summary>
/// Resizes the image, as torchvision.transforms.Resize. <c>new Resize(256)</c> scales the shorter side to 256 and keeps
/// the aspect ratio (the longer side becomes int(256 · long / short)), antialiased as torchvision's resize of a PIL image
/// — the evaluation recipe's Resize(256) + CenterCrop(224). <c>new Resize(h, w)</c> gives exactly h×w, by default plain
/// bilinear without antialiasing (align_corners = false, the sampling of F.InterpolateBilinear), e.g. Fashion-MNIST's
/// 28×28 to the 224×224 AlexNet expects; pass antialias: true to shrink photos without aliasing.
/// Shapes: [C, H, W] → [C, Height, Width].
/// </summary>
public sealed class Resize : ITransform
{
    /// <summary>The fixed output height (0 when <see cref="ShorterSide"/> is set).</summary>
    public int Height { get; }

    /// <summary>The fixed output width (0 when <see cref="ShorterSide"/> is set).</summary>
    public int Width { get; }

    /// <summary>When set, the size the shorter side is scaled to, keeping the aspect ratio.</summary>
    public int? ShorterSide { get; }

    /// <summary>Whether shrinking widens the bilinear filter (PIL's and torchvision's antialias=True).</summary>
    public bool Antialias { get; }

    public Resize(int height, int width, bool antialias = false)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"Resize: size must be positive, got {height}×{width}.");
        (Height, Width, Antialias) = (height, width, antialias);
    }

    /// <summary>Scales the shorter side to <paramref name="shorterSide"/>, keeping the aspect ratio (antialiased).</summary>
    public Resize(int shorterSide)
    {
        if (shorterSide <= 0) throw new ArgumentException($"Resize: size must be positive, got {shorterSide}.", nameof(shorterSide));
        (ShorterSide, Antialias) = (shorterSide, true);
    }

    /// <summary>The output height and width for an input of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public (int Height, int Width) SizeFor(int height, int width)
    {
        if (ShorterSide is not int s) return (Height, Width);
        // torchvision: the shorter side becomes s, the longer int(s · long / short) (truncated).
        return height <= width ? (s, (int)((long)s * width / height)) : ((int)((long)s * height / width), s);
    }

    public void Apply(ImageSample sample, Generator random)
    {
        int c = sample.Channels;
        var (outH, outW) = SizeFor(sample.Height, sample.Width);
        if (sample.Height == outH && sample.Width == outW) return;
        var dst = sample.Scratch(c * outH * outW);
        if (Antialias)
            Resampling.Bilinear(sample.Pixels, c, sample.Height, sample.Width, 0, 0, sample.Height, sample.Width, dst, outH, outW);
        else
            Bilinear.Forward(c, sample.Height, sample.Width, outH, outW,
                Bilinear.SourceScale(sample.Height, outH, 0), Bilinear.SourceScale(sample.Width, outW, 0), sample.Pixels, dst);
        sample.SwapScratch(c, outH, outW);
    }

    public (int Channels, int Height, int Width) OutputShape((int Channels, int Height, int Width) input)
    {
        var (h, w) = SizeFor(input.Height, input.Width);
        return (input.Channels, h, w);
    }

    public override string ToString() => ShorterSide is int s ? $"Resize({s})" : Antialias ? $"Resize(({Height}, {Width}), antialias=True)" : $"Resize({Height}, {Width})";
}
