using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// Dropout (Srivastava et al. 2014) with inverted scaling: in training, zeroes each element with probability p and
/// scales the rest by 1/(1 − p); in eval it is the identity. Masks come from <see cref="Generator"/>.
/// Shapes: any → same.
/// </summary>
public sealed class Dropout : Module
{
    public double P { get; }

    /// <summary>The generator masks are drawn from (default: <see cref="Striate.Generator.Default"/> at each call).</summary>
    public Generator? Generator { get; set; }

    public Dropout(double p = 0.5, Generator? generator = null)
    {
        if (p < 0 || p > 1) throw new ArgumentException($"Dropout: p must be in [0, 1], got {p}.", nameof(p));
        (P, Generator) = (p, generator);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.Dropout(input, (float)P, Training, Generator ?? Striate.Generator.Default);
    }

    public override string ToString() => $"Dropout(p={P})";
}
