using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The AVX2 batch-1 register tile of stride-1 3×3 convolutions on channel-blocked data that loads fewer operands per
/// multiply-add than <see cref="Conv2dDirectTile{TS, TV, TR, TRows, TO, TStride}"/>: R ≤ 12 consecutive output pixels
/// of one row × one block of V output channels in R accumulators, and per input channel c of a kernel row the weight
/// vectors of its three taps in three registers, so each of the row's R + 2 input values x[column q, c] is broadcast
/// once and feeds up to three multiply-adds (pixel q with tap 0, q − 1 with tap 1, q − 2 with tap 2). Per kernel row
/// and input channel: 3 weight loads + R + 2 broadcasts for 3·R FMAs, 17 loads per 36 FMAs at R = 12 (0.47 per FMA)
/// where the 6 × 2 tile loads 8 per 12 (0.67) and 4 × 3 and ONNX Runtime's MLAS NCHWc kernel (3 outputs × 4 filter
/// blocks) 7 per 12 (0.58). A host whose loads slow down (a busy SMT sibling) stretches this tile less.
/// The loop order is input-channel block → kernel row → input channel c → input column q (the taps of a row share the
/// broadcasts), so the sums add the taps in another order than the other tiles (rounding differs, not the result).
/// Registers: R + 3 weights + 1 broadcast ≤ 16. The call is the other tiles' call (same parameters; O = Rows = 1,
/// column stride and dilation 1, kW = 3): x padded, blocked input [ICB][Hp][Wp][V] (the tile's first pixel's tap 0 at
/// x); w [ICB][kH][3][V (ic)][wStep (oc)]; y blocked output, pixel j at y + j·V.
/// </summary>
internal static unsafe class Conv2dDirectTapRowTile<TS, TV, TR>
    where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant
{
    /// <summary>
    /// y tile (=, or += when <paramref name="accumulate"/>) Σ over icBlocks·kH·3·V steps of broadcast(x) · w, as
    /// <see cref="Conv2dDirectTile{TS, TV, TR, TRows, TO, TStride}.Run"/> (the same parameters; <paramref name="kW"/> is 3,
    /// <paramref name="xColStep"/> V, and <paramref name="xTileRow"/>, <paramref name="yBlockStride"/>,
    /// <paramref name="yRowPitch"/> are unused with one row of one block). <paramref name="edges"/>: at the left edge the
    /// first input column (tap 0 of pixel 0) and at the right edge the last (tap 2 of pixel R − 1) read only the zero
    /// border and are neither loaded nor multiplied. Before each kernel row, up to 3·<paramref name="prefetchPerTap"/> lines
    /// of <paramref name="prefetch"/> are prefetched (the other tile does <paramref name="prefetchPerTap"/> per tap).
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
                    if (!left) { b = TS.Broadcast(xc); a0 = TS.Fma(b, w0, a0); }
                    { b = TS.Broadcast(xc + 1 * V); a0 = TS.Fma(b, w1, a0); if (R > 1) a1 = TS.Fma(b, w0, a1); }
                    if (R > 0 && (R != 1 || !right)) { b = TS.Broadcast(xc + 2 * V); a0 = TS.Fma(b, w2, a0); if (R > 1) a1 = TS.Fma(b, w1, a1); if (R > 2) a2 = TS.Fma(b, w0, a2); }
                    if (R > 1 && (R != 2 || !right)) { b = TS.Broadcast(xc + 3 * V); if (R > 1) a1 = TS.Fma(b, w2, a1); if (R > 2) a2 = TS.Fma(b, w1, a2); if (R > 3) a3 = TS.Fma(b, w0, a3); }
                    if (R > 2 && (R != 3 || !right)) { b = TS.Broadcast(xc + 4 * V); if (R > 2) a2 = TS.Fma(b, w2, a2); if (R > 3) a3 = TS.Fma(b, w1, a3); if (R > 4) a4 = TS.Fma(b, w0, a4); }
                    if (R > 3 && (R != 4 || !right)) { b = TS.Broadcast(xc + 5 * V); if (R > 3) a3 = TS.Fma(b, w2, a3); if (R > 4) a4 = TS.Fma(b, w1, a4); if (R > 5) a5 = TS.Fma(b, w0, a5); }
                    if (R > 4 && (R != 5 || !right)) { b = TS.Broadcast(xc + 6 * V); if (R > 4) a4 = TS.Fma(b, w2, a4); if (R > 5) a5 = TS.Fma(b, w1, a5); if (R > 6) a6 = TS.Fma(b, w0, a6); }
                    if (R > 5 && (R != 6 || !right)) { b = TS.Broadcast(xc + 7 * V); if (R > 5) a5 = TS.Fma(b, w2, a5); if (R > 6) a6 = TS.Fma(b, w1, a6); if (R > 7) a7 = TS.Fma(b, w0, a7); }
                    if (R > 6 && (R != 7 || !right)) { b = TS.Broadcast(xc + 8 * V); if (R > 6) a6 = TS.Fma(b, w2, a6); if (R > 7) a7 = TS.Fma(b, w1, a7); if (R > 8) a8 = TS.Fma(b, w0, a8); }
                    if (R > 7 && (R != 8 || !right)) { b = TS.Broadcast(xc + 9 * V); if (R > 7) a7 = TS.Fma(b, w2, a7); if (R > 8) a8 = TS.Fma(b, w1, a8); if (R > 9) a9 = TS.Fma(b, w0, a9); }
                    if (R > 8 && (R != 9 || !right)) { b = TS.Broadcast(xc + 10 * V); if (R > 8) a8 = TS.Fma(b, w2, a8); if (R > 9) a9 = TS.Fma(b, w1, a9); if (R > 10) a10 = TS.Fma(b, w0, a10); }
                    if (R > 9 && (R != 10 || !right)) { b = TS.Broadcast(xc + 11 * V); if (R > 9) a9 = TS.Fma(b, w2, a9); if (R > 10) a10 = TS.Fma(b, w1, a10); if (R > 11) a11 = TS.Fma(b, w0, a11); }
                    if (R > 10 && (R != 11 || !right)) { b = TS.Broadcast(xc + 12 * V); if (R > 10) a10 = TS.Fma(b, w2, a10); if (R > 11) a11 = TS.Fma(b, w1, a11); }
                    if (R > 11 && (R != 12 || !right)) { b = TS.Broadcast(xc + 13 * V); if (R > 11) a11 = TS.Fma(b, w2, a11); }
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
