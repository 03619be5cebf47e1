using System.Globalization;

namespace Striate.Insight;

/// <summary>
/// Hand-made image filters of classic image processing (what a CNN's first layer tends to learn by itself):
/// edge (a Laplacian-like outline), sharpen, gaussian-blur, box-blur, sobel-x, sobel-y and emboss.
/// Shapes: <see cref="Get"/> → [k, k].
/// </summary>
public static class ClassicKernels
{
    /// <summary>The kernel names <see cref="Get"/> knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["edge", "sharpen", "gaussian-blur", "box-blur", "sobel-x", "sobel-y", "emboss"];

    /// <summary>Default size of the blur kernels.</summary>
    public const int DefaultBlurSize = 5;

    /// <summary>Default standard deviation of the gaussian blur, in pixels.</summary>
    public const double DefaultSigma = 1.0;

    /// <summary>
    /// The kernel called <paramref name="name"/>. <paramref name="size"/> (odd, default 5) applies to the blurs only,
    /// <paramref name="sigma"/> (default 1) to gaussian-blur only; the other kernels are fixed 3×3.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name (the message lists the known ones), or a size/sigma the kernel does not take.</exception>
    public static Tensor Get(string name, int? size = null, double? sigma = null)
    {
        string key = name.Trim().ToLowerInvariant();
        if (!Names.Contains(key))
            throw new ArgumentException($"Unknown kernel '{name}'. Known kernels: {string.Join(", ", Names)}.", nameof(name));
        bool blur = key is "gaussian-blur" or "box-blur";
        if (!blur && size is int s && s != 3)
            throw new ArgumentException($"Kernel '{key}' is 3×3 only; --size applies to gaussian-blur and box-blur.", nameof(size));
        if (key != "gaussian-blur" && sigma is not null)
            throw new ArgumentException($"Kernel '{key}' has no sigma; --sigma applies to gaussian-blur only.", nameof(sigma));
        int k = size ?? (blur ? DefaultBlurSize : 3);
        if (k <= 0 || k % 2 == 0)
            throw new ArgumentException($"Kernel size must be a positive odd number (so the filtered image keeps its size), got {k}.", nameof(size));
        return key switch
        {
            // 8-neighbour Laplacian with the sign flipped: zero on flat regions, an outline on both sides of an edge.
            "edge" => Tensor.FromArray([-1, -1, -1, -1, 8, -1, -1, -1, -1], 3, 3),
            // Identity plus the 4-neighbour negative Laplacian.
            "sharpen" => Tensor.FromArray([0, -1, 0, -1, 5, -1, 0, -1, 0], 3, 3),
            // Sobel (1968): a derivative across x smoothed along y; responds to vertical edges.
            "sobel-x" => Tensor.FromArray([-1, 0, 1, -2, 0, 2, -1, 0, 1], 3, 3),
            "sobel-y" => Tensor.FromArray([-1, -2, -1, 0, 0, 0, 1, 2, 1], 3, 3),
            // A diagonal derivative plus the pixel itself: relief lit from the top left.
            "emboss" => Tensor.FromArray([-2, -1, 0, -1, 1, 1, 0, 1, 2], 3, 3),
            "box-blur" => Tensor.Full(1f / (k * k), k, k),
            _ => Gaussian(k, sigma ?? DefaultSigma),
        };
    }

    /// <summary>True for kernels whose response is signed (derivatives): show |response|.</summary>
    public static bool IsSigned(string name) => name.Trim().ToLowerInvariant() is "edge" or "sobel-x" or "sobel-y";

    /// <summary>exp(−(x² + y²) / 2σ²) on a k×k grid centred on the middle cell, divided by its sum so that it sums to 1.</summary>
    private static Tensor Gaussian(int k, double sigma)
    {
        if (!(sigma > 0) || double.IsInfinity(sigma))
            throw new ArgumentException($"Gaussian sigma must be positive and finite, got {sigma.ToString(CultureInfo.InvariantCulture)}.", nameof(sigma));
        var values = new float[k * k];
        int r = k / 2;
        double sum = 0;
        for (int y = 0; y < k; y++)
            for (int x = 0; x < k; x++)
            {
                double v = Math.Exp(-((x - r) * (x - r) + (y - r) * (y - r)) / (2 * sigma * sigma));
                values[y * k + x] = (float)v;
                sum += v;
            }
        for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] / sum);
        return Tensor.FromArray(values, k, k);
    }
}
