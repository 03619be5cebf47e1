using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// The register tile of the direct convolution on pixel-interleaved input (<see cref="Conv2dDirect"/>'s path for few
/// input channels, the RGB stem): R output pixels of one row × O blocks of V output channels stay in R·O vector
/// registers, as in <see cref="Conv2dDirectTile{TS, TV, TR, TRows, TO, TStride}"/>, but the input is [Hp][Wp][C]
/// with C ≤ 4 channels per pixel instead of whole blocks of V, so three channels are not padded to sixteen. One row of
/// the kernel then reads kW·C consecutive floats per output pixel (the taps of a row and their channels are adjacent
/// in both the input and the weights), and the tile runs kH such runs: each step loads the O weight vectors once and
/// broadcasts R input values, which sit TStep = stride·C floats apart.
/// Shapes: x the tile's first input pixel in [Hp][Wp][C]; w [kH][kW·C][wStep ≥ O·V]; y blocked output, pixel j of
/// block o at y + o·yBlockStride + j·V.
/// </summary>
internal static unsafe class Conv2dDirectPixelTile<TS, TV, TR, TO, TStep>
    where TS : struct, ISimdFloat<TV> where TV : struct
    where TR : struct, IConstant where TO : struct, IConstant where TStep : struct, IConstant
{
    /// <summary>y tile = Σ over kH rows × run (kW·C) steps of broadcast(x) · w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* x, float* w, float* y, int kH, int run, nint wStep, nint xRowStep, nint yBlockStride)
    {
        int V = TS.Length, R = TR.Value, O = TO.Value, S = TStep.Value;
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
        for (int i = 0; i < kH; i++)
        {
            float* xr = x + i * xRowStep;
            for (float* xc = xr, end = xr + run; xc < end; xc++, w += wStep)
            {
                TV w0 = TS.Load(w);
                TV w1 = O > 1 ? TS.Load(w + V) : w0;
                TV w2 = O > 2 ? TS.Load(w + 2 * V) : w0;
                TV b;
                { b = TS.Broadcast(xc); a0_0 = TS.Fma(b, w0, a0_0); if (O > 1) a0_1 = TS.Fma(b, w1, a0_1); if (O > 2) a0_2 = TS.Fma(b, w2, a0_2); }
                if (R > 1) { b = TS.Broadcast(xc + 1 * S); a1_0 = TS.Fma(b, w0, a1_0); if (O > 1) a1_1 = TS.Fma(b, w1, a1_1); if (O > 2) a1_2 = TS.Fma(b, w2, a1_2); }
                if (R > 2) { b = TS.Broadcast(xc + 2 * S); a2_0 = TS.Fma(b, w0, a2_0); if (O > 1) a2_1 = TS.Fma(b, w1, a2_1); if (O > 2) a2_2 = TS.Fma(b, w2, a2_2); }
                if (R > 3) { b = TS.Broadcast(xc + 3 * S); a3_0 = TS.Fma(b, w0, a3_0); if (O > 1) a3_1 = TS.Fma(b, w1, a3_1); if (O > 2) a3_2 = TS.Fma(b, w2, a3_2); }
                if (R > 4) { b = TS.Broadcast(xc + 4 * S); a4_0 = TS.Fma(b, w0, a4_0); if (O > 1) a4_1 = TS.Fma(b, w1, a4_1); if (O > 2) a4_2 = TS.Fma(b, w2, a4_2); }
                if (R > 5) { b = TS.Broadcast(xc + 5 * S); a5_0 = TS.Fma(b, w0, a5_0); if (O > 1) a5_1 = TS.Fma(b, w1, a5_1); if (O > 2) a5_2 = TS.Fma(b, w2, a5_2); }
                if (R > 6) { b = TS.Broadcast(xc + 6 * S); a6_0 = TS.Fma(b, w0, a6_0); if (O > 1) a6_1 = TS.Fma(b, w1, a6_1); if (O > 2) a6_2 = TS.Fma(b, w2, a6_2); }
                if (R > 7) { b = TS.Broadcast(xc + 7 * S); a7_0 = TS.Fma(b, w0, a7_0); if (O > 1) a7_1 = TS.Fma(b, w1, a7_1); if (O > 2) a7_2 = TS.Fma(b, w2, a7_2); }
                if (R > 8) { b = TS.Broadcast(xc + 8 * S); a8_0 = TS.Fma(b, w0, a8_0); if (O > 1) a8_1 = TS.Fma(b, w1, a8_1); if (O > 2) a8_2 = TS.Fma(b, w2, a8_2); }
                if (R > 9) { b = TS.Broadcast(xc + 9 * S); a9_0 = TS.Fma(b, w0, a9_0); if (O > 1) a9_1 = TS.Fma(b, w1, a9_1); if (O > 2) a9_2 = TS.Fma(b, w2, a9_2); }
                if (R > 10) { b = TS.Broadcast(xc + 10 * S); a10_0 = TS.Fma(b, w0, a10_0); if (O > 1) a10_1 = TS.Fma(b, w1, a10_1); if (O > 2) a10_2 = TS.Fma(b, w2, a10_2); }
                if (R > 11) { b = TS.Broadcast(xc + 11 * S); a11_0 = TS.Fma(b, w0, a11_0); if (O > 1) a11_1 = TS.Fma(b, w1, a11_1); if (O > 2) a11_2 = TS.Fma(b, w2, a11_2); }
                if (R > 12) { b = TS.Broadcast(xc + 12 * S); a12_0 = TS.Fma(b, w0, a12_0); if (O > 1) a12_1 = TS.Fma(b, w1, a12_1); if (O > 2) a12_2 = TS.Fma(b, w2, a12_2); }
                if (R > 13) { b = TS.Broadcast(xc + 13 * S); a13_0 = TS.Fma(b, w0, a13_0); if (O > 1) a13_1 = TS.Fma(b, w1, a13_1); if (O > 2) a13_2 = TS.Fma(b, w2, a13_2); }
            }
        }
        Put(y, 0, yBlockStride, a0_0, a0_1, a0_2);
        if (R > 1) Put(y, 1, yBlockStride, a1_0, a1_1, a1_2);
        if (R > 2) Put(y, 2, yBlockStride, a2_0, a2_1, a2_2);
        if (R > 3) Put(y, 3, yBlockStride, a3_0, a3_1, a3_2);
        if (R > 4) Put(y, 4, yBlockStride, a4_0, a4_1, a4_2);
        if (R > 5) Put(y, 5, yBlockStride, a5_0, a5_1, a5_2);
        if (R > 6) Put(y, 6, yBlockStride, a6_0, a6_1, a6_2);
        if (R > 7) Put(y, 7, yBlockStride, a7_0, a7_1, a7_2);
        if (R > 8) Put(y, 8, yBlockStride, a8_0, a8_1, a8_2);
        if (R > 9) Put(y, 9, yBlockStride, a9_0, a9_1, a9_2);
        if (R > 10) Put(y, 10, yBlockStride, a10_0, a10_1, a10_2);
        if (R > 11) Put(y, 11, yBlockStride, a11_0, a11_1, a11_2);
        if (R > 12) Put(y, 12, yBlockStride, a12_0, a12_1, a12_2);
        if (R > 13) Put(y, 13, yBlockStride, a13_0, a13_1, a13_2);
    }

    /// <summary>Stores pixel <paramref name="j"/>'s O accumulators into their blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* y, int j, nint yBlockStride, TV o0, TV o1, TV o2)
    {
        float* p = y + j * TS.Length;
        TS.Store(o0, p);
        if (TO.Value > 1) TS.Store(o1, p + yBlockStride);
        if (TO.Value > 2) TS.Store(o2, p + 2 * yBlockStride);
    }
}
