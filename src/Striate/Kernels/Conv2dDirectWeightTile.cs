using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// The register tile of the direct convolution's weight gradient on channel-blocked data: for one block of V input
/// channels, OI output channels and K neighbouring taps of one kernel row, dW[oi, tap, ci..ci+V) stays in OI·K vector
/// registers while the reduction runs over every output pixel of a plane. Each pixel loads the K input vectors the K
/// taps see (V input channels each) and broadcasts the OI output-gradient values, so a load feeds OI or K fused
/// multiply-adds. AVX-512: OI = 8, K = 3 is 24 accumulators + 3 inputs + 1 broadcast; AVX2: OI = 4, K = 3 is 16.
/// Shapes: x padded, blocked input plane (the first output pixel's view at x: rows xRowStep apart, pixels xColStep,
/// taps xTapStep); dy blocked output-gradient plane [rows][cols][V] starting at channel oi0 (rows dyRowPitch apart);
/// dw [K taps][V (oi)][V (ci)] starting at oi0, i.e. dw + k·V·V + oi·V.
/// </summary>
internal static unsafe class Conv2dDirectWeightTile<TS, TV, TOI, TK>
    where TS : struct, ISimdFloat<TV> where TV : struct where TOI : struct, IConstant where TK : struct, IConstant
{
    /// <summary>
    /// dw tile (=, or += when <paramref name="accumulate"/>) Σ over <paramref name="images"/> images × rows × cols pixels of
    /// broadcast(dy) · x; image i's planes start xImageStride and dyImageStride floats after image i − 1's. Several images per
    /// call keep small planes (7×7: 49 pixels) from paying the accumulators' load and store once per plane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* x, float* dy, float* dw, int images, int rows, int cols, nint xImageStride, nint dyImageStride,
        nint xRowStep, nint xColStep, nint xTapStep, nint dyRowPitch, bool accumulate)
    {
        int V = TS.Length, OI = TOI.Value, K = TK.Value;
        TV a0_0 = TS.Zero, a0_1 = TS.Zero, a0_2 = TS.Zero,
            a1_0 = TS.Zero, a1_1 = TS.Zero, a1_2 = TS.Zero,
            a2_0 = TS.Zero, a2_1 = TS.Zero, a2_2 = TS.Zero,
            a3_0 = TS.Zero, a3_1 = TS.Zero, a3_2 = TS.Zero,
            a4_0 = TS.Zero, a4_1 = TS.Zero, a4_2 = TS.Zero,
            a5_0 = TS.Zero, a5_1 = TS.Zero, a5_2 = TS.Zero,
            a6_0 = TS.Zero, a6_1 = TS.Zero, a6_2 = TS.Zero,
            a7_0 = TS.Zero, a7_1 = TS.Zero, a7_2 = TS.Zero;
        for (int image = 0; image < images; image++, x += xImageStride, dy += dyImageStride)
        for (int r = 0; r < rows; r++)
        {
            float* xp = x + r * xRowStep;
            float* d = dy + r * dyRowPitch;
            for (int c = 0; c < cols; c++, xp += xColStep, d += V)
            {
                TV x0 = TS.Load(xp);
                TV x1 = K > 1 ? TS.Load(xp + xTapStep) : x0;
                TV x2 = K > 2 ? TS.Load(xp + 2 * xTapStep) : x0;
                TV b;
                { b = TS.Broadcast(d + 0); a0_0 = TS.Fma(b, x0, a0_0); if (K > 1) a0_1 = TS.Fma(b, x1, a0_1); if (K > 2) a0_2 = TS.Fma(b, x2, a0_2); }
                if (OI > 1) { b = TS.Broadcast(d + 1); a1_0 = TS.Fma(b, x0, a1_0); if (K > 1) a1_1 = TS.Fma(b, x1, a1_1); if (K > 2) a1_2 = TS.Fma(b, x2, a1_2); }
                if (OI > 2) { b = TS.Broadcast(d + 2); a2_0 = TS.Fma(b, x0, a2_0); if (K > 1) a2_1 = TS.Fma(b, x1, a2_1); if (K > 2) a2_2 = TS.Fma(b, x2, a2_2); }
                if (OI > 3) { b = TS.Broadcast(d + 3); a3_0 = TS.Fma(b, x0, a3_0); if (K > 1) a3_1 = TS.Fma(b, x1, a3_1); if (K > 2) a3_2 = TS.Fma(b, x2, a3_2); }
                if (OI > 4) { b = TS.Broadcast(d + 4); a4_0 = TS.Fma(b, x0, a4_0); if (K > 1) a4_1 = TS.Fma(b, x1, a4_1); if (K > 2) a4_2 = TS.Fma(b, x2, a4_2); }
                if (OI > 5) { b = TS.Broadcast(d + 5); a5_0 = TS.Fma(b, x0, a5_0); if (K > 1) a5_1 = TS.Fma(b, x1, a5_1); if (K > 2) a5_2 = TS.Fma(b, x2, a5_2); }
                if (OI > 6) { b = TS.Broadcast(d + 6); a6_0 = TS.Fma(b, x0, a6_0); if (K > 1) a6_1 = TS.Fma(b, x1, a6_1); if (K > 2) a6_2 = TS.Fma(b, x2, a6_2); }
                if (OI > 7) { b = TS.Broadcast(d + 7); a7_0 = TS.Fma(b, x0, a7_0); if (K > 1) a7_1 = TS.Fma(b, x1, a7_1); if (K > 2) a7_2 = TS.Fma(b, x2, a7_2); }
            }
        }
        { Put(dw + 0 * V, a0_0, accumulate); if (K > 1) Put(dw + V * V + 0 * V, a0_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 0 * V, a0_2, accumulate); }
        if (OI > 1) { Put(dw + 1 * V, a1_0, accumulate); if (K > 1) Put(dw + V * V + 1 * V, a1_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 1 * V, a1_2, accumulate); }
        if (OI > 2) { Put(dw + 2 * V, a2_0, accumulate); if (K > 1) Put(dw + V * V + 2 * V, a2_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 2 * V, a2_2, accumulate); }
        if (OI > 3) { Put(dw + 3 * V, a3_0, accumulate); if (K > 1) Put(dw + V * V + 3 * V, a3_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 3 * V, a3_2, accumulate); }
        if (OI > 4) { Put(dw + 4 * V, a4_0, accumulate); if (K > 1) Put(dw + V * V + 4 * V, a4_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 4 * V, a4_2, accumulate); }
        if (OI > 5) { Put(dw + 5 * V, a5_0, accumulate); if (K > 1) Put(dw + V * V + 5 * V, a5_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 5 * V, a5_2, accumulate); }
        if (OI > 6) { Put(dw + 6 * V, a6_0, accumulate); if (K > 1) Put(dw + V * V + 6 * V, a6_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 6 * V, a6_2, accumulate); }
        if (OI > 7) { Put(dw + 7 * V, a7_0, accumulate); if (K > 1) Put(dw + V * V + 7 * V, a7_1, accumulate); if (K > 2) Put(dw + 2 * V * V + 7 * V, a7_2, accumulate); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* p, TV value, bool accumulate) => TS.Store(accumulate ? TS.Add(TS.Load(p), value) : value, p);
}
