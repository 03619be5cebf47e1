namespace Striate.Kernels;

/// <summary>
/// Cross-entropy of logits [n, c] against class indices, fused with log-softmax (torch.nn.functional.cross_entropy
/// with reduction "mean"). With label smoothing ε the target is (1 − ε)·one-hot + ε/c, so per sample
/// loss = (1 − ε)·(−log p_target) + ε·mean_k(−log p_k), and −log p_k = lse − x_k with lse = log Σ e^x.
/// </summary>
public static class CrossEntropy
{
    /// <summary>
    /// Returns the mean loss over the <paramref name="n"/> samples and writes the softmax probabilities to
    /// <paramref name="probabilities"/> (for backward) unless it is empty.
    /// </summary>
    public static float Forward(int n, int c, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, float labelSmoothing, Span<float> probabilities)
    {
        // logits, probabilities: [n, c]; targets: [n]
        Check(n, c, logits.Length, targets, nameof(Forward));
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * c, c);
            float max = SpanMath.Max(row);
            double sumExp = 0;
            for (int k = 0; k < c; k++) sumExp += Math.Exp(row[k] - max);
            double lse = max + Math.Log(sumExp);
            double nll = lse - row[targets[i]];
            double smooth = lse - SpanMath.Sum(row) / (double)c;
            total += (1 - labelSmoothing) * nll + labelSmoothing * smooth;
            if (!probabilities.IsEmpty)
            {
                var p = probabilities.Slice(i * c, c);
                SpanMath.Subtract(row, (float)lse, p);
                SpanMath.Exp(p, p);
            }
        }
        return (float)(total / n);
    }

    /// <summary>
    /// d(mean loss)/d(logits) scaled by <paramref name="gradLoss"/>: (softmax − smoothed one-hot)·gradLoss/n.
    /// </summary>
    public static void Backward(int n, int c, ReadOnlySpan<float> probabilities, ReadOnlySpan<int> targets, float labelSmoothing, float gradLoss, Span<float> gradLogits)
    {
        // probabilities, gradLogits: [n, c]; targets: [n]
        Check(n, c, probabilities.Length, targets, nameof(Backward));
        float scale = gradLoss / n;
        float offTarget = labelSmoothing / c;
        for (int i = 0; i < n; i++)
        {
            var g = gradLogits.Slice(i * c, c);
            SpanMath.Subtract(probabilities.Slice(i * c, c), offTarget, g);
            g[targets[i]] -= 1 - labelSmoothing;
            SpanMath.Multiply(g, scale, g);
        }
    }

    internal static void Check(int n, int c, int logitsLength, ReadOnlySpan<int> targets, string op)
    {
        if (logitsLength != n * c || targets.Length != n)
            throw new ArgumentException($"CrossEntropy.{op}: got {logitsLength} logits and {targets.Length} targets, expected {n * c} and {n} for [{n}, {c}].");
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)c)
                throw new ArgumentOutOfRangeException(nameof(targets), $"CrossEntropy.{op}: target {targets[i]} at sample {i} is out of range; expected a class index in [0, {c}).");
    }
}
