using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The register tile of the direct convolution on channel-blocked data (oneDNN's jit_avx512_common_conv_fwd_kernel
/// and LIBXSMM's convolution microkernels work the same way): P output pixels × O blocks of V output channels stay in
/// P·O vector registers for the whole reduction over input channels and kernel taps. Each step (one input channel c
/// of one tap) loads the O weight vectors w[c, o·V .. o·V + V) once and broadcasts the P input values x[pixel j, c],
/// so every load feeds O (weights) or P (inputs) fused multiply-adds.
/// The P pixels are R consecutive columns of Rows output rows, and O is 1 to 3: wide maps take one row of up to 14
/// pixels × 2 blocks, 7-wide maps one row × 3 blocks, tiny maps several rows, so every map size fills the registers
/// without computing pixels twice. AVX-512: 14 × 2 is 28 accumulators + 2 weights + 1 broadcast of the 32 registers;
/// AVX2: 6 × 2 is 15 of 16. R, Rows, O and the column stride S are type arguments, so the JIT compiles one
/// straight-line kernel per combination, with the unused accumulators gone.
/// Shapes: x padded, blocked input [ICB][Hp][Wp][V] (the tile's first pixel at x, its next rows xTileRow apart);
/// w [ICB][kH][kW][V (ic)][wStep ≥ O·V (oc)]; y blocked output, pixel (row i, column j) of block o at
/// y + o·yBlockStride + i·yRowPitch + j·V.
/// </summary>
internal static unsafe class Conv2dDirectTile<TS, TV, TR, TRows, TO, TStride>
    where TS : struct, ISimdFloat<TV> where TV : struct
    where TR : struct, IConstant where TRows : struct, IConstant where TO : struct, IConstant where TStride : struct, IConstant
{
    /// <summary>
    /// y tile (=, or += when <paramref name="accumulate"/>) Σ over icBlocks·kH·kW·V steps of broadcast(x) · w. The kH
    /// kernel rows run may be a part of the weights' rows (taps that read only padding are left out):
    /// <paramref name="wBlockSkip"/> floats of w are skipped after each input-channel block. <paramref name="edges"/>
    /// (<see cref="Conv2dDirect.LeftEdge"/>, <see cref="Conv2dDirect.RightEdge"/>) says which taps read only the zero border: tap 0 for the tile's
    /// first column of pixels, the last tap for its last column; their multiply-adds are left out (on a 7-wide row of a
    /// 3×3 kernel, 2 of 21).
    /// Before each tap, up to <paramref name="prefetchPerTap"/> cache lines from <paramref name="prefetch"/> (not past
    /// <paramref name="prefetchEnd"/>) are prefetched (prefetcht0, or prefetcht2 without
    /// <see cref="Conv2dDirect.SpreadPrefetchIntoL1"/>): the caller's slice of the next pass's weights, spread over the
    /// tile's taps instead of requested in one burst before the call, which waited for free miss buffers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* x, float* w, float* y, int icBlocks, int kH, int kW, nint wStep, nint wBlockSkip, nint xBlockStride, nint xRowStep,
        nint xColStep, nint xTileRow, nint yBlockStride, nint yRowPitch, bool accumulate, int edges, float* prefetch, float* prefetchEnd, int prefetchPerTap)
    {
        int V = TS.Length, R = TR.Value, P = TR.Value * TRows.Value, O = TO.Value, S = TStride.Value;
        // Byte offsets of the tile's second to fourth rows, so each broadcast addresses [x + row + displacement].
        nint r1 = xTileRow * sizeof(float), r2 = 2 * r1, r3 = 3 * r1;
        TV a0_0 = TS.Zero, a0_1 = TS.Zero, a0_2 = TS.Zero,
            a1_0 = TS.Zero, a1_1 = TS.Zero, a1_2 = TS.Zero,
            a2_0 = TS.Zero, a2_1 = TS.Zero, a2_2 = TS.Zero,
            a3_0 = TS.Zero, a3_1 = TS.Zero, a3_2 = TS.Zero,
            a4_0 = TS.Zero, a4_1 = TS.Zero, a4_2 = TS.Zero,
            a5_0 = TS.Zero, a5_1 = TS.Zero, a5_2 = TS.Zero,
            a6_0 = TS.Zero, a6_1 = TS.Zero, a6_2 = TS.Zero,
            a7_0 = TS.Zero, a7_1 = TS.Zero, a7_2 = TS.Zero,
            a8_0 = TS.Zero, a8_1 = TS.Zero, a8_2 = TS.Zero,
            a9_0 = TS.Zero, a9_1 = TS.Zero, a9_2 = TS.Zero,
            a10_0 = TS.Zero, a10_1 = TS.Zero, a10_2 = TS.Zero,
            a11_0 = TS.Zero, a11_1 = TS.Zero, a11_2 = TS.Zero,
            a12_0 = TS.Zero, a12_1 = TS.Zero, a12_2 = TS.Zero,
            a13_0 = TS.Zero, a13_1 = TS.Zero, a13_2 = TS.Zero;
        for (int cb = 0; cb < icBlocks; cb++)
        {
            float* xb = x + cb * xBlockStride;
            for (int i = 0; i < kH; i++)
            {
                float* xr = xb + i * xRowStep;
                for (int j = 0; j < kW; j++)
                {
                    float* xp = xr + j * xColStep, end = xp + V;
                    prefetch = Conv2dDirect.SpreadPrefetchLines(prefetch, prefetchEnd, prefetchPerTap);
                    // Edge tiles: the first column's pixels read the zero border at tap 0, the last column's at the last tap.
                    if (j == 0 && (edges & Conv2dDirect.LeftEdge) != 0)
                        for (float* xc = xp; xc < end; xc++, w += wStep)
                        {
                            TV w0 = TS.Load(w);
                            TV w1 = O > 1 ? TS.Load(w + V) : w0;
                            TV w2 = O > 2 ? TS.Load(w + 2 * V) : w0;
                            TV b;
                            if (0 % R != 0) { b = TS.Broadcast(Row(xc, 0 / R, r1, r2, r3) + 0 % R * S * V); a0_0 = TS.Fma(b, w0, a0_0); if (O > 1) a0_1 = TS.Fma(b, w1, a0_1); if (O > 2) a0_2 = TS.Fma(b, w2, a0_2); }
                            if (P > 1 && 1 % R != 0) { b = TS.Broadcast(Row(xc, 1 / R, r1, r2, r3) + 1 % R * S * V); a1_0 = TS.Fma(b, w0, a1_0); if (O > 1) a1_1 = TS.Fma(b, w1, a1_1); if (O > 2) a1_2 = TS.Fma(b, w2, a1_2); }
                            if (P > 2 && 2 % R != 0) { b = TS.Broadcast(Row(xc, 2 / R, r1, r2, r3) + 2 % R * S * V); a2_0 = TS.Fma(b, w0, a2_0); if (O > 1) a2_1 = TS.Fma(b, w1, a2_1); if (O > 2) a2_2 = TS.Fma(b, w2, a2_2); }
                            if (P > 3 && 3 % R != 0) { b = TS.Broadcast(Row(xc, 3 / R, r1, r2, r3) + 3 % R * S * V); a3_0 = TS.Fma(b, w0, a3_0); if (O > 1) a3_1 = TS.Fma(b, w1, a3_1); if (O > 2) a3_2 = TS.Fma(b, w2, a3_2); }
                            if (P > 4 && 4 % R != 0) { b = TS.Broadcast(Row(xc, 4 / R, r1, r2, r3) + 4 % R * S * V); a4_0 = TS.Fma(b, w0, a4_0); if (O > 1) a4_1 = TS.Fma(b, w1, a4_1); if (O > 2) a4_2 = TS.Fma(b, w2, a4_2); }
                            if (P > 5 && 5 % R != 0) { b = TS.Broadcast(Row(xc, 5 / R, r1, r2, r3) + 5 % R * S * V); a5_0 = TS.Fma(b, w0, a5_0); if (O > 1) a5_1 = TS.Fma(b, w1, a5_1); if (O > 2) a5_2 = TS.Fma(b, w2, a5_2); }
                            if (P > 6 && 6 % R != 0) { b = TS.Broadcast(Row(xc, 6 / R, r1, r2, r3) + 6 % R * S * V); a6_0 = TS.Fma(b, w0, a6_0); if (O > 1) a6_1 = TS.Fma(b, w1, a6_1); if (O > 2) a6_2 = TS.Fma(b, w2, a6_2); }
                            if (P > 7 && 7 % R != 0) { b = TS.Broadcast(Row(xc, 7 / R, r1, r2, r3) + 7 % R * S * V); a7_0 = TS.Fma(b, w0, a7_0); if (O > 1) a7_1 = TS.Fma(b, w1, a7_1); if (O > 2) a7_2 = TS.Fma(b, w2, a7_2); }
                            if (P > 8 && 8 % R != 0) { b = TS.Broadcast(Row(xc, 8 / R, r1, r2, r3) + 8 % R * S * V); a8_0 = TS.Fma(b, w0, a8_0); if (O > 1) a8_1 = TS.Fma(b, w1, a8_1); if (O > 2) a8_2 = TS.Fma(b, w2, a8_2); }
                            if (P > 9 && 9 % R != 0) { b = TS.Broadcast(Row(xc, 9 / R, r1, r2, r3) + 9 % R * S * V); a9_0 = TS.Fma(b, w0, a9_0); if (O > 1) a9_1 = TS.Fma(b, w1, a9_1); if (O > 2) a9_2 = TS.Fma(b, w2, a9_2); }
                            if (P > 10 && 10 % R != 0) { b = TS.Broadcast(Row(xc, 10 / R, r1, r2, r3) + 10 % R * S * V); a10_0 = TS.Fma(b, w0, a10_0); if (O > 1) a10_1 = TS.Fma(b, w1, a10_1); if (O > 2) a10_2 = TS.Fma(b, w2, a10_2); }
                            if (P > 11 && 11 % R != 0) { b = TS.Broadcast(Row(xc, 11 / R, r1, r2, r3) + 11 % R * S * V); a11_0 = TS.Fma(b, w0, a11_0); if (O > 1) a11_1 = TS.Fma(b, w1, a11_1); if (O > 2) a11_2 = TS.Fma(b, w2, a11_2); }
                            if (P > 12 && 12 % R != 0) { b = TS.Broadcast(Row(xc, 12 / R, r1, r2, r3) + 12 % R * S * V); a12_0 = TS.Fma(b, w0, a12_0); if (O > 1) a12_1 = TS.Fma(b, w1, a12_1); if (O > 2) a12_2 = TS.Fma(b, w2, a12_2); }
                            if (P > 13 && 13 % R != 0) { b = TS.Broadcast(Row(xc, 13 / R, r1, r2, r3) + 13 % R * S * V); a13_0 = TS.Fma(b, w0, a13_0); if (O > 1) a13_1 = TS.Fma(b, w1, a13_1); if (O > 2) a13_2 = TS.Fma(b, w2, a13_2); }
                        }
                    else if (j == kW - 1 && (edges & Conv2dDirect.RightEdge) != 0)
                        for (float* xc = xp; xc < end; xc++, w += wStep)
                        {
                            TV w0 = TS.Load(w);
                            TV w1 = O > 1 ? TS.Load(w + V) : w0;
                            TV w2 = O > 2 ? TS.Load(w + 2 * V) : w0;
                            TV b;
                            if (0 % R != R - 1) { b = TS.Broadcast(Row(xc, 0 / R, r1, r2, r3) + 0 % R * S * V); a0_0 = TS.Fma(b, w0, a0_0); if (O > 1) a0_1 = TS.Fma(b, w1, a0_1); if (O > 2) a0_2 = TS.Fma(b, w2, a0_2); }
                            if (P > 1 && 1 % R != R - 1) { b = TS.Broadcast(Row(xc, 1 / R, r1, r2, r3) + 1 % R * S * V); a1_0 = TS.Fma(b, w0, a1_0); if (O > 1) a1_1 = TS.Fma(b, w1, a1_1); if (O > 2) a1_2 = TS.Fma(b, w2, a1_2); }
                            if (P > 2 && 2 % R != R - 1) { b = TS.Broadcast(Row(xc, 2 / R, r1, r2, r3) + 2 % R * S * V); a2_0 = TS.Fma(b, w0, a2_0); if (O > 1) a2_1 = TS.Fma(b, w1, a2_1); if (O > 2) a2_2 = TS.Fma(b, w2, a2_2); }
                            if (P > 3 && 3 % R != R - 1) { b = TS.Broadcast(Row(xc, 3 / R, r1, r2, r3) + 3 % R * S * V); a3_0 = TS.Fma(b, w0, a3_0); if (O > 1) a3_1 = TS.Fma(b, w1, a3_1); if (O > 2) a3_2 = TS.Fma(b, w2, a3_2); }
                            if (P > 4 && 4 % R != R - 1) { b = TS.Broadcast(Row(xc, 4 / R, r1, r2, r3) + 4 % R * S * V); a4_0 = TS.Fma(b, w0, a4_0); if (O > 1) a4_1 = TS.Fma(b, w1, a4_1); if (O > 2) a4_2 = TS.Fma(b, w2, a4_2); }
                            if (P > 5 && 5 % R != R - 1) { b = TS.Broadcast(Row(xc, 5 / R, r1, r2, r3) + 5 % R * S * V); a5_0 = TS.Fma(b, w0, a5_0); if (O > 1) a5_1 = TS.Fma(b, w1, a5_1); if (O > 2) a5_2 = TS.Fma(b, w2, a5_2); }
                            if (P > 6 && 6 % R != R - 1) { b = TS.Broadcast(Row(xc, 6 / R, r1, r2, r3) + 6 % R * S * V); a6_0 = TS.Fma(b, w0, a6_0); if (O > 1) a6_1 = TS.Fma(b, w1, a6_1); if (O > 2) a6_2 = TS.Fma(b, w2, a6_2); }
                            if (P > 7 && 7 % R != R - 1) { b = TS.Broadcast(Row(xc, 7 / R, r1, r2, r3) + 7 % R * S * V); a7_0 = TS.Fma(b, w0, a7_0); if (O > 1) a7_1 = TS.Fma(b, w1, a7_1); if (O > 2) a7_2 = TS.Fma(b, w2, a7_2); }
                            if (P > 8 && 8 % R != R - 1) { b = TS.Broadcast(Row(xc, 8 / R, r1, r2, r3) + 8 % R * S * V); a8_0 = TS.Fma(b, w0, a8_0); if (O > 1) a8_1 = TS.Fma(b, w1, a8_1); if (O > 2) a8_2 = TS.Fma(b, w2, a8_2); }
                            if (P > 9 && 9 % R != R - 1) { b = TS.Broadcast(Row(xc, 9 / R, r1, r2, r3) + 9 % R * S * V); a9_0 = TS.Fma(b, w0, a9_0); if (O > 1) a9_1 = TS.Fma(b, w1, a9_1); if (O > 2) a9_2 = TS.Fma(b, w2, a9_2); }
                            if (P > 10 && 10 % R != R - 1) { b = TS.Broadcast(Row(xc, 10 / R, r1, r2, r3) + 10 % R * S * V); a10_0 = TS.Fma(b, w0, a10_0); if (O > 1) a10_1 = TS.Fma(b, w1, a10_1); if (O > 2) a10_2 = TS.Fma(b, w2, a10_2); }
                            if (P > 11 && 11 % R != R - 1) { b = TS.Broadcast(Row(xc, 11 / R, r1, r2, r3) + 11 % R * S * V); a11_0 = TS.Fma(b, w0, a11_0); if (O > 1) a11_1 = TS.Fma(b, w1, a11_1); if (O > 2) a11_2 = TS.Fma(b, w2, a11_2); }
                            if (P > 12 && 12 % R != R - 1) { b = TS.Broadcast(Row(xc, 12 / R, r1, r2, r3) + 12 % R * S * V); a12_0 = TS.Fma(b, w0, a12_0); if (O > 1) a12_1 = TS.Fma(b, w1, a12_1); if (O > 2) a12_2 = TS.Fma(b, w2, a12_2); }
                            if (P > 13 && 13 % R != R - 1) { b = TS.Broadcast(Row(xc, 13 / R, r1, r2, r3) + 13 % R * S * V); a13_0 = TS.Fma(b, w0, a13_0); if (O > 1) a13_1 = TS.Fma(b, w1, a13_1); if (O > 2) a13_2 = TS.Fma(b, w2, a13_2); }
                        }
                    else
                        for (float* xc = xp; xc < end; xc++, w += wStep)
                        {
                            TV w0 = TS.Load(w);
                            TV w1 = O > 1 ? TS.Load(w + V) : w0;
                            TV w2 = O > 2 ? TS.Load(w + 2 * V) : w0;
                            TV b;
                            { b = TS.Broadcast(Row(xc, 0 / R, r1, r2, r3) + 0 % R * S * V); a0_0 = TS.Fma(b, w0, a0_0); if (O > 1) a0_1 = TS.Fma(b, w1, a0_1); if (O > 2) a0_2 = TS.Fma(b, w2, a0_2); }
                            if (P > 1) { b = TS.Broadcast(Row(xc, 1 / R, r1, r2, r3) + 1 % R * S * V); a1_0 = TS.Fma(b, w0, a1_0); if (O > 1) a1_1 = TS.Fma(b, w1, a1_1); if (O > 2) a1_2 = TS.Fma(b, w2, a1_2); }
                            if (P > 2) { b = TS.Broadcast(Row(xc, 2 / R, r1, r2, r3) + 2 % R * S * V); a2_0 = TS.Fma(b, w0, a2_0); if (O > 1) a2_1 = TS.Fma(b, w1, a2_1); if (O > 2) a2_2 = TS.Fma(b, w2, a2_2); }
                            if (P > 3) { b = TS.Broadcast(Row(xc, 3 / R, r1, r2, r3) + 3 % R * S * V); a3_0 = TS.Fma(b, w0, a3_0); if (O > 1) a3_1 = TS.Fma(b, w1, a3_1); if (O > 2) a3_2 = TS.Fma(b, w2, a3_2); }
                            if (P > 4) { b = TS.Broadcast(Row(xc, 4 / R, r1, r2, r3) + 4 % R * S * V); a4_0 = TS.Fma(b, w0, a4_0); if (O > 1) a4_1 = TS.Fma(b, w1, a4_1); if (O > 2) a4_2 = TS.Fma(b, w2, a4_2); }
                            if (P > 5) { b = TS.Broadcast(Row(xc, 5 / R, r1, r2, r3) + 5 % R * S * V); a5_0 = TS.Fma(b, w0, a5_0); if (O > 1) a5_1 = TS.Fma(b, w1, a5_1); if (O > 2) a5_2 = TS.Fma(b, w2, a5_2); }
                            if (P > 6) { b = TS.Broadcast(Row(xc, 6 / R, r1, r2, r3) + 6 % R * S * V); a6_0 = TS.Fma(b, w0, a6_0); if (O > 1) a6_1 = TS.Fma(b, w1, a6_1); if (O > 2) a6_2 = TS.Fma(b, w2, a6_2); }
                            if (P > 7) { b = TS.Broadcast(Row(xc, 7 / R, r1, r2, r3) + 7 % R * S * V); a7_0 = TS.Fma(b, w0, a7_0); if (O > 1) a7_1 = TS.Fma(b, w1, a7_1); if (O > 2) a7_2 = TS.Fma(b, w2, a7_2); }
                            if (P > 8) { b = TS.Broadcast(Row(xc, 8 / R, r1, r2, r3) + 8 % R * S * V); a8_0 = TS.Fma(b, w0, a8_0); if (O > 1) a8_1 = TS.Fma(b, w1, a8_1); if (O > 2) a8_2 = TS.Fma(b, w2, a8_2); }
                            if (P > 9) { b = TS.Broadcast(Row(xc, 9 / R, r1, r2, r3) + 9 % R * S * V); a9_0 = TS.Fma(b, w0, a9_0); if (O > 1) a9_1 = TS.Fma(b, w1, a9_1); if (O > 2) a9_2 = TS.Fma(b, w2, a9_2); }
                            if (P > 10) { b = TS.Broadcast(Row(xc, 10 / R, r1, r2, r3) + 10 % R * S * V); a10_0 = TS.Fma(b, w0, a10_0); if (O > 1) a10_1 = TS.Fma(b, w1, a10_1); if (O > 2) a10_2 = TS.Fma(b, w2, a10_2); }
                            if (P > 11) { b = TS.Broadcast(Row(xc, 11 / R, r1, r2, r3) + 11 % R * S * V); a11_0 = TS.Fma(b, w0, a11_0); if (O > 1) a11_1 = TS.Fma(b, w1, a11_1); if (O > 2) a11_2 = TS.Fma(b, w2, a11_2); }
                            if (P > 12) { b = TS.Broadcast(Row(xc, 12 / R, r1, r2, r3) + 12 % R * S * V); a12_0 = TS.Fma(b, w0, a12_0); if (O > 1) a12_1 = TS.Fma(b, w1, a12_1); if (O > 2) a12_2 = TS.Fma(b, w2, a12_2); }
                            if (P > 13) { b = TS.Broadcast(Row(xc, 13 / R, r1, r2, r3) + 13 % R * S * V); a13_0 = TS.Fma(b, w0, a13_0); if (O > 1) a13_1 = TS.Fma(b, w1, a13_1); if (O > 2) a13_2 = TS.Fma(b, w2, a13_2); }
                        }
                }
            }
            w += wBlockSkip;
        }
        { float* p = y + 0 % R * V + 0 / R * yRowPitch; Put(p, a0_0, accumulate); if (O > 1) Put(p + yBlockStride, a0_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a0_2, accumulate); }
        if (P > 1) { float* p = y + 1 % R * V + 1 / R * yRowPitch; Put(p, a1_0, accumulate); if (O > 1) Put(p + yBlockStride, a1_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a1_2, accumulate); }
        if (P > 2) { float* p = y + 2 % R * V + 2 / R * yRowPitch; Put(p, a2_0, accumulate); if (O > 1) Put(p + yBlockStride, a2_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a2_2, accumulate); }
        if (P > 3) { float* p = y + 3 % R * V + 3 / R * yRowPitch; Put(p, a3_0, accumulate); if (O > 1) Put(p + yBlockStride, a3_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a3_2, accumulate); }
        if (P > 4) { float* p = y + 4 % R * V + 4 / R * yRowPitch; Put(p, a4_0, accumulate); if (O > 1) Put(p + yBlockStride, a4_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a4_2, accumulate); }
        if (P > 5) { float* p = y + 5 % R * V + 5 / R * yRowPitch; Put(p, a5_0, accumulate); if (O > 1) Put(p + yBlockStride, a5_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a5_2, accumulate); }
        if (P > 6) { float* p = y + 6 % R * V + 6 / R * yRowPitch; Put(p, a6_0, accumulate); if (O > 1) Put(p + yBlockStride, a6_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a6_2, accumulate); }
        if (P > 7) { float* p = y + 7 % R * V + 7 / R * yRowPitch; Put(p, a7_0, accumulate); if (O > 1) Put(p + yBlockStride, a7_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a7_2, accumulate); }
        if (P > 8) { float* p = y + 8 % R * V + 8 / R * yRowPitch; Put(p, a8_0, accumulate); if (O > 1) Put(p + yBlockStride, a8_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a8_2, accumulate); }
        if (P > 9) { float* p = y + 9 % R * V + 9 / R * yRowPitch; Put(p, a9_0, accumulate); if (O > 1) Put(p + yBlockStride, a9_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a9_2, accumulate); }
        if (P > 10) { float* p = y + 10 % R * V + 10 / R * yRowPitch; Put(p, a10_0, accumulate); if (O > 1) Put(p + yBlockStride, a10_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a10_2, accumulate); }
        if (P > 11) { float* p = y + 11 % R * V + 11 / R * yRowPitch; Put(p, a11_0, accumulate); if (O > 1) Put(p + yBlockStride, a11_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a11_2, accumulate); }
        if (P > 12) { float* p = y + 12 % R * V + 12 / R * yRowPitch; Put(p, a12_0, accumulate); if (O > 1) Put(p + yBlockStride, a12_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a12_2, accumulate); }
        if (P > 13) { float* p = y + 13 % R * V + 13 / R * yRowPitch; Put(p, a13_0, accumulate); if (O > 1) Put(p + yBlockStride, a13_1, accumulate); if (O > 2) Put(p + 2 * yBlockStride, a13_2, accumulate); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Row(float* x, int row, nint r1, nint r2, nint r3) =>
        row == 0 ? x : (float*)((byte*)x + (row == 1 ? r1 : row == 2 ? r2 : r3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* p, TV value, bool accumulate) => TS.Store(accumulate ? TS.Add(TS.Load(p), value) : value, p);
}
