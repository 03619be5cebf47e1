using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

// Register tiles of Conv2dFlat, written once over the SIMD width (TS/TV) and compiled per tile shape: TC output
// channels (1–4) by TJ vectors of j (forward) or TT taps (weight gradient). Accumulators a{c}{k} that a shape does not
// use are dead code the JIT removes (TC.Value, TJ.Value, TT.Value are constants in each instantiation).
internal static unsafe partial class Conv2dFlat
{
    /// <summary>As <see cref="ForwardTile"/> on <paramref name="width"/> with <paramref name="tc"/> (1–4) rows of y.</summary>
    private static void ForwardTiles(GemmPath width, int tc, float* xp, int* off, int taps, int lr, float* w, float* y, int ldy)
    {
        switch (width)
        {
            case GemmPath.Vector512: ForwardTc<Simd512, Vector512<float>, C3>(tc, xp, off, taps, lr, w, y, ldy); break;
            case GemmPath.Vector256: ForwardTc<Simd256, Vector256<float>, C2>(tc, xp, off, taps, lr, w, y, ldy); break;
            default: ForwardTc<Simd128, Vector128<float>, C2>(tc, xp, off, taps, lr, w, y, ldy); break;
        }
    }

    private static void ForwardTc<TS, TV, TJ>(int tc, float* xp, int* off, int taps, int lr, float* w, float* y, int ldy)
        where TS : ISimdFloat<TV> where TV : struct where TJ : IConstant
    {
        switch (tc)
        {
            case 1: ForwardTile<TS, TV, C1, TJ>(xp, off, taps, lr, w, y, ldy); break;
            case 2: ForwardTile<TS, TV, C2, TJ>(xp, off, taps, lr, w, y, ldy); break;
            case 3: ForwardTile<TS, TV, C3, TJ>(xp, off, taps, lr, w, y, ldy); break;
            default: ForwardTile<TS, TV, C4, TJ>(xp, off, taps, lr, w, y, ldy); break;
        }
    }

    /// <summary>
    /// y[c, j] = Σ_t w[t, c] · xp[j + off[t]] for c &lt; TC and j &lt; lr, TJ vectors of j per register tile.
    /// Shapes: xp padded image (flat); w [taps, TC]; y [TC, lr] (row stride ldy).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTile<TS, TV, TC, TJ>(float* xp, int* off, int taps, int lr, float* w, float* y, int ldy)
        where TS : ISimdFloat<TV> where TV : struct where TC : IConstant where TJ : IConstant
    {
        int v = TS.Length, block = TJ.Value * v;
        for (int j0 = 0; j0 < lr; j0 += block)
        {
            TV a00 = TS.Zero, a01 = TS.Zero, a02 = TS.Zero, a10 = TS.Zero, a11 = TS.Zero, a12 = TS.Zero, a20 = TS.Zero, a21 = TS.Zero, a22 = TS.Zero, a30 = TS.Zero, a31 = TS.Zero, a32 = TS.Zero;
            float* wt = w, xj = xp + j0;
            for (int t = 0; t < taps; t++, wt += TC.Value)
            {
                float* xt = xj + off[t];
                TV x0 = TS.Load(xt), x1 = TJ.Value > 1 ? TS.Load(xt + v) : TS.Zero, x2 = TJ.Value > 2 ? TS.Load(xt + 2 * v) : TS.Zero;
                { TV s = TS.Broadcast(wt + 0); a00 = TS.Fma(s, x0, a00); if (TJ.Value > 1) a01 = TS.Fma(s, x1, a01); if (TJ.Value > 2) a02 = TS.Fma(s, x2, a02); }
                if (TC.Value > 1) { TV s = TS.Broadcast(wt + 1); a10 = TS.Fma(s, x0, a10); if (TJ.Value > 1) a11 = TS.Fma(s, x1, a11); if (TJ.Value > 2) a12 = TS.Fma(s, x2, a12); }
                if (TC.Value > 2) { TV s = TS.Broadcast(wt + 2); a20 = TS.Fma(s, x0, a20); if (TJ.Value > 1) a21 = TS.Fma(s, x1, a21); if (TJ.Value > 2) a22 = TS.Fma(s, x2, a22); }
                if (TC.Value > 3) { TV s = TS.Broadcast(wt + 3); a30 = TS.Fma(s, x0, a30); if (TJ.Value > 1) a31 = TS.Fma(s, x1, a31); if (TJ.Value > 2) a32 = TS.Fma(s, x2, a32); }
            }
            { float* yc = y + 0 * ldy + j0; TS.Store(a00, yc); if (TJ.Value > 1) TS.Store(a01, yc + v); if (TJ.Value > 2) TS.Store(a02, yc + 2 * v); }
            if (TC.Value > 1) { float* yc = y + 1 * ldy + j0; TS.Store(a10, yc); if (TJ.Value > 1) TS.Store(a11, yc + v); if (TJ.Value > 2) TS.Store(a12, yc + 2 * v); }
            if (TC.Value > 2) { float* yc = y + 2 * ldy + j0; TS.Store(a20, yc); if (TJ.Value > 1) TS.Store(a21, yc + v); if (TJ.Value > 2) TS.Store(a22, yc + 2 * v); }
            if (TC.Value > 3) { float* yc = y + 3 * ldy + j0; TS.Store(a30, yc); if (TJ.Value > 1) TS.Store(a31, yc + v); if (TJ.Value > 2) TS.Store(a32, yc + 2 * v); }
        }
    }

