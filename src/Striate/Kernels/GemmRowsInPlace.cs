using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// A register tile that reads B in place: row p of its NR-wide strip at b + p·ldb instead of a packed B̃ strip
/// (b + p·NR). A 1×1 convolution's input [Cin, H·W] is B itself, row-major with the plane as row stride, so its
/// NR consecutive pixels of one channel are already the vector the tile loads; only the depth step changes.
/// Used by <see cref="PointwiseRows"/>; same Ã strips, same store (mask, epilogue) as the packed tile. On whole maps
/// mostly AVX-512: the AVX2 6×16 tile reading B in place ran ResNet-50's 56×56/28×28 1×1s ~15 % slower than from B̃ (each
/// depth step takes a fresh cache line from another row for 12 FMAs, against 2 lines per 28 on AVX-512; prefetch and
/// shallower depth blocks did not recover it); only products of at most 64 rows on 28×28 maps gain
/// (<see cref="PointwiseRows.Avx2MaxRows"/>). Inside a fused step's bands, whose rows are in L2, the AVX2 tile
/// (GemmRowsInPlace.Avx2.cs) wins over packing B̃ per band.
/// </summary>
internal unsafe interface IGemmRowsInPlace : IGemmMicrokernel
{
    /// <summary>As <see cref="IGemmMicrokernel.Run"/> for a whole-width tile (Cols = NR), B row p at b + p·ldb.</summary>
    static abstract void RunInPlace(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s);

    /// <summary>
    /// Rows of the tall tile (<see cref="RunInPlaceTall"/>): a strip of MR rows and the few rows after it (the next
    /// strip's first TallRows − MR) as one tile of one column vector, instead of the MR-row tile and a short tile
    /// that both read B and leave most of the short one's rows empty. 0: no tall tile.
    /// </summary>
    static abstract int TallRows { get; }

    /// <summary>Columns of the tall tile (one vector).</summary>
    static abstract int TallCols { get; }

    /// <summary>
    /// C[Rows × TallCols] (Rows ≤ <see cref="TallRows"/>, the store's) from two Ã strips: rows 0..MR−1 from
    /// <paramref name="a"/>, the rest from <paramref name="aNext"/> (the next strip, MR values per depth as well);
    /// B row p at b + p·ldb.
    /// </summary>
    static abstract void RunInPlaceTall(int kc, float* a, float* aNext, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s);
}

internal readonly unsafe partial struct Gemm512x14x32 : IGemmRowsInPlace
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunInPlace(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        // C's last few rows run a shorter tile, as in the packed tile (GemmEdgeRows.cs).
        if (s.Rows <= 4) { RunInPlace4(kc, a, b, ldb, c, ldc, beta, in s); return; }
        if (s.Rows <= 8) { RunInPlace8(kc, a, b, ldb, c, ldc, beta, in s); return; }
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
            b += ldb;
        }
        var m0 = Vector512<float>.AllBitsSet;
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m0, true); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m0, true); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m0, true); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m0, true); c += ldc;
        StoreEdge(c, c40, c41, beta, in s, 4, m0, m0, true); c += ldc;
        StoreEdge(c, c50, c51, beta, in s, 5, m0, m0, true); c += ldc;
        StoreEdge(c, c60, c61, beta, in s, 6, m0, m0, true); c += ldc;
        StoreEdge(c, c70, c71, beta, in s, 7, m0, m0, true); c += ldc;
        StoreEdge(c, c80, c81, beta, in s, 8, m0, m0, true); c += ldc;
        StoreEdge(c, c90, c91, beta, in s, 9, m0, m0, true); c += ldc;
        StoreEdge(c, cA0, cA1, beta, in s, 10, m0, m0, true); c += ldc;
        StoreEdge(c, cB0, cB1, beta, in s, 11, m0, m0, true); c += ldc;
        StoreEdge(c, cC0, cC1, beta, in s, 12, m0, m0, true); c += ldc;
        StoreEdge(c, cD0, cD1, beta, in s, 13, m0, m0, true);
    }

    public static int TallRows => 16;
    public static int TallCols => 16;

    /// <summary>
    /// 16 rows × 16 columns, one zmm accumulator per row: 16 broadcasts (14 from Ã's strip, 2 from the next) and one
    /// load of B per depth for 16 FMAs. For C's of 15–16 rows (MobileNet-V2's 32→16 on 112×112): the 14×32 tile and a
    /// 4-row tile with two rows used spent 1152 FMAs per 32 columns and depth 32 where this spends 1024, and the short
    /// tile's 8 FMAs per depth waited on its loads.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void RunInPlaceTall(int kc, float* a, float* aNext, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default,
            c7 = default, c8 = default, c9 = default, cA = default, cB = default, cC = default, cD = default, cE = default, cF = default;
        if (Sse.IsSupported)
            for (int r = 0; r < s.Rows; r++) { Sse.Prefetch0(c + r * ldc); Sse.Prefetch0(c + r * ldc + 15); }
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
            cE = Vector512.MultiplyAddEstimate(Vector512.Create(aNext[0]), b0, cE);
            cF = Vector512.MultiplyAddEstimate(Vector512.Create(aNext[1]), b0, cF);
            a += 14;
            aNext += 14;
            b += ldb;
        }
        // One column vector: the edge store's second vector is empty (no lane of its mask set).
        var m0 = Vector512<float>.AllBitsSet;
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
        StoreEdge(c, cD, none, beta, in s, 13, m0, none, false); c += ldc;
        StoreEdge(c, cE, none, beta, in s, 14, m0, none, false); c += ldc;
        StoreEdge(c, cF, none, beta, in s, 15, m0, none, false);
    }

    /// <summary>Rows 0..7 (8 broadcasts of Ã per depth, 16 FMAs).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RunInPlace8(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
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
            b += ldb;
        }
        var m0 = Vector512<float>.AllBitsSet;
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m0, true); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m0, true); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m0, true); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m0, true); c += ldc;
        StoreEdge(c, c40, c41, beta, in s, 4, m0, m0, true); c += ldc;
        StoreEdge(c, c50, c51, beta, in s, 5, m0, m0, true); c += ldc;
        StoreEdge(c, c60, c61, beta, in s, 6, m0, m0, true); c += ldc;
        StoreEdge(c, c70, c71, beta, in s, 7, m0, m0, true);
    }

    /// <summary>Rows 0..3 (4 broadcasts, 8 FMAs per depth).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RunInPlace4(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
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
            b += ldb;
        }
        var m0 = Vector512<float>.AllBitsSet;
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m0, true); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m0, true); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m0, true); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m0, true);
    }
}
