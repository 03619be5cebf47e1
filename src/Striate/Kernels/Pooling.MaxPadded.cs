using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Values-only max pooling (inference) for any window, stride and padding, with no scalar edge loop: the first pass
/// reduces each output row's window rows into a scratch row that holds −∞ on both sides (where the padding is, and
/// the columns past the input that a ceil-mode window reaches), so the second pass takes every output column's window
/// as KernelW plain loads — shifted runs for stride 1, the even or odd columns of 2V-float runs for stride 2. Both
/// passes run on whole vectors, the last one of a row overlapping the one before it (recomputing the same values), so
/// rows of 4 or more elements never take a scalar tail; the vector width is picked per pass (the widest that fits the
/// row). −∞ never changes a maximum (NaN included), so the values are <see cref="PoolingReference.MaxPool2dForward"/>'s.
/// Before this, the stride-2 pools of GoogLeNet (3×3/2 on 28×28, 480 planes) ran their edge outputs through a branchy
/// scalar loop: 265 µs for 376k floats.
/// </summary>
public static partial class Pooling
{
    /// <summary>Off: values-only max pooling takes the separable scan of <see cref="MaxPlanesValues"/> (in-process A/B in bench).</summary>
    internal static bool PaddedRowsEnabled = true;

    /// <summary>Lanes of the widest vector path here (16, 8, 4), or 1 when only the scalar loop runs.</summary>
    internal static int MaxPoolBestLanes =>
        Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;

    // The widest vector (16, 8, 4 lanes) of at most `count` and `maxLanes` lanes; 1 (scalar) when none fits. The padded
    // pools and the 2×2/2 pool (Pooling.Max2x2.cs) pick their widths with it.
    private static int WidestLanes(int count, int maxLanes)
    {
        foreach (int lanes in (ReadOnlySpan<int>)[16, 8, 4])
            if (lanes <= maxLanes && lanes <= count) return lanes;
        return 1;
    }

