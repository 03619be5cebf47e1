using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// Local response normalization across channels (Krizhevsky et al. 2012), as torch.nn.LocalResponseNorm:
/// b_c = a_c / (k + α/n · Σ_{c' in window of n} a_{c'}²)^β. AlexNet used n = 5, α = 1e-4, β = 0.75, k = 2.
/// Shapes: [N, C, H, W] → same.
/// </summary>
public sealed class LocalResponseNorm : Module
{
    public int Size { get; }
    public double Alpha { get; }
    public double Beta { get; }
    public double K { get; }

    public LocalResponseNorm(int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0)
    {
        if (size <= 0) throw new ArgumentException($"LocalResponseNorm: size must be positive, got {size}.", nameof(size));
        (Size, Alpha, Beta, K) = (size, alpha, beta, k);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.LocalResponseNorm(input, Size, (float)Alpha, (float)Beta, (float)K);
    }

    public override string ToString() => $"LocalResponseNorm({Size}, alpha={Alpha}, beta={Beta}, k={K})";
}
