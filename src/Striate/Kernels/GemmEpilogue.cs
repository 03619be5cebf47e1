namespace Striate.Kernels;

/// <summary>
/// What a GEMM does to C as it stores the last depth block, instead of more passes over C afterwards:
/// C[i, j] = clamp(product[i, j] + beta · C[i, j] + Bias[i] + Residual[i, j], Lo, Hi). A convolution's output
/// channels are C's rows, so its bias is per row; ReLU is [0, +∞), ReLU6 [0, 6], none (−∞, +∞).
/// Shapes: Bias [m] or null; Residual [m, Ldr] (row i at Residual + i·Ldr) or null, never overlapping C.
/// </summary>
internal readonly unsafe struct GemmEpilogue(float* bias, float* residual, nint ldr, float lo, float hi)
{
    public readonly float* Bias = bias, Residual = residual;
    public readonly nint Ldr = ldr;
    public readonly float Lo = lo, Hi = hi;

    /// <summary>No bias, no residual, no clamp.</summary>
    public static GemmEpilogue None => new(null, null, 0, float.NegativeInfinity, float.PositiveInfinity);

    /// <summary>Whether the output is clamped at all.</summary>
    public bool Clamps => !float.IsNegativeInfinity(Lo) || !float.IsPositiveInfinity(Hi);

    /// <summary>True when the store does nothing beyond C = product + beta · C.</summary>
    public bool IsEmpty => Bias == null && Residual == null && !Clamps;

    /// <summary>The epilogue of the sub-matrix starting at row <paramref name="i"/>, column <paramref name="j"/>.</summary>
    public GemmEpilogue At(int i, int j) =>
        new(Bias == null ? null : Bias + i, Residual == null ? null : Residual + i * Ldr + j, Ldr, Lo, Hi);

    /// <summary>
    /// C [m, n] (row stride ldc) ← clamp(C + Bias + Residual) as separate vector passes, for the paths whose
    /// store has no epilogue of its own (few rows, k = 0).
    /// </summary>
    public void ApplyTo(float* c, int m, int n, nint ldc)
    {
        if (IsEmpty) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + i * ldc, n);
            if (Bias != null) SpanMath.Add(row, Bias[i], row);
            if (Residual != null) SpanMath.Add(row, new ReadOnlySpan<float>(Residual + i * Ldr, n), row);
            if (Clamps) Hardtanh.Forward(row, Lo, Hi, row);
        }
    }
}

/// <summary>
/// How one microkernel call stores its MR×NR tile: how many of its rows and columns are inside C (edge tiles
/// store only those, with masked stores where the ISA has them), and the epilogue, already offset to the tile.
/// <see cref="Plain"/> is the common case: a whole tile, C = product + beta · C.
/// </summary>
internal readonly unsafe struct GemmTileStore
{
    public readonly int Rows, Cols;
    public readonly float* Bias, Residual;
    public readonly nint Ldr;
    public readonly float Lo, Hi;
    public readonly bool Clamp, Plain;

    public GemmTileStore(int rows, int cols, bool whole, in GemmEpilogue e)
    {
        Rows = rows;
        Cols = cols;
        Bias = e.Bias;
        Residual = e.Residual;
        Ldr = e.Ldr;
        Lo = e.Lo;
        Hi = e.Hi;
        Clamp = e.Clamps;
        Plain = whole && e.IsEmpty;
    }
}