    /// <summary>
    /// Values of planes [p0, p1) on vectors of at most <paramref name="maxLanes"/> lanes (16, 8, 4; 1 = scalar); tests
    /// force each width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void MaxPlanesPadded(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, int p0, int p1, int maxLanes)
    {
        if ((long)p1 * g.InPlane > input.Length || (long)p1 * g.OutPlane > output.Length)
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        var (rowLanes, colLanes, rowLen) = PaddedRowsLayout(g, maxLanes);
        // rows: [OutH, rowLen]; row oh holds, at columns [PadW, PadW + InW), the max over oh's window rows; −∞ elsewhere.
        int scratch = g.OutH * rowLen;
        float[] rented = ArrayPool<float>.Shared.Rent(scratch);
        fixed (float* pIn = input, pOut = output, rows = rented)
        {
            // Filled once: the passes below rewrite only [PadW, PadW + InW) of each row.
            new Span<float>(rows, scratch).Fill(float.NegativeInfinity);
            for (int p = p0; p < p1; p++)
            {
                float* plane = pIn + (long)p * g.InPlane, o = pOut + (long)p * g.OutPlane;
                switch (rowLanes)
                {
                    case 16: ReduceRows<MaxPoolLanes512>(g, plane, rows, rowLen); break;
                    case 8: ReduceRows<MaxPoolLanes256>(g, plane, rows, rowLen); break;
                    case 4: ReduceRows<MaxPoolLanes128>(g, plane, rows, rowLen); break;
                    default: ReduceRows<MaxPoolLanes1>(g, plane, rows, rowLen); break;
                }
                switch (colLanes)
                {
                    case 16: ReduceColumns<MaxPoolLanes512>(g, rows, rowLen, o); break;
                    case 8: ReduceColumns<MaxPoolLanes256>(g, rows, rowLen, o); break;
                    case 4: ReduceColumns<MaxPoolLanes128>(g, rows, rowLen, o); break;
                    default: ReduceColumns<MaxPoolLanes1>(g, rows, rowLen, o); break;
                }
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    // The vector widths of the row and column passes (at most maxLanes) and the scratch rows' length, which covers the
    // last window (OutW − 1)·StrideW + KernelW and one float more, which a stride-2 run of 2V floats starting at an even
    // tap reaches (its last odd column is never used). Both padded pools (values, and values with indices) use it.
    private static (int RowLanes, int ColLanes, int RowLen) PaddedRowsLayout(in Pool2dGeometry g, int maxLanes)
    {
        int best = Math.Min(maxLanes, MaxPoolBestLanes);
        int rowLanes = WidestLanes(g.InW, best);
        int colLanes = g.StrideW <= 2 ? WidestLanes(g.OutW, best) : 1;
        return (rowLanes, colLanes, Math.Max(g.PadW + g.InW, (g.OutW - 1) * g.StrideW + g.KernelW + 1));
    }

    // rows[oh, PadW + w] = max over oh's window rows (clamped to the input) of plane[h, w], for w < InW.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ReduceRows<TL>(in Pool2dGeometry g, float* plane, float* rows, int rowLen) where TL : IMaxPoolLanes
    {
        int inW = g.InW, v = TL.Length;
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int h0 = oh * g.StrideH - g.PadH, h1 = Math.Min(h0 + g.KernelH, g.InH);
            h0 = Math.Max(h0, 0);
            float* src = plane + (long)h0 * inW, dst = rows + (long)oh * rowLen + g.PadW;
            if (h1 <= h0)
            {
                // A window wholly in the padding (PyTorch rejects pad > kernel/2, so only hand-made geometries): −∞.
                new Span<float>(dst, inW).Fill(float.NegativeInfinity);
                continue;
            }
            for (int w = 0; ; w += v)
            {
                if (w > inW - v) w = inW - v; // the last vector overlaps the one before it
                TL.Rows(src + w, inW, h1 - h0, dst + w);
                if (w == inW - v) break;
            }
        }
    }

    // o[oh, ow] = max over j < KernelW of rows[oh, ow·StrideW + j].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ReduceColumns<TL>(in Pool2dGeometry g, float* rows, int rowLen, float* o) where TL : IMaxPoolLanes
    {
        int outW = g.OutW, kW = g.KernelW, sW = g.StrideW, v = TL.Length;
        bool stride2 = sW == 2 && v > 1; // one lane reads its window as a plain run whatever the stride
        for (int oh = 0; oh < g.OutH; oh++)
        {
            float* col = rows + (long)oh * rowLen, dst = o + (long)oh * outW;
            for (int ow = 0; ; ow += v)
            {
                if (ow > outW - v) ow = outW - v;
                if (stride2) TL.Columns2(col + 2 * ow, kW, dst + ow);
                else TL.Columns1(col + ow * sW, kW, dst + ow);
                if (ow == outW - v) break;
            }
        }
    }

    /// <summary>One vector width of <see cref="MaxPlanesPadded"/>: V outputs at once; every max follows PyTorch's rule (NaN wins).</summary>
    private unsafe interface IMaxPoolLanes
    {
        static abstract int Length { get; }

        /// <summary>dst[i] = max over t &lt; taps of src[t·stride + i], for i &lt; V.</summary>
        static abstract void Rows(float* src, nint stride, int taps, float* dst);

        /// <summary>o[i] = max over j &lt; kW of col[i + j], for i &lt; V.</summary>
        static abstract void Columns1(float* col, int kW, float* o);

        /// <summary>o[i] = max over j &lt; kW of col[2i + j], for i &lt; V: reads col[0, 2V + kW − 1 rounded down to even).</summary>
        static abstract void Columns2(float* col, int kW, float* o);
    }

    private readonly unsafe partial struct MaxPoolLanes512 : IMaxPoolLanes
    {
        public static int Length => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows(float* src, nint stride, int taps, float* dst)
        {
            var m = Vector512.Load(src);
            for (int t = 1; t < taps; t++) m = Max(Vector512.Load(src + t * stride), m);
            m.Store(dst);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns1(float* col, int kW, float* o)
        {
            var m = Vector512.Load(col);
            for (int j = 1; j < kW; j++) m = Max(Vector512.Load(col + j), m);
            m.Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns2(float* col, int kW, float* o)
        {
            // Taps j and j + 1 of the V outputs are the even and odd columns of the 2V floats from col + j: the low and
            // high halves of their 64-bit pairs.
            var a = Vector512.Load(col).AsUInt64();
            var b = Vector512.Load(col + 16).AsUInt64();
            var m = Vector512.Narrow(a, b).AsSingle();
            if (kW > 1) m = Max(Vector512.Narrow(a >>> 32, b >>> 32).AsSingle(), m);
            for (int j = 2; j < kW; j += 2)
            {
                a = Vector512.Load(col + j).AsUInt64();
                b = Vector512.Load(col + j + 16).AsUInt64();
                m = Max(Vector512.Narrow(a, b).AsSingle(), m);
                if (j + 1 < kW) m = Max(Vector512.Narrow(a >>> 32, b >>> 32).AsSingle(), m);
            }
            m.Store(o);
        }

        // PyTorch's rule, take v when v > max or v is NaN: a NaN, once taken, stays.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Max(Vector512<float> v, Vector512<float> max) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(v, max) | Vector512.IsNaN(v), v, max);
    }

    private readonly unsafe partial struct MaxPoolLanes256 : IMaxPoolLanes
    {
        public static int Length => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows(float* src, nint stride, int taps, float* dst)
        {
            var m = Vector256.Load(src);
            for (int t = 1; t < taps; t++) m = Max(Vector256.Load(src + t * stride), m);
            m.Store(dst);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns1(float* col, int kW, float* o)
        {
            var m = Vector256.Load(col);
            for (int j = 1; j < kW; j++) m = Max(Vector256.Load(col + j), m);
            m.Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns2(float* col, int kW, float* o)
        {
            var a = Vector256.Load(col).AsUInt64();
            var b = Vector256.Load(col + 8).AsUInt64();
            var m = Vector256.Narrow(a, b).AsSingle();
            if (kW > 1) m = Max(Vector256.Narrow(a >>> 32, b >>> 32).AsSingle(), m);
            for (int j = 2; j < kW; j += 2)
            {
                a = Vector256.Load(col + j).AsUInt64();
                b = Vector256.Load(col + j + 8).AsUInt64();
                m = Max(Vector256.Narrow(a, b).AsSingle(), m);
                if (j + 1 < kW) m = Max(Vector256.Narrow(a >>> 32, b >>> 32).AsSingle(), m);
            }
            m.Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Max(Vector256<float> v, Vector256<float> max) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(v, max) | Vector256.IsNaN(v), v, max);
    }

    private readonly unsafe partial struct MaxPoolLanes128 : IMaxPoolLanes
    {
        public static int Length => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows(float* src, nint stride, int taps, float* dst)
        {
            var m = Vector128.Load(src);
            for (int t = 1; t < taps; t++) m = Max(Vector128.Load(src + t * stride), m);
            m.Store(dst);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns1(float* col, int kW, float* o)
        {
            var m = Vector128.Load(col);
            for (int j = 1; j < kW; j++) m = Max(Vector128.Load(col + j), m);
            m.Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns2(float* col, int kW, float* o)
        {
            var a = Vector128.Load(col).AsUInt64();
            var b = Vector128.Load(col + 4).AsUInt64();
            var m = Vector128.Narrow(a, b).AsSingle();
            if (kW > 1) m = Max(Vector128.Narrow(a >>> 32, b >>> 32).AsSingle(), m);
            for (int j = 2; j < kW; j += 2)
            {
                a = Vector128.Load(col + j).AsUInt64();
                b = Vector128.Load(col + j + 4).AsUInt64();
                m = Max(Vector128.Narrow(a, b).AsSingle(), m);
                if (j + 1 < kW) m = Max(Vector128.Narrow(a >>> 32, b >>> 32).AsSingle(), m);
            }
            m.Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<float> Max(Vector128<float> v, Vector128<float> max) =>
            Vector128.ConditionalSelect(Vector128.GreaterThan(v, max) | Vector128.IsNaN(v), v, max);
    }

    /// <summary>The scalar loop (no vector hardware, or rows of fewer than 4): one output at a time, any stride.</summary>
    private readonly unsafe partial struct MaxPoolLanes1 : IMaxPoolLanes
    {
        public static int Length => 1;

        public static void Rows(float* src, nint stride, int taps, float* dst)
        {
            float m = *src;
            for (int t = 1; t < taps; t++) m = MaxOrNaN(src[t * stride], m);
            *dst = m;
        }

        public static void Columns1(float* col, int kW, float* o)
        {
            float m = *col;
            for (int j = 1; j < kW; j++) m = MaxOrNaN(col[j], m);
            *o = m;
        }

        public static void Columns2(float* col, int kW, float* o) => throw new NotSupportedException("one lane reads its window with Columns1");
    }
}
