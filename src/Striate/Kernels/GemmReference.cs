namespace Striate.Kernels;

/// <summary>
/// The plain twin of <see cref="Gemm"/>: three loops, double accumulation. It is the specification the fast
/// kernel is tested against.
/// </summary>
public static class GemmReference
{
    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C, row-major, where op(X) is X or Xᵀ.
    /// Shapes: op(A) [m, k], op(B) [k, n], C [m, n]; A is stored [m, lda] (or [k, lda] when transposed),
    /// B is stored [k, ldb] (or [n, ldb]), C is stored [m, ldc].
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Gemm.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int p = 0; p < k; p++)
            {
                float av = transA ? a[p * lda + i] : a[i * lda + p];
                float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                sum += (double)av * bv;
            }
            ref float cij = ref c[i * ldc + j];
            // beta == 0 must ignore C entirely (it may hold NaN from a recycled buffer), as BLAS does.
            cij = beta == 0 ? (float)(alpha * sum) : (float)(alpha * sum + beta * (double)cij);
        }
    }

    /// <summary>
    /// The GEMM epilogue's specification: C[i, j] = clamp(C[i, j] + bias[i] + residual[i, j], lo, hi), where clamp is
    /// min(max(·, lo), hi) and NaN passes through. Shapes: C [m, ldc], bias [m] or empty, residual [m, ldr] or empty.
    /// </summary>
    public static void Epilogue(int m, int n, Span<float> c, int ldc, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual, int ldr, float lo, float hi)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            float v = c[i * ldc + j];
            if (!bias.IsEmpty) v += bias[i];
            if (!residual.IsEmpty) v += residual[i * ldr + j];
            c[i * ldc + j] = v < lo ? lo : v > hi ? hi : v;
        }
    }
}
