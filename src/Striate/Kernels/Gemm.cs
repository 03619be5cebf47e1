namespace Striate.Kernels;

/// <summary>
/// Single-precision matrix multiply, the engine under linear layers and most convolutions.
/// (Placeholder dispatch: forwards to the reference until the packed SIMD kernel lands.)
/// </summary>
public static class Gemm
{
    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C, row-major, where op(X) is X or Xᵀ. When beta is 0, C is not read.
    /// Shapes: op(A) [m, k], op(B) [k, n], C [m, n]; A is stored [m, lda] (or [k, lda] when transposed),
    /// B is stored [k, ldb] (or [n, ldb]), C is stored [m, ldc].
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Checks sizes and leading dimensions against the spans, naming what is wrong.</summary>
    internal static void Validate(bool transA, bool transB, int m, int n, int k, int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Sgemm: sizes must be non-negative, got m={m}, n={n}, k={k}.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckMatrix("A", aRows, aCols, lda, aLength);
        CheckMatrix("B", bRows, bCols, ldb, bLength);
        CheckMatrix("C", m, n, ldc, cLength);
    }

    private static void CheckMatrix(string name, int rows, int cols, int ld, int length)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"Sgemm: ld{name.ToLowerInvariant()} = {ld} is smaller than the {cols} columns of {name} ({rows}×{cols}).");
        if (rows > 0 && cols > 0 && (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"Sgemm: {name} is {rows}×{cols} with leading dimension {ld}, needing {(long)(rows - 1) * ld + cols} elements, but its span has {length}.");
    }
}
