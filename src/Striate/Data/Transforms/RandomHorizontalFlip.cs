namespace Striate.Data.Transforms;

/// <summary>Mirrors the image left–right with probability <see cref="P"/>, as torchvision.transforms.RandomHorizontalFlip.</summary>
public sealed class RandomHorizontalFlip : ITransform
{
    public double P { get; }

    public RandomHorizontalFlip(double p = 0.5)
    {
        if (p < 0 || p > 1) throw new ArgumentException($"RandomHorizontalFlip: p must be in [0, 1], got {p}.", nameof(p));
        P = p;
    }

    public void Apply(ImageSample sample, Generator random)
    {
        if (random.NextDouble() >= P) return;
        var px = sample.Pixels;
        int w = sample.Width;
        for (int row = 0; row < sample.Channels * sample.Height; row++) px.Slice(row * w, w).Reverse();
    }

    public override string ToString() => $"RandomHorizontalFlip(p={P})";
}
