using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Products of a few rows with a large weight matrix read in place, as a linear layer runs at small batch:
/// C [m, n] = A [m, k] · B [n, k]ᵀ + bias, B being the layer's weight [out, in]. At m = 1 this is a matrix-vector
/// product bound by memory (AlexNet's fc6 streams 151 MB for 75 MFLOP), so B is read exactly once, row after row
/// as it lies, by both threads, with no packed copy: each task owns a range of B's rows and takes them four at a
/// time, every loaded vector of B feeding one fused multiply-add per row of A held in registers (up to four rows of
/// A on AVX-512, two where there are 16 vector registers). Rows of A beyond a register tile re-read the four rows
/// of B from L2, not from memory. The bias (per column of C, one per output feature) is added as C is stored.
/// The plain twin is <see cref="MultiplyTransposedReference"/>.
/// Shapes: A [m, k] (row stride lda), B [n, k] (row stride ldb), bias [n] or null, C [m, n] (row stride ldc).
/// </summary>
internal static unsafe class Gemv
{
    /// <summary>Rows of A up to which reading B in place beats packing it for the blocked GEMM.</summary>
    public const int MaxRows = 16;

    /// <summary>Rows of B per register tile: four concurrent streams, enough for the prefetchers to keep memory busy.</summary>
    private const int WeightRows = 4;

    /// <summary>C [m, n] = A [m, k] · B [n, k]ᵀ (+ bias [n] per column) on the fastest path, all kernel threads.</summary>
    public static void MultiplyTransposed(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        ReadOnlySpan<float> bias, Span<float> c, int ldc)
        => MultiplyTransposed(Gemm.BestPath, KernelThreads.Count, m, n, k, a, lda, b, ldb, bias, c, ldc);

