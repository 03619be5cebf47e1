namespace Striate.Data.Transforms;

/// <summary>
/// AlexNet's lighting noise (Krizhevsky et al. 2012, §4.1): adds Σ_i α_i·λ_i·p_i to every RGB pixel, where p_i and λ_i
/// are the eigenvectors and eigenvalues of the RGB covariance of the training set and α_i ~ N(0, σ²) is drawn once per
/// image. Defaults are ImageNet's eigenpairs with σ = 0.1, as the paper and fb.resnet.torch use.
/// Shapes: [3, H, W] → same.
/// </summary>
public sealed class PcaLighting : ITransform
{
    /// <summary>ImageNet RGB eigenvalues (pixel values in [0, 1]).</summary>
    public static readonly float[] ImageNetEigenvalues = [0.2175f, 0.0188f, 0.0045f];

    /// <summary>ImageNet RGB eigenvectors, one per column: row r holds component r of each vector.</summary>
    public static readonly float[,] ImageNetEigenvectors =
    {
        { -0.5675f, 0.7192f, 0.4009f },
        { -0.5808f, -0.0045f, -0.8140f },
        { -0.5836f, -0.6948f, 0.4203f },
    };

    public double AlphaStd { get; }
    private readonly float[] _eigenvalues;
    private readonly float[,] _eigenvectors;

    public PcaLighting(double alphaStd = 0.1, float[]? eigenvalues = null, float[,]? eigenvectors = null)
    {
        if (alphaStd < 0) throw new ArgumentException($"PcaLighting: alphaStd must be non-negative, got {alphaStd}.", nameof(alphaStd));
        _eigenvalues = eigenvalues ?? ImageNetEigenvalues;
        _eigenvectors = eigenvectors ?? ImageNetEigenvectors;
        if (_eigenvalues.Length != 3 || _eigenvectors.GetLength(0) != 3 || _eigenvectors.GetLength(1) != 3)
            throw new ArgumentException("PcaLighting: expected 3 eigenvalues and a 3×3 eigenvector matrix (RGB).");
        AlphaStd = alphaStd;
    }

    public void Apply(ImageSample sample, Generator random)
    {
        if (sample.Channels != 3)
            throw new ArgumentException($"PcaLighting: needs an RGB image (3 channels), got {sample.Channels}; the noise is defined on RGB covariance.");
        Span<float> shift = stackalloc float[3];
        Span<double> alpha = [random.NextGaussian() * AlphaStd, random.NextGaussian() * AlphaStd, random.NextGaussian() * AlphaStd];
        for (int r = 0; r < 3; r++)
        {
            double s = 0;
            for (int i = 0; i < 3; i++) s += _eigenvectors[r, i] * alpha[i] * _eigenvalues[i];
            shift[r] = (float)s;
        }
        var px = sample.Pixels;
        int plane = sample.Height * sample.Width;
        for (int c = 0; c < 3; c++)
            Striate.Kernels.SpanMath.Add(px.Slice(c * plane, plane), shift[c], px.Slice(c * plane, plane));
    }

    public override string ToString() => $"PcaLighting(alphastd={AlphaStd})";
}
