namespace Striate.Kernels;

/// <summary>Plain twins of <see cref="BatchNorm"/>: element by element in double, straight from the formulas.</summary>
public static class BatchNormReference
{
    public static void ForwardTraining(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        float eps, Span<float> output, Span<float> mean, Span<float> variance, Span<float> invStd)
    {
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0, sq = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < s; i++) sum += input[(b * c + ch) * s + i];
            double m = sum / (n * s);
            for (int b = 0; b < n; b++) for (int i = 0; i < s; i++) { double d = input[(b * c + ch) * s + i] - m; sq += d * d; }
            double v = sq / (n * s);
            mean[ch] = (float)m; variance[ch] = (float)v; invStd[ch] = (float)(1 / Math.Sqrt(v + eps));
            Apply(n, c, s, ch, input, weight, bias, m, v, eps, output);
        }
    }

    public static void ForwardEval(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, float eps, Span<float> output)
    {
        for (int ch = 0; ch < c; ch++) Apply(n, c, s, ch, input, weight, bias, runningMean[ch], runningVar[ch], eps, output);
    }

    private static void Apply(int n, int c, int s, int ch, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        double mean, double variance, float eps, Span<float> output)
    {
        double w = weight.IsEmpty ? 1 : weight[ch], b0 = bias.IsEmpty ? 0 : bias[ch];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < s; i++)
            {
                int at = (b * c + ch) * s + i;
                output[at] = (float)((input[at] - mean) / Math.Sqrt(variance + eps) * w + b0);
            }
    }

    public static void Backward(int n, int c, int s, bool training, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias)
    {
        int m = n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sumG = 0, sumGX = 0;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < s; i++)
                {
                    int at = (b * c + ch) * s + i;
                    sumG += gradOutput[at];
                    sumGX += gradOutput[at] * (input[at] - (double)mean[ch]) * invStd[ch];
                }
            if (!gradBias.IsEmpty) gradBias[ch] = (float)sumG;
            if (!gradWeight.IsEmpty) gradWeight[ch] = (float)sumGX;
            if (gradInput.IsEmpty) continue;
            double w = weight.IsEmpty ? 1 : weight[ch];
            for (int b = 0; b < n; b++)
                for (int i = 0; i < s; i++)
                {
                    int at = (b * c + ch) * s + i;
                    double xhat = (input[at] - (double)mean[ch]) * invStd[ch];
                    double g = gradOutput[at];
                    if (training) g = g - sumG / m - xhat * sumGX / m;
                    gradInput[at] = (float)(w * invStd[ch] * g);
                }
        }
    }
}
