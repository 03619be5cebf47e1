namespace Striate.Data.Transforms;

/// <summary>
/// Random brightness, contrast and saturation changes, as torchvision.transforms.ColorJitter: each factor is drawn
/// uniformly from [max(0, 1 − v), 1 + v] and the three adjustments run in a random order. Brightness scales the
/// image; contrast blends it with the mean of its grayscale; saturation blends each pixel with its grayscale value
/// (ITU-R 601 luma, as torchvision). Values are clamped to [0, 1]. Saturation needs 3 channels and is skipped on gray
/// images, where it is the identity.
/// </summary>
public sealed class ColorJitter : ITransform
{
    public double Brightness { get; }
    public double Contrast { get; }
    public double Saturation { get; }

    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0)
    {
        if (brightness < 0 || contrast < 0 || saturation < 0)
            throw new ArgumentException($"ColorJitter: brightness, contrast and saturation must be non-negative, got {brightness}, {contrast}, {saturation}.");
        (Brightness, Contrast, Saturation) = (brightness, contrast, saturation);
    }

    public void Apply(ImageSample sample, Generator random)
    {
        Span<int> order = [0, 1, 2];
        random.Shuffle(order);
        foreach (int op in order)
        {
            double amount = op switch { 0 => Brightness, 1 => Contrast, _ => Saturation };
            if (amount == 0) continue;
            float factor = (float)(Math.Max(0, 1 - amount) + random.NextDouble() * (1 + amount - Math.Max(0, 1 - amount)));
            switch (op)
            {
                case 0: Blend(sample.Pixels, factor, 0f); break;
                case 1: Blend(sample.Pixels, factor, MeanGray(sample)); break;
                default: SaturationBlend(sample, factor); break;
            }
        }
    }

    /// <summary>x ← clamp(factor·x + (1 − factor)·other).</summary>
    private static void Blend(Span<float> px, float factor, float other)
    {
        float offset = (1 - factor) * other;
        for (int i = 0; i < px.Length; i++) px[i] = Math.Clamp(factor * px[i] + offset, 0f, 1f);
    }

    private static float Gray(ReadOnlySpan<float> px, int plane, int i) => 0.299f * px[i] + 0.587f * px[plane + i] + 0.114f * px[2 * plane + i];

    private static float MeanGray(ImageSample sample)
    {
        var px = sample.Pixels;
        int plane = sample.Height * sample.Width;
        double sum = 0;
        if (sample.Channels >= 3) for (int i = 0; i < plane; i++) sum += Gray(px, plane, i);
        else for (int i = 0; i < plane; i++) sum += px[i];
        return (float)(sum / plane);
    }

    private static void SaturationBlend(ImageSample sample, float factor)
    {
        if (sample.Channels < 3) return;
        var px = sample.Pixels;
        int plane = sample.Height * sample.Width;
        for (int i = 0; i < plane; i++)
        {
            float g = (1 - factor) * Gray(px, plane, i);
            for (int c = 0; c < 3; c++) px[c * plane + i] = Math.Clamp(factor * px[c * plane + i] + g, 0f, 1f);
        }
    }

    public override string ToString() => $"ColorJitter(brightness={Brightness}, contrast={Contrast}, saturation={Saturation})";
}
