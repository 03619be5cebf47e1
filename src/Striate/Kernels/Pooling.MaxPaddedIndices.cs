using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Max pooling with argmax indices (training) for any window, stride and padding, on the −∞-padded rows of
/// <see cref="MaxPlanesPadded"/>: the row pass keeps, beside each column's maximum, the first window row reaching it
/// (int.MaxValue in the padding), and the column pass takes a tap when it is greater, or equal from an earlier row
/// (row-major scan order: an earlier row wins whatever its column), so the index is PyTorch's first maximum. A padding
/// column never wins a tie against a real −∞ (its row is int.MaxValue). Windows whose maximum is NaN (PyTorch records
/// the last NaN in scan order) are rare: those lanes are redone by an exact scan.
/// </summary>
public static partial class Pooling
{
    /// <summary>Off: max pooling with indices takes the separable scalar scan of <see cref="MaxPlanes"/> (in-process A/B in bench).</summary>
    internal static bool PaddedIndicesEnabled = true;

    /// <summary>
    /// Values and indices of planes [p0, p1) on vectors of at most <paramref name="maxLanes"/> lanes (16, 8, 4; 1 =
    /// scalar); tests force each width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void MaxPlanesPaddedIndices(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, Span<int> indices,
        int p0, int p1, int maxLanes)
    {
        if ((long)p1 * g.InPlane > input.Length || (long)p1 * g.OutPlane > output.Length || (long)p1 * g.OutPlane > indices.Length)
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        var (rowLanes, colLanes, rowLen) = PaddedRowsLayout(g, maxLanes);
        int scratch = g.OutH * rowLen;
        // rows: [OutH, rowLen] as in MaxPlanesPadded; rowOf: [OutH, rowLen], the input row each maximum came from
        float[] rentedRows = ArrayPool<float>.Shared.Rent(scratch);
        int[] rentedRowOf = ArrayPool<int>.Shared.Rent(scratch);
        fixed (float* pIn = input, pOut = output, rows = rentedRows)
        fixed (int* pIdx = indices, rowOf = rentedRowOf)
        {
            new Span<float>(rows, scratch).Fill(float.NegativeInfinity);
            new Span<int>(rowOf, scratch).Fill(int.MaxValue);
            for (int p = p0; p < p1; p++)
            {
                float* plane = pIn + (long)p * g.InPlane, o = pOut + (long)p * g.OutPlane;
                int* oi = pIdx + (long)p * g.OutPlane;
                switch (rowLanes)
                {
                    case 16: ReduceRowsArg<MaxPoolLanes512>(g, plane, rows, rowOf, rowLen); break;
                    case 8: ReduceRowsArg<MaxPoolLanes256>(g, plane, rows, rowOf, rowLen); break;
                    case 4: ReduceRowsArg<MaxPoolLanes128>(g, plane, rows, rowOf, rowLen); break;
                    default: ReduceRowsArg<MaxPoolLanes1>(g, plane, rows, rowOf, rowLen); break;
                }
                switch (colLanes)
                {
                    case 16: ReduceColumnsArg<MaxPoolLanes512>(g, rows, rowOf, rowLen, o, oi); break;
                    case 8: ReduceColumnsArg<MaxPoolLanes256>(g, rows, rowOf, rowLen, o, oi); break;
                    case 4: ReduceColumnsArg<MaxPoolLanes128>(g, rows, rowOf, rowLen, o, oi); break;
                    default: ReduceColumnsArg<MaxPoolLanes1>(g, rows, rowOf, rowLen, o, oi); break;
                }
                FixNaNWindows(g, new ReadOnlySpan<float>(plane, g.InPlane), o, oi);
            }
        }
        ArrayPool<float>.Shared.Return(rentedRows);
        ArrayPool<int>.Shared.Return(rentedRowOf);
    }

    // rows[oh, PadW + w], rowOf[oh, PadW + w] = max over oh's window rows of plane[h, w] and the first h reaching it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ReduceRowsArg<TL>(in Pool2dGeometry g, float* plane, float* rows, int* rowOf, int rowLen) where TL : IMaxPoolArgLanes
    {
        int inW = g.InW, v = TL.Length;
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int h0 = oh * g.StrideH - g.PadH, h1 = Math.Min(h0 + g.KernelH, g.InH);
            h0 = Math.Max(h0, 0);
            long at = (long)oh * rowLen + g.PadW;
            if (h1 <= h0)
            {
                new Span<float>(rows + at, inW).Fill(float.NegativeInfinity);
                new Span<int>(rowOf + at, inW).Fill(int.MaxValue);
                continue;
            }
            float* src = plane + (long)h0 * inW;
            for (int w = 0; ; w += v)
            {
                if (w > inW - v) w = inW - v;
                TL.RowsArg(src + w, inW, h0, h1 - h0, rows + at + w, rowOf + at + w);
                if (w == inW - v) break;
            }
        }
    }

    // o[oh, ow], oi[oh, ow] = the first maximum of oh's reduced row over ow's window, and its plane index.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ReduceColumnsArg<TL>(in Pool2dGeometry g, float* rows, int* rowOf, int rowLen, float* o, int* oi) where TL : IMaxPoolArgLanes
    {
        int outW = g.OutW, kW = g.KernelW, sW = g.StrideW, v = TL.Length;
        bool stride2 = sW == 2 && v > 1;
        for (int oh = 0; oh < g.OutH; oh++)
        {
            long at = (long)oh * rowLen, dst = (long)oh * outW;
            for (int ow = 0; ; ow += v)
            {
                if (ow > outW - v) ow = outW - v;
                int first = ow * sW; // padded column of tap 0 of output ow
                if (stride2) TL.Columns2Arg(rows + at + first, rowOf + at + first, kW, g.InW, first - g.PadW, o + dst + ow, oi + dst + ow);
                else TL.Columns1Arg(rows + at + first, rowOf + at + first, kW, sW, g.InW, first - g.PadW, o + dst + ow, oi + dst + ow);
                if (ow == outW - v) break;
            }
        }
    }

    // PyTorch records the last NaN of a window in scan order; the separable passes do not track it, so redo those outputs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FixNaNWindows(in Pool2dGeometry g, ReadOnlySpan<float> plane, float* o, int* oi)
    {
        for (int i = 0; i < g.OutPlane; i++)
        {
            if (!float.IsNaN(o[i])) continue;
            int oh = i / g.OutW, ow = i - oh * g.OutW;
            int h0 = oh * g.StrideH - g.PadH, h1 = Math.Min(h0 + g.KernelH, g.InH);
            int w0 = ow * g.StrideW - g.PadW, w1 = Math.Min(w0 + g.KernelW, g.InW);
            oi[i] = LastNaN(plane, g.InW, Math.Max(h0, 0), h1, Math.Max(w0, 0), w1);
        }
    }

    private readonly unsafe partial struct MaxPoolLanes512 : IMaxPoolArgLanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RowsArg(float* src, nint stride, int h0, int taps, float* dst, int* dstRow)
        {
            var m = Vector512.Load(src);
            var r = Vector512.Create(h0);
            for (int t = 1; t < taps; t++)
            {
                var v = Vector512.Load(src + t * stride);
                var take = Vector512.GreaterThan(v, m) | Vector512.IsNaN(v); // strictly greater: ties keep the earlier row
                m = Vector512.ConditionalSelect(take, v, m);
                r = Vector512.ConditionalSelect(take.AsInt32(), Vector512.Create(h0 + t), r);
            }
            m.Store(dst);
            r.Store(dstRow);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns1Arg(float* col, int* colRow, int kW, int sW, int inW, int firstCol, float* o, int* oi)
        {
            var m = Vector512.Load(col);
            var row = Vector512.Load(colRow);
            var tap = Vector512<int>.Zero;
            for (int j = 1; j < kW; j++) Take(ref m, ref row, ref tap, Vector512.Load(col + j), Vector512.Load(colRow + j), j);
            m.Store(o);
            (row * inW + Vector512.CreateSequence(firstCol, 1) + tap).Store(oi);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns2Arg(float* col, int* colRow, int kW, int inW, int firstCol, float* o, int* oi)
        {
            // As Columns2: taps j and j + 1 are the even and odd columns of the 2V floats (and rows) from col + j.
            var a = Vector512.Load(col).AsUInt64();
            var b = Vector512.Load(col + 16).AsUInt64();
            var ra = Vector512.Load(colRow).AsUInt64();
            var rb = Vector512.Load(colRow + 16).AsUInt64();
            var m = Vector512.Narrow(a, b).AsSingle();
            var row = Vector512.Narrow(ra, rb).AsInt32();
            var tap = Vector512<int>.Zero;
            if (kW > 1) Take(ref m, ref row, ref tap, Vector512.Narrow(a >>> 32, b >>> 32).AsSingle(), Vector512.Narrow(ra >>> 32, rb >>> 32).AsInt32(), 1);
            for (int j = 2; j < kW; j += 2)
            {
                a = Vector512.Load(col + j).AsUInt64();
                b = Vector512.Load(col + j + 16).AsUInt64();
                ra = Vector512.Load(colRow + j).AsUInt64();
                rb = Vector512.Load(colRow + j + 16).AsUInt64();
                Take(ref m, ref row, ref tap, Vector512.Narrow(a, b).AsSingle(), Vector512.Narrow(ra, rb).AsInt32(), j);
                if (j + 1 < kW) Take(ref m, ref row, ref tap, Vector512.Narrow(a >>> 32, b >>> 32).AsSingle(), Vector512.Narrow(ra >>> 32, rb >>> 32).AsInt32(), j + 1);
            }
            m.Store(o);
            (row * inW + Vector512.CreateSequence(firstCol, 2) + tap).Store(oi);
        }

        // Scan order over the window: greater, or equal from an earlier row (taps come in column order), or NaN.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Take(ref Vector512<float> max, ref Vector512<int> row, ref Vector512<int> tap, Vector512<float> v, Vector512<int> r, int j)
        {
            var take = (Vector512.GreaterThan(v, max) | Vector512.IsNaN(v)).AsInt32() | (Vector512.Equals(v, max).AsInt32() & Vector512.LessThan(r, row));
            max = Vector512.ConditionalSelect(take.AsSingle(), v, max);
            row = Vector512.ConditionalSelect(take, r, row);
            tap = Vector512.ConditionalSelect(take, Vector512.Create(j), tap);
        }
    }

    private readonly unsafe partial struct MaxPoolLanes256 : IMaxPoolArgLanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RowsArg(float* src, nint stride, int h0, int taps, float* dst, int* dstRow)
        {
            var m = Vector256.Load(src);
            var r = Vector256.Create(h0);
            for (int t = 1; t < taps; t++)
            {
                var v = Vector256.Load(src + t * stride);
                var take = Vector256.GreaterThan(v, m) | Vector256.IsNaN(v); // strictly greater: ties keep the earlier row
                m = Vector256.ConditionalSelect(take, v, m);
                r = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(h0 + t), r);
            }
            m.Store(dst);
            r.Store(dstRow);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns1Arg(float* col, int* colRow, int kW, int sW, int inW, int firstCol, float* o, int* oi)
        {
            var m = Vector256.Load(col);
            var row = Vector256.Load(colRow);
            var tap = Vector256<int>.Zero;
            for (int j = 1; j < kW; j++) Take(ref m, ref row, ref tap, Vector256.Load(col + j), Vector256.Load(colRow + j), j);
            m.Store(o);
            (row * inW + Vector256.CreateSequence(firstCol, 1) + tap).Store(oi);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns2Arg(float* col, int* colRow, int kW, int inW, int firstCol, float* o, int* oi)
        {
            // As Columns2: taps j and j + 1 are the even and odd columns of the 2V floats (and rows) from col + j.
            var a = Vector256.Load(col).AsUInt64();
            var b = Vector256.Load(col + 8).AsUInt64();
            var ra = Vector256.Load(colRow).AsUInt64();
            var rb = Vector256.Load(colRow + 8).AsUInt64();
            var m = Vector256.Narrow(a, b).AsSingle();
            var row = Vector256.Narrow(ra, rb).AsInt32();
            var tap = Vector256<int>.Zero;
            if (kW > 1) Take(ref m, ref row, ref tap, Vector256.Narrow(a >>> 32, b >>> 32).AsSingle(), Vector256.Narrow(ra >>> 32, rb >>> 32).AsInt32(), 1);
            for (int j = 2; j < kW; j += 2)
            {
                a = Vector256.Load(col + j).AsUInt64();
                b = Vector256.Load(col + j + 8).AsUInt64();
                ra = Vector256.Load(colRow + j).AsUInt64();
                rb = Vector256.Load(colRow + j + 8).AsUInt64();
                Take(ref m, ref row, ref tap, Vector256.Narrow(a, b).AsSingle(), Vector256.Narrow(ra, rb).AsInt32(), j);
                if (j + 1 < kW) Take(ref m, ref row, ref tap, Vector256.Narrow(a >>> 32, b >>> 32).AsSingle(), Vector256.Narrow(ra >>> 32, rb >>> 32).AsInt32(), j + 1);
            }
            m.Store(o);
            (row * inW + Vector256.CreateSequence(firstCol, 2) + tap).Store(oi);
        }

        // Scan order over the window: greater, or equal from an earlier row (taps come in column order), or NaN.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Take(ref Vector256<float> max, ref Vector256<int> row, ref Vector256<int> tap, Vector256<float> v, Vector256<int> r, int j)
        {
            var take = (Vector256.GreaterThan(v, max) | Vector256.IsNaN(v)).AsInt32() | (Vector256.Equals(v, max).AsInt32() & Vector256.LessThan(r, row));
            max = Vector256.ConditionalSelect(take.AsSingle(), v, max);
            row = Vector256.ConditionalSelect(take, r, row);
            tap = Vector256.ConditionalSelect(take, Vector256.Create(j), tap);
        }
    }

    private readonly unsafe partial struct MaxPoolLanes128 : IMaxPoolArgLanes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void RowsArg(float* src, nint stride, int h0, int taps, float* dst, int* dstRow)
        {
            var m = Vector128.Load(src);
            var r = Vector128.Create(h0);
            for (int t = 1; t < taps; t++)
            {
                var v = Vector128.Load(src + t * stride);
                var take = Vector128.GreaterThan(v, m) | Vector128.IsNaN(v); // strictly greater: ties keep the earlier row
                m = Vector128.ConditionalSelect(take, v, m);
                r = Vector128.ConditionalSelect(take.AsInt32(), Vector128.Create(h0 + t), r);
            }
            m.Store(dst);
            r.Store(dstRow);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns1Arg(float* col, int* colRow, int kW, int sW, int inW, int firstCol, float* o, int* oi)
        {
            var m = Vector128.Load(col);
            var row = Vector128.Load(colRow);
            var tap = Vector128<int>.Zero;
            for (int j = 1; j < kW; j++) Take(ref m, ref row, ref tap, Vector128.Load(col + j), Vector128.Load(colRow + j), j);
            m.Store(o);
            (row * inW + Vector128.CreateSequence(firstCol, 1) + tap).Store(oi);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Columns2Arg(float* col, int* colRow, int kW, int inW, int firstCol, float* o, int* oi)
        {
            // As Columns2: taps j and j + 1 are the even and odd columns of the 2V floats (and rows) from col + j.
            var a = Vector128.Load(col).AsUInt64();
            var b = Vector128.Load(col + 4).AsUInt64();
            var ra = Vector128.Load(colRow).AsUInt64();
            var rb = Vector128.Load(colRow + 4).AsUInt64();
            var m = Vector128.Narrow(a, b).AsSingle();
            var row = Vector128.Narrow(ra, rb).AsInt32();
            var tap = Vector128<int>.Zero;
            if (kW > 1) Take(ref m, ref row, ref tap, Vector128.Narrow(a >>> 32, b >>> 32).AsSingle(), Vector128.Narrow(ra >>> 32, rb >>> 32).AsInt32(), 1);
            for (int j = 2; j < kW; j += 2)
            {
                a = Vector128.Load(col + j).AsUInt64();
                b = Vector128.Load(col + j + 4).AsUInt64();
                ra = Vector128.Load(colRow + j).AsUInt64();
                rb = Vector128.Load(colRow + j + 4).AsUInt64();
                Take(ref m, ref row, ref tap, Vector128.Narrow(a, b).AsSingle(), Vector128.Narrow(ra, rb).AsInt32(), j);
                if (j + 1 < kW) Take(ref m, ref row, ref tap, Vector128.Narrow(a >>> 32, b >>> 32).AsSingle(), Vector128.Narrow(ra >>> 32, rb >>> 32).AsInt32(), j + 1);
            }
            m.Store(o);
            (row * inW + Vector128.CreateSequence(firstCol, 2) + tap).Store(oi);
        }

        // Scan order over the window: greater, or equal from an earlier row (taps come in column order), or NaN.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Take(ref Vector128<float> max, ref Vector128<int> row, ref Vector128<int> tap, Vector128<float> v, Vector128<int> r, int j)
        {
            var take = (Vector128.GreaterThan(v, max) | Vector128.IsNaN(v)).AsInt32() | (Vector128.Equals(v, max).AsInt32() & Vector128.LessThan(r, row));
            max = Vector128.ConditionalSelect(take.AsSingle(), v, max);
            row = Vector128.ConditionalSelect(take, r, row);
            tap = Vector128.ConditionalSelect(take, Vector128.Create(j), tap);
        }
    }

    private readonly unsafe partial struct MaxPoolLanes1 : IMaxPoolArgLanes
    {
        public static void RowsArg(float* src, nint stride, int h0, int taps, float* dst, int* dstRow)
        {
            float m = *src;
            int r = h0;
            for (int t = 1; t < taps; t++)
            {
                float v = src[t * stride];
                bool take = v > m || float.IsNaN(v);
                m = take ? v : m;
                r = take ? h0 + t : r;
            }
            *dst = m;
            *dstRow = r;
        }

        public static void Columns1Arg(float* col, int* colRow, int kW, int sW, int inW, int firstCol, float* o, int* oi)
        {
            float m = *col;
            int row = *colRow, tap = 0;
            for (int j = 1; j < kW; j++)
            {
                float v = col[j];
                int r = colRow[j];
                bool take = v > m || (v == m && r < row) || float.IsNaN(v);
                m = take ? v : m;
                row = take ? r : row;
                tap = take ? j : tap;
            }
            *o = m;
            *oi = row * inW + firstCol + tap;
        }

        public static void Columns2Arg(float* col, int* colRow, int kW, int inW, int firstCol, float* o, int* oi) =>
            throw new NotSupportedException("one lane reads its window with Columns1Arg");
    }

    /// <summary>One vector width of <see cref="MaxPlanesPaddedIndices"/>: V outputs at once with their first maxima.</summary>
    private unsafe interface IMaxPoolArgLanes : IMaxPoolLanes
    {
        /// <summary>As <see cref="IMaxPoolLanes.Rows"/>, and dstRow[i] = h0 + the first t reaching the maximum (the last NaN's t).</summary>
        static abstract void RowsArg(float* src, nint stride, int h0, int taps, float* dst, int* dstRow);

        /// <summary>
        /// o[i] = the first maximum in scan order of col[i·sW + j], j &lt; kW (rows from colRow); oi[i] = its plane index,
        /// row·inW + firstCol + i·sW + j. Vectors take sW = 1 only.
        /// </summary>
        static abstract void Columns1Arg(float* col, int* colRow, int kW, int sW, int inW, int firstCol, float* o, int* oi);

        /// <summary>As <see cref="Columns1Arg"/> for stride 2.</summary>
        static abstract void Columns2Arg(float* col, int* colRow, int kW, int inW, int firstCol, float* o, int* oi);
    }
}
