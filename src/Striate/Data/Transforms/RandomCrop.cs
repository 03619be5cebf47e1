namespace Striate.Data.Transforms;

/// <summary>
/// Pads by <see cref="Padding"/> zeros on every side, then crops a random Height×Width window, as
/// torchvision.transforms.RandomCrop(size, padding) (the classic CIFAR augmentation: 32 with padding 4).
/// Shapes: [C, H, W] → [C, size.H, size.W].
/// </summary>
public sealed class RandomCrop : ITransform
{
    public Size2 Size { get; }
    public int Padding { get; }

    public RandomCrop(Size2 size, int padding = 0)
    {
        if (size.H <= 0 || size.W <= 0) throw new ArgumentException($"RandomCrop: size must be positive, got {size}.", nameof(size));
        if (padding < 0) throw new ArgumentException($"RandomCrop: padding must be non-negative, got {padding}.", nameof(padding));
        (Size, Padding) = (size, padding);
    }

    public void Apply(ImageSample sample, Generator random)
    {
        int c = sample.Channels, h = sample.Height, w = sample.Width;
        int paddedH = h + 2 * Padding, paddedW = w + 2 * Padding;
        if (paddedH < Size.H || paddedW < Size.W)
            throw new ArgumentException($"RandomCrop: crop {Size.H}×{Size.W} is larger than the padded image {paddedH}×{paddedW}.");
        // Top-left corner of the window in padded coordinates.
        int top = random.NextInt(paddedH - Size.H + 1), left = random.NextInt(paddedW - Size.W + 1);
        var src = sample.Pixels;
        var dst = sample.Scratch(c * Size.H * Size.W);
        for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < Size.H; y++)
        {
            int sy = top + y - Padding;
            var row = dst.Slice((ch * Size.H + y) * Size.W, Size.W);
            if ((uint)sy >= (uint)h) { row.Clear(); continue; }
            for (int x = 0; x < Size.W; x++)
            {
                int sx = left + x - Padding;
                row[x] = (uint)sx < (uint)w ? src[(ch * h + sy) * w + sx] : 0f;
            }
        }
        sample.SwapScratch(c, Size.H, Size.W);
    }

    public (int Channels, int Height, int Width) OutputShape((int Channels, int Height, int Width) input) => (input.Channels, Size.H, Size.W);

    public override string ToString() => $"RandomCrop(size={Size}, padding={Padding})";
}
