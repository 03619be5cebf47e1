using System.Globalization;

namespace Striate.Nn;

/// <summary>
/// A height/width pair of receptive-field quantities (size r, jump j or start), printed as one number when both
/// sides agree and as "H×W" otherwise.
/// </summary>
public readonly record struct Extent2(double H, double W)
{
    /// <summary>True when height and width agree.</summary>
    public bool IsSquare => H == W;

    /// <summary>"5" when square, "5×7" otherwise (fractions with up to three decimals).</summary>
    public override string ToString() => IsSquare ? Format(H) : $"{Format(H)}×{Format(W)}";

    internal static string Format(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>
/// Receptive field of a feature map in input-pixel units, per axis (Araujo et al. 2019, "Computing receptive fields of
/// convolutional neural networks"; Dang Ha The Hien, "A guide to receptive field arithmetic"):
/// <see cref="Size"/> r (how many input pixels one output unit sees, counting padding), <see cref="Jump"/> j (the
/// distance in input pixels between adjacent units: the product of the strides) and <see cref="Start"/> (the centre,
/// in input pixel indices, of the first unit's receptive field; it may be negative or fractional). For a layer of
/// kernel k, stride s, padding p and dilation d:
/// r_out = r_in + (k − 1)·d·j_in, j_out = j_in·s, start_out = start_in + ((k − 1)/2 − p)·j_in.
/// <see cref="SpatialH"/>×<see cref="SpatialW"/> is the size of the feature map described (kept through Flatten, so
/// a following Linear layer can widen r over the whole map).
/// Shapes: describes one [C, H, W] feature map (or a flattened one).
/// </summary>
public readonly record struct ReceptiveField(Extent2 Size, Extent2 Jump, Extent2 Start, int SpatialH, int SpatialW)
{
    /// <summary>The input image itself: r = 1, j = 1, start = 0 (the centre of pixel 0).</summary>
    public static ReceptiveField OfInput(int height, int width) => new(new(1, 1), new(1, 1), new(0, 0), height, width);

    /// <summary>
    /// After a sliding window (convolution or pooling) of the given kernel, stride, padding and dilation, producing
    /// an <paramref name="outH"/>×<paramref name="outW"/> map.
    /// </summary>
    public ReceptiveField Window(Size2 kernel, Size2 stride, Size2 padding, Size2 dilation, int outH, int outW)
    {
        var (rh, jh, sh) = Axis(Size.H, Jump.H, Start.H, kernel.H, stride.H, padding.H, dilation.H);
        var (rw, jw, sw) = Axis(Size.W, Jump.W, Start.W, kernel.W, stride.W, padding.W, dilation.W);
        return new(new(rh, rw), new(jh, jw), new(sh, sw), outH, outW);
    }

    private static (double R, double J, double Start) Axis(double r, double j, double start, double k, double s, double p, double d) =>
        (r + (k - 1) * d * j, j * s, start + ((k - 1) * d / 2 - p) * j);

    /// <summary>
    /// After adaptive pooling from this map to <paramref name="outH"/>×<paramref name="outW"/>. PyTorch's window for
    /// output i spans input [⌊i·n/m⌋, ⌈(i+1)·n/m⌉); when m divides n this is exactly pooling with k = s = n/m (global
    /// pooling, m = 1, covers the whole input). Otherwise windows differ by one: r uses the widest window, j the mean
    /// stride n/m and start the first window.
    /// </summary>
    public ReceptiveField Adaptive(int outH, int outW)
    {
        var (rh, jh, sh) = AdaptiveAxis(Size.H, Jump.H, Start.H, SpatialH, outH);
        var (rw, jw, sw) = AdaptiveAxis(Size.W, Jump.W, Start.W, SpatialW, outW);
        return new(new(rh, rw), new(jh, jw), new(sh, sw), outH, outW);
    }

    private static (double R, double J, double Start) AdaptiveAxis(double r, double j, double start, int n, int m)
    {
        if (n <= 0 || m <= 0) return (r, j, start);
        int widest = 0;
        for (int i = 0; i < m; i++)
        {
            int lo = (int)((long)i * n / m), hi = (int)(((long)(i + 1) * n + m - 1) / m);
            widest = Math.Max(widest, hi - lo);
        }
        int first = (n + m - 1) / m;
        return (r + (widest - 1) * j, j * n / m, start + (first - 1) / 2.0 * j);
    }

    /// <summary>After a layer that sees the whole map at once (Linear, spatial pyramid pooling): global pooling to 1×1.</summary>
    public ReceptiveField Global() => Adaptive(1, 1);

    /// <summary>The same field describing a map of another size (elementwise layers keep it; views keep the old size).</summary>
    public ReceptiveField WithSpatial(int height, int width) => this with { SpatialH = height, SpatialW = width };
}