    /// <summary>As above on a given path and thread budget (tests force each path). An empty <paramref name="bias"/> adds none.</summary>
    public static void MultiplyTransposed(GemmPath path, int threads, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, Span<float> c, int ldc)
    {
        Gemm.Validate(false, true, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (!bias.IsEmpty && bias.Length < n) throw new ArgumentException($"Gemv: bias has {bias.Length} elements for {n} columns of C.", nameof(bias));
        if (!Gemm.IsSupported(path)) throw new PlatformNotSupportedException($"Gemv: path {path} is not accelerated on this machine.");
        if (m == 0 || n == 0) return;
        fixed (float* pa = a, pb = b, pbias = bias, pc = c)
            MultiplyTransposed(path, threads, m, n, k, pa, lda, pb, ldb, bias.IsEmpty ? null : pbias, pc, ldc);
    }

    /// <summary>The pointer form of <see cref="MultiplyTransposed(GemmPath, int, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, Span{float}, int)"/>; sizes already checked.</summary>
    internal static void MultiplyTransposed(GemmPath path, int threads, int m, int n, int k, float* a, nint lda, float* b, nint ldb,
        float* bias, float* c, nint ldc)
    {
        if (m <= 0 || n <= 0) return;
        if ((long)m * n * k < Gemm.ParallelThreshold) threads = 1;
        int groups = (n + WeightRows - 1) / WeightRows;
        // About 16 tasks per thread: ParallelFor's shrinking claims even out a thread that is slowed down (the other
        // helpers' processes, a noisy neighbour) while each task still streams ≥ 4 rows of B.
        int tasks = Math.Max(1, Math.Min(groups, threads * 16));
        var body = new TransposedBody(path, m, n, k, a, lda, b, ldb, bias, c, ldc, groups, tasks);
        if (threads <= 1 || tasks == 1) for (int t = 0; t < tasks; t++) body.Invoke(t);
        else ParallelFor.Run(tasks, ref body, threads);
    }

    private readonly struct TransposedBody(GemmPath path, int m, int n, int k, float* a, nint lda, float* b, nint ldb,
        float* bias, float* c, nint ldc, int groups, int tasks) : IParallelBody
    {
        public void Invoke(int task)
        {
            int g0 = (int)((long)groups * task / tasks), g1 = (int)((long)groups * (task + 1) / tasks);
            int j0 = g0 * WeightRows, j1 = Math.Min(n, g1 * WeightRows);
            switch (path)
            {
                case GemmPath.Vector512: Rows<Simd512, Vector512<float>>(4, j0, j1); break;
                case GemmPath.Vector256: Rows<Simd256, Vector256<float>>(2, j0, j1); break;
                case GemmPath.Vector128: Rows<Simd128, Vector128<float>>(2, j0, j1); break;
                default: MultiplyTransposedReference(m, j1 - j0, k, a, lda, b + j0 * ldb, ldb, bias == null ? null : bias + j0, c + j0, ldc); break;
            }
        }

        // Columns [j0, j1) of C: B's rows four at a time (the last group's missing rows repeat its last row and are
        // not stored), A's rows in register tiles of up to maxTile.
        private void Rows<TS, TV>(int maxTile, int j0, int j1) where TS : struct, ISimdFloat<TV> where TV : struct
        {
            float* sums = stackalloc float[4 * WeightRows]; // sums: [tile rows of A ≤ 4][WeightRows]
            for (int j = j0; j < j1; j += WeightRows)
            {
                int rows = Math.Min(WeightRows, j1 - j);
                float* b0 = b + j * ldb;
                float* b1 = b + (j + Math.Min(1, rows - 1)) * ldb;
                float* b2 = b + (j + Math.Min(2, rows - 1)) * ldb;
                float* b3 = b + (j + Math.Min(3, rows - 1)) * ldb;
                for (int i = 0; i < m; i += maxTile)
                {
                    int tile = Math.Min(maxTile, m - i);
                    float* ai = a + i * lda;
                    switch (tile)
                    {
                        case 1: Tile<TS, TV, C1>(ai, lda, b0, b1, b2, b3, k, sums); break;
                        case 2: Tile<TS, TV, C2>(ai, lda, b0, b1, b2, b3, k, sums); break;
                        case 3: Tile<TS, TV, C3>(ai, lda, b0, b1, b2, b3, k, sums); break;
                        default: Tile<TS, TV, C4>(ai, lda, b0, b1, b2, b3, k, sums); break;
                    }
                    for (int r = 0; r < tile; r++)
                    {
                        float* ci = c + (i + r) * ldc + j;
                        for (int q = 0; q < rows; q++) ci[q] = bias == null ? sums[r * WeightRows + q] : sums[r * WeightRows + q] + bias[j + q];
                    }
                }
            }
        }
    }

    /// <summary>
    /// sums[r·4 + q] = Σ_p a[r·lda + p] · b_q[p] for the TR (1–4) rows of A and the four rows of B: 4·TR vector
    /// accumulators over the whole depth, summed across lanes once at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TS, TV, TR>(float* a, nint lda, float* b0, float* b1, float* b2, float* b3, int k, float* sums)
        where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant
    {
        int tr = TR.Value, l = TS.Length;
        float* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
        TV s00 = TS.Zero, s01 = TS.Zero, s02 = TS.Zero, s03 = TS.Zero;
        TV s10 = TS.Zero, s11 = TS.Zero, s12 = TS.Zero, s13 = TS.Zero;
        TV s20 = TS.Zero, s21 = TS.Zero, s22 = TS.Zero, s23 = TS.Zero;
        TV s30 = TS.Zero, s31 = TS.Zero, s32 = TS.Zero, s33 = TS.Zero;
        int p = 0;
        for (; p <= k - l; p += l)
        {
            TV w0 = TS.Load(b0 + p), w1 = TS.Load(b1 + p), w2 = TS.Load(b2 + p), w3 = TS.Load(b3 + p);
            TV x = TS.Load(a + p);
            s00 = TS.Fma(w0, x, s00); s01 = TS.Fma(w1, x, s01); s02 = TS.Fma(w2, x, s02); s03 = TS.Fma(w3, x, s03);
            if (tr > 1)
            {
                x = TS.Load(a1 + p);
                s10 = TS.Fma(w0, x, s10); s11 = TS.Fma(w1, x, s11); s12 = TS.Fma(w2, x, s12); s13 = TS.Fma(w3, x, s13);
            }
            if (tr > 2)
            {
                x = TS.Load(a2 + p);
                s20 = TS.Fma(w0, x, s20); s21 = TS.Fma(w1, x, s21); s22 = TS.Fma(w2, x, s22); s23 = TS.Fma(w3, x, s23);
            }
            if (tr > 3)
            {
                x = TS.Load(a3 + p);
                s30 = TS.Fma(w0, x, s30); s31 = TS.Fma(w1, x, s31); s32 = TS.Fma(w2, x, s32); s33 = TS.Fma(w3, x, s33);
            }
        }
        sums[0] = Sum<TV>(s00); sums[1] = Sum<TV>(s01); sums[2] = Sum<TV>(s02); sums[3] = Sum<TV>(s03);
        if (tr > 1) { sums[4] = Sum<TV>(s10); sums[5] = Sum<TV>(s11); sums[6] = Sum<TV>(s12); sums[7] = Sum<TV>(s13); }
        if (tr > 2) { sums[8] = Sum<TV>(s20); sums[9] = Sum<TV>(s21); sums[10] = Sum<TV>(s22); sums[11] = Sum<TV>(s23); }
        if (tr > 3) { sums[12] = Sum<TV>(s30); sums[13] = Sum<TV>(s31); sums[14] = Sum<TV>(s32); sums[15] = Sum<TV>(s33); }
        // The depth's last k mod (vector length) elements.
        for (; p < k; p++)
        for (int r = 0; r < tr; r++)
        {
            float x = a[r * lda + p];
            sums[r * 4 + 0] = MathF.FusedMultiplyAdd(b0[p], x, sums[r * 4 + 0]);
            sums[r * 4 + 1] = MathF.FusedMultiplyAdd(b1[p], x, sums[r * 4 + 1]);
            sums[r * 4 + 2] = MathF.FusedMultiplyAdd(b2[p], x, sums[r * 4 + 2]);
            sums[r * 4 + 3] = MathF.FusedMultiplyAdd(b3[p], x, sums[r * 4 + 3]);
        }
    }

    /// <summary>The sum of a vector's lanes (the JIT keeps only the branch of TV).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum<TV>(TV v) where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>)) return Vector512.Sum(Unsafe.As<TV, Vector512<float>>(ref v));
        if (typeof(TV) == typeof(Vector256<float>)) return Vector256.Sum(Unsafe.As<TV, Vector256<float>>(ref v));
        return Vector128.Sum(Unsafe.As<TV, Vector128<float>>(ref v));
    }

    /// <summary>The plain twin and the scalar path: one dot product per element of C, then its bias.</summary>
    internal static void MultiplyTransposedReference(int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* bias, float* c, nint ldc)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            float sum = 0f;
            for (int p = 0; p < k; p++) sum += a[i * lda + p] * b[j * ldb + p];
            c[i * ldc + j] = bias == null ? sum : sum + bias[j];
        }
    }
}
