using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Register-blocked products with a tiny side, for the small convolutions of the batched path (LeNet's 1→6 and
/// 6→16): <c>RowCombinations</c> c = a·b with few rows of a, and <see cref="RowDots"/> c = a·bᵀ with a short
/// result and a long inner dimension. Both keep 16 AVX-512 accumulators in registers, so each loaded vector feeds
/// several FMAs instead of one (the scalar-row and one-dot-per-entry forms they replace are load-bound).
/// Missing rows of a block are clamped to the last valid row (computed redundantly, never stored).
/// Shapes: RowCombinations a [m, k] · b [k, n] → c [m, n] (m ≤ 16 is the intended case; row strides may be given); RowDots a [m, n] · b [k, n]ᵀ → c [m, k].
/// </summary>
internal static unsafe class SmallProducts
{
    /// <summary>The most rows of a that <c>RowCombinations</c> is meant for (two register blocks of 8).</summary>
    public const int MaxRows = 16;

    /// <summary>c [m, n] = a [m, k] · b [k, n], all row-major and dense (row strides k, n, n).</summary>
    public static void RowCombinations(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c) =>
        RowCombinations(m, k, n, a, b, n, c, n);

    /// <summary>c [m, n] (row stride ldc) = a [m, k] (dense) · b [k, n] (row stride ldb).</summary>
    public static void RowCombinations(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        if (m <= 0 || n <= 0) return;
        if (a.Length < m * k || (k > 0 && b.Length < (long)(k - 1) * ldb + n) || c.Length < (long)(m - 1) * ldc + n)
            throw new ArgumentException("RowCombinations: span too short.");
        if (!Vector512.IsHardwareAccelerated || k <= 0)
        {
            RowCombinationsReference(m, k, n, a, b, ldb, c, ldc);
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
        {
            for (int o0 = 0; o0 < m; o0 += 8)
            {
                int rows = Math.Min(8, m - o0);
                float* ao = pa + o0 * k, co = pc + (long)o0 * ldc;
                int j = 0;
                for (; j <= n - 32; j += 32) Block32(ao, k, rows, pb + j, ldb, co + j, ldc);
                if (j <= n - 16) { Block16(ao, k, rows, pb + j, ldb, co + j, ldc); j += 16; }
                if (j < n)
                {
                    // Fewer than 16 columns left: redo the last 16 (same arithmetic, same values) when there are 16.
                    if (n >= 16) Block16(ao, k, rows, pb + n - 16, ldb, co + n - 16, ldc);
                    else
                        for (int o = 0; o < rows; o++)
                        for (int jj = j; jj < n; jj++)
                        {
                            float sum = 0f;
                            for (int r = 0; r < k; r++) sum = MathF.FusedMultiplyAdd(ao[o * k + r], pb[(long)r * ldb + jj], sum);
                            co[(long)o * ldc + jj] = sum;
                        }
                }
            }
        }
    }

    // c[0..rows, 0..32) = a[0..rows, :] · b[:, 0..32); rows ≤ 8, missing rows clamped to the last and not stored.
    private static void Block32(float* a, int k, int rows, float* b, int ldb, float* c, int ldc)
    {
        int last = rows - 1;
        float* w0 = a, w1 = a + Math.Min(1, last) * k, w2 = a + Math.Min(2, last) * k, w3 = a + Math.Min(3, last) * k;
        float* w4 = a + Math.Min(4, last) * k, w5 = a + Math.Min(5, last) * k, w6 = a + Math.Min(6, last) * k, w7 = a + Math.Min(7, last) * k;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        float* br = b;
        for (int r = 0; r < k; r++, br += ldb)
        {
            var b0 = Vector512.Load(br);
            var b1 = Vector512.Load(br + 16);
            var s = Vector512.Create(w0[r]); c00 = Vector512.FusedMultiplyAdd(s, b0, c00); c01 = Vector512.FusedMultiplyAdd(s, b1, c01);
            s = Vector512.Create(w1[r]); c10 = Vector512.FusedMultiplyAdd(s, b0, c10); c11 = Vector512.FusedMultiplyAdd(s, b1, c11);
            s = Vector512.Create(w2[r]); c20 = Vector512.FusedMultiplyAdd(s, b0, c20); c21 = Vector512.FusedMultiplyAdd(s, b1, c21);
            s = Vector512.Create(w3[r]); c30 = Vector512.FusedMultiplyAdd(s, b0, c30); c31 = Vector512.FusedMultiplyAdd(s, b1, c31);
            s = Vector512.Create(w4[r]); c40 = Vector512.FusedMultiplyAdd(s, b0, c40); c41 = Vector512.FusedMultiplyAdd(s, b1, c41);
            s = Vector512.Create(w5[r]); c50 = Vector512.FusedMultiplyAdd(s, b0, c50); c51 = Vector512.FusedMultiplyAdd(s, b1, c51);
            s = Vector512.Create(w6[r]); c60 = Vector512.FusedMultiplyAdd(s, b0, c60); c61 = Vector512.FusedMultiplyAdd(s, b1, c61);
            s = Vector512.Create(w7[r]); c70 = Vector512.FusedMultiplyAdd(s, b0, c70); c71 = Vector512.FusedMultiplyAdd(s, b1, c71);
        }
        c00.Store(c); c01.Store(c + 16);
        if (rows > 1) { c10.Store(c + ldc); c11.Store(c + ldc + 16); }
        if (rows > 2) { c20.Store(c + 2 * ldc); c21.Store(c + 2 * ldc + 16); }
        if (rows > 3) { c30.Store(c + 3 * ldc); c31.Store(c + 3 * ldc + 16); }
        if (rows > 4) { c40.Store(c + 4 * ldc); c41.Store(c + 4 * ldc + 16); }
        if (rows > 5) { c50.Store(c + 5 * ldc); c51.Store(c + 5 * ldc + 16); }
        if (rows > 6) { c60.Store(c + 6 * ldc); c61.Store(c + 6 * ldc + 16); }
        if (rows > 7) { c70.Store(c + 7 * ldc); c71.Store(c + 7 * ldc + 16); }
    }

    // As Block32 for 16 columns.
    private static void Block16(float* a, int k, int rows, float* b, int ldb, float* c, int ldc)
    {
        int last = rows - 1;
        float* w0 = a, w1 = a + Math.Min(1, last) * k, w2 = a + Math.Min(2, last) * k, w3 = a + Math.Min(3, last) * k;
        float* w4 = a + Math.Min(4, last) * k, w5 = a + Math.Min(5, last) * k, w6 = a + Math.Min(6, last) * k, w7 = a + Math.Min(7, last) * k;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        float* br = b;
        for (int r = 0; r < k; r++, br += ldb)
        {
            var b0 = Vector512.Load(br);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(w0[r]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(w1[r]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(w2[r]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(w3[r]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(w4[r]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(w5[r]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(w6[r]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(w7[r]), b0, c7);
        }
        c0.Store(c);
        if (rows > 1) c1.Store(c + ldc);
        if (rows > 2) c2.Store(c + 2 * ldc);
        if (rows > 3) c3.Store(c + 3 * ldc);
        if (rows > 4) c4.Store(c + 4 * ldc);
        if (rows > 5) c5.Store(c + 5 * ldc);
        if (rows > 6) c6.Store(c + 6 * ldc);
        if (rows > 7) c7.Store(c + 7 * ldc);
    }

    /// <summary>The twin of <see cref="RowCombinations(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>: one scaled row addition per (row, r).</summary>
    public static void RowCombinationsReference(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c) =>
        RowCombinationsReference(m, k, n, a, b, n, c, n);

    /// <summary>The twin of the strided <see cref="RowCombinations(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, int, Span{float}, int)"/>.</summary>
    public static void RowCombinationsReference(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
    {
        for (int o = 0; o < m; o++)
        {
            var cRow = c.Slice(o * ldc, n);
            if (k == 0) { cRow.Clear(); continue; }
            SpanMath.Multiply(b.Slice(0, n), a[o * k], cRow);
            for (int r = 1; r < k; r++) SpanMath.MultiplyAdd(b.Slice(r * ldb, n), a[o * k + r], cRow, cRow);
        }
    }

    /// <summary>c [m, k] = a [m, n] · b [k, n]ᵀ, or c += that when <paramref name="accumulate"/>; dense row-major.</summary>
    public static void RowDots(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        if (!Vector512.IsHardwareAccelerated || m <= 0 || k <= 0)
        {
            RowDotsReference(m, k, n, a, b, c, accumulate);
            return;
        }
        if (a.Length < (long)m * n || b.Length < (long)k * n || c.Length < m * k) throw new ArgumentException("RowDots: span too short.");
        fixed (float* pa = a, pb = b, pc = c)
        {
            for (int i0 = 0; i0 < m; i0 += 4)
            {
                float* a0 = pa + (long)i0 * n, a1 = pa + (long)Math.Min(i0 + 1, m - 1) * n, a2 = pa + (long)Math.Min(i0 + 2, m - 1) * n, a3 = pa + (long)Math.Min(i0 + 3, m - 1) * n;
                for (int j0 = 0; j0 < k; j0 += 4)
                {
                    float* b0 = pb + (long)j0 * n, b1 = pb + (long)Math.Min(j0 + 1, k - 1) * n, b2 = pb + (long)Math.Min(j0 + 2, k - 1) * n, b3 = pb + (long)Math.Min(j0 + 3, k - 1) * n;
                    Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
                    Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
                    int t = 0;
                    for (; t <= n - 16; t += 16)
                    {
                        var x0 = Vector512.Load(a0 + t); var x1 = Vector512.Load(a1 + t); var x2 = Vector512.Load(a2 + t); var x3 = Vector512.Load(a3 + t);
                        var y = Vector512.Load(b0 + t);
                        s00 = Vector512.FusedMultiplyAdd(x0, y, s00); s10 = Vector512.FusedMultiplyAdd(x1, y, s10); s20 = Vector512.FusedMultiplyAdd(x2, y, s20); s30 = Vector512.FusedMultiplyAdd(x3, y, s30);
                        y = Vector512.Load(b1 + t);
                        s01 = Vector512.FusedMultiplyAdd(x0, y, s01); s11 = Vector512.FusedMultiplyAdd(x1, y, s11); s21 = Vector512.FusedMultiplyAdd(x2, y, s21); s31 = Vector512.FusedMultiplyAdd(x3, y, s31);
                        y = Vector512.Load(b2 + t);
                        s02 = Vector512.FusedMultiplyAdd(x0, y, s02); s12 = Vector512.FusedMultiplyAdd(x1, y, s12); s22 = Vector512.FusedMultiplyAdd(x2, y, s22); s32 = Vector512.FusedMultiplyAdd(x3, y, s32);
                        y = Vector512.Load(b3 + t);
                        s03 = Vector512.FusedMultiplyAdd(x0, y, s03); s13 = Vector512.FusedMultiplyAdd(x1, y, s13); s23 = Vector512.FusedMultiplyAdd(x2, y, s23); s33 = Vector512.FusedMultiplyAdd(x3, y, s33);
                    }
                    Store(pc, k, i0, j0, m, accumulate, t, n, a0, b0, s00); Store(pc, k, i0, j0 + 1, m, accumulate, t, n, a0, b1, s01);
                    Store(pc, k, i0, j0 + 2, m, accumulate, t, n, a0, b2, s02); Store(pc, k, i0, j0 + 3, m, accumulate, t, n, a0, b3, s03);
                    Store(pc, k, i0 + 1, j0, m, accumulate, t, n, a1, b0, s10); Store(pc, k, i0 + 1, j0 + 1, m, accumulate, t, n, a1, b1, s11);
                    Store(pc, k, i0 + 1, j0 + 2, m, accumulate, t, n, a1, b2, s12); Store(pc, k, i0 + 1, j0 + 3, m, accumulate, t, n, a1, b3, s13);
                    Store(pc, k, i0 + 2, j0, m, accumulate, t, n, a2, b0, s20); Store(pc, k, i0 + 2, j0 + 1, m, accumulate, t, n, a2, b1, s21);
                    Store(pc, k, i0 + 2, j0 + 2, m, accumulate, t, n, a2, b2, s22); Store(pc, k, i0 + 2, j0 + 3, m, accumulate, t, n, a2, b3, s23);
                    Store(pc, k, i0 + 3, j0, m, accumulate, t, n, a3, b0, s30); Store(pc, k, i0 + 3, j0 + 1, m, accumulate, t, n, a3, b1, s31);
                    Store(pc, k, i0 + 3, j0 + 2, m, accumulate, t, n, a3, b2, s32); Store(pc, k, i0 + 3, j0 + 3, m, accumulate, t, n, a3, b3, s33);
                }
            }
        }
    }

    // One entry of RowDots: the vector partial summed across lanes, plus the scalar tail [t, n); skipped outside [m, k].
    private static void Store(float* pc, int k, int i, int j, int m, bool accumulate, int t, int n, float* a, float* b, Vector512<float> partial)
    {
        if (i >= m || j >= k) return;
        float sum = Vector512.Sum(partial);
        for (; t < n; t++) sum = MathF.FusedMultiplyAdd(a[t], b[t], sum);
        pc[i * k + j] = accumulate ? pc[i * k + j] + sum : sum;
    }

    /// <summary>The twin of <see cref="RowDots"/>: one <see cref="SpanMath.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> per entry.</summary>
    public static void RowDotsReference(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            var aRow = a.Slice(i * n, n);
            for (int j = 0; j < k; j++)
            {
                float dot = SpanMath.Dot(aRow, b.Slice(j * n, n));
                c[i * k + j] = accumulate ? c[i * k + j] + dot : dot;
            }
        }
    }
}
