using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// <see cref="Conv2dDirectTapRowTile{TS, TV, TR}"/> over two output rows: R ≤ 6 pixels of each of two rows × one block
/// (2R accumulators), the three taps' weights of a kernel row in registers serving both rows (their input rows are
/// <c>xTileRow</c> apart), each input value broadcast once for its three taps. Per kernel row and input channel: 3 weight
/// loads + 2(R + 2) broadcasts for 6R FMAs (R = 5: 17 per 30, 0.57; R = 6: 19 per 36, 0.53), for rows too narrow for
/// 8 or more pixels per tile (14×14 maps), where one row's tile would hold too few accumulators to cover FMA latency.
/// Registers: 2R + 3 + 1 ≤ 16. Same call as the other tiles; y's second row is <c>yRowPitch</c> floats on.
/// </summary>
internal static unsafe class Conv2dDirectTapRowsTile<TS, TV, TR>
    where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* x, float* w, float* y, int icBlocks, int kH, int kW, nint wStep, nint wBlockSkip, nint xBlockStride, nint xRowStep,
        nint xColStep, nint xTileRow, nint yBlockStride, nint yRowPitch, bool accumulate, int edges, float* prefetch, float* prefetchEnd, int prefetchPerTap)
    {
        int V = TS.Length, R = TR.Value;
        Debug.Assert(kW == 3 && xColStep == V && R <= 6);
        nint tap = V * wStep;
        bool left = (edges & Conv2dDirect.LeftEdge) != 0, right = (edges & Conv2dDirect.RightEdge) != 0;
        int prefetchPerRow = 3 * prefetchPerTap;
        TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero, a4 = TS.Zero, a5 = TS.Zero,
            c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero, c4 = TS.Zero, c5 = TS.Zero;
        for (int cb = 0; cb < icBlocks; cb++)
        {
            float* xb = x + cb * xBlockStride;
            for (int i = 0; i < kH; i++)
            {
                float* xr = xb + i * xRowStep, end = xr + V;
                prefetch = Conv2dDirect.SpreadPrefetchLines(prefetch, prefetchEnd, prefetchPerRow);
                for (float* xc = xr; xc < end; xc++, w += wStep)
                {
                    float* xd = xc + xTileRow;
                    TV w0 = TS.Load(w), w1 = TS.Load(w + tap), w2 = TS.Load(w + 2 * tap);
                    TV b;
                    if (!left) { b = TS.Broadcast(xc); a0 = TS.Fma(b, w0, a0); }
                    { b = TS.Broadcast(xc + 1 * V); a0 = TS.Fma(b, w1, a0); if (R > 1) a1 = TS.Fma(b, w0, a1); }
                    if (R > 0 && (R != 1 || !right)) { b = TS.Broadcast(xc + 2 * V); a0 = TS.Fma(b, w2, a0); if (R > 1) a1 = TS.Fma(b, w1, a1); if (R > 2) a2 = TS.Fma(b, w0, a2); }
                    if (R > 1 && (R != 2 || !right)) { b = TS.Broadcast(xc + 3 * V); if (R > 1) a1 = TS.Fma(b, w2, a1); if (R > 2) a2 = TS.Fma(b, w1, a2); if (R > 3) a3 = TS.Fma(b, w0, a3); }
                    if (R > 2 && (R != 3 || !right)) { b = TS.Broadcast(xc + 4 * V); if (R > 2) a2 = TS.Fma(b, w2, a2); if (R > 3) a3 = TS.Fma(b, w1, a3); if (R > 4) a4 = TS.Fma(b, w0, a4); }
                    if (R > 3 && (R != 4 || !right)) { b = TS.Broadcast(xc + 5 * V); if (R > 3) a3 = TS.Fma(b, w2, a3); if (R > 4) a4 = TS.Fma(b, w1, a4); if (R > 5) a5 = TS.Fma(b, w0, a5); }
                    if (R > 4 && (R != 5 || !right)) { b = TS.Broadcast(xc + 6 * V); if (R > 4) a4 = TS.Fma(b, w2, a4); if (R > 5) a5 = TS.Fma(b, w1, a5); }
                    if (R > 5 && (R != 6 || !right)) { b = TS.Broadcast(xc + 7 * V); if (R > 5) a5 = TS.Fma(b, w2, a5); }
                    if (!left) { b = TS.Broadcast(xd); c0 = TS.Fma(b, w0, c0); }
                    { b = TS.Broadcast(xd + 1 * V); c0 = TS.Fma(b, w1, c0); if (R > 1) c1 = TS.Fma(b, w0, c1); }
                    if (R > 0 && (R != 1 || !right)) { b = TS.Broadcast(xd + 2 * V); c0 = TS.Fma(b, w2, c0); if (R > 1) c1 = TS.Fma(b, w1, c1); if (R > 2) c2 = TS.Fma(b, w0, c2); }
                    if (R > 1 && (R != 2 || !right)) { b = TS.Broadcast(xd + 3 * V); if (R > 1) c1 = TS.Fma(b, w2, c1); if (R > 2) c2 = TS.Fma(b, w1, c2); if (R > 3) c3 = TS.Fma(b, w0, c3); }
                    if (R > 2 && (R != 3 || !right)) { b = TS.Broadcast(xd + 4 * V); if (R > 2) c2 = TS.Fma(b, w2, c2); if (R > 3) c3 = TS.Fma(b, w1, c3); if (R > 4) c4 = TS.Fma(b, w0, c4); }
                    if (R > 3 && (R != 4 || !right)) { b = TS.Broadcast(xd + 5 * V); if (R > 3) c3 = TS.Fma(b, w2, c3); if (R > 4) c4 = TS.Fma(b, w1, c4); if (R > 5) c5 = TS.Fma(b, w0, c5); }
                    if (R > 4 && (R != 5 || !right)) { b = TS.Broadcast(xd + 6 * V); if (R > 4) c4 = TS.Fma(b, w2, c4); if (R > 5) c5 = TS.Fma(b, w1, c5); }
                    if (R > 5 && (R != 6 || !right)) { b = TS.Broadcast(xd + 7 * V); if (R > 5) c5 = TS.Fma(b, w2, c5); }
                }
                w += 2 * tap;
            }
            w += wBlockSkip;
        }
        { Put(y + 0 * V, a0, accumulate); Put(y + yRowPitch + 0 * V, c0, accumulate); }
        if (R > 1) { Put(y + 1 * V, a1, accumulate); Put(y + yRowPitch + 1 * V, c1, accumulate); }
        if (R > 2) { Put(y + 2 * V, a2, accumulate); Put(y + yRowPitch + 2 * V, c2, accumulate); }
        if (R > 3) { Put(y + 3 * V, a3, accumulate); Put(y + yRowPitch + 3 * V, c3, accumulate); }
        if (R > 4) { Put(y + 4 * V, a4, accumulate); Put(y + yRowPitch + 4 * V, c4, accumulate); }
        if (R > 5) { Put(y + 5 * V, a5, accumulate); Put(y + yRowPitch + 5 * V, c5, accumulate); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* p, TV value, bool accumulate) => TS.Store(accumulate ? TS.Add(TS.Load(p), value) : value, p);
}
