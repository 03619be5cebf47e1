using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Register-blocked products with a tiny side, for the small convolutions of the batched path (LeNet's 1→6 and
/// 6→16): <see cref="RowCombinations"/> c = a·b with few rows of a, and <see cref="RowDots"/> c = a·bᵀ with a short
/// result and a long inner dimension. Both keep 16 AVX-512 accumulators in registers, so each loaded vector feeds
/// several FMAs instead of one (the scalar-row and one-dot-per-entry forms they replace are load-bound).
/// Missing rows of a block are clamped to the last valid row (computed redundantly, never stored).
/// Shapes: RowCombinations a [m, k] · b [k, n] → c [m, n] (m ≤ 8 is the intended case); RowDots a [m, n] · b [k, n]ᵀ → c [m, k].
/// </summary>
internal static unsafe class SmallProducts
{
    /// <summary>c [m, n] = a [m, k] · b [k, n], all row-major and dense (row strides k, n, n).</summary>
    public static void RowCombinations(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c)
    {
        if (!Vector512.IsHardwareAccelerated || m > 8 || m <= 0)
        {
            RowCombinationsReference(m, k, n, a, b, c);
            return;
        }
        if (a.Length < m * k || b.Length < (long)k * n || c.Length < (long)m * n) throw new ArgumentException("RowCombinations: span too short.");
        fixed (float* pa = a, pb = b, pc = c)
        {
            int last = m - 1;
            float* w0 = pa, w1 = pa + Math.Min(1, last) * k, w2 = pa + Math.Min(2, last) * k, w3 = pa + Math.Min(3, last) * k;
            float* w4 = pa + Math.Min(4, last) * k, w5 = pa + Math.Min(5, last) * k, w6 = pa + Math.Min(6, last) * k, w7 = pa + Math.Min(7, last) * k;
            int j = 0;
            for (; j <= n - 32; j += 32)
            {
                Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
                Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
                float* br = pb + j;
                for (int r = 0; r < k; r++, br += n)
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
                float* cj = pc + j;
                c00.Store(cj); c01.Store(cj + 16);
                if (m > 1) { c10.Store(cj + n); c11.Store(cj + n + 16); }
                if (m > 2) { c20.Store(cj + 2 * n); c21.Store(cj + 2 * n + 16); }
                if (m > 3) { c30.Store(cj + 3 * n); c31.Store(cj + 3 * n + 16); }
                if (m > 4) { c40.Store(cj + 4 * n); c41.Store(cj + 4 * n + 16); }
                if (m > 5) { c50.Store(cj + 5 * n); c51.Store(cj + 5 * n + 16); }
                if (m > 6) { c60.Store(cj + 6 * n); c61.Store(cj + 6 * n + 16); }
                if (m > 7) { c70.Store(cj + 7 * n); c71.Store(cj + 7 * n + 16); }
            }
            // Last columns (fewer than 32): scalar, same summation order over r.
            for (int o = 0; o < m; o++)
            for (int jj = j; jj < n; jj++)
            {
                float sum = 0f;
                for (int r = 0; r < k; r++) sum = MathF.FusedMultiplyAdd(pa[o * k + r], pb[(long)r * n + jj], sum);
                pc[(long)o * n + jj] = sum;
            }
        }
    }

    /// <summary>The twin of <see cref="RowCombinations"/>: one scaled row addition per (row, r), as the batched path did before.</summary>
    public static void RowCombinationsReference(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c)
    {
        for (int o = 0; o < m; o++)
        {
            var cRow = c.Slice(o * n, n);
            TensorPrimitives.Multiply(b.Slice(0, n), a[o * k], cRow);
            for (int r = 1; r < k; r++) TensorPrimitives.MultiplyAdd(b.Slice(r * n, n), a[o * k + r], cRow, cRow);
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

    /// <summary>The twin of <see cref="RowDots"/>: one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> per entry.</summary>
    public static void RowDotsReference(int m, int k, int n, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            var aRow = a.Slice(i * n, n);
            for (int j = 0; j < k; j++)
            {
                float dot = TensorPrimitives.Dot(aRow, b.Slice(j * n, n));
                c[i * k + j] = accumulate ? c[i * k + j] + dot : dot;
            }
        }
    }
}