    private static void WeightTiles(GemmPath width, int tc, float* xps, long xStride, float* dys, long dyStride, int count, int* off, in Layout l, float* partial)
    {
        switch (width)
        {
            case GemmPath.Vector512: WeightTc<Simd512, Vector512<float>, C3>(tc, xps, xStride, dys, dyStride, count, off, l.Taps, l.Lr, partial); break;
            case GemmPath.Vector256: WeightTc<Simd256, Vector256<float>, C2>(tc, xps, xStride, dys, dyStride, count, off, l.Taps, l.Lr, partial); break;
            default: WeightTc<Simd128, Vector128<float>, C2>(tc, xps, xStride, dys, dyStride, count, off, l.Taps, l.Lr, partial); break;
        }
    }

    private static void WeightTc<TS, TV, TT>(int tc, float* xps, long xStride, float* dys, long dyStride, int count, int* off, int taps, int lr, float* partial)
        where TS : ISimdFloat<TV> where TV : struct where TT : IConstant
    {
        switch (tc)
        {
            case 1: WeightTile<TS, TV, C1, TT>(xps, xStride, dys, dyStride, count, off, taps, lr, partial); break;
            case 2: WeightTile<TS, TV, C2, TT>(xps, xStride, dys, dyStride, count, off, taps, lr, partial); break;
            case 3: WeightTile<TS, TV, C3, TT>(xps, xStride, dys, dyStride, count, off, taps, lr, partial); break;
            default: WeightTile<TS, TV, C4, TT>(xps, xStride, dys, dyStride, count, off, taps, lr, partial); break;
        }
    }

