using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// A GEMM register tile: C[MR×NR] = Ã·B̃ + beta·C, where Ã is a packed MR-tall strip (kc columns of MR values)
/// and B̃ a packed NR-wide strip (kc rows of NR values). Alpha is already folded into Ã by the packing.
/// Static abstract members let the JIT compile one macro-kernel per tile with MR and NR as constants.
/// </summary>
internal unsafe interface IGemmMicrokernel
{
    static abstract int MR { get; }
    static abstract int NR { get; }
    /// <summary>
    /// Deepest packed block: Ã strip is MR·KC floats, B̃ strip NR·KC. A product's depth is cut into equal blocks of
    /// at most KC (<see cref="GemmDriver{TKernel}.DepthBlock"/>).
    /// </summary>
    static abstract int KC { get; }
    /// <summary>Rows of A packed at once (multiple of MR).</summary>
    static abstract int MC { get; }
    /// <summary>Columns of B packed at once (multiple of NR); the KC × NC block B̃ stays in L2 while row strips stream it.</summary>
    static abstract int NC { get; }
    /// <summary>
    /// C[MR×NR] (row stride ldc) = Ã·B̃ + beta·C, then the tile's epilogue; only the tile's
    /// <see cref="GemmTileStore.Rows"/> × <see cref="GemmTileStore.Cols"/> corner is read or written (edge tiles
    /// of C). When beta is 0, C is not read.
    /// </summary>
    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s);
}

