using Striate.Kernels;

namespace Striate.Data.Transforms;

/// <summary>
/// Bilinear resize to Height×Width (align_corners = false, no antialiasing: the same sampling as
/// F.InterpolateBilinear), e.g. Fashion-MNIST's 28×28 to the 224×224 AlexNet expects.
/// Shapes: [C, H, W] → [C, Height, Width].
/// </summary>
public sealed class Resize : ITransform
{
    public int Height { get; }
    public int Width { get; }

    public Resize(int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"Resize: size must be positive, got {height}×{width}.");
        (Height, Width) = (height, width);
    }

    public void Apply(ImageSample sample, Generator random)
    {
        int c = sample.Channels;
        if (sample.Height == Height && sample.Width == Width) return;
        var dst = sample.Scratch(c * Height * Width);
        Bilinear.Forward(c, sample.Height, sample.Width, Height, Width,
            Bilinear.SourceScale(sample.Height, Height, 0), Bilinear.SourceScale(sample.Width, Width, 0), sample.Pixels, dst);
        sample.SwapScratch(c, Height, Width);
    }

    public (int Channels, int Height, int Width) OutputShape((int Channels, int Height, int Width) input) => (input.Channels, Height, Width);

    public override string ToString() => $"Resize({Height}, {Width})";
}
