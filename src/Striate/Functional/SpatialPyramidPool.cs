namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Spatial pyramid pooling (He et al. 2014, SPP-net): adaptive max pooling to l×l for each level l, each
    /// flattened to [N, C·l·l] (channel-major, as torch.flatten) and concatenated in the order given. The output
    /// length is fixed whatever the input's height and width.
    /// Shapes: [N, C, H, W] → [N, C·Σ l²] (levels {4, 2, 1}: [N, 21·C]).
    /// </summary>
    public static Tensor SpatialPyramidPool(Tensor input, params int[] levels)
    {
        ExpectRank(input, 4, "SpatialPyramidPool", nameof(input), "[N, C, H, W]");
        if (levels == null || levels.Length == 0)
            throw new ArgumentException("SpatialPyramidPool: levels must list at least one level, got none; expected e.g. {4, 2, 1}.", nameof(levels));
        foreach (int l in levels)
            if (l <= 0) throw new ArgumentException($"SpatialPyramidPool: every level must be positive, got {l} in {{{string.Join(", ", levels)}}}.", nameof(levels));
        int n = input.Size(0), c = input.Size(1);
        var parts = new Tensor[levels.Length];
        for (int i = 0; i < levels.Length; i++)
            parts[i] = AdaptiveMaxPool2d(input, levels[i], levels[i]).Reshape(n, c * levels[i] * levels[i]);
        return levels.Length == 1 ? parts[0] : Concat(parts);
    }
}
