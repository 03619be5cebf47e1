namespace Striate.Kernels;

/// <summary>Plain twin of <see cref="CrossEntropy"/>: log-probabilities in double, then the smoothed target's dot product.</summary>
public static class CrossEntropyReference
{
    public static float Forward(int n, int c, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, float labelSmoothing, Span<float> probabilities)
    {
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int k = 0; k < c; k++) max = Math.Max(max, logits[i * c + k]);
            for (int k = 0; k < c; k++) sum += Math.Exp(logits[i * c + k] - max);
            for (int k = 0; k < c; k++)
            {
                double logP = logits[i * c + k] - max - Math.Log(sum);
                double target = (k == targets[i] ? 1 - labelSmoothing : 0) + labelSmoothing / c;
                total -= target * logP;
                if (!probabilities.IsEmpty) probabilities[i * c + k] = (float)Math.Exp(logP);
            }
        }
        return (float)(total / n);
    }

    public static void Backward(int n, int c, ReadOnlySpan<float> probabilities, ReadOnlySpan<int> targets, float labelSmoothing, float gradLoss, Span<float> gradLogits)
    {
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++)
            {
                double target = (k == targets[i] ? 1 - labelSmoothing : 0) + labelSmoothing / c;
                gradLogits[i * c + k] = (float)((probabilities[i * c + k] - target) * gradLoss / n);
            }
    }
}
