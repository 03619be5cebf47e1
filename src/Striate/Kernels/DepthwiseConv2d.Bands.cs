using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// The 3×3, padding 1 depthwise convolution of one channel over a band of output rows whose input rows are staged
/// already (<see cref="InvertedResidualBands"/> stages them straight from the expansion's GEMM): the input rows the
/// band reads, those above or below the image as zeros, one after another with row stride W. The vector path runs
/// the whole-plane kernels of <c>DepthwiseConv2d.Vector3x3.cs</c> on that window (their flat-row addressing reads the
/// rows above and below from the window itself); without AVX2/AVX-512 a plain loop reads the window.
/// </summary>
internal static unsafe partial class DepthwiseConv2d
{
    /// <summary>
    /// Floats of slack a staged window needs before its first row (the left tap of the first pixel reads one float
    /// before it) and after its last (the vector kernels read up to one vector past the end).
    /// </summary>
    internal const int BandSlackBefore = 16, BandSlackAfter = 80;

    /// <summary>
    /// For each channel c &lt; <paramref name="channels"/>: y_c [rows, ow] ← clamp(dw3×3(window_c) + bias[c], lo, hi), window_c at
    /// window + c·windowStride, y_c at y + c·yStride, its weights at w + 9c. Stride 1: a window holds rows + 2 input rows
    /// of width W (the band's rows with one above and one below), ow = W. Stride 2: it holds 2·rows + 1 input rows (input
    /// row 2i − 1 of output row i first), ow = (W − 1) / 2 + 1; <paramref name="phases"/> is thread scratch of
    /// <see cref="BandPhaseFloats"/> floats for the even/odd split. <paramref name="vector"/> false runs the plain loop
    /// (tests of the fallback on machines with vectors). Bias null: none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a few calls per run: tier 1 would come after a session's warm-up
    internal static void ForwardBand(int stride, float* window, long windowStride, int W, int rows, int channels, float* w, float* bias,
        float lo, float hi, float* y, long yStride, float* phases, bool vector = true)
    {
        if (vector && VectorWidth() == 16) BandVector<Vector512<float>, DepthwiseSimd512>(stride, window, windowStride, W, rows, channels, w, bias, lo, hi, y, yStride, phases);
        else if (vector && VectorWidth() == 8) BandVector<Vector256<float>, DepthwiseSimd256>(stride, window, windowStride, W, rows, channels, w, bias, lo, hi, y, yStride, phases);
        else
            for (int c = 0; c < channels; c++)
                BandPlain(stride, window + c * windowStride, W, rows, w + 9 * c, bias == null ? 0f : bias[c], lo, hi, y + c * yStride);
    }

    /// <summary>Scratch floats <see cref="ForwardBand"/> needs for a stride-2 band of <paramref name="rows"/> rows of input width W.</summary>
    internal static int BandPhaseFloats(int W, int rows)
    {
        int ow = (W - 1) / 2 + 1, phase = BandSlackBefore + (rows + 1) * ow + BandSlackAfter;
        return 4 * phase;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BandVector<TV, S>(int stride, float* window, long windowStride, int W, int rows, int channels, float* w, float* bias,
        float lo, float hi, float* y, long yStride, float* phases)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length;
        if (stride == 1)
        {
            int plane = rows * W;
            // Column counters of the first vector and of the last, overlapping one: the same for every channel.
            TV cols0 = ColumnsAt<TV, S>(0, W), colsTail = ColumnsAt<TV, S>(Math.Max(plane - V, 0), W);
            // The band's first row is window row 1; the kernel reads window rows 0 and rows + 1 as the rows above and below.
            for (int c = 0; c < channels; c++)
                Stride1Plane<TV, S>(window + c * windowStride + W, W, plane, w + 9 * c, bias == null ? 0f : bias[c], lo, hi, y + c * yStride, cols0, colsTail);
            return;
        }
        if (Stride2RowsTake(V))
        {
            // The window's rows are read in place: window row 0 is input row 2·i0 − 1 (firstRow −1), rows outside the
            // image are zero already, so the zero row is never read.
            int owr = (W - 1) / 2 + 1;
            for (int c = 0; c < channels; c++)
                Stride2Rows(window + c * windowStride, -1, int.MaxValue, W, rows, owr, null, w + 9 * c, bias == null ? 0f : bias[c], lo, hi, y + c * yStride);
            return;
        }
        // Phases, each with row stride ow: p00/p01 even input rows 2i (i = band row), p10/p11 odd rows 2i + 1 with the row
        // 2i0 − 1 above the band first (the kernel reads it at p1x − ow); even / odd columns.
        int ow = (W - 1) / 2 + 1, phase = BandSlackBefore + (rows + 1) * ow + BandSlackAfter, outPlane = rows * ow;
        float* p00 = phases + BandSlackBefore, p01 = p00 + phase, p10 = p01 + phase + ow, p11 = p10 + phase;
        TV c0 = ColumnsAt<TV, S>(0, ow), cTail = ColumnsAt<TV, S>(Math.Max(outPlane - V, 0), ow);
        for (int c = 0; c < channels; c++)
        {
            float* win = window + c * windowStride;
            for (int r = 0; r <= 2 * rows; r++)
            {
                // window row r is input row 2·i0 − 1 + r: odd rows (r even) at odd-phase row r/2 − 1, even rows at (r − 1)/2.
                float* even = (r & 1) == 1 ? p00 + (r - 1) / 2 * ow : p10 + (r / 2 - 1) * ow;
                float* odd = (r & 1) == 1 ? p01 + (r - 1) / 2 * ow : p11 + (r / 2 - 1) * ow;
                SplitRow<TV, S>(win + r * W, W, ow, even, odd);
            }
            Stride2Plane<TV, S>(p00, p01, p10, p11, ow, outPlane, w + 9 * c, bias == null ? 0f : bias[c], lo, hi, y + c * yStride, c0, cTail);
        }
    }

    /// <summary>
    /// One input row → its even and odd columns (ow each; the odd half's last entry is zero for an odd W, the padding
    /// column). Whole vectors read past the row (into the next window row or the window's slack) and write past ow:
    /// into the next row of the same phase, split after this one, or the slack after a phase's last row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SplitRow<TV, S>(float* src, int W, int ow, float* even, float* odd) where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length;
        for (int k = 0; 2 * k < W; k += V) S.Deinterleave(src + 2 * k, even + k, odd + k);
        if ((W & 1) == 1) odd[ow - 1] = 0f;
    }

    /// <summary>The plain loop of <see cref="ForwardBand"/>: output (i, j) reads window row s·i + kh, column s·j + kw − 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BandPlain(int stride, float* window, int W, int rows, float* w9, float bias, float lo, float hi, float* y)
    {
        int ow = (W - 1) / stride + 1;
        for (int i = 0; i < rows; i++)
        for (int j = 0; j < ow; j++)
        {
            float sum = bias;
            for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
            {
                int col = stride * j + kw - 1;
                if ((uint)col < (uint)W) sum += w9[kh * 3 + kw] * window[(stride * i + kh) * W + col];
            }
            // NaN passes through (comparisons with it are false), as torch.clamp and the vector store.
            y[i * ow + j] = sum < lo ? lo : sum > hi ? hi : sum;
        }
    }
}
