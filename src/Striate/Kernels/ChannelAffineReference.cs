namespace Striate.Kernels;

/// <summary>The plain twin of <see cref="ChannelAffine"/>: one element at a time, in double.</summary>
public static class ChannelAffineReference
{
    /// <summary>y[n, c, i] = act(x[n, c, i]·scale[c] + shift[c]).</summary>
    public static void Forward(int n, int c, int s, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu, Span<float> y) =>
        ForwardInto(n, c, s, x, scale, shift, relu, y, c, 0);

    /// <summary>y[n, yChannelOffset + c, i] = act(x[n, c, i]·scale[c] + shift[c]); y's other channels untouched.</summary>
    public static void ForwardInto(int n, int c, int s, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu,
        Span<float> y, int yChannels, int yChannelOffset)
    {
        ChannelAffine.CheckInto(n, c, s, x.Length, scale.Length, shift.Length, y.Length, yChannels, yChannelOffset);
        for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
        for (int j = 0; j < s; j++)
        {
            double v = (double)x[(i * c + ch) * s + j] * scale[ch] + shift[ch];
            y[(i * yChannels + yChannelOffset + ch) * s + j] = (float)(relu && v < 0 ? 0 : v);
        }
    }
    /// <summary>
    /// y[n, c, i, j] = mean of act(x[n, c, 2i + di, 2j + dj]·scale[c] + shift[c]) over di, dj ∈ {0, 1}: the
    /// normalized, activated input pooled 2×2 with stride 2 (floor: an odd last row or column is in no window).
    /// </summary>
    public static void ForwardAvgPool2x2(int n, int c, int h, int w, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu,
        Span<float> y)
    {
        int outH = h / 2, outW = w / 2;
        for (int p = 0; p < n * c; p++)
        for (int i = 0; i < outH; i++)
        for (int j = 0; j < outW; j++)
        {
            double sum = 0;
            for (int di = 0; di < 2; di++)
            for (int dj = 0; dj < 2; dj++)
            {
                double v = (double)x[(p * h + 2 * i + di) * w + 2 * j + dj] * scale[p % c] + shift[p % c];
                sum += relu && v < 0 ? 0 : v;
            }
            y[(p * outH + i) * outW + j] = (float)(sum / 4);
        }
    }
}
