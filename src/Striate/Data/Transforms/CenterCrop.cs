namespace Striate.Data.Transforms;

/// <summary>
/// The central Height×Width window, as torchvision.transforms.CenterCrop: top = round((H − height) / 2),
/// left = round((W − width) / 2); an image smaller than the window is first padded with zeros on both sides.
/// Shapes: [C, H, W] → [C, size.H, size.W].
/// </summary>
public sealed class CenterCrop : ITransform
{
    public Size2 Size { get; }

    public CenterCrop(Size2 size)
    {
        if (size.H <= 0 || size.W <= 0) throw new ArgumentException($"CenterCrop: size must be positive, got {size}.", nameof(size));
        Size = size;
    }

    public void Apply(ImageSample sample, Generator random)
    {
        int c = sample.Channels, h = sample.Height, w = sample.Width;
        // Python's round() of (H − h) / 2 is round-half-to-even, as Math.Round; negative offsets are torchvision's padding.
        int top = (int)Math.Round((h - Size.H) / 2.0), left = (int)Math.Round((w - Size.W) / 2.0);
        if (top == 0 && left == 0 && h == Size.H && w == Size.W) return;
        var src = sample.Pixels;
        var dst = sample.Scratch(c * Size.H * Size.W);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < Size.H; y++)
            {
                var row = dst.Slice((ch * Size.H + y) * Size.W, Size.W);
                int sy = top + y;
                if ((uint)sy >= (uint)h) { row.Clear(); continue; }
                for (int x = 0; x < Size.W; x++)
                {
                    int sx = left + x;
                    row[x] = (uint)sx < (uint)w ? src[(ch * h + sy) * w + sx] : 0f;
                }
            }
        sample.SwapScratch(c, Size.H, Size.W);
    }

    public (int Channels, int Height, int Width) OutputShape((int Channels, int Height, int Width) input) => (input.Channels, Size.H, Size.W);

    public override string ToString() => $"CenterCrop(size={Size})";
}
