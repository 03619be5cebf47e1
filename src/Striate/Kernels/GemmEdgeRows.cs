using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

// Shorter tiles for C's last row strip. When m is not a multiple of MR, the last strip of Ã is zero-padded to MR rows,
// and the full tile would spend MR rows of multiply-adds on it: with MR = 14, m = 64, 128, 256 and 512 (common output
// channel counts, and the square benchmarks) leave 8, 2, 4 and 8 rows, so 9 %, 9 %, 4 % and 1 % of all the
// multiply-adds went to zeros, and with two threads the thread holding that strip finished last. These tiles read the
// same packed strips (Ã still MR values per depth, B̃ unchanged) and multiply only the rows that exist, rounded up
// to 4 or 8; they always store through the edge path (masks, epilogue), as a short tile is never a plain one.

internal readonly unsafe partial struct Gemm512x14x32
{
    /// <summary>The tile for a strip of at most 8 rows: 8 or 4 rows of two zmm accumulators each.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RunFewRows(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        if (s.Rows <= 4) Run4(kc, a, b, c, ldc, beta, in s);
        else Run8(kc, a, b, c, ldc, beta, in s);
    }

    /// <summary>Rows 0..7 of the tile (8 broadcasts of Ã per depth, 16 FMAs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run8(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default;
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
            a += 14;
            b += 32;
        }
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
        StoreEdge(c, c70, c71, beta, in s, 7, m0, m1, whole);
    }

    /// <summary>Rows 0..3 of the tile (4 broadcasts, 8 FMAs per depth: 8 independent chains cover the FMA latency).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run4(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default;
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
            a += 14;
            b += 32;
        }
        bool whole = s.Cols == 32;
        var m0 = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(s.Cols)).AsSingle();
        var m1 = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(s.Cols - 16)).AsSingle();
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m1, whole); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m1, whole); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m1, whole); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m1, whole);
    }
}

internal readonly unsafe partial struct Gemm256x6x16
{
    /// <summary>The tile for a strip of at most 4 rows (8 ymm accumulators: just enough chains for two FMA pipes).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RunFewRows(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
        => Tile4<FromPacked>(kc, a, b, 16, c, ldc, beta, in s);
}
