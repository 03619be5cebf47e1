namespace Striate.Kernels;

/// <summary>Plain twin of <see cref="LocalResponseNorm"/>: each element's window summed directly, in double.</summary>
public static class LocalResponseNormReference
{
    public static void Forward(int n, int c, int s, int size, float alpha, float beta, float k,
        ReadOnlySpan<float> input, Span<float> output, Span<float> scale)
    {
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < s; i++)
                {
                    double sc = k + (double)alpha / size * WindowSquares(b, ch, i, n, c, s, size, input);
                    int at = (b * c + ch) * s + i;
                    scale[at] = (float)sc;
                    output[at] = (float)(input[at] / Math.Pow(sc, beta));
                }
    }

    private static double WindowSquares(int b, int ch, int i, int n, int c, int s, int size, ReadOnlySpan<float> input)
    {
        double sum = 0;
        for (int j = ch - size / 2; j <= ch + (size - 1) / 2; j++)
            if (j >= 0 && j < c) { double a = input[(b * c + j) * s + i]; sum += a * a; }
        return sum;
    }

    public static void Backward(int n, int c, int s, int size, float alpha, float beta,
        ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> scale, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < s; i++)
                {
                    int at = (b * c + ch) * s + i;
                    double g = gradOutput[at] * Math.Pow(scale[at], -beta);
                    // Every output channel j whose window contains ch.
                    for (int j = 0; j < c; j++)
                    {
                        if (ch < j - size / 2 || ch > j + (size - 1) / 2) continue;
                        int jt = (b * c + j) * s + i;
                        g -= 2.0 * alpha * beta / size * input[at] * gradOutput[jt] * output[jt] / scale[jt];
                    }
                    gradInput[at] = (float)g;
                }
    }
}