/// <summary>
/// AVX-512 tile 14×32: 28 zmm accumulators + 2 B̃ vectors + 1 broadcast = 31 of the 32 registers, so each
/// broadcast of A feeds two FMAs and each B̃ load feeds 14 (the arithmetic intensity that keeps both FMA pipes busy).
/// </summary>
internal readonly unsafe partial struct Gemm512x14x32 : IGemmMicrokernel
{
    public static int MR => 14;
    public static int NR => 32;
    // Ã strip 14 × 512 floats = 28 KiB. On Zen 4 (2 threads) KC = 512 ran sgemm_1024/2048 at 91–92 % of the FMA peak
    // against 88–90 % with 256 or 384: half the passes over C and half the microkernel calls per product.
    public static int KC => 512;
    public static int MC => 14 * 32;
    // B̃ block 512 × 1024 floats = 2 MiB: more than Zen 4's 1 MiB L2, yet faster there than 256 deep (the B̃ strips stream
    // in order and the prefetchers keep up); at KC = 256, 2048 columns cost Sapphire Rapids ~8 % at sgemm_2048.
    public static int NC => Avx512GemmTunables.ColumnBlock;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        // A tile over C's last few rows (m not a multiple of 14: 64, 128, 256 and 512 output channels all leave 2–8)
        // runs a shorter tile instead of multiplying zero rows (see GemmEdgeRows.cs).
        if (s.Rows <= 8)
        {
            RunFewRows(kc, a, b, c, ldc, beta, in s);
            return;
        }
        // Likewise a tile over C's last few columns (n = 196 leaves 4) runs one column vector (GemmEdgeColumns.cs).
        if (s.Cols <= 16)
        {
            RunFewColumns(kc, a, b, c, ldc, beta, in s);
            return;
        }
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, cA0 = default, cA1 = default, cB0 = default, cB1 = default,
            cC0 = default, cC1 = default, cD0 = default, cD1 = default;
        PrefetchTile(c, ldc, in s);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> ai;
            ai = Vector512.Create(a[0]); c00 = Vector512.MultiplyAddEstimate(ai, b0, c00); c01 = Vector512.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector512.Create(a[1]); c10 = Vector512.MultiplyAddEstimate(ai, b0, c10); c11 = Vector512.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector512.Create(a[2]); c20 = Vector512.MultiplyAddEstimate(ai, b0, c20); c21 = Vector512.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector512.Create(a[3]); c30 = Vector512.MultiplyAddEstimate(ai, b0, c30); c31 = Vector512.MultiplyAddEstimate(ai, b1, c31);
            ai = Vector512.Create(a[4]); c40 = Vector512.MultiplyAddEstimate(ai, b0, c40); c41 = Vector512.MultiplyAddEstimate(ai, b1, c41);
            ai = Vector512.Create(a[5]); c50 = Vector512.MultiplyAddEstimate(ai, b0, c50); c51 = Vector512.MultiplyAddEstimate(ai, b1, c51);
            ai = Vector512.Create(a[6]); c60 = Vector512.MultiplyAddEstimate(ai, b0, c60); c61 = Vector512.MultiplyAddEstimate(ai, b1, c61);
            ai = Vector512.Create(a[7]); c70 = Vector512.MultiplyAddEstimate(ai, b0, c70); c71 = Vector512.MultiplyAddEstimate(ai, b1, c71);
            ai = Vector512.Create(a[8]); c80 = Vector512.MultiplyAddEstimate(ai, b0, c80); c81 = Vector512.MultiplyAddEstimate(ai, b1, c81);
            ai = Vector512.Create(a[9]); c90 = Vector512.MultiplyAddEstimate(ai, b0, c90); c91 = Vector512.MultiplyAddEstimate(ai, b1, c91);
            ai = Vector512.Create(a[10]); cA0 = Vector512.MultiplyAddEstimate(ai, b0, cA0); cA1 = Vector512.MultiplyAddEstimate(ai, b1, cA1);
            ai = Vector512.Create(a[11]); cB0 = Vector512.MultiplyAddEstimate(ai, b0, cB0); cB1 = Vector512.MultiplyAddEstimate(ai, b1, cB1);
            ai = Vector512.Create(a[12]); cC0 = Vector512.MultiplyAddEstimate(ai, b0, cC0); cC1 = Vector512.MultiplyAddEstimate(ai, b1, cC1);
            ai = Vector512.Create(a[13]); cD0 = Vector512.MultiplyAddEstimate(ai, b0, cD0); cD1 = Vector512.MultiplyAddEstimate(ai, b1, cD1);
            a += 14;
            b += 32;
        }
        if (s.Plain)
        {
            // Every row of C is read before any is written: C's rows are often a multiple of 4 KiB apart (ldc = 1024 or
            // 2048 floats), and a load behind a store to an address with the same low 12 bits waits for that store.
            if (beta != 0)
            {
                var vb = Vector512.Create(beta);
                float* r = c;
                AddScaled(r, ref c00, ref c01, vb); r += ldc;
                AddScaled(r, ref c10, ref c11, vb); r += ldc;
                AddScaled(r, ref c20, ref c21, vb); r += ldc;
                AddScaled(r, ref c30, ref c31, vb); r += ldc;
                AddScaled(r, ref c40, ref c41, vb); r += ldc;
                AddScaled(r, ref c50, ref c51, vb); r += ldc;
                AddScaled(r, ref c60, ref c61, vb); r += ldc;
                AddScaled(r, ref c70, ref c71, vb); r += ldc;
                AddScaled(r, ref c80, ref c81, vb); r += ldc;
                AddScaled(r, ref c90, ref c91, vb); r += ldc;
                AddScaled(r, ref cA0, ref cA1, vb); r += ldc;
                AddScaled(r, ref cB0, ref cB1, vb); r += ldc;
                AddScaled(r, ref cC0, ref cC1, vb); r += ldc;
                AddScaled(r, ref cD0, ref cD1, vb);
            }
            Store(c, c00, c01); c += ldc;
            Store(c, c10, c11); c += ldc;
            Store(c, c20, c21); c += ldc;
            Store(c, c30, c31); c += ldc;
            Store(c, c40, c41); c += ldc;
            Store(c, c50, c51); c += ldc;
            Store(c, c60, c61); c += ldc;
            Store(c, c70, c71); c += ldc;
            Store(c, c80, c81); c += ldc;
            Store(c, c90, c91); c += ldc;
            Store(c, cA0, cA1); c += ldc;
            Store(c, cB0, cB1); c += ldc;
            Store(c, cC0, cC1); c += ldc;
            Store(c, cD0, cD1);
            return;
        }
        // Edge tile or epilogue: lanes past the tile's columns are masked off (k-masks), rows past its rows skipped.
        bool whole = s.Cols == 32;
        var m0 = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(s.Cols)).AsSingle();
        var m1 = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(s.Cols - 16)).AsSingle();
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m1, whole); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m1, whole); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m1, whole); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m1, whole); c += ldc;
        StoreEdge(c, c40, c41, beta, in s, 4, m0, m1, whole); c += ldc;
        StoreEdge(c, c50, c51, beta, in s, 5, m0, m1, whole); c += ldc;
        StoreEdge(c, c60, c61, beta, in s, 6, m0, m1, whole); c += ldc;
        StoreEdge(c, c70, c71, beta, in s, 7, m0, m1, whole); c += ldc;
        StoreEdge(c, c80, c81, beta, in s, 8, m0, m1, whole); c += ldc;
        StoreEdge(c, c90, c91, beta, in s, 9, m0, m1, whole); c += ldc;
        StoreEdge(c, cA0, cA1, beta, in s, 10, m0, m1, whole); c += ldc;
        StoreEdge(c, cB0, cB1, beta, in s, 11, m0, m1, whole); c += ldc;
        StoreEdge(c, cC0, cC1, beta, in s, 12, m0, m1, whole); c += ldc;
        StoreEdge(c, cD0, cD1, beta, in s, 13, m0, m1, whole);
    }

    /// <summary>Row <paramref name="r"/> of the tile: beta·C, bias, residual and clamp, stored under the column masks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void StoreEdge(float* c, Vector512<float> x0, Vector512<float> x1, float beta, in GemmTileStore s, int r,
        Vector512<float> m0, Vector512<float> m1, bool whole)
    {
        if (r >= s.Rows) return;
        if (beta != 0)
        {
            var vb = Vector512.Create(beta);
            x0 = Vector512.MultiplyAddEstimate(whole ? Vector512.Load(c) : Avx512F.MaskLoad(c, m0, Vector512<float>.Zero), vb, x0);
            x1 = Vector512.MultiplyAddEstimate(whole ? Vector512.Load(c + 16) : Avx512F.MaskLoad(c + 16, m1, Vector512<float>.Zero), vb, x1);
        }
        if (s.Bias != null)
        {
            var bias = Vector512.Create(s.Bias[r]);
            x0 += bias;
            x1 += bias;
        }
        if (s.Residual != null)
        {
            float* res = s.Residual + r * s.Ldr;
            x0 += whole ? Vector512.Load(res) : Avx512F.MaskLoad(res, m0, Vector512<float>.Zero);
            x1 += whole ? Vector512.Load(res + 16) : Avx512F.MaskLoad(res + 16, m1, Vector512<float>.Zero);
        }
        if (s.Clamp)
        {
            // max(lo, x) then min(hi, ·) with x second: the native instructions return their second operand for NaN,
            // so NaN passes through as Hardtanh's does.
            var lo = Vector512.Create(s.Lo);
            var hi = Vector512.Create(s.Hi);
            x0 = Vector512.MinNative(hi, Vector512.MaxNative(lo, x0));
            x1 = Vector512.MinNative(hi, Vector512.MaxNative(lo, x1));
        }
        if (whole)
        {
            Vector512.Store(x0, c);
            Vector512.Store(x1, c + 16);
        }
        else
        {
            Avx512F.MaskStore(c, m0, x0);
            Avx512F.MaskStore(c + 16, m1, x1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(float* c, ref Vector512<float> x0, ref Vector512<float> x1, Vector512<float> beta)
    {
        x0 = Vector512.MultiplyAddEstimate(Vector512.Load(c), beta, x0);
        x1 = Vector512.MultiplyAddEstimate(Vector512.Load(c + 16), beta, x1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector512<float> x0, Vector512<float> x1)
    {
        Vector512.Store(x0, c);
        Vector512.Store(x1, c + 16);
    }

    /// <summary>
    /// Asks for the tile's rows of C (and of the residual) while the depth loop runs, so the store at its end does not
    /// wait on them: a row strip of C is written once per depth block, long evicted by then, and the 14 rows of a tile
    /// are too far apart for the hardware prefetcher.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile(float* c, nint ldc, in GemmTileStore s)
    {
        if (!Sse.IsSupported) return;
        // 32 floats span two lines, or three when the row does not start on one.
        for (int r = 0; r < s.Rows; r++, c += ldc)
        {
            Sse.Prefetch0(c);
            Sse.Prefetch0(c + 16);
            Sse.Prefetch0(c + 31);
        }
        if (s.Residual != null)
        {
            float* res = s.Residual;
            for (int r = 0; r < s.Rows; r++, res += s.Ldr)
            {
                Sse.Prefetch0(res);
                Sse.Prefetch0(res + 16);
                Sse.Prefetch0(res + 31);
            }
        }
    }
}

/// <summary>
/// AVX2 tile 6×16: 12 ymm accumulators + 2 B̃ + 1 broadcast = 15 of the 16 registers available without AVX-512.
/// </summary>
internal readonly unsafe partial struct Gemm256x6x16 : IGemmMicrokernel
{
    public static int MR => 6;
    public static int NR => 16;
    // 256 and 512 measured alike on Zen 4 (within ±2 %).
    public static int KC => 256;
    public static int MC => 6 * 24;
    // B̃ block 256 × 512 floats = 512 KiB where a core's L2 holds 1 MiB or more (Zen 4, Intel); 256 × 256 = 256 KiB where
    // it holds 512 KiB or less (Zen 2/3), beside the Ã strips and C rows that pass through it too (Avx2GemmTunables.ColumnBlock).
    public static int NC => Avx2GemmTunables.ColumnBlock;

    // NoInlining: the body (Tile6, GemmTiles.Avx2.cs) is inlined here, and Run stays a call from GemmDriver.Block, as
    // when its body was written out here (then too large to inline).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        // C's last 1–4 rows (m = 64, 128, 256 ... leave 2 or 4) run a 4-row tile instead of multiplying zero rows.
        if (s.Rows <= 4)
        {
            RunFewRows(kc, a, b, c, ldc, beta, in s);
            return;
        }
        // Likewise C's last few columns (n = 196 leaves 4, n = 49 one) run one column vector, a lone column one
        // matrix-vector product (GemmEdgeColumns.cs).
        if (s.Cols == 1 && Avx2TileSwitches.OneColumnTile)
        {
            RunOneColumn(kc, a, b, c, ldc, beta, in s);
            return;
        }
        if (s.Cols <= 8 && Avx2TileSwitches.FewColumnsTile)
        {
            RunFewColumns(kc, a, b, c, ldc, beta, in s);
            return;
        }
        Tile6<FromPacked>(kc, a, b, 16, null, c, ldc, beta, in s);
    }

    /// <summary>Row <paramref name="r"/> of the tile: beta·C, bias, residual and clamp, stored under the column masks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void StoreEdge(float* c, Vector256<float> x0, Vector256<float> x1, float beta, in GemmTileStore s, int r,
        Vector256<float> m0, Vector256<float> m1, bool whole)
    {
        if (r >= s.Rows) return;
        if (beta != 0)
        {
            var vb = Vector256.Create(beta);
            x0 = Vector256.MultiplyAddEstimate(whole ? Vector256.Load(c) : Avx.MaskLoad(c, m0), vb, x0);
            x1 = Vector256.MultiplyAddEstimate(whole ? Vector256.Load(c + 8) : Avx.MaskLoad(c + 8, m1), vb, x1);
        }
        if (s.Bias != null)
        {
            var bias = Vector256.Create(s.Bias[r]);
            x0 += bias;
            x1 += bias;
        }
        if (s.Residual != null)
        {
            float* res = s.Residual + r * s.Ldr;
            x0 += whole ? Vector256.Load(res) : Avx.MaskLoad(res, m0);
            x1 += whole ? Vector256.Load(res + 8) : Avx.MaskLoad(res + 8, m1);
        }
        if (s.Clamp)
        {
            // NaN passes through: the native max/min return their second operand for it (see the AVX-512 tile).
            var lo = Vector256.Create(s.Lo);
            var hi = Vector256.Create(s.Hi);
            x0 = Vector256.MinNative(hi, Vector256.MaxNative(lo, x0));
            x1 = Vector256.MinNative(hi, Vector256.MaxNative(lo, x1));
        }
        if (whole)
        {
            Vector256.Store(x0, c);
            Vector256.Store(x1, c + 8);
        }
        else
        {
            Avx.MaskStore(c, m0, x0);
            Avx.MaskStore(c + 8, m1, x1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(float* c, ref Vector256<float> x0, ref Vector256<float> x1, Vector256<float> beta)
    {
        x0 = Vector256.MultiplyAddEstimate(Vector256.Load(c), beta, x0);
        x1 = Vector256.MultiplyAddEstimate(Vector256.Load(c + 8), beta, x1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> x0, Vector256<float> x1)
    {
        Vector256.Store(x0, c);
        Vector256.Store(x1, c + 8);
    }

    /// <summary>The tile's rows of C and of the residual, asked for while the depth loop runs (see the AVX-512 tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile(float* c, nint ldc, in GemmTileStore s)
    {
        if (!Sse.IsSupported) return;
        // 16 floats may straddle two lines: ask for the first and the last.
        for (int r = 0; r < s.Rows; r++, c += ldc)
        {
            Sse.Prefetch0(c);
            Sse.Prefetch0(c + 15);
        }
        if (s.Residual != null)
        {
            float* res = s.Residual;
            for (int r = 0; r < s.Rows; r++, res += s.Ldr)
            {
                Sse.Prefetch0(res);
                Sse.Prefetch0(res + 15);
            }
        }
    }
}

/// <summary>
/// Portable 128-bit tile 6×8 (SSE or NEON): 12 accumulators + 2 B̃ + 1 broadcast, within SSE's 16 registers.
/// MultiplyAddEstimate fuses where the hardware can (FMA, NEON) and falls back to multiply + add elsewhere.
/// </summary>
internal readonly unsafe struct Gemm128x6x8 : IGemmMicrokernel
{
    public static int MR => 6;
    public static int NR => 8;
    public static int KC => 256;
    public static int MC => 6 * 16;
    public static int NC => 8 * 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(b);
            var b1 = Vector128.Load(b + 4);
            Vector128<float> ai;
            ai = Vector128.Create(a[0]); c00 = Vector128.MultiplyAddEstimate(ai, b0, c00); c01 = Vector128.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector128.Create(a[1]); c10 = Vector128.MultiplyAddEstimate(ai, b0, c10); c11 = Vector128.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector128.Create(a[2]); c20 = Vector128.MultiplyAddEstimate(ai, b0, c20); c21 = Vector128.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector128.Create(a[3]); c30 = Vector128.MultiplyAddEstimate(ai, b0, c30); c31 = Vector128.MultiplyAddEstimate(ai, b1, c31);
            ai = Vector128.Create(a[4]); c40 = Vector128.MultiplyAddEstimate(ai, b0, c40); c41 = Vector128.MultiplyAddEstimate(ai, b1, c41);
            ai = Vector128.Create(a[5]); c50 = Vector128.MultiplyAddEstimate(ai, b0, c50); c51 = Vector128.MultiplyAddEstimate(ai, b1, c51);
            a += 6;
            b += 8;
        }
        if (s.Plain)
        {
            var vb = Vector128.Create(beta);
            bool read = beta != 0;
            Store(c, c00, c01, vb, read); c += ldc;
            Store(c, c10, c11, vb, read); c += ldc;
            Store(c, c20, c21, vb, read); c += ldc;
            Store(c, c30, c31, vb, read); c += ldc;
            Store(c, c40, c41, vb, read); c += ldc;
            Store(c, c50, c51, vb, read);
            return;
        }
        // Edge tile or epilogue. This tile also runs where no masked store exists (NEON, SSE): partial rows go through
        // an 8-float staging row, element by element.
        float* stage = stackalloc float[8];
        StoreEdge(c, c00, c01, beta, in s, 0, stage); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, stage); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, stage); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, stage); c += ldc;
        StoreEdge(c, c40, c41, beta, in s, 4, stage); c += ldc;
        StoreEdge(c, c50, c51, beta, in s, 5, stage);
    }

    /// <summary>Row <paramref name="r"/> of the tile: beta·C, bias, residual and clamp; a partial row via <paramref name="stage"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreEdge(float* c, Vector128<float> x0, Vector128<float> x1, float beta, in GemmTileStore s, int r, float* stage)
    {
        if (r >= s.Rows) return;
        int cols = s.Cols;
        bool whole = cols == 8;
        if (beta != 0)
        {
            var vb = Vector128.Create(beta);
            float* src = c;
            if (!whole) { for (int j = 0; j < cols; j++) stage[j] = c[j]; src = stage; }
            x0 = Vector128.MultiplyAddEstimate(Vector128.Load(src), vb, x0);
            x1 = Vector128.MultiplyAddEstimate(Vector128.Load(src + 4), vb, x1);
        }
        if (s.Bias != null)
        {
            var bias = Vector128.Create(s.Bias[r]);
            x0 += bias;
            x1 += bias;
        }
        if (s.Residual != null)
        {
            float* res = s.Residual + r * s.Ldr;
            if (!whole) { for (int j = 0; j < cols; j++) stage[j] = res[j]; res = stage; }
            x0 += Vector128.Load(res);
            x1 += Vector128.Load(res + 4);
        }
        if (s.Clamp)
        {
            var lo = Vector128.Create(s.Lo);
            var hi = Vector128.Create(s.Hi);
            // NaN passes through as Hardtanh's does: select on the comparisons, which NaN fails.
            x0 = Vector128.ConditionalSelect(Vector128.LessThan(x0, lo), lo, x0);
            x0 = Vector128.ConditionalSelect(Vector128.GreaterThan(x0, hi), hi, x0);
            x1 = Vector128.ConditionalSelect(Vector128.LessThan(x1, lo), lo, x1);
            x1 = Vector128.ConditionalSelect(Vector128.GreaterThan(x1, hi), hi, x1);
        }
        if (whole)
        {
            Vector128.Store(x0, c);
            Vector128.Store(x1, c + 4);
            return;
        }
        Vector128.Store(x0, stage);
        Vector128.Store(x1, stage + 4);
        for (int j = 0; j < cols; j++) c[j] = stage[j];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector128<float> x0, Vector128<float> x1, Vector128<float> beta, bool read)
    {
        if (read)
        {
            x0 = Vector128.MultiplyAddEstimate(Vector128.Load(c), beta, x0);
            x1 = Vector128.MultiplyAddEstimate(Vector128.Load(c + 4), beta, x1);
        }
        Vector128.Store(x0, c);
        Vector128.Store(x1, c + 4);
    }
}

