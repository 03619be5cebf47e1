using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Where a tile body reads B from, as static flags the JIT folds: each <see cref="Gemm256x6x16"/> entry point
/// (<see cref="Gemm256x6x16.Run"/>, <see cref="Gemm256x6x16.RunInPlace"/>, <see cref="Gemm256x6x16.RunInPlacePacking"/>
/// and their 4-row tiles) inlines one instantiation of the same body over a struct type argument, and the JIT compiles
/// each instantiation on its own with the untaken branches gone, so every entry point keeps the machine code it had
/// when it was written out by hand (checked with DOTNET_JitDisasm).
/// </summary>
internal interface IGemmBSource
{
    /// <summary>B read in place, row p of the strip at b + p·ldb (else the packed B̃ strip, row p at b + 16·p).</summary>
    static abstract bool InPlace { get; }

    /// <summary>With <see cref="InPlace"/>: each depth's 16 values also stored to the B̃ strip at bPacked + 16·p.</summary>
    static abstract bool Packs { get; }
}

internal readonly unsafe partial struct Gemm256x6x16
{
    /// <summary>B̃, packed by the driver.</summary>
    private readonly struct FromPacked : IGemmBSource
    {
        public static bool InPlace => false;
        public static bool Packs => false;
    }

    /// <summary>B in place.</summary>
    private readonly struct FromB : IGemmBSource
    {
        public static bool InPlace => true;
        public static bool Packs => false;
    }

    /// <summary>B in place, stored to B̃ on the way (a block's first row strip, see <see cref="RunInPlacePacking"/>).</summary>
    private readonly struct FromBPacking : IGemmBSource
    {
        public static bool InPlace => true;
        public static bool Packs => true;
    }

    /// <summary>
    /// The 6×16 tile: 12 ymm accumulators + 2 B vectors + 1 broadcast. From B̃ the store takes the plain path when
    /// <see cref="GemmTileStore.Plain"/> and masks partial columns; in place the tile is always whole and stores through
    /// the edge path (epilogue, beta) unmasked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile6<TB>(int kc, float* a, float* b, nint ldb, float* bPacked, float* c, nint ldc, float beta, in GemmTileStore s)
        where TB : struct, IGemmBSource
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        PrefetchTile(c, ldc, in s);
        nint ahead = TB.Packs ? Avx2TileSwitches.PackingPrefetchFloats : 0;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            if (TB.Packs)
            {
                if (ahead > 0) System.Runtime.Intrinsics.X86.Sse.Prefetch0(b + ahead);
                Vector256.Store(b0, bPacked);
                Vector256.Store(b1, bPacked + 8);
            }
            Vector256<float> ai;
            ai = Vector256.Create(a[0]); c00 = Vector256.MultiplyAddEstimate(ai, b0, c00); c01 = Vector256.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector256.Create(a[1]); c10 = Vector256.MultiplyAddEstimate(ai, b0, c10); c11 = Vector256.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector256.Create(a[2]); c20 = Vector256.MultiplyAddEstimate(ai, b0, c20); c21 = Vector256.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector256.Create(a[3]); c30 = Vector256.MultiplyAddEstimate(ai, b0, c30); c31 = Vector256.MultiplyAddEstimate(ai, b1, c31);
            ai = Vector256.Create(a[4]); c40 = Vector256.MultiplyAddEstimate(ai, b0, c40); c41 = Vector256.MultiplyAddEstimate(ai, b1, c41);
            ai = Vector256.Create(a[5]); c50 = Vector256.MultiplyAddEstimate(ai, b0, c50); c51 = Vector256.MultiplyAddEstimate(ai, b1, c51);
            a += 6;
            if (TB.InPlace) b += ldb;
            else b += 16;
            if (TB.Packs) bPacked += 16;
        }
        if (!TB.InPlace && s.Plain)
        {
            StorePlain6(c, ldc, beta, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            return;
        }
        if (Avx2TileSwitches.WholeEpilogueStore && s.Rows == 6 && (TB.InPlace || s.Cols == 16))
        {
            StoreEpilogue6(c, ldc, beta, in s, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            return;
        }
        if (TB.InPlace)
        {
            // A whole-width tile: the masks are never read. `whole` must reach StoreEdge as the literal true: computed
            // (TB.InPlace || ...) the JIT folded it only after the loads of C and the residual had been split from
            // their adds (16 more instructions in the 4-row tile's store).
            var all = Vector256<float>.AllBitsSet;
            StoreEdge(c, c00, c01, beta, in s, 0, all, all, true); c += ldc;
            StoreEdge(c, c10, c11, beta, in s, 1, all, all, true); c += ldc;
            StoreEdge(c, c20, c21, beta, in s, 2, all, all, true); c += ldc;
            StoreEdge(c, c30, c31, beta, in s, 3, all, all, true); c += ldc;
            StoreEdge(c, c40, c41, beta, in s, 4, all, all, true); c += ldc;
            StoreEdge(c, c50, c51, beta, in s, 5, all, all, true);
            return;
        }
        // Edge tile or epilogue: lanes past the tile's columns are masked off (vmaskmovps), rows past its rows skipped.
        bool whole = s.Cols == 16;
        var (m0, m1) = EdgeMasks(s.Cols);
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m1, whole); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m1, whole); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m1, whole); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m1, whole); c += ldc;
        StoreEdge(c, c40, c41, beta, in s, 4, m0, m1, whole); c += ldc;
        StoreEdge(c, c50, c51, beta, in s, 5, m0, m1, whole);
    }

    /// <summary>
    /// The plain store of a whole 6×16 tile (<see cref="Tile6{TB}"/>, <see cref="RunPackingA"/>): C = x + beta · C, every
    /// row of C read before any is written (4 KiB aliasing, see the AVX-512 tile). Inlined: the twelve accumulators stay
    /// in their registers (checked with DOTNET_JitDisasm: the same instructions as when written out in each tile).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePlain6(float* c, nint ldc, float beta,
        ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11, ref Vector256<float> c20, ref Vector256<float> c21,
        ref Vector256<float> c30, ref Vector256<float> c31, ref Vector256<float> c40, ref Vector256<float> c41, ref Vector256<float> c50, ref Vector256<float> c51)
    {
        AddScaled6(c, ldc, beta, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
        Store(c, c00, c01); c += ldc;
        Store(c, c10, c11); c += ldc;
        Store(c, c20, c21); c += ldc;
        Store(c, c30, c31); c += ldc;
        Store(c, c40, c41); c += ldc;
        Store(c, c50, c51);
    }

    /// <summary>
    /// The store of a whole 6×16 tile with an epilogue: C = clamp(x + beta · C + bias + residual), each term tested once
    /// for the tile, not per row (<see cref="StoreEdge"/>), and every row of C and of the residual read before any is
    /// written (a residual may be C itself: the conv3 of a bottleneck written over its residual). The same operations in
    /// the same order as the edge store: bit-identical. A clamp with no upper bound (ReLU) takes the max only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreEpilogue6(float* c, nint ldc, float beta, in GemmTileStore s,
        ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11, ref Vector256<float> c20, ref Vector256<float> c21,
        ref Vector256<float> c30, ref Vector256<float> c31, ref Vector256<float> c40, ref Vector256<float> c41, ref Vector256<float> c50, ref Vector256<float> c51)
    {
        AddScaled6(c, ldc, beta, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
        if (s.Bias != null)
        {
            float* bias = s.Bias;
            AddBroadcast(bias[0], ref c00, ref c01);
            AddBroadcast(bias[1], ref c10, ref c11);
            AddBroadcast(bias[2], ref c20, ref c21);
            AddBroadcast(bias[3], ref c30, ref c31);
            AddBroadcast(bias[4], ref c40, ref c41);
            AddBroadcast(bias[5], ref c50, ref c51);
        }
        if (s.Residual != null)
        {
            float* r = s.Residual;
            nint ldr = s.Ldr;
            AddRow(r, ref c00, ref c01); r += ldr;
            AddRow(r, ref c10, ref c11); r += ldr;
            AddRow(r, ref c20, ref c21); r += ldr;
            AddRow(r, ref c30, ref c31); r += ldr;
            AddRow(r, ref c40, ref c41); r += ldr;
            AddRow(r, ref c50, ref c51);
        }
        if (s.Clamp)
        {
            // NaN passes through: the native max/min return their second operand for it (as StoreEdge).
            var lo = Vector256.Create(s.Lo);
            c00 = Vector256.MaxNative(lo, c00); c01 = Vector256.MaxNative(lo, c01);
            c10 = Vector256.MaxNative(lo, c10); c11 = Vector256.MaxNative(lo, c11);
            c20 = Vector256.MaxNative(lo, c20); c21 = Vector256.MaxNative(lo, c21);
            c30 = Vector256.MaxNative(lo, c30); c31 = Vector256.MaxNative(lo, c31);
            c40 = Vector256.MaxNative(lo, c40); c41 = Vector256.MaxNative(lo, c41);
            c50 = Vector256.MaxNative(lo, c50); c51 = Vector256.MaxNative(lo, c51);
            if (!float.IsPositiveInfinity(s.Hi))
            {
                var hi = Vector256.Create(s.Hi);
                c00 = Vector256.MinNative(hi, c00); c01 = Vector256.MinNative(hi, c01);
                c10 = Vector256.MinNative(hi, c10); c11 = Vector256.MinNative(hi, c11);
                c20 = Vector256.MinNative(hi, c20); c21 = Vector256.MinNative(hi, c21);
                c30 = Vector256.MinNative(hi, c30); c31 = Vector256.MinNative(hi, c31);
                c40 = Vector256.MinNative(hi, c40); c41 = Vector256.MinNative(hi, c41);
                c50 = Vector256.MinNative(hi, c50); c51 = Vector256.MinNative(hi, c51);
            }
        }
        Store(c, c00, c01); c += ldc;
        Store(c, c10, c11); c += ldc;
        Store(c, c20, c21); c += ldc;
        Store(c, c30, c31); c += ldc;
        Store(c, c40, c41); c += ldc;
        Store(c, c50, c51);
    }

    /// <summary>
    /// x += beta · C over a whole 6×16 tile, the six rows of C read before the caller writes any (<see cref="StorePlain6"/>,
    /// <see cref="StoreEpilogue6"/>); C is not read when beta is 0. Inlined: the twelve accumulators stay in their
    /// registers (checked with DOTNET_JitDisasm: both stores compile to the same instructions as when each held this block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled6(float* c, nint ldc, float beta,
        ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11, ref Vector256<float> c20, ref Vector256<float> c21,
        ref Vector256<float> c30, ref Vector256<float> c31, ref Vector256<float> c40, ref Vector256<float> c41, ref Vector256<float> c50, ref Vector256<float> c51)
    {
        if (beta != 0)
        {
            var vb = Vector256.Create(beta);
            AddScaled(c, ref c00, ref c01, vb); c += ldc;
            AddScaled(c, ref c10, ref c11, vb); c += ldc;
            AddScaled(c, ref c20, ref c21, vb); c += ldc;
            AddScaled(c, ref c30, ref c31, vb); c += ldc;
            AddScaled(c, ref c40, ref c41, vb); c += ldc;
            AddScaled(c, ref c50, ref c51, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddBroadcast(float v, ref Vector256<float> x0, ref Vector256<float> x1)
    {
        var b = Vector256.Create(v);
        x0 += b;
        x1 += b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* r, ref Vector256<float> x0, ref Vector256<float> x1)
    {
        x0 += Vector256.Load(r);
        x1 += Vector256.Load(r + 8);
    }

    /// <summary>
    /// The plain store of a whole 5×16 tile (<see cref="RunFiveRows"/>): <see cref="StorePlain6"/> for ten accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePlain5(float* c, nint ldc, float beta,
        ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11, ref Vector256<float> c20, ref Vector256<float> c21,
        ref Vector256<float> c30, ref Vector256<float> c31, ref Vector256<float> c40, ref Vector256<float> c41)
    {
        if (beta != 0)
        {
            var vb = Vector256.Create(beta);
            float* r = c;
            AddScaled(r, ref c00, ref c01, vb); r += ldc;
            AddScaled(r, ref c10, ref c11, vb); r += ldc;
            AddScaled(r, ref c20, ref c21, vb); r += ldc;
            AddScaled(r, ref c30, ref c31, vb); r += ldc;
            AddScaled(r, ref c40, ref c41, vb);
        }
        Store(c, c00, c01); c += ldc;
        Store(c, c10, c11); c += ldc;
        Store(c, c20, c21); c += ldc;
        Store(c, c30, c31); c += ldc;
        Store(c, c40, c41);
    }

    /// <summary>
    /// The column masks of an edge tile <paramref name="cols"/> wide (1–16): the lanes of its first and second 8-float
    /// half that lie inside the tile (vmaskmovps keeps the rest of C untouched).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> M0, Vector256<float> M1) EdgeMasks(int cols)
        => (Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(cols)).AsSingle(),
            Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(cols - 8)).AsSingle());

    /// <summary>
    /// Rows 0..3 of the 6×16 tile (4 broadcasts, 8 FMAs per depth: 8 ymm accumulators, just enough chains for two FMA
    /// pipes), for C's last 1–4 rows; always through the edge store (a short tile is never a plain one).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4<TB>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
        where TB : struct, IGemmBSource
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default;
        PrefetchTile(c, ldc, in s);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> ai;
            ai = Vector256.Create(a[0]); c00 = Vector256.MultiplyAddEstimate(ai, b0, c00); c01 = Vector256.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector256.Create(a[1]); c10 = Vector256.MultiplyAddEstimate(ai, b0, c10); c11 = Vector256.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector256.Create(a[2]); c20 = Vector256.MultiplyAddEstimate(ai, b0, c20); c21 = Vector256.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector256.Create(a[3]); c30 = Vector256.MultiplyAddEstimate(ai, b0, c30); c31 = Vector256.MultiplyAddEstimate(ai, b1, c31);
            a += 6;
            if (TB.InPlace) b += ldb;
            else b += 16;
        }
        if (TB.InPlace)
        {
            var all = Vector256<float>.AllBitsSet; // whole: the masks are never read (see Tile6)
            StoreEdge(c, c00, c01, beta, in s, 0, all, all, true); c += ldc;
            StoreEdge(c, c10, c11, beta, in s, 1, all, all, true); c += ldc;
            StoreEdge(c, c20, c21, beta, in s, 2, all, all, true); c += ldc;
            StoreEdge(c, c30, c31, beta, in s, 3, all, all, true);
            return;
        }
        bool whole = s.Cols == 16;
        var (m0, m1) = EdgeMasks(s.Cols);
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m1, whole); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m1, whole); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m1, whole); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m1, whole);
    }
}
