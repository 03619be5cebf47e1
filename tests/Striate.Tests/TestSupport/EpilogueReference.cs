using Striate.Kernels;

namespace Striate.Tests.TestSupport;

/// <summary>
/// The plain twin of a 1×1 convolution's GEMM with its epilogue fused (the pointwise kernels' tests): y = clamp(W·x +
/// bias + residual) per output channel i and pixel j, the product by <see cref="GemmReference.Sgemm"/>.
/// Shapes: w [m, k], x [k, n], bias [m] or null, residual [m, n] or null → [m, n].
/// </summary>
public static class EpilogueReference
{
    public static float[] Pointwise(int m, int n, int k, float[] w, float[] x, float[]? bias, float[]? residual, (float Lo, float Hi) clamp)
    {
        var y = new float[m * n];
        GemmReference.Sgemm(false, false, m, n, k, 1f, w, k, x, n, 0f, y, n);
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            float v = y[i * n + j] + (bias != null ? bias[i] : 0f) + (residual != null ? residual[i * n + j] : 0f);
            y[i * n + j] = MathF.Min(MathF.Max(v, clamp.Lo), clamp.Hi);
        }
        return y;
    }
}
