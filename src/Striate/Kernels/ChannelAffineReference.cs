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
}
