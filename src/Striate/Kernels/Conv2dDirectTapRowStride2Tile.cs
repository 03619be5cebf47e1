using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The AVX2 batch-1 register tile of stride-2 3×3 convolutions on channel-blocked data that shares each broadcast over
/// the taps that read it, as <see cref="Conv2dDirectTapRowTile{TS, TV, TR}"/> does at stride 1: R ≤ 12 consecutive
/// output pixels of one row × one block of V output channels in R accumulators, and per input channel c of a kernel row
/// the weight vectors of its three taps in three registers. Output pixel q reads input columns 2q (tap 0), 2q + 1
/// (tap 1) and 2q + 2 (tap 2) of the tile's 2R + 1: each even column is broadcast once for two multiply-adds (pixel q
/// tap 0, pixel q − 1 tap 2), each odd column once for one. Per kernel row and input channel: 3 weight loads + 2R + 1
/// broadcasts for 3·R FMAs (R = 12: 28 per 36, 0.78; the 6 × 2 tile 24 per 36, 0.67, 4 × 3 21) — more loads per FMA,
/// but one loop per kernel row (not per tap), a group of one block (half the 6 × 2 tile's weights per pass) and
/// 12 accumulators over a 28-pixel row in three tiles (the 6 × 2 plan's last tiles are 5 pixels).
/// The input columns are read where they lie (the blocked padded input, pixel stride V): splitting them into even and
/// odd phases would not change the broadcasts (2R + 1 either way) nor the lines a tile touches.
/// Registers: R + 3 weights + 1 broadcast ≤ 16. The call is the other tiles' call (same parameters; O = Rows = 1,
/// column stride 2, dilation 1, kW = 3): x padded, blocked input [ICB][Hp][Wp][V] (the tile's first pixel's tap 0 at
/// x); w [ICB][kH][3][V (ic)][wStep (oc)]; y blocked output, pixel j at y + j·V.
/// </summary>
internal static unsafe class Conv2dDirectTapRowStride2Tile<TS, TV, TR>
    where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant
{
    /// <summary>
    /// y tile (=, or += when <paramref name="accumulate"/>) Σ over icBlocks·kH·3·V steps of broadcast(x) · w, as
    /// <see cref="Conv2dDirectTapRowTile{TS, TV, TR}.Run"/> (the same parameters; <paramref name="kW"/> is 3,
    /// <paramref name="xColStep"/> V — the dilation's step, the stride is this tile's — and <paramref name="xTileRow"/>,
    /// <paramref name="yBlockStride"/>, <paramref name="yRowPitch"/> are unused with one row of one block).
    /// <paramref name="edges"/>: at the left edge the first input column (tap 0 of pixel 0) and at the right edge the
    /// last (tap 2 of pixel R − 1) read only the zero border and are neither loaded nor multiplied. Before each kernel
    /// row, up to 3·<paramref name="prefetchPerTap"/> lines of <paramref name="prefetch"/> are prefetched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* x, float* w, float* y, int icBlocks, int kH, int kW, nint wStep, nint wBlockSkip, nint xBlockStride, nint xRowStep,
        nint xColStep, nint xTileRow, nint yBlockStride, nint yRowPitch, bool accumulate, int edges, float* prefetch, float* prefetchEnd, int prefetchPerTap)
    {
        int V = TS.Length, R = TR.Value;
        Debug.Assert(kW == 3 && xColStep == V && R <= 12);
        nint tap = V * wStep; // floats from one tap's weights to the next
        bool left = (edges & Conv2dDirect.LeftEdge) != 0, right = (edges & Conv2dDirect.RightEdge) != 0;
        int prefetchPerRow = 3 * prefetchPerTap;
        TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero,
            a4 = TS.Zero, a5 = TS.Zero, a6 = TS.Zero, a7 = TS.Zero,
            a8 = TS.Zero, a9 = TS.Zero, a10 = TS.Zero, a11 = TS.Zero;
        for (int cb = 0; cb < icBlocks; cb++)
        {
            float* xb = x + cb * xBlockStride;
            for (int i = 0; i < kH; i++)
            {
                float* xr = xb + i * xRowStep, end = xr + V;
                prefetch = Conv2dDirect.SpreadPrefetchLines(prefetch, prefetchEnd, prefetchPerRow);
                for (float* xc = xr; xc < end; xc++, w += wStep)
                {
                    TV w0 = TS.Load(w), w1 = TS.Load(w + tap), w2 = TS.Load(w + 2 * tap);
                    TV b;
                    // Input column k of the tile: even k = 2m is pixel m's tap 0 and pixel m − 1's tap 2, odd k = 2m + 1 pixel m's tap 1.
                    if (!left) { b = TS.Broadcast(xc); a0 = TS.Fma(b, w0, a0); }
                    { b = TS.Broadcast(xc + 1 * V); a0 = TS.Fma(b, w1, a0); }
                    if (R != 1 || !right) { b = TS.Broadcast(xc + 2 * V); a0 = TS.Fma(b, w2, a0); if (R > 1) a1 = TS.Fma(b, w0, a1); }
                    if (R > 1) { b = TS.Broadcast(xc + 3 * V); a1 = TS.Fma(b, w1, a1); }
                    if (R > 1 && (R != 2 || !right)) { b = TS.Broadcast(xc + 4 * V); a1 = TS.Fma(b, w2, a1); if (R > 2) a2 = TS.Fma(b, w0, a2); }
                    if (R > 2) { b = TS.Broadcast(xc + 5 * V); a2 = TS.Fma(b, w1, a2); }
                    if (R > 2 && (R != 3 || !right)) { b = TS.Broadcast(xc + 6 * V); a2 = TS.Fma(b, w2, a2); if (R > 3) a3 = TS.Fma(b, w0, a3); }
                    if (R > 3) { b = TS.Broadcast(xc + 7 * V); a3 = TS.Fma(b, w1, a3); }
                    if (R > 3 && (R != 4 || !right)) { b = TS.Broadcast(xc + 8 * V); a3 = TS.Fma(b, w2, a3); if (R > 4) a4 = TS.Fma(b, w0, a4); }
                    if (R > 4) { b = TS.Broadcast(xc + 9 * V); a4 = TS.Fma(b, w1, a4); }
                    if (R > 4 && (R != 5 || !right)) { b = TS.Broadcast(xc + 10 * V); a4 = TS.Fma(b, w2, a4); if (R > 5) a5 = TS.Fma(b, w0, a5); }
                    if (R > 5) { b = TS.Broadcast(xc + 11 * V); a5 = TS.Fma(b, w1, a5); }
                    if (R > 5 && (R != 6 || !right)) { b = TS.Broadcast(xc + 12 * V); a5 = TS.Fma(b, w2, a5); if (R > 6) a6 = TS.Fma(b, w0, a6); }
                    if (R > 6) { b = TS.Broadcast(xc + 13 * V); a6 = TS.Fma(b, w1, a6); }
                    if (R > 6 && (R != 7 || !right)) { b = TS.Broadcast(xc + 14 * V); a6 = TS.Fma(b, w2, a6); if (R > 7) a7 = TS.Fma(b, w0, a7); }
                    if (R > 7) { b = TS.Broadcast(xc + 15 * V); a7 = TS.Fma(b, w1, a7); }
                    if (R > 7 && (R != 8 || !right)) { b = TS.Broadcast(xc + 16 * V); a7 = TS.Fma(b, w2, a7); if (R > 8) a8 = TS.Fma(b, w0, a8); }
                    if (R > 8) { b = TS.Broadcast(xc + 17 * V); a8 = TS.Fma(b, w1, a8); }
                    if (R > 8 && (R != 9 || !right)) { b = TS.Broadcast(xc + 18 * V); a8 = TS.Fma(b, w2, a8); if (R > 9) a9 = TS.Fma(b, w0, a9); }
                    if (R > 9) { b = TS.Broadcast(xc + 19 * V); a9 = TS.Fma(b, w1, a9); }
                    if (R > 9 && (R != 10 || !right)) { b = TS.Broadcast(xc + 20 * V); a9 = TS.Fma(b, w2, a9); if (R > 10) a10 = TS.Fma(b, w0, a10); }
                    if (R > 10) { b = TS.Broadcast(xc + 21 * V); a10 = TS.Fma(b, w1, a10); }
                    if (R > 10 && (R != 11 || !right)) { b = TS.Broadcast(xc + 22 * V); a10 = TS.Fma(b, w2, a10); if (R > 11) a11 = TS.Fma(b, w0, a11); }
                    if (R > 11) { b = TS.Broadcast(xc + 23 * V); a11 = TS.Fma(b, w1, a11); }
                    if (R > 11 && (R != 12 || !right)) { b = TS.Broadcast(xc + 24 * V); a11 = TS.Fma(b, w2, a11); }
                }
                w += 2 * tap; // the loop stepped over tap 0's V input channels; taps 1 and 2 were read through it
            }
            w += wBlockSkip;
        }
        Put(y + 0 * V, a0, accumulate);
        if (R > 1) Put(y + 1 * V, a1, accumulate);
        if (R > 2) Put(y + 2 * V, a2, accumulate);
        if (R > 3) Put(y + 3 * V, a3, accumulate);
        if (R > 4) Put(y + 4 * V, a4, accumulate);
        if (R > 5) Put(y + 5 * V, a5, accumulate);
        if (R > 6) Put(y + 6 * V, a6, accumulate);
        if (R > 7) Put(y + 7 * V, a7, accumulate);
        if (R > 8) Put(y + 8 * V, a8, accumulate);
        if (R > 9) Put(y + 9 * V, a9, accumulate);
        if (R > 10) Put(y + 10 * V, a10, accumulate);
        if (R > 11) Put(y + 11 * V, a11, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* p, TV value, bool accumulate) => TS.Store(accumulate ? TS.Add(TS.Load(p), value) : value, p);
}
