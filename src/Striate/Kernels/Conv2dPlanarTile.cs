using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// The register tile of the planar stride-2 stem (<see cref="Conv2dDirect.ForwardPlanar"/>): TC output channels × TN
/// vectors of consecutive output pixels, read from a row block's im2col columns (one row of N pixels per tap) and
/// stored straight into the NCHW output planes — no blocked output to unblock afterwards. Each tap loads TN input
/// vectors once and broadcasts TC weights (the weights stay in their [Cout][Cin·kH·kW] layout: channel c's weight of
/// tap k is w[c·ldW + k]). AVX-512 runs 8 × 3 (24 of 32 registers), AVX2 4 × 3 (12 of 16).
/// Shapes: col [K][ldCol] (≥ TN·V columns from the tile's first pixel); w [TC][ldW ≥ K]; bias [TC] (zeros when the
/// convolution has none); y channel c's first pixel at y + c·ldY (TN·V floats each).
/// </summary>
internal static unsafe class Conv2dPlanarTile<TS, TV, TC, TN>
    where TS : struct, IDepthwiseSimd<TV> where TV : struct
    where TC : struct, IConstant where TN : struct, IConstant
{
    /// <summary>
    /// y tile = clamp(bias + Σₖ w[·, k] · col[k, ·], lo, hi), whole vectors only: a call inside the tile (for a partial
    /// store) makes the JIT keep every accumulator in memory across the loop, so the caller points a partial tile at a
    /// scratch buffer and copies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* col, nint ldCol, int k, float* w, nint ldW, float* bias, float lo, float hi, float* y, nint ldY)
    {
        int C = TC.Value, N = TN.Value, V = TS.Length;
        TV b0 = TS.Broadcast(bias[0]);
        TV b1 = C > 1 ? TS.Broadcast(bias[1]) : b0, b2 = C > 2 ? TS.Broadcast(bias[2]) : b0, b3 = C > 3 ? TS.Broadcast(bias[3]) : b0;
        TV b4 = C > 4 ? TS.Broadcast(bias[4]) : b0, b5 = C > 5 ? TS.Broadcast(bias[5]) : b0, b6 = C > 6 ? TS.Broadcast(bias[6]) : b0, b7 = C > 7 ? TS.Broadcast(bias[7]) : b0;
        TV a0_0 = b0, a0_1 = b0, a0_2 = b0, a1_0 = b1, a1_1 = b1, a1_2 = b1, a2_0 = b2, a2_1 = b2, a2_2 = b2, a3_0 = b3, a3_1 = b3, a3_2 = b3,
           a4_0 = b4, a4_1 = b4, a4_2 = b4, a5_0 = b5, a5_1 = b5, a5_2 = b5, a6_0 = b6, a6_1 = b6, a6_2 = b6, a7_0 = b7, a7_1 = b7, a7_2 = b7;
        for (int i = 0; i < k; i++, col += ldCol, w++)
        {
            TV x0 = TS.Load(col);
            TV x1 = N > 1 ? TS.Load(col + V) : x0;
            TV x2 = N > 2 ? TS.Load(col + 2 * V) : x0;
            TV b;
            { b = TS.Broadcast(w[0]); a0_0 = TS.Fma(b, x0, a0_0); if (N > 1) a0_1 = TS.Fma(b, x1, a0_1); if (N > 2) a0_2 = TS.Fma(b, x2, a0_2); }
            if (C > 1) { b = TS.Broadcast(w[ldW]); a1_0 = TS.Fma(b, x0, a1_0); if (N > 1) a1_1 = TS.Fma(b, x1, a1_1); if (N > 2) a1_2 = TS.Fma(b, x2, a1_2); }
            if (C > 2) { b = TS.Broadcast(w[2 * ldW]); a2_0 = TS.Fma(b, x0, a2_0); if (N > 1) a2_1 = TS.Fma(b, x1, a2_1); if (N > 2) a2_2 = TS.Fma(b, x2, a2_2); }
            if (C > 3) { b = TS.Broadcast(w[3 * ldW]); a3_0 = TS.Fma(b, x0, a3_0); if (N > 1) a3_1 = TS.Fma(b, x1, a3_1); if (N > 2) a3_2 = TS.Fma(b, x2, a3_2); }
            if (C > 4) { b = TS.Broadcast(w[4 * ldW]); a4_0 = TS.Fma(b, x0, a4_0); if (N > 1) a4_1 = TS.Fma(b, x1, a4_1); if (N > 2) a4_2 = TS.Fma(b, x2, a4_2); }
            if (C > 5) { b = TS.Broadcast(w[5 * ldW]); a5_0 = TS.Fma(b, x0, a5_0); if (N > 1) a5_1 = TS.Fma(b, x1, a5_1); if (N > 2) a5_2 = TS.Fma(b, x2, a5_2); }
            if (C > 6) { b = TS.Broadcast(w[6 * ldW]); a6_0 = TS.Fma(b, x0, a6_0); if (N > 1) a6_1 = TS.Fma(b, x1, a6_1); if (N > 2) a6_2 = TS.Fma(b, x2, a6_2); }
            if (C > 7) { b = TS.Broadcast(w[7 * ldW]); a7_0 = TS.Fma(b, x0, a7_0); if (N > 1) a7_1 = TS.Fma(b, x1, a7_1); if (N > 2) a7_2 = TS.Fma(b, x2, a7_2); }
        }
        TV vlo = TS.Broadcast(lo), vhi = TS.Broadcast(hi);
        Put(y, vlo, vhi, a0_0, a0_1, a0_2);
        if (C > 1) Put(y + ldY, vlo, vhi, a1_0, a1_1, a1_2);
        if (C > 2) Put(y + 2 * ldY, vlo, vhi, a2_0, a2_1, a2_2);
        if (C > 3) Put(y + 3 * ldY, vlo, vhi, a3_0, a3_1, a3_2);
        if (C > 4) Put(y + 4 * ldY, vlo, vhi, a4_0, a4_1, a4_2);
        if (C > 5) Put(y + 5 * ldY, vlo, vhi, a5_0, a5_1, a5_2);
        if (C > 6) Put(y + 6 * ldY, vlo, vhi, a6_0, a6_1, a6_2);
        if (C > 7) Put(y + 7 * ldY, vlo, vhi, a7_0, a7_1, a7_2);
    }

    /// <summary>One channel's TN vectors, clamped (NaN passes, as torch.clamp).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* y, TV lo, TV hi, TV o0, TV o1, TV o2)
    {
        int N = TN.Value, V = TS.Length;
        TS.Store(TS.Clamp(o0, lo, hi), y);
        if (N > 1) TS.Store(TS.Clamp(o1, lo, hi), y + V);
        if (N > 2) TS.Store(TS.Clamp(o2, lo, hi), y + 2 * V);
    }
}
