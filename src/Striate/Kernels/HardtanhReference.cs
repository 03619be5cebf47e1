namespace Striate.Kernels;

/// <summary>Plain scalar twin of <see cref="Hardtanh"/>, written from the definition with Math.Clamp-free branches.</summary>
public static class HardtanhReference
{
    /// <summary>y = minVal if x &lt; minVal, maxVal if x &gt; maxVal, else x (NaN stays NaN).</summary>
    public static void Forward(ReadOnlySpan<float> x, float minVal, float maxVal, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            if (float.IsNaN(v)) y[i] = v;
            else if (v < minVal) y[i] = minVal;
            else if (v > maxVal) y[i] = maxVal;
            else y[i] = v;
        }
    }

    /// <summary>dx = 0 where x ≤ minVal or x ≥ maxVal, else dy.</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, float minVal, float maxVal, Span<float> dx)
    {
        for (int i = 0; i < x.Length; i++) dx[i] = x[i] <= minVal || x[i] >= maxVal ? 0f : dy[i];
    }
}
