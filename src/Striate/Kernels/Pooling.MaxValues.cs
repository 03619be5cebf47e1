using System.Runtime.CompilerServices;
using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

public static partial class Pooling
{
    /// <summary>
    /// Max pooling when no indices are wanted (inference): the separable scan of <see cref="MaxPlanes"/> without
    /// tracking which row or column won, so every pass is a plain vector maximum. Rows first: the window's rows are
    /// reduced for all columns at once. Columns then: for stride 1 a vector of outputs at once over shifted columns;
    /// for stride 2 (ResNet's 3×3/2, VGG's 2×2/2) the reduced row is split into its even and odd columns first, so
    /// each window tap is again a shifted contiguous vector. A stride-1 pool that keeps the plane's size (GoogLeNet's
    /// 3×3/1/1 inception branches, on planes as small as 7×7) runs both passes over the whole plane at once and fixes
    /// the few border outputs afterwards. The result is PyTorch's: the maximum, or NaN when the window holds one.
    /// </summary>
    // AggressiveOptimization (here and on the other loops of this file): compiled optimized at once, so the first
    // runs of an inference session (a short-lived process) do not run tier-0 code while the JIT catches up.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPlanesValues(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, int p0, int p1)
    {
        int inW = g.InW, outW = g.OutW, kW = g.KernelW, sW = g.StrideW, pW = g.PadW, inPlane = g.InPlane, outPlane = g.OutPlane;
        if ((long)p1 * inPlane > input.Length || (long)p1 * outPlane > output.Length)
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        bool samePlane = g.StrideH == 1 && sW == 1 && g.OutH == g.InH && outW == inW && 2 * g.PadH == g.KernelH - 1 && 2 * pW == kW - 1;
        // scratch: col [InW] (the row-reduced row), even [InW/2 + 1], odd [InW/2 + 1]; or the row-reduced plane.
        int scratch = samePlane ? inPlane : inW + 2 * (inW / 2 + 1);
        float[] rented = ArrayPool<float>.Shared.Rent(scratch);
        fixed (float* pIn = input, pOut = output, col = rented)
        {
            float* even = col + inW, odd = even + inW / 2 + 1;
            for (int p = p0; p < p1; p++)
            {
                float* plane = pIn + (long)p * inPlane;
                float* o = pOut + (long)p * outPlane;
                if (samePlane)
                {
                    SamePlaneMax(g, plane, col, o);
                    continue;
                }
                for (int oh = 0; oh < g.OutH; oh++, o += outW)
                {
                    int h0 = oh * g.StrideH - g.PadH;
                    int h1 = Math.Min(h0 + g.KernelH, g.InH);
                    h0 = Math.Max(h0, 0);
                    // col[w] = max over the window's rows of plane[h, w]
                    ShiftedMax(plane + (long)h0 * inW, inW, h1 - h0, inW, col);
                    if (sW == 1) RowMaxStride1(col, inW, kW, pW, o, outW);
                    else if (sW == 2) RowMaxStride2(col, inW, kW, pW, even, odd, o, outW);
                    else for (int ow = 0; ow < outW; ow++) o[ow] = WindowMax(col, ow, sW, pW, kW, inW);
                }
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>dst[i] = max over j &lt; taps of src[i + j·stride], for i &lt; count (NaN when one of them is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ShiftedMax(float* src, nint stride, int taps, int count, float* dst)
    {
        int n = Vector<float>.Count, i = 0;
        for (; i <= count - n; i += n)
        {
            var m = Vector.Load(src + i);
            for (int j = 1; j < taps; j++) m = MaxOrNaN(Vector.Load(src + i + j * stride), m);
            Vector.Store(m, dst + i);
        }
        for (; i < count; i++)
        {
            float m = src[i];
            for (int j = 1; j < taps; j++) m = MaxOrNaN(src[i + j * stride], m);
            dst[i] = m;
        }
    }

    /// <summary>Stride-1 columns: o[ow] = max of col over ow's window, a vector of outputs at once where the window lies inside the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowMaxStride1(float* col, int inW, int kW, int pW, float* o, int outW)
    {
        // Outputs whose whole window lies inside the row: [lo, hi).
        int lo = Math.Min(outW, pW), hi = Math.Max(lo, Math.Min(outW, inW + pW - kW + 1));
        int ow = 0;
        for (; ow < lo; ow++) o[ow] = WindowMax(col, ow, 1, pW, kW, inW);
        ShiftedMax(col + lo - pW, 1, kW, hi - lo, o + lo);
        for (ow = hi; ow < outW; ow++) o[ow] = WindowMax(col, ow, 1, pW, kW, inW);
    }

    /// <summary>
    /// Stride-2 columns: col is split into even[t] = col[2t] and odd[t] = col[2t + 1]; tap j of output ow reads
    /// col[2·ow − pW + j], which is even[ow + (j − pW)/2] or odd[ow + (j − pW − 1)/2] — a shifted contiguous run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowMaxStride2(float* col, int inW, int kW, int pW, float* even, float* odd, float* o, int outW)
    {
        int half = inW / 2;
        int t = 0;
        if (Sse.IsSupported)
            for (; t + 4 <= half; t += 4)
            {
                var a = Sse.LoadVector128(col + 2 * t);
                var b = Sse.LoadVector128(col + 2 * t + 4);
                Sse.Store(even + t, Sse.Shuffle(a, b, 0b10_00_10_00));
                Sse.Store(odd + t, Sse.Shuffle(a, b, 0b11_01_11_01));
            }
        for (; t < half; t++) { even[t] = col[2 * t]; odd[t] = col[2 * t + 1]; }
        if ((inW & 1) != 0) even[half] = col[inW - 1];
        // Outputs whose whole window lies inside the row: 2·ow − pW ≥ 0 and 2·ow − pW + kW ≤ inW.
        int lo = Math.Min(outW, (pW + 1) / 2), last = inW + pW - kW;
        int hi = last < 0 ? lo : Math.Max(lo, Math.Min(outW, last / 2 + 1));
        int ow = 0;
        for (; ow < lo; ow++) o[ow] = WindowMax(col, ow, 2, pW, kW, inW);
        int n = Vector<float>.Count;
        for (; ow <= hi - n; ow += n)
        {
            Vector<float> m = default;
            for (int j = 0; j < kW; j++)
            {
                int c = j - pW; // column offset from 2·ow
                var v = Vector.Load(((c & 1) == 0 ? even : odd) + ow + (c >> 1));
                m = j == 0 ? v : MaxOrNaN(v, m);
            }
            Vector.Store(m, o + ow);
        }
        for (; ow < outW; ow++) o[ow] = WindowMax(col, ow, 2, pW, kW, inW);
    }

    /// <summary>
    /// A stride-1 pool keeping the plane's size (kernel 2·pad + 1): rows reduced over the whole plane into rowMax
    /// (interior rows in one run, the pad rows at the top and bottom clamped), then columns over the whole plane as
    /// one run, whose outputs within pW of a row's ends wrapped into the neighbouring row and are redone clamped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SamePlaneMax(in Pool2dGeometry g, float* plane, float* rowMax, float* o)
    {
        int h = g.InH, w = g.InW, kH = g.KernelH, pH = g.PadH, kW = g.KernelW, pW = g.PadW;
        int top = Math.Min(pH, h), bottom = Math.Max(top, h - (kH - 1 - pH)); // full windows: rows [top, bottom)
        for (int r = 0; r < top; r++) ShiftedMax(plane, w, Math.Min(r - pH + kH, h), w, rowMax + (long)r * w);
        if (bottom > top) ShiftedMax(plane + (long)(top - pH) * w, w, kH, (bottom - top) * w, rowMax + (long)top * w);
        for (int r = Math.Max(bottom, top); r < h; r++)
        {
            int r0 = Math.Max(r - pH, 0);
            ShiftedMax(plane + (long)r0 * w, w, Math.Min(r - pH + kH, h) - r0, w, rowMax + (long)r * w);
        }
        int all = h * w;
        if (all > 2 * pW) ShiftedMax(rowMax, 1, kW, all - 2 * pW, o + pW);
        for (int r = 0; r < h; r++)
        {
            float* row = rowMax + (long)r * w, dst = o + (long)r * w;
            for (int c = 0; c < Math.Min(pW, w); c++) dst[c] = WindowMax(row, c, 1, pW, kW, w);
            for (int c = Math.Max(pW, w - pW); c < w; c++) dst[c] = WindowMax(row, c, 1, pW, kW, w);
        }
    }

    /// <summary>The maximum of col over output ow's window (clamped to the row), NaN when it holds one.</summary>
    private static unsafe float WindowMax(float* col, int ow, int sW, int pW, int kW, int inW)
    {
        int w0 = ow * sW - pW, w1 = Math.Min(w0 + kW, inW);
        w0 = Math.Max(w0, 0);
        float m = col[w0];
        for (int w = w0 + 1; w < w1; w++) m = MaxOrNaN(col[w], m);
        return m;
    }

    /// <summary>PyTorch's rule, take v when v &gt; max or v is NaN: so NaN, once taken, stays.</summary>
    private static float MaxOrNaN(float v, float max) => v > max || float.IsNaN(v) ? v : max;

    private static Vector<float> MaxOrNaN(Vector<float> v, Vector<float> max) =>
        Vector.ConditionalSelect(Vector.GreaterThan(v, max) | ~Vector.Equals(v, v), v, max);
}
