namespace Striate.Kernels;

/// <summary>
/// Inverted dropout (Srivastava et al. 2014; scaling at training time as torch.nn.functional.dropout): each
/// element is kept with probability 1 − p and scaled by 1/(1 − p), so the expected output equals the input
/// and evaluation needs no rescaling.
/// </summary>
public static class Dropout
{
    /// <summary>
    /// Fills <paramref name="mask"/> with 0 (dropped) or 1/(1 − p) (kept), one uniform draw per element from
    /// <paramref name="generator"/> in order, so a seed fixes the mask. p = 1 gives all zeros.
    /// </summary>
    public static void FillMask(Span<float> mask, float p, Generator generator)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout.FillMask: p must be in [0, 1], got {p}.");
        if (p == 1) { mask.Clear(); return; }
        float keep = 1f / (1f - p);
        for (int i = 0; i < mask.Length; i++) mask[i] = generator.NextFloat() >= p ? keep : 0f;
    }

    /// <summary>y = x·mask (also the backward: dx = dy·mask).</summary>
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> mask, Span<float> y)
    {
        if (x.Length != mask.Length || y.Length != x.Length)
            throw new ArgumentException($"Dropout.Apply: x, mask and y have {x.Length}, {mask.Length} and {y.Length} elements; they must match.");
        SpanMath.Multiply(x, mask, y);
    }
}