    /// <summary>
    /// partial[c, t] = Σ_i Σ_j dy_i[c, j] · xp_i[j + off[t]] for c &lt; TC and every tap t, TT taps per register tile
    /// (the last tile's missing taps repeat the last tap and are not stored); one horizontal sum per entry.
    /// Shapes: xps [count][xStride]; dys [count][dyStride] with channel c at c·lr; partial [TC, taps].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightTile<TS, TV, TC, TT>(float* xps, long xStride, float* dys, long dyStride, int count, int* off, int taps, int lr, float* partial)
        where TS : ISimdFloat<TV> where TV : struct where TC : IConstant where TT : IConstant
    {
        int v = TS.Length;
        float* sums = stackalloc float[16];
        for (int t0 = 0; t0 < taps; t0 += TT.Value)
        {
            int o0 = off[t0], o1 = off[Math.Min(t0 + 1, taps - 1)], o2 = off[Math.Min(t0 + 2, taps - 1)];
            TV a00 = TS.Zero, a01 = TS.Zero, a02 = TS.Zero, a10 = TS.Zero, a11 = TS.Zero, a12 = TS.Zero, a20 = TS.Zero, a21 = TS.Zero, a22 = TS.Zero, a30 = TS.Zero, a31 = TS.Zero, a32 = TS.Zero;
            for (int i = 0; i < count; i++)
            {
                float* x = xps + i * xStride, d = dys + i * dyStride;
                for (int j = 0; j < lr; j += v)
                {
                    TV x0 = TS.Load(x + o0 + j), x1 = TT.Value > 1 ? TS.Load(x + o1 + j) : TS.Zero, x2 = TT.Value > 2 ? TS.Load(x + o2 + j) : TS.Zero;
                    { TV dc = TS.Load(d + 0 * lr + j); a00 = TS.Fma(dc, x0, a00); if (TT.Value > 1) a01 = TS.Fma(dc, x1, a01); if (TT.Value > 2) a02 = TS.Fma(dc, x2, a02); }
                    if (TC.Value > 1) { TV dc = TS.Load(d + 1 * lr + j); a10 = TS.Fma(dc, x0, a10); if (TT.Value > 1) a11 = TS.Fma(dc, x1, a11); if (TT.Value > 2) a12 = TS.Fma(dc, x2, a12); }
                    if (TC.Value > 2) { TV dc = TS.Load(d + 2 * lr + j); a20 = TS.Fma(dc, x0, a20); if (TT.Value > 1) a21 = TS.Fma(dc, x1, a21); if (TT.Value > 2) a22 = TS.Fma(dc, x2, a22); }
                    if (TC.Value > 3) { TV dc = TS.Load(d + 3 * lr + j); a30 = TS.Fma(dc, x0, a30); if (TT.Value > 1) a31 = TS.Fma(dc, x1, a31); if (TT.Value > 2) a32 = TS.Fma(dc, x2, a32); }
                }
            }
            { Put<TS, TV>(a00, sums, partial + 0 * taps + t0); if (TT.Value > 1 && t0 + 1 < taps) Put<TS, TV>(a01, sums, partial + 0 * taps + t0 + 1); if (TT.Value > 2 && t0 + 2 < taps) Put<TS, TV>(a02, sums, partial + 0 * taps + t0 + 2); }
            if (TC.Value > 1) { Put<TS, TV>(a10, sums, partial + 1 * taps + t0); if (TT.Value > 1 && t0 + 1 < taps) Put<TS, TV>(a11, sums, partial + 1 * taps + t0 + 1); if (TT.Value > 2 && t0 + 2 < taps) Put<TS, TV>(a12, sums, partial + 1 * taps + t0 + 2); }
            if (TC.Value > 2) { Put<TS, TV>(a20, sums, partial + 2 * taps + t0); if (TT.Value > 1 && t0 + 1 < taps) Put<TS, TV>(a21, sums, partial + 2 * taps + t0 + 1); if (TT.Value > 2 && t0 + 2 < taps) Put<TS, TV>(a22, sums, partial + 2 * taps + t0 + 2); }
            if (TC.Value > 3) { Put<TS, TV>(a30, sums, partial + 3 * taps + t0); if (TT.Value > 1 && t0 + 1 < taps) Put<TS, TV>(a31, sums, partial + 3 * taps + t0 + 1); if (TT.Value > 2 && t0 + 2 < taps) Put<TS, TV>(a32, sums, partial + 3 * taps + t0 + 2); }
        }
    }

    // *dst = the sum of a's lanes, in lane order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TS, TV>(TV a, float* scratch, float* dst) where TS : ISimdFloat<TV> where TV : struct
    {
        TS.Store(a, scratch);
        float sum = 0f;
        for (int k = 0; k < TS.Length; k++) sum += scratch[k];
        *dst = sum;
    }
}
