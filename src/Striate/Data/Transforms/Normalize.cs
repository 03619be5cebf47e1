namespace Striate.Data.Transforms;

/// <summary>x_c ← (x_c − mean_c) / std_c per channel, as torchvision.transforms.Normalize.</summary>
public sealed class Normalize : ITransform
{
    public IReadOnlyList<float> Mean { get; }
    public IReadOnlyList<float> Std { get; }

    public Normalize(float[] mean, float[] std)
    {
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalize: mean and std must have the same non-zero length, got {mean.Length} and {std.Length}.");
        foreach (var s in std)
            if (!(s > 0)) throw new ArgumentException($"Normalize: every std must be positive, got [{string.Join(", ", std)}].", nameof(std));
        (Mean, Std) = (mean, std);
    }

    public void Apply(ImageSample sample, Generator random)
    {
        if (sample.Channels != Mean.Count && Mean.Count != 1)
            throw new ArgumentException($"Normalize: image has {sample.Channels} channels, but mean/std have {Mean.Count} values.");
        var px = sample.Pixels;
        int plane = sample.Height * sample.Width;
        for (int c = 0; c < sample.Channels; c++)
        {
            int k = Mean.Count == 1 ? 0 : c;
            var channel = px.Slice(c * plane, plane);
            Striate.Kernels.Elementwise.ScaleShift(channel, 1f / Std[k], -Mean[k] / Std[k], channel);
        }
    }

    public override string ToString() => $"Normalize(mean=[{string.Join(", ", Mean)}], std=[{string.Join(", ", Std)}])";
}
