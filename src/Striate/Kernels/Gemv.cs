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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyTransposed(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        ReadOnlySpan<float> bias, Span<float> c, int ldc)
        => MultiplyTransposed(Gemm.BestPath, KernelThreads.Count, m, n, k, a, lda, b, ldb, bias, c, ldc);

    /// <summary>As above on a given path and thread budget (tests force each path). An empty <paramref name="bias"/> adds none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int task)
        {
            int g0 = (int)((long)groups * task / tasks), g1 = (int)((long)groups * (task + 1) / tasks);
            int j0 = g0 * WeightRows, j1 = Math.Min(n, g1 * WeightRows);
            switch (path)
            {
                case GemmPath.Vector512 when m <= 4: Rows<Simd512, Vector512<float>>(4, j0, j1); break;
                case GemmPath.Vector512: RowsBlocked<Simd512, Vector512<float>>(4, j0, j1); break;
                case GemmPath.Vector256 when m <= 2: Rows<Simd256, Vector256<float>>(2, j0, j1); break;
                case GemmPath.Vector256: RowsBlocked<Simd256, Vector256<float>>(2, j0, j1); break;
                case GemmPath.Vector128 when m <= 2: Rows<Simd128, Vector128<float>>(2, j0, j1); break;
                case GemmPath.Vector128: RowsBlocked<Simd128, Vector128<float>>(2, j0, j1); break;
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

        // More rows of A than one register tile (training batches): the depth in blocks of DepthBlock, outermost, so
        // that A's block [m, DepthBlock] stays in L1 while every weight row of the task passes through it once; each
        // (weight group, tile of A) keeps its 4·tile vector partial sums in scratch between blocks, summed across
        // lanes only at the end. Without the blocks every group of four weight rows re-read all of A from L2.
        private void RowsBlocked<TS, TV>(int maxTile, int j0, int j1) where TS : struct, ISimdFloat<TV> where TV : struct
        {
            int l = TS.Length, groups = (j1 - j0 + WeightRows - 1) / WeightRows, tiles = (m + maxTile - 1) / maxTile;
            int tileFloats = WeightRows * maxTile * l;
            int kv = k - k % l; // the vector part of the depth; the rest is added in scalar at the end
            // acc: [groups][tiles][tile rows ≤ maxTile][WeightRows][l] partial sums of the task's columns
            float* acc = GemmScratch.Get(groups * tiles * tileFloats);
            for (int p0 = 0; p0 < kv; p0 += DepthBlock)
            {
                int p1 = Math.Min(kv, p0 + DepthBlock);
                for (int g = 0; g < groups; g++)
                {
                    int j = j0 + g * WeightRows, rows = Math.Min(WeightRows, j1 - j);
                    float* b0 = b + j * ldb;
                    float* b1 = b + (j + Math.Min(1, rows - 1)) * ldb;
                    float* b2 = b + (j + Math.Min(2, rows - 1)) * ldb;
                    float* b3 = b + (j + Math.Min(3, rows - 1)) * ldb;
                    for (int t = 0; t < tiles; t++)
                    {
                        int i = t * maxTile;
                        float* ai = a + i * lda, at = acc + (g * tiles + t) * tileFloats;
                        switch (Math.Min(maxTile, m - i))
                        {
                            case 1: Block<TS, TV, C1>(ai, lda, b0, b1, b2, b3, p0, p1, at); break;
                            case 2: Block<TS, TV, C2>(ai, lda, b0, b1, b2, b3, p0, p1, at); break;
                            case 3: Block<TS, TV, C3>(ai, lda, b0, b1, b2, b3, p0, p1, at); break;
                            default: Block<TS, TV, C4>(ai, lda, b0, b1, b2, b3, p0, p1, at); break;
                        }
                    }
                }
            }
            for (int g = 0; g < groups; g++)
            {
                int j = j0 + g * WeightRows, rows = Math.Min(WeightRows, j1 - j);
                for (int i = 0; i < m; i++)
                {
                    int t = i / maxTile, r = i % maxTile;
                    float* partial = acc + (g * tiles + t) * tileFloats + r * WeightRows * l;
                    float* ai = a + i * lda, ci = c + i * ldc + j;
                    for (int q = 0; q < rows; q++)
                    {
                        float sum = 0f;
                        if (kv > 0)
                            for (int v = 0; v < l; v++) sum += partial[q * l + v];
                        float* bq = b + (j + q) * ldb;
                        for (int p = kv; p < k; p++) sum = MathF.FusedMultiplyAdd(ai[p], bq[p], sum);
                        ci[q] = bias == null ? sum : sum + bias[j + q];
                    }
                }
            }
        }
    }

    /// <summary>Floats of depth per block of <see cref="TransposedBody"/>'s blocked form: A's [16, 256] block is 16 KB of L1.</summary>
    private const int DepthBlock = 256;

    /// <summary>
    /// acc[(r·4 + q)·L ..] (+)= a[r·lda + p] · b_q[p] lane-wise over p in [p0, p1) (whole vectors), for the TR rows of A
    /// and the four rows of B; the first block (p0 = 0) starts from zero instead of reading acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TS, TV, TR>(float* a, nint lda, float* b0, float* b1, float* b2, float* b3, int p0, int p1, float* acc)
        where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant
    {
        int tr = TR.Value, l = TS.Length;
        float* a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
        bool first = p0 == 0;
        TV s00 = first ? TS.Zero : TS.Load(acc), s01 = first ? TS.Zero : TS.Load(acc + l), s02 = first ? TS.Zero : TS.Load(acc + 2 * l), s03 = first ? TS.Zero : TS.Load(acc + 3 * l);
        TV s10 = TS.Zero, s11 = TS.Zero, s12 = TS.Zero, s13 = TS.Zero;
        TV s20 = TS.Zero, s21 = TS.Zero, s22 = TS.Zero, s23 = TS.Zero;
        TV s30 = TS.Zero, s31 = TS.Zero, s32 = TS.Zero, s33 = TS.Zero;
        if (!first && tr > 1) { s10 = TS.Load(acc + 4 * l); s11 = TS.Load(acc + 5 * l); s12 = TS.Load(acc + 6 * l); s13 = TS.Load(acc + 7 * l); }
        if (!first && tr > 2) { s20 = TS.Load(acc + 8 * l); s21 = TS.Load(acc + 9 * l); s22 = TS.Load(acc + 10 * l); s23 = TS.Load(acc + 11 * l); }
        if (!first && tr > 3) { s30 = TS.Load(acc + 12 * l); s31 = TS.Load(acc + 13 * l); s32 = TS.Load(acc + 14 * l); s33 = TS.Load(acc + 15 * l); }
        for (int p = p0; p < p1; p += l)
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
        TS.Store(s00, acc); TS.Store(s01, acc + l); TS.Store(s02, acc + 2 * l); TS.Store(s03, acc + 3 * l);
        if (tr > 1) { TS.Store(s10, acc + 4 * l); TS.Store(s11, acc + 5 * l); TS.Store(s12, acc + 6 * l); TS.Store(s13, acc + 7 * l); }
        if (tr > 2) { TS.Store(s20, acc + 8 * l); TS.Store(s21, acc + 9 * l); TS.Store(s22, acc + 10 * l); TS.Store(s23, acc + 11 * l); }
        if (tr > 3) { TS.Store(s30, acc + 12 * l); TS.Store(s31, acc + 13 * l); TS.Store(s32, acc + 14 * l); TS.Store(s33, acc + 15 * l); }
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

    // ---- C = A · B with B [k, n] read in place (a linear layer's input gradient dX = dY · W) -------------------------

    /// <summary>C [m, n] = A [m, k] · B [k, n] on the fastest path, all kernel threads (B's row stride ldb).</summary>
    public static void Multiply(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc)
        => Multiply(Gemm.BestPath, KernelThreads.Count, m, n, k, a, lda, b, ldb, c, ldc);

    /// <summary>
    /// C [m, n] = A [m, k] · B [k, n] for m ≤ <see cref="MaxRows"/>, B read in place, as the blocked GEMM would after
    /// packing all of B (AlexNet's fc6 backward: the 151 MB weight copied once more per step). Each task owns a range
    /// of C's columns; over blocks of <see cref="RowBlock"/> rows of B, a register tile of up to 6 rows of A × 4 (AVX-512)
    /// or 2 vectors of C accumulates one broadcast of A times each loaded vector of B, and C's tile is read back
    /// between blocks from L1. B's rows are read in contiguous pieces of the task's width, each once from memory.
    /// </summary>
    public static void Multiply(GemmPath path, int threads, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc)
    {
        Gemm.Validate(false, false, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (!Gemm.IsSupported(path)) throw new PlatformNotSupportedException($"Gemv: path {path} is not accelerated on this machine.");
        if (m > MaxRows) throw new ArgumentException($"Gemv.Multiply: {m} rows of A; at most {MaxRows} (more go to the blocked GEMM).", nameof(m));
        if (m == 0 || n == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (k == 0)
            {
                for (int i = 0; i < m; i++) new Span<float>(pc + (long)i * ldc, n).Clear();
                return;
            }
            if ((long)m * n * k < Gemm.ParallelThreshold) threads = 1;
            int l = path switch { GemmPath.Vector512 => 16, GemmPath.Vector256 => 8, GemmPath.Vector128 => 4, _ => 1 };
            int width = path == GemmPath.Vector512 ? 4 * l : 2 * l; // columns per register tile
            int strips = (n + width - 1) / width;
            int tasks = Math.Max(1, Math.Min(strips, threads * 8));
            var body = new MultiplyBody(path, m, n, k, pa, lda, pb, ldb, pc, ldc, width, strips, tasks);
            if (threads <= 1 || tasks == 1) for (int t = 0; t < tasks; t++) body.Invoke(t);
            else ParallelFor.Run(tasks, ref body, threads);
        }
    }

    /// <summary>
    /// Whether <see cref="Multiply(int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int)"/>
    /// beats packing B for the blocked GEMM on this machine: with AVX-512's 64-column tiles it does (AlexNet's fc6 input
    /// gradient at 16 rows 22.2 → 17.3 ms); AVX2's 16-column tiles read each row of B one cache line at a time and were
    /// slower (23.2 → 28.5 ms; fc7 level), so there the GEMM keeps it until that tile is reworked.
    /// </summary>
    public static bool MultiplyBeatsPacking => Gemm.BestPath == GemmPath.Vector512;

    /// <summary>Rows of B per block of <see cref="Multiply(GemmPath, int, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int)"/>: C's tiles are read back once per block, B's rows are streamed side by side.</summary>
    private const int RowBlock = 32;

    private readonly struct MultiplyBody(GemmPath path, int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        int width, int strips, int tasks) : IParallelBody
    {
        public void Invoke(int task)
        {
            int c0 = (int)((long)strips * task / tasks) * width, c1 = Math.Min(n, (int)((long)strips * (task + 1) / tasks) * width);
            switch (path)
            {
                case GemmPath.Vector512: Columns<Simd512, Vector512<float>, C4>(c0, c1); break;
                case GemmPath.Vector256: Columns<Simd256, Vector256<float>, C2>(c0, c1); break;
                case GemmPath.Vector128: Columns<Simd128, Vector128<float>, C2>(c0, c1); break;
                default: MultiplyReference(m, c1 - c0, k, a, lda, b + c0, ldb, c + c0, ldc); break;
            }
        }

        private void Columns<TS, TV, TN>(int c0, int c1) where TS : struct, ISimdFloat<TV> where TV : struct where TN : struct, IConstant
        {
            int l = TS.Length, w = TN.Value * l;
            int whole = c0 + (c1 - c0) / w * w; // columns [whole, c1) are narrower than a tile: scalar, below
            for (int p0 = 0; p0 < k; p0 += RowBlock)
            {
                int p1 = Math.Min(k, p0 + RowBlock);
                for (int j = c0; j < whole; j += w)
                for (int i = 0; i < m; i += 6)
                {
                    float* ai = a + i * lda, ci = c + i * ldc + j, bj = b + j;
                    switch (Math.Min(6, m - i))
                    {
                        case 1: Strip<TS, TV, TN, C1>(ai, lda, bj, ldb, p0, p1, ci, ldc); break;
                        case 2: Strip<TS, TV, TN, C2>(ai, lda, bj, ldb, p0, p1, ci, ldc); break;
                        case 3: Strip<TS, TV, TN, C3>(ai, lda, bj, ldb, p0, p1, ci, ldc); break;
                        case 4: Strip<TS, TV, TN, C4>(ai, lda, bj, ldb, p0, p1, ci, ldc); break;
                        case 5: Strip<TS, TV, TN, C5>(ai, lda, bj, ldb, p0, p1, ci, ldc); break;
                        default: Strip<TS, TV, TN, C6>(ai, lda, bj, ldb, p0, p1, ci, ldc); break;
                    }
                }
            }
            if (whole < c1) MultiplyReference(m, c1 - whole, k, a, lda, b + whole, ldb, c + whole, ldc);
        }
    }

    /// <summary>
    /// C[TR rows, TN vectors] (+)= A[TR rows, p0..p1) · B[p0..p1), TN vectors): TR·TN accumulators (TR ≤ 6, TN ≤ 4),
    /// one broadcast of A per row and step; the first block (p0 = 0) starts from zero instead of reading C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strip<TS, TV, TN, TR>(float* a, nint lda, float* b, nint ldb, int p0, int p1, float* c, nint ldc)
        where TS : struct, ISimdFloat<TV> where TV : struct where TN : struct, IConstant where TR : struct, IConstant
    {
        int tr = TR.Value, tn = TN.Value, l = TS.Length;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c03 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero, c13 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c23 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero, c33 = TS.Zero;
        TV c40 = TS.Zero, c41 = TS.Zero, c42 = TS.Zero, c43 = TS.Zero, c50 = TS.Zero, c51 = TS.Zero, c52 = TS.Zero, c53 = TS.Zero;
        if (p0 > 0)
        {
            LoadRow<TS, TV, TN>(c, l, ref c00, ref c01, ref c02, ref c03);
            if (tr > 1) LoadRow<TS, TV, TN>(c + ldc, l, ref c10, ref c11, ref c12, ref c13);
            if (tr > 2) LoadRow<TS, TV, TN>(c + 2 * ldc, l, ref c20, ref c21, ref c22, ref c23);
            if (tr > 3) LoadRow<TS, TV, TN>(c + 3 * ldc, l, ref c30, ref c31, ref c32, ref c33);
            if (tr > 4) LoadRow<TS, TV, TN>(c + 4 * ldc, l, ref c40, ref c41, ref c42, ref c43);
            if (tr > 5) LoadRow<TS, TV, TN>(c + 5 * ldc, l, ref c50, ref c51, ref c52, ref c53);
        }
        float* bp = b + p0 * ldb;
        for (int p = p0; p < p1; p++, bp += ldb)
        {
            TV w0 = TS.Load(bp), w1 = TS.Load(bp + l), w2 = tn > 2 ? TS.Load(bp + 2 * l) : TS.Zero, w3 = tn > 2 ? TS.Load(bp + 3 * l) : TS.Zero;
            TV s = TS.Broadcast(a + p);
            c00 = TS.Fma(s, w0, c00); c01 = TS.Fma(s, w1, c01); if (tn > 2) { c02 = TS.Fma(s, w2, c02); c03 = TS.Fma(s, w3, c03); }
            if (tr > 1) { s = TS.Broadcast(a + lda + p); c10 = TS.Fma(s, w0, c10); c11 = TS.Fma(s, w1, c11); if (tn > 2) { c12 = TS.Fma(s, w2, c12); c13 = TS.Fma(s, w3, c13); } }
            if (tr > 2) { s = TS.Broadcast(a + 2 * lda + p); c20 = TS.Fma(s, w0, c20); c21 = TS.Fma(s, w1, c21); if (tn > 2) { c22 = TS.Fma(s, w2, c22); c23 = TS.Fma(s, w3, c23); } }
            if (tr > 3) { s = TS.Broadcast(a + 3 * lda + p); c30 = TS.Fma(s, w0, c30); c31 = TS.Fma(s, w1, c31); if (tn > 2) { c32 = TS.Fma(s, w2, c32); c33 = TS.Fma(s, w3, c33); } }
            if (tr > 4) { s = TS.Broadcast(a + 4 * lda + p); c40 = TS.Fma(s, w0, c40); c41 = TS.Fma(s, w1, c41); if (tn > 2) { c42 = TS.Fma(s, w2, c42); c43 = TS.Fma(s, w3, c43); } }
            if (tr > 5) { s = TS.Broadcast(a + 5 * lda + p); c50 = TS.Fma(s, w0, c50); c51 = TS.Fma(s, w1, c51); if (tn > 2) { c52 = TS.Fma(s, w2, c52); c53 = TS.Fma(s, w3, c53); } }
        }
        StoreRow<TS, TV, TN>(c, l, c00, c01, c02, c03);
        if (tr > 1) StoreRow<TS, TV, TN>(c + ldc, l, c10, c11, c12, c13);
        if (tr > 2) StoreRow<TS, TV, TN>(c + 2 * ldc, l, c20, c21, c22, c23);
        if (tr > 3) StoreRow<TS, TV, TN>(c + 3 * ldc, l, c30, c31, c32, c33);
        if (tr > 4) StoreRow<TS, TV, TN>(c + 4 * ldc, l, c40, c41, c42, c43);
        if (tr > 5) StoreRow<TS, TV, TN>(c + 5 * ldc, l, c50, c51, c52, c53);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadRow<TS, TV, TN>(float* c, int l, ref TV v0, ref TV v1, ref TV v2, ref TV v3)
        where TS : struct, ISimdFloat<TV> where TV : struct where TN : struct, IConstant
    {
        v0 = TS.Load(c); v1 = TS.Load(c + l);
        if (TN.Value > 2) { v2 = TS.Load(c + 2 * l); v3 = TS.Load(c + 3 * l); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TS, TV, TN>(float* c, int l, TV v0, TV v1, TV v2, TV v3)
        where TS : struct, ISimdFloat<TV> where TV : struct where TN : struct, IConstant
    {
        TS.Store(v0, c); TS.Store(v1, c + l);
        if (TN.Value > 2) { TS.Store(v2, c + 2 * l); TS.Store(v3, c + 3 * l); }
    }

    /// <summary>The plain twin of <see cref="Multiply(GemmPath, int, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int)"/> and its scalar path.</summary>
    internal static void MultiplyReference(int m, int n, int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            float sum = 0f;
            for (int p = 0; p < k; p++) sum += a[i * lda + p] * b[p * ldb + j];
            c[i * ldc + j] = sum;
        }
    }

    // ---- C (+)= Aᵀ · B with few rows in A and B (a linear layer's weight gradient dW = dYᵀ · X) ----------------------

    /// <summary>C [n, k] = Aᵀ · B (+ C when <paramref name="add"/>) on the fastest path, all kernel threads.</summary>
    public static void TransposedTimes(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        bool add, Span<float> c, int ldc)
        => TransposedTimes(Gemm.BestPath, KernelThreads.Count, m, n, k, a, lda, b, ldb, add, c, ldc);

    /// <summary>
    /// C [n, k] = A [m, n]ᵀ · B [m, k], or C += that when <paramref name="add"/>, for m ≤ <see cref="MaxRows"/>: a sum of m
    /// outer products, as a linear layer's weight gradient at small batch (AlexNet's fc6: 151 MB of C from 16 rows).
    /// Bound by writing C, so C is written once, row block after row block, each element from a register tile of up to
    /// 6 rows × 4 (AVX-512) or 2 vectors that sums all m products before its single store; A and B stay in L2.
    /// </summary>
    public static void TransposedTimes(GemmPath path, int threads, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, bool add, Span<float> c, int ldc)
    {
        Gemm.Validate(true, false, n, k, m, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (!Gemm.IsSupported(path)) throw new PlatformNotSupportedException($"Gemv: path {path} is not accelerated on this machine.");
        if (m > MaxRows) throw new ArgumentException($"Gemv.TransposedTimes: {m} rows of A and B; at most {MaxRows} (more go to the blocked GEMM).", nameof(m));
        if (n == 0 || k == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
        {
            if ((long)m * n * k < Gemm.ParallelThreshold) threads = 1;
            int rowTile = path == GemmPath.Scalar ? 1 : 6;
            int blocks = (n + rowTile - 1) / rowTile;
            int tasks = Math.Max(1, Math.Min(blocks, threads * 16));
            var body = new OuterBody(path, m, n, k, pa, lda, pb, ldb, add, pc, ldc, rowTile, blocks, tasks);
            if (threads <= 1 || tasks == 1) for (int t = 0; t < tasks; t++) body.Invoke(t);
            else ParallelFor.Run(tasks, ref body, threads);
        }
    }

    private readonly struct OuterBody(GemmPath path, int m, int n, int k, float* a, nint lda, float* b, nint ldb, bool add, float* c, nint ldc,
        int rowTile, int blocks, int tasks) : IParallelBody
    {
        public void Invoke(int task)
        {
            int r0 = (int)((long)blocks * task / tasks) * rowTile, r1 = Math.Min(n, (int)((long)blocks * (task + 1) / tasks) * rowTile);
            switch (path)
            {
                case GemmPath.Vector512: Rows<Simd512, Vector512<float>, C4>(r0, r1); break;
                case GemmPath.Vector256: Rows<Simd256, Vector256<float>, C2>(r0, r1); break;
                case GemmPath.Vector128: Rows<Simd128, Vector128<float>, C2>(r0, r1); break;
                default: TransposedTimesReference(m, r1 - r0, k, a + r0, lda, b, ldb, add, c + r0 * ldc, ldc); break;
            }
        }

        private void Rows<TS, TV, TN>(int r0, int r1) where TS : struct, ISimdFloat<TV> where TV : struct where TN : struct, IConstant
        {
            int w = TN.Value * TS.Length, whole = k / w * w; // columns [whole, k): scalar, below
            for (int j = r0; j < r1; j += 6)
            {
                int rows = Math.Min(6, r1 - j);
                float* aj = a + j, cj = c + j * ldc;
                for (int p = 0; p < whole; p += w)
                    switch (rows)
                    {
                        case 1: OuterTile<TS, TV, TN, C1>(m, aj, lda, b + p, ldb, add, cj + p, ldc); break;
                        case 2: OuterTile<TS, TV, TN, C2>(m, aj, lda, b + p, ldb, add, cj + p, ldc); break;
                        case 3: OuterTile<TS, TV, TN, C3>(m, aj, lda, b + p, ldb, add, cj + p, ldc); break;
                        case 4: OuterTile<TS, TV, TN, C4>(m, aj, lda, b + p, ldb, add, cj + p, ldc); break;
                        case 5: OuterTile<TS, TV, TN, C5>(m, aj, lda, b + p, ldb, add, cj + p, ldc); break;
                        default: OuterTile<TS, TV, TN, C6>(m, aj, lda, b + p, ldb, add, cj + p, ldc); break;
                    }
                if (whole < k) TransposedTimesReference(m, rows, k - whole, aj, lda, b + whole, ldb, add, cj + whole, ldc);
            }
        }
    }

    /// <summary>C[TR rows, TN vectors] (+)= Σ_i A[i, row]·B[i, TN vectors] over all m rows of A and B, then one store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OuterTile<TS, TV, TN, TR>(int m, float* a, nint lda, float* b, nint ldb, bool add, float* c, nint ldc)
        where TS : struct, ISimdFloat<TV> where TV : struct where TN : struct, IConstant where TR : struct, IConstant
    {
        int tr = TR.Value, tn = TN.Value, l = TS.Length;
        TV c00 = TS.Zero, c01 = TS.Zero, c02 = TS.Zero, c03 = TS.Zero, c10 = TS.Zero, c11 = TS.Zero, c12 = TS.Zero, c13 = TS.Zero;
        TV c20 = TS.Zero, c21 = TS.Zero, c22 = TS.Zero, c23 = TS.Zero, c30 = TS.Zero, c31 = TS.Zero, c32 = TS.Zero, c33 = TS.Zero;
        TV c40 = TS.Zero, c41 = TS.Zero, c42 = TS.Zero, c43 = TS.Zero, c50 = TS.Zero, c51 = TS.Zero, c52 = TS.Zero, c53 = TS.Zero;
        if (add)
        {
            LoadRow<TS, TV, TN>(c, l, ref c00, ref c01, ref c02, ref c03);
            if (tr > 1) LoadRow<TS, TV, TN>(c + ldc, l, ref c10, ref c11, ref c12, ref c13);
            if (tr > 2) LoadRow<TS, TV, TN>(c + 2 * ldc, l, ref c20, ref c21, ref c22, ref c23);
            if (tr > 3) LoadRow<TS, TV, TN>(c + 3 * ldc, l, ref c30, ref c31, ref c32, ref c33);
            if (tr > 4) LoadRow<TS, TV, TN>(c + 4 * ldc, l, ref c40, ref c41, ref c42, ref c43);
            if (tr > 5) LoadRow<TS, TV, TN>(c + 5 * ldc, l, ref c50, ref c51, ref c52, ref c53);
        }
        float* ai = a, bi = b;
        for (int i = 0; i < m; i++, ai += lda, bi += ldb)
        {
            TV w0 = TS.Load(bi), w1 = TS.Load(bi + l), w2 = tn > 2 ? TS.Load(bi + 2 * l) : TS.Zero, w3 = tn > 2 ? TS.Load(bi + 3 * l) : TS.Zero;
            TV s = TS.Broadcast(ai);
            c00 = TS.Fma(s, w0, c00); c01 = TS.Fma(s, w1, c01); if (tn > 2) { c02 = TS.Fma(s, w2, c02); c03 = TS.Fma(s, w3, c03); }
            if (tr > 1) { s = TS.Broadcast(ai + 1); c10 = TS.Fma(s, w0, c10); c11 = TS.Fma(s, w1, c11); if (tn > 2) { c12 = TS.Fma(s, w2, c12); c13 = TS.Fma(s, w3, c13); } }
            if (tr > 2) { s = TS.Broadcast(ai + 2); c20 = TS.Fma(s, w0, c20); c21 = TS.Fma(s, w1, c21); if (tn > 2) { c22 = TS.Fma(s, w2, c22); c23 = TS.Fma(s, w3, c23); } }
            if (tr > 3) { s = TS.Broadcast(ai + 3); c30 = TS.Fma(s, w0, c30); c31 = TS.Fma(s, w1, c31); if (tn > 2) { c32 = TS.Fma(s, w2, c32); c33 = TS.Fma(s, w3, c33); } }
            if (tr > 4) { s = TS.Broadcast(ai + 4); c40 = TS.Fma(s, w0, c40); c41 = TS.Fma(s, w1, c41); if (tn > 2) { c42 = TS.Fma(s, w2, c42); c43 = TS.Fma(s, w3, c43); } }
            if (tr > 5) { s = TS.Broadcast(ai + 5); c50 = TS.Fma(s, w0, c50); c51 = TS.Fma(s, w1, c51); if (tn > 2) { c52 = TS.Fma(s, w2, c52); c53 = TS.Fma(s, w3, c53); } }
        }
        StoreRow<TS, TV, TN>(c, l, c00, c01, c02, c03);
        if (tr > 1) StoreRow<TS, TV, TN>(c + ldc, l, c10, c11, c12, c13);
        if (tr > 2) StoreRow<TS, TV, TN>(c + 2 * ldc, l, c20, c21, c22, c23);
        if (tr > 3) StoreRow<TS, TV, TN>(c + 3 * ldc, l, c30, c31, c32, c33);
        if (tr > 4) StoreRow<TS, TV, TN>(c + 4 * ldc, l, c40, c41, c42, c43);
        if (tr > 5) StoreRow<TS, TV, TN>(c + 5 * ldc, l, c50, c51, c52, c53);
    }

    /// <summary>The plain twin of <see cref="TransposedTimes(GemmPath, int, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, bool, Span{float}, int)"/> and its scalar path.</summary>
    internal static void TransposedTimesReference(int m, int n, int k, float* a, nint lda, float* b, nint ldb, bool add, float* c, nint ldc)
    {
        for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++)
        {
            float sum = 0f;
            for (int i = 0; i < m; i++) sum += a[i * lda + j] * b[i * ldb + p];
            c[j * ldc + p] = add ? c[j * ldc + p] + sum : sum;
        }
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
