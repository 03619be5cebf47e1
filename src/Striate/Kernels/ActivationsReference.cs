namespace Striate.Kernels;

/// <summary>Plain scalar twins of <see cref="Activations"/>, computed in double from the textbook formulas.</summary>
public static class ActivationsReference
{
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = float.IsNaN(x[i]) ? float.NaN : x[i] > 0 ? x[i] : 0f; }
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) { for (int i = 0; i < y.Length; i++) dx[i] = y[i] > 0 ? dy[i] : 0f; }
    public static void LeakyRelu(ReadOnlySpan<float> x, float slope, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : x[i] * slope; }
    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, float slope, Span<float> dx) { for (int i = 0; i < x.Length; i++) dx[i] = x[i] > 0 ? dy[i] : dy[i] * slope; }
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = (float)(1 / (1 + Math.Exp(-(double)x[i]))); }
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) { for (int i = 0; i < y.Length; i++) dx[i] = (float)((double)dy[i] * y[i] * (1 - (double)y[i])); }
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) { for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Tanh(x[i]); }
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) { for (int i = 0; i < y.Length; i++) dx[i] = (float)(dy[i] * (1 - (double)y[i] * y[i])); }
}
