namespace Striate.Data.Transforms;

/// <summary>
/// A random window covering a random share of the image with a random aspect ratio, resized to Height×Width, as
/// torchvision.transforms.RandomResizedCrop (the Inception / ImageNet training crop, Szegedy et al. 2015): up to ten
/// tries draw an area share from <see cref="Scale"/> (uniform) and an aspect ratio from <see cref="Ratio"/>
/// (log-uniform); the first window that fits is used, else a central window with the ratio clamped into range.
/// Resizing is antialiased bilinear (torchvision's on PIL images).
/// Shapes: [C, H, W] → [C, size.H, size.W].
/// </summary>
public sealed class RandomResizedCrop : ITransform
{
    public Size2 Size { get; }
    public (double Min, double Max) Scale { get; }
    public (double Min, double Max) Ratio { get; }

    /// <param name="size">Output size.</param>
    /// <param name="scale">Range of the window's area as a share of the image's; default (0.08, 1).</param>
    /// <param name="ratio">Range of the window's width/height; default (3/4, 4/3).</param>
    public RandomResizedCrop(Size2 size, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null)
    {
        if (size.H <= 0 || size.W <= 0) throw new ArgumentException($"RandomResizedCrop: size must be positive, got {size}.", nameof(size));
        Scale = scale ?? (0.08, 1.0);
        Ratio = ratio ?? (3.0 / 4.0, 4.0 / 3.0);
        if (!(Scale.Min > 0 && Scale.Min <= Scale.Max)) throw new ArgumentException($"RandomResizedCrop: scale must satisfy 0 < min ≤ max, got {Scale}.", nameof(scale));
        if (!(Ratio.Min > 0 && Ratio.Min <= Ratio.Max)) throw new ArgumentException($"RandomResizedCrop: ratio must satisfy 0 < min ≤ max, got {Ratio}.", nameof(ratio));
        Size = size;
    }

    /// <summary>The window (top, left, height, width) for an image of <paramref name="height"/>×<paramref name="width"/> (torchvision's get_params).</summary>
    public (int Top, int Left, int Height, int Width) GetParams(int height, int width, Generator random)
    {
        double area = (double)height * width;
        double logMin = Math.Log(Ratio.Min), logMax = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (Scale.Min + random.NextDouble() * (Scale.Max - Scale.Min));
            double aspect = Math.Exp(logMin + random.NextDouble() * (logMax - logMin));
            int w = (int)Math.Round(Math.Sqrt(target * aspect));
            int h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
                return (random.NextInt(height - h + 1), random.NextInt(width - w + 1), h, w);
        }
        // Fallback: the whole image, or its centre cut to the nearest allowed ratio.
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < Ratio.Min) { cw = width; ch = (int)Math.Round(cw / Ratio.Min); }
        else if (inRatio > Ratio.Max) { ch = height; cw = (int)Math.Round(ch * Ratio.Max); }
        else { cw = width; ch = height; }
        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    public void Apply(ImageSample sample, Generator random)
    {
        int c = sample.Channels;
        var (top, left, h, w) = GetParams(sample.Height, sample.Width, random);
        var dst = sample.Scratch(c * Size.H * Size.W);
        Resampling.Bilinear(sample.Pixels, c, sample.Height, sample.Width, top, left, h, w, dst, Size.H, Size.W);
        sample.SwapScratch(c, Size.H, Size.W);
    }

    public (int Channels, int Height, int Width) OutputShape((int Channels, int Height, int Width) input) => (input.Channels, Size.H, Size.W);

    public override string ToString() => $"RandomResizedCrop(size={Size}, scale=({Scale.Min}, {Scale.Max}), ratio=({Ratio.Min:G4}, {Ratio.Max:G4}))";
}
