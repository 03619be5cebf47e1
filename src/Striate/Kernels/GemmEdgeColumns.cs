using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

// A narrower tile for C's last column strip. When n is not a multiple of NR = 32, the last panel of B̃ is zero-padded
// to 32 columns, and the full 14×32 tile spends both of its column vectors on it: 14×14 maps (196 pixels = 6 · 32 + 4)
// and 28×28 ones (784 = 24 · 32 + 16) leave 4 and 16 columns, so an eighth of a 196-column product's multiply-adds
// went to zeros. This tile reads the same packed strips (Ã 14 values per depth, B̃ 32 per depth, of which it loads
// the first 16) and keeps one accumulator per row: 14 FMAs per depth instead of 28. It stores through the edge path
// (masks, epilogue), as a narrow tile is never a plain one.
// AVX2 has the same padding with NR = 16: 196 = 12 · 16 + 4 (208 computed), 49 = 3 · 16 + 1 (64). Its one-vector tile
// for a last strip of at most 8 columns is below, and for a last strip of one column a matrix-vector tile.

internal readonly unsafe partial struct Gemm512x14x32
{
    /// <summary>The tile for a strip of at most 16 columns and more than 8 rows: 14 rows of one zmm accumulator each.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void RunFewColumns(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default,
            c7 = default, c8 = default, c9 = default, cA = default, cB = default, cC = default, cD = default;
        PrefetchTile(c, ldc, in s);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            c0 = Vector512.MultiplyAddEstimate(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.MultiplyAddEstimate(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.MultiplyAddEstimate(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.MultiplyAddEstimate(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.MultiplyAddEstimate(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.MultiplyAddEstimate(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.MultiplyAddEstimate(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.MultiplyAddEstimate(Vector512.Create(a[7]), b0, c7);
            c8 = Vector512.MultiplyAddEstimate(Vector512.Create(a[8]), b0, c8);
            c9 = Vector512.MultiplyAddEstimate(Vector512.Create(a[9]), b0, c9);
            cA = Vector512.MultiplyAddEstimate(Vector512.Create(a[10]), b0, cA);
            cB = Vector512.MultiplyAddEstimate(Vector512.Create(a[11]), b0, cB);
            cC = Vector512.MultiplyAddEstimate(Vector512.Create(a[12]), b0, cC);
            cD = Vector512.MultiplyAddEstimate(Vector512.Create(a[13]), b0, cD);
            a += 14;
            b += 32;
        }
        // The second column vector of the edge store is empty: its mask (columns 16 … 31) has no lane set.
        var m0 = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(s.Cols)).AsSingle();
        var none = Vector512<float>.Zero;
        StoreEdge(c, c0, none, beta, in s, 0, m0, none, false); c += ldc;
        StoreEdge(c, c1, none, beta, in s, 1, m0, none, false); c += ldc;
        StoreEdge(c, c2, none, beta, in s, 2, m0, none, false); c += ldc;
        StoreEdge(c, c3, none, beta, in s, 3, m0, none, false); c += ldc;
        StoreEdge(c, c4, none, beta, in s, 4, m0, none, false); c += ldc;
        StoreEdge(c, c5, none, beta, in s, 5, m0, none, false); c += ldc;
        StoreEdge(c, c6, none, beta, in s, 6, m0, none, false); c += ldc;
        StoreEdge(c, c7, none, beta, in s, 7, m0, none, false); c += ldc;
        StoreEdge(c, c8, none, beta, in s, 8, m0, none, false); c += ldc;
        StoreEdge(c, c9, none, beta, in s, 9, m0, none, false); c += ldc;
        StoreEdge(c, cA, none, beta, in s, 10, m0, none, false); c += ldc;
        StoreEdge(c, cB, none, beta, in s, 11, m0, none, false); c += ldc;
        StoreEdge(c, cC, none, beta, in s, 12, m0, none, false); c += ldc;
        StoreEdge(c, cD, none, beta, in s, 13, m0, none, false);
    }
}

internal readonly unsafe partial struct Gemm256x6x16
{
    /// <summary>
    /// The tile for a strip of at most 8 columns and more than 4 rows: 6 rows of one ymm accumulator each. Six chains
    /// cannot cover the FMA latency of two pipes (4 cycles × 2 = 8 needed), so even and odd depths go to two sets of
    /// six accumulators, added at the end: 12 FMAs per two depths (2 B̃ loads, 12 broadcasts) where the full tile
    /// spends 24, half of them on padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void RunFewColumns(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default;
        PrefetchTile(c, ldc, in s);
        int p = 0;
        for (; p + 1 < kc; p += 2)
        {
            var b0 = Vector256.Load(b);
            c0 = Vector256.MultiplyAddEstimate(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.MultiplyAddEstimate(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.MultiplyAddEstimate(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.MultiplyAddEstimate(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.MultiplyAddEstimate(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.MultiplyAddEstimate(Vector256.Create(a[5]), b0, c5);
            var b1 = Vector256.Load(b + 16);
            d0 = Vector256.MultiplyAddEstimate(Vector256.Create(a[6]), b1, d0);
            d1 = Vector256.MultiplyAddEstimate(Vector256.Create(a[7]), b1, d1);
            d2 = Vector256.MultiplyAddEstimate(Vector256.Create(a[8]), b1, d2);
            d3 = Vector256.MultiplyAddEstimate(Vector256.Create(a[9]), b1, d3);
            d4 = Vector256.MultiplyAddEstimate(Vector256.Create(a[10]), b1, d4);
            d5 = Vector256.MultiplyAddEstimate(Vector256.Create(a[11]), b1, d5);
            a += 12;
            b += 32;
        }
        if (p < kc)
        {
            var b0 = Vector256.Load(b);
            c0 = Vector256.MultiplyAddEstimate(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.MultiplyAddEstimate(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.MultiplyAddEstimate(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.MultiplyAddEstimate(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.MultiplyAddEstimate(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.MultiplyAddEstimate(Vector256.Create(a[5]), b0, c5);
        }
        c0 += d0; c1 += d1; c2 += d2; c3 += d3; c4 += d4; c5 += d5;
        // The second column vector of the edge store is empty: its mask (columns 8 … 15) has no lane set.
        var m0 = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(s.Cols)).AsSingle();
        var none = Vector256<float>.Zero;
        StoreEdge(c, c0, none, beta, in s, 0, m0, none, false); c += ldc;
        StoreEdge(c, c1, none, beta, in s, 1, m0, none, false); c += ldc;
        StoreEdge(c, c2, none, beta, in s, 2, m0, none, false); c += ldc;
        StoreEdge(c, c3, none, beta, in s, 3, m0, none, false); c += ldc;
        StoreEdge(c, c4, none, beta, in s, 4, m0, none, false); c += ldc;
        StoreEdge(c, c5, none, beta, in s, 5, m0, none, false);
    }

    /// <summary>
    /// The tile for a last strip of one column and more than 4 rows (7×7 maps: 49 = 3 · 16 + 1): that column as a
    /// matrix-vector product with the tile's rows in the lanes. Per depth, Ã's 6 values are one vector load (lanes 6
    /// and 7 hold the next depth's first two rows: summed, never stored) times a broadcast of B̃'s one value: 1 FMA
    /// per depth where <see cref="RunFewColumns"/> spends 6 on 8 lanes of which 7 are padding. Four accumulators
    /// (depth mod 4) keep four chains in flight; two loads per depth bound it near one depth per cycle.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void RunOneColumn(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
        => OneColumn(kc, a, b, 16, c, ldc, beta, in s);

    /// <summary>
    /// The tile for C's last 1–4 columns read from B in place (row p of the strip at b + p·ldb; the driver then packs no
    /// B̃ strip for them, GemmDriver.Block), any 1–6 rows: the tile's rows in the lanes as in <see cref="RunOneColumn"/>,
    /// one broadcast of B per column and depth, even and odd depths in two sets of four accumulators (8 chains for
    /// the FMA latency of two pipes). Columns past the strip's repeat its last (computed, never stored), so no load
    /// reaches past B's row. Alone per 6-row tile and depth (Zen 3, Ã and B̃ in cache): the one-vector tile on a packed
    /// 4-column strip 1.55 ns, this on packed B̃ 1.33, the full 6×16 tile 2.16 (bench/RESULTS.md 2026-12-07, gemm13).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void RunFewColumnsInPlace(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        if (s.Cols == 1)
        {
            OneColumn(kc, a, b, ldb, c, ldc, beta, in s);
            return;
        }
        nint o1 = 1, o2 = Math.Min(2, s.Cols - 1), o3 = Math.Min(3, s.Cols - 1);
        Vector256<float> x0 = default, x1 = default, x2 = default, x3 = default, y0 = default, y1 = default, y2 = default, y3 = default;
        int p = 0;
        // Every depth but the last loads 8 floats from its 6; the last would read 2 past the strip, so it is masked.
        for (; p + 2 < kc; p += 2)
        {
            var av = Vector256.Load(a);
            x0 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[0]), x0);
            x1 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[o1]), x1);
            x2 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[o2]), x2);
            x3 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[o3]), x3);
            float* b1 = b + ldb;
            var aw = Vector256.Load(a + 6);
            y0 = Vector256.MultiplyAddEstimate(aw, Vector256.Create(b1[0]), y0);
            y1 = Vector256.MultiplyAddEstimate(aw, Vector256.Create(b1[o1]), y1);
            y2 = Vector256.MultiplyAddEstimate(aw, Vector256.Create(b1[o2]), y2);
            y3 = Vector256.MultiplyAddEstimate(aw, Vector256.Create(b1[o3]), y3);
            a += 12;
            b += 2 * ldb;
        }
        var rows = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(6)).AsSingle();
        for (; p < kc; p++)
        {
            var av = Avx.MaskLoad(a, rows);
            x0 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[0]), x0);
            x1 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[o1]), x1);
            x2 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[o2]), x2);
            x3 = Vector256.MultiplyAddEstimate(av, Vector256.Create(b[o3]), x3);
            a += 6;
            b += ldb;
        }
        float* t = stackalloc float[32]; // column j's rows at t + 8·j
        Vector256.Store(x0 + y0, t);
        Vector256.Store(x1 + y1, t + 8);
        Vector256.Store(x2 + y2, t + 16);
        Vector256.Store(x3 + y3, t + 24);
        StoreLanes(t, c, ldc, beta, in s);
    }

    /// <summary>
    /// <see cref="RunOneColumn"/>'s body with B's value of depth p at b + p·<paramref name="ldb"/> (16: the packed B̃
    /// strip; B's row stride: in place).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OneColumn(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        int p = 0;
        // Every depth but the last loads 8 floats from its 6; the last would read 2 past the strip, so it is masked.
        for (; p + 4 < kc; p += 4)
        {
            c0 = Vector256.MultiplyAddEstimate(Vector256.Load(a), Vector256.Create(b[0]), c0);
            c1 = Vector256.MultiplyAddEstimate(Vector256.Load(a + 6), Vector256.Create(b[ldb]), c1);
            c2 = Vector256.MultiplyAddEstimate(Vector256.Load(a + 12), Vector256.Create(b[2 * ldb]), c2);
            c3 = Vector256.MultiplyAddEstimate(Vector256.Load(a + 18), Vector256.Create(b[3 * ldb]), c3);
            a += 24;
            b += 4 * ldb;
        }
        for (; p + 1 < kc; p++)
        {
            c0 = Vector256.MultiplyAddEstimate(Vector256.Load(a), Vector256.Create(b[0]), c0);
            a += 6;
            b += ldb;
        }
        if (p < kc)
        {
            var rows = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(6)).AsSingle();
            c1 = Vector256.MultiplyAddEstimate(Avx.MaskLoad(a, rows), Vector256.Create(b[0]), c1);
        }
        float* t = stackalloc float[8];
        Vector256.Store((c0 + c1) + (c2 + c3), t);
        StoreLanes(t, c, ldc, beta, in s);
    }

    /// <summary>
    /// C[r, j] ← the edge tile's sums t[8·j + r] (a column's rows in one vector's lanes) for the tile's rows and columns:
    /// as <see cref="StoreEdge"/>, one lane at a time: beta·C, bias, residual, then the clamp with NaN passing through.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLanes(float* t, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        for (int r = 0; r < s.Rows; r++)
        for (int j = 0; j < s.Cols; j++)
        {
            float v = t[8 * j + r];
            float* cr = c + r * ldc + j;
            if (beta != 0) v = MathF.FusedMultiplyAdd(*cr, beta, v);
            if (s.Bias != null) v += s.Bias[r];
            if (s.Residual != null) v += s.Residual[r * s.Ldr + j];
            if (s.Clamp) v = MathF.Min(s.Hi, MathF.Max(s.Lo, v));
            *cr = v;
        }
    }
}