/// <summary>Scalar tile 4×4 for hardware without SIMD acceleration (or with it disabled).</summary>
internal readonly unsafe struct GemmScalar4x4 : IGemmMicrokernel
{
    public static int MR => 4;
    public static int NR => 4;
    public static int KC => 256;
    public static int MC => 64;
    public static int NC => 4 * 64;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0,
            c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            a += 4;
            b += 4;
        }
        if (s.Plain)
        {
            Store(c, c00, c01, c02, c03, beta); c += ldc;
            Store(c, c10, c11, c12, c13, beta); c += ldc;
            Store(c, c20, c21, c22, c23, beta); c += ldc;
            Store(c, c30, c31, c32, c33, beta);
            return;
        }
        float* t = stackalloc float[16] { c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 };
        for (int r = 0; r < s.Rows; r++, c += ldc)
        for (int j = 0; j < s.Cols; j++)
        {
            float v = t[r * 4 + j];
            if (beta != 0) v += beta * c[j];
            if (s.Bias != null) v += s.Bias[r];
            if (s.Residual != null) v += s.Residual[r * s.Ldr + j];
            if (s.Clamp) v = v < s.Lo ? s.Lo : v > s.Hi ? s.Hi : v;
            c[j] = v;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, float x0, float x1, float x2, float x3, float beta)
    {
        if (beta != 0)
        {
            x0 += beta * c[0]; x1 += beta * c[1]; x2 += beta * c[2]; x3 += beta * c[3];
        }
        c[0] = x0; c[1] = x1; c[2] = x2; c[3] = x3;
    }
}
