using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Striate.Kernels;

/// <summary>
/// Where a 2-D pooling window sits: <see cref="Planes"/> = N·C independent [InH, InW] planes, each pooled to
/// [OutH, OutW] with a KernelH×KernelW window moved by (StrideH, StrideW) over an input padded by (PadH, PadW).
/// </summary>
public readonly record struct Pool2dGeometry(
    int Planes, int InH, int InW, int OutH, int OutW,
    int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW)
{
    /// <summary>Elements per input plane.</summary>
    public int InPlane => InH * InW;

    /// <summary>Elements per output plane.</summary>
    public int OutPlane => OutH * OutW;

    /// <summary>
    /// PyTorch's pooling_output_shape: floor (or ceil) of (in + 2·pad − kernel)/stride + 1, where in ceil mode
    /// the last window is dropped when it would start in the right padding (it must start inside the input or
    /// the left padding). Returns a value below 1 when no window fits.
    /// </summary>
    public static int OutputSize(int input, int kernel, int stride, int pad, bool ceilMode)
    {
        int span = input + 2 * pad - (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0);
        int output = FloorDiv(span, stride) + 1;
        if (ceilMode && (long)(output - 1) * stride >= input + pad) output--;
        return output;
    }

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// <summary>
/// Max and average pooling over NCHW planes (torch.nn.functional.max_pool2d / avg_pool2d). The window bounds
/// are clamped once per output element, so the inner loops run only over real input elements.
/// </summary>
public static partial class Pooling
{
    /// <summary>
    /// Max pooling. <paramref name="indices"/> (when not empty) receives, per output, the flat index (h·InW + w) of
    /// the chosen element within its plane, as PyTorch's return_indices. Ties keep the first maximum in row-major
    /// scan order; a NaN wins over every number (PyTorch propagates NaN; the last NaN in scan order is recorded).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void MaxPool2dForward(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, Span<int> indices)
    {
        // input: [Planes, InH, InW]; output: [Planes, OutH, OutW]; indices: [Planes, OutH, OutW] or empty (not wanted)
        Check(g, input.Length, output.Length, nameof(MaxPool2dForward));
        if (!indices.IsEmpty && indices.Length != output.Length)
            throw new ArgumentException($"Pooling.MaxPool2dForward: indices has {indices.Length} elements, expected {output.Length} (or none).");
        var geo = g;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        fixed (int* pIdx = indices)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut, idxAddr = (nint)pIdx;
            int inLen = input.Length, outLen = output.Length, idxLen = indices.Length;
            PlaneParallel.For(g.Planes, (long)g.Planes * g.OutPlane * g.KernelH * g.KernelW, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
                MaxPlanes(geo, new ReadOnlySpan<float>((float*)inAddr, inLen), new Span<float>((float*)outAddr, outLen),
                    new Span<int>((int*)idxAddr, idxLen), p0, p1));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPlanes(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, Span<int> indices, int p0, int p1)
    {
        if (indices.IsEmpty)
        {
            if (Same3x3Enabled && IsSame3x3ShortRows(g)) MaxPlanesSame3x3(g, input, output, p0, p1);
            else if (Stride2ShortRowsEnabled && IsStride2ShortRows(g)) MaxPlanesStride2(g, input, output, p0, p1);
            else if (PaddedRowsEnabled) MaxPlanesPadded(g, input, output, p0, p1, maxLanes: 16);
            else MaxPlanesValues(g, input, output, p0, p1);
            return;
        }
        if (IsInside2x2Stride2(g))
        {
            MaxPlanes2x2Vector(g, input, output, indices, p0, p1, maxLanes: 16);
            return;
        }
        if (PaddedIndicesEnabled)
        {
            MaxPlanesPaddedIndices(g, input, output, indices, p0, p1, maxLanes: 16);
            return;
        }
        int inW = g.InW;
        // Separable: the max over the window's rows is taken for every column at once (contiguous vectors), with
        // the first row reaching it; then each output takes the best of KernelW columns, preferring the smaller
        // row on equal values so the index is the first maximum in row-major scan order.
        // colMax: [InW]; colRow: [InW]
        float[] rentedMax = ArrayPool<float>.Shared.Rent(inW);
        int[] rentedRow = ArrayPool<int>.Shared.Rent(inW);
        var colMax = rentedMax.AsSpan(0, inW);
        var colRow = rentedRow.AsSpan(0, inW);
        bool wantIndex = !indices.IsEmpty;
        for (int p = p0; p < p1; p++)
        {
            var plane = input.Slice(p * g.InPlane, g.InPlane);
            int o = p * g.OutPlane;
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int h0 = oh * g.StrideH - g.PadH;
                int h1 = Math.Min(h0 + g.KernelH, g.InH);
                h0 = Math.Max(h0, 0);
                ColumnMax(plane, inW, h0, h1, colMax, colRow);
                ref float cm = ref MemoryMarshal.GetReference(colMax);
                ref int cr = ref MemoryMarshal.GetReference(colRow);
                for (int ow = 0; ow < g.OutW; ow++, o++)
                {
                    int w0 = ow * g.StrideW - g.PadW;
                    int w1 = Math.Min(w0 + g.KernelW, inW);
                    w0 = Math.Max(w0, 0);
                    float max = Unsafe.Add(ref cm, w0);
                    int bestRow = Unsafe.Add(ref cr, w0), bestCol = w0;
                    for (int w = w0 + 1; w < w1; w++)
                    {
                        float v = Unsafe.Add(ref cm, w);
                        int r = Unsafe.Add(ref cr, w);
                        // Written as selects so the JIT need not branch on data.
                        bool take = v > max || (v == max && r < bestRow) || float.IsNaN(v);
                        max = take ? v : max;
                        bestRow = take ? r : bestRow;
                        bestCol = take ? w : bestCol;
                    }
                    output[o] = max;
                    if (!wantIndex) continue;
                    // NaN windows are rare: an exact scan gives PyTorch's choice (the last NaN).
                    indices[o] = float.IsNaN(max) ? LastNaN(plane, inW, h0, h1, w0, w1) : bestRow * inW + bestCol;
                }
            }
        }
        ArrayPool<float>.Shared.Return(rentedMax);
        ArrayPool<int>.Shared.Return(rentedRow);
    }

    // 2×2 windows, stride 2, no padding, every window inside the input (LeNet's and VGG's pooling).
    private static bool IsInside2x2Stride2(in Pool2dGeometry g) =>
        g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0
        && 2 * g.OutH <= g.InH && 2 * g.OutW <= g.InW;

    /// <summary>
    /// The 2×2/2 case of <see cref="MaxPlanes"/> as a direct scan of each window in row-major order under PyTorch's
    /// rule (take when val &gt; max or val is NaN), which gives the same first maximum / last NaN.
    /// </summary>
    private static unsafe void MaxPlanes2x2(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, Span<int> indices, int p0, int p1)
    {
        int inW = g.InW, outH = g.OutH, outW = g.OutW, inPlane = g.InPlane, outPlane = g.OutPlane;
        if ((long)p1 * inPlane > input.Length || (long)p1 * outPlane > output.Length || (!indices.IsEmpty && (long)p1 * outPlane > indices.Length))
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        bool wantIndex = !indices.IsEmpty;
        fixed (float* pIn = input, pOut = output)
        fixed (int* pIdx = indices)
        {
            for (int p = p0; p < p1; p++)
            {
                float* plane = pIn + (long)p * inPlane;
                float* o = pOut + (long)p * outPlane;
                int* oi = pIdx + (wantIndex ? (long)p * outPlane : 0);
                for (int oh = 0; oh < outH; oh++)
                {
                    float* r0 = plane + 2 * oh * inW, r1 = r0 + inW;
                    int rowBase = 2 * oh * inW;
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int w = 2 * ow;
                        float max = r0[w];
                        int at = rowBase + w;
                        // Selects rather than branches: on real activations the winner is unpredictable.
                        float v = r0[w + 1];
                        bool take = v > max | float.IsNaN(v);
                        max = take ? v : max; at = take ? rowBase + w + 1 : at;
                        v = r1[w];
                        take = v > max | float.IsNaN(v);
                        max = take ? v : max; at = take ? rowBase + inW + w : at;
                        v = r1[w + 1];
                        take = v > max | float.IsNaN(v);
                        max = take ? v : max; at = take ? rowBase + inW + w + 1 : at;
                        o[oh * outW + ow] = max;
                        if (wantIndex) oi[oh * outW + ow] = at;
                    }
                }
            }
        }
    }

    // colMax[w] = max over rows h0..h1-1 of plane[h, w] (NaN propagates); colRow[w] = the first row reaching it.
    private static void ColumnMax(ReadOnlySpan<float> plane, int inW, int h0, int h1, Span<float> colMax, Span<int> colRow)
    {
        plane.Slice(h0 * inW, inW).CopyTo(colMax);
        colRow.Fill(h0);
        ref float pm = ref MemoryMarshal.GetReference(colMax);
        ref int pr = ref MemoryMarshal.GetReference(colRow);
        for (int h = h0 + 1; h < h1; h++)
        {
            ref float row = ref Unsafe.Add(ref MemoryMarshal.GetReference(plane), h * inW);
            var vh = new Vector<int>(h);
            int w = 0;
            for (; w <= inW - Vector<float>.Count; w += Vector<float>.Count)
            {
                var v = Vector.LoadUnsafe(ref row, (nuint)w);
                var m = Vector.LoadUnsafe(ref pm, (nuint)w);
                // Strictly greater (so ties keep the earlier row), or NaN (v != v, so NaN propagates).
                var take = Vector.GreaterThan(v, m) | (Vector.Equals(v, v) ^ Vector<int>.AllBitsSet);
                Vector.ConditionalSelect(take, v, m).StoreUnsafe(ref pm, (nuint)w);
                Vector.ConditionalSelect(take, vh, Vector.LoadUnsafe(ref pr, (nuint)w)).StoreUnsafe(ref pr, (nuint)w);
            }
            for (; w < inW; w++)
            {
                float v = Unsafe.Add(ref row, w);
                if (v > colMax[w] || float.IsNaN(v)) { colMax[w] = v; colRow[w] = h; }
            }
        }
    }

    /// <summary>
    /// Index of a window's known maximum under PyTorch's rule (take when val &gt; max or val is NaN): the first
    /// element equal to it in scan order, or the last NaN. Used where no separable pass tracked it.
    /// </summary>
    internal static int ScanArgMax(ReadOnlySpan<float> plane, int inW, int h0, int h1, int w0, int w1, float max)
    {
        if (float.IsNaN(max)) return LastNaN(plane, inW, h0, h1, w0, w1);
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++)
                if (plane[h * inW + w] == max) return h * inW + w;
        return h0 * inW + w0;
    }

    // The last NaN of a window in row-major scan order (PyTorch's rule val > max || isnan(val) keeps replacing).
    private static int LastNaN(ReadOnlySpan<float> plane, int inW, int h0, int h1, int w0, int w1)
    {
        for (int h = h1 - 1; h >= h0; h--)
            for (int w = w1 - 1; w >= w0; w--)
                if (float.IsNaN(plane[h * inW + w])) return h * inW + w;
        return h0 * inW + w0;
    }

    /// <summary>
    /// Max pooling backward: each output gradient goes to the element that won its window (sums where windows
    /// overlap). Also serves adaptive max pooling, which saves indices in the same form.
    /// </summary>
    public static unsafe void MaxPool2dBackward(int planes, int inPlane, int outPlane, ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> indices, Span<float> gradInput)
    {
        // gradOutput, indices: [planes, outPlane]; gradInput: [planes, inPlane]
        if (gradOutput.Length != planes * outPlane || indices.Length != gradOutput.Length || gradInput.Length != planes * inPlane)
            throw new ArgumentException($"Pooling.MaxPool2dBackward: got gradOutput {gradOutput.Length}, indices {indices.Length}, gradInput {gradInput.Length} elements; expected {planes * outPlane}, {planes * outPlane}, {planes * inPlane}.");
        fixed (float* pGo = gradOutput)
        fixed (int* pIdx = indices)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo, idxAddr = (nint)pIdx, giAddr = (nint)pGi;
            int goLen = gradOutput.Length, giLen = gradInput.Length;
            PlaneParallel.For(planes, (long)planes * (inPlane + outPlane), (p0, p1) =>
                MaxBackwardPlanes(inPlane, outPlane, new ReadOnlySpan<float>((float*)goAddr, goLen), new ReadOnlySpan<int>((int*)idxAddr, goLen),
                    new Span<float>((float*)giAddr, giLen), p0, p1));
        }
    }

    /// <summary>
    /// As <see cref="MaxPool2dBackward(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/> for the
    /// pooling <paramref name="g"/> whose forward produced <paramref name="indices"/>: 2×2 windows with stride 2 write
    /// each input gradient once, vectorized, instead of clearing and scattering.
    /// </summary>
    public static unsafe void MaxPool2dBackward(in Pool2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> indices, Span<float> gradInput)
    {
        if (!IsInside2x2Stride2(g))
        {
            MaxPool2dBackward(g.Planes, g.InPlane, g.OutPlane, gradOutput, indices, gradInput);
            return;
        }
        if (gradOutput.Length != g.Planes * g.OutPlane || indices.Length != gradOutput.Length || gradInput.Length != g.Planes * g.InPlane)
            throw new ArgumentException($"Pooling.MaxPool2dBackward: got gradOutput {gradOutput.Length}, indices {indices.Length}, gradInput {gradInput.Length} elements; expected {g.Planes * g.OutPlane}, {g.Planes * g.OutPlane}, {g.Planes * g.InPlane}.");
        var geo = g;
        fixed (float* pGo = gradOutput)
        fixed (int* pIdx = indices)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo, idxAddr = (nint)pIdx, giAddr = (nint)pGi;
            int goLen = gradOutput.Length, giLen = gradInput.Length;
            PlaneParallel.For(g.Planes, (long)g.Planes * (g.InPlane + g.OutPlane), (p0, p1) =>
                MaxBackwardPlanes2x2(geo, new ReadOnlySpan<float>((float*)goAddr, goLen), new ReadOnlySpan<int>((int*)idxAddr, goLen),
                    new Span<float>((float*)giAddr, giLen), p0, p1, maxLanes: 16));
        }
    }

    private static void MaxBackwardPlanes(int inPlane, int outPlane, ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> indices, Span<float> gradInput, int p0, int p1)
    {
        gradInput.Slice(p0 * inPlane, (p1 - p0) * inPlane).Clear();
        for (int p = p0; p < p1; p++)
        {
            var gi = gradInput.Slice(p * inPlane, inPlane);
            var go = gradOutput.Slice(p * outPlane, outPlane);
            var ix = indices.Slice(p * outPlane, outPlane);
            for (int o = 0; o < go.Length; o++) gi[ix[o]] += go[o];
        }
    }

    /// <summary>
    /// Average pooling with PyTorch's divisor: <paramref name="divisorOverride"/> when given (non-zero); else the
    /// window size clipped to the padded input when <paramref name="countIncludePad"/>; else the number of real
    /// input elements in the window.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> input, Span<float> output)
    {
        // input: [Planes, InH, InW]; output: [Planes, OutH, OutW]
        Check(g, input.Length, output.Length, nameof(AvgPool2dForward));
        var geo = g;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut;
            int inLen = input.Length, outLen = output.Length;
            PlaneParallel.For(g.Planes, (long)g.Planes * g.OutPlane * g.KernelH * g.KernelW, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
                AvgPlanes(geo, countIncludePad, divisorOverride, new ReadOnlySpan<float>((float*)inAddr, inLen), new Span<float>((float*)outAddr, outLen), p0, p1));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgPlanes(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> input, Span<float> output, int p0, int p1)
    {
        int inW = g.InW;
        for (int p = p0; p < p1; p++)
        {
            var plane = input.Slice(p * g.InPlane, g.InPlane);
            int o = p * g.OutPlane;
            for (int oh = 0; oh < g.OutH; oh++)
            {
                AvgWindow(oh, g.StrideH, g.PadH, g.KernelH, g.InH, out int h0, out int h1, out int hPadded);
                for (int ow = 0; ow < g.OutW; ow++, o++)
                {
                    AvgWindow(ow, g.StrideW, g.PadW, g.KernelW, inW, out int w0, out int w1, out int wPadded);
                    float sum = 0;
                    for (int h = h0; h < h1; h++)
                    {
                        var row = plane.Slice(h * inW, inW);
                        for (int w = w0; w < w1; w++) sum += row[w];
                    }
                    output[o] = sum / Divisor(countIncludePad, divisorOverride, hPadded * wPadded, (h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    /// <summary>Average pooling backward: each output gradient, divided as in the forward, is spread over its window.</summary>
    public static unsafe void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        // gradOutput: [Planes, OutH, OutW]; gradInput: [Planes, InH, InW]
        Check(g, gradInput.Length, gradOutput.Length, nameof(AvgPool2dBackward));
        var geo = g;
        fixed (float* pGo = gradOutput)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo, giAddr = (nint)pGi;
            int goLen = gradOutput.Length, giLen = gradInput.Length;
            PlaneParallel.For(g.Planes, (long)g.Planes * g.OutPlane * g.KernelH * g.KernelW, (p0, p1) =>
                AvgBackwardPlanes(geo, countIncludePad, divisorOverride, new ReadOnlySpan<float>((float*)goAddr, goLen), new Span<float>((float*)giAddr, giLen), p0, p1));
        }
    }

    private static void AvgBackwardPlanes(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> gradOutput, Span<float> gradInput, int p0, int p1)
    {
        gradInput.Slice(p0 * g.InPlane, (p1 - p0) * g.InPlane).Clear();
        int inW = g.InW;
        for (int p = p0; p < p1; p++)
        {
            var plane = gradInput.Slice(p * g.InPlane, g.InPlane);
            int o = p * g.OutPlane;
            for (int oh = 0; oh < g.OutH; oh++)
            {
                AvgWindow(oh, g.StrideH, g.PadH, g.KernelH, g.InH, out int h0, out int h1, out int hPadded);
                for (int ow = 0; ow < g.OutW; ow++, o++)
                {
                    AvgWindow(ow, g.StrideW, g.PadW, g.KernelW, inW, out int w0, out int w1, out int wPadded);
                    float share = gradOutput[o] / Divisor(countIncludePad, divisorOverride, hPadded * wPadded, (h1 - h0) * (w1 - w0));
                    for (int h = h0; h < h1; h++)
                    {
                        var row = plane.Slice(h * inW + w0, w1 - w0);
                        for (int w = 0; w < row.Length; w++) row[w] += share;
                    }
                }
            }
        }
    }

    // PyTorch clips the window to the padded input first (that size is the count_include_pad divisor), then to the input.
    private static void AvgWindow(int o, int stride, int pad, int kernel, int size, out int start, out int end, out int padded)
    {
        start = o * stride - pad;
        end = Math.Min(start + kernel, size + pad);
        padded = end - start;
        start = Math.Max(start, 0);
        end = Math.Min(end, size);
    }

    private static float Divisor(bool countIncludePad, int divisorOverride, int padded, int real) =>
        divisorOverride != 0 ? divisorOverride : countIncludePad ? padded : real;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Check(in Pool2dGeometry g, int inputLength, int outputLength, string op)
    {
        if (inputLength != g.Planes * g.InPlane || outputLength != g.Planes * g.OutPlane)
            throw new ArgumentException($"Pooling.{op}: got {inputLength} input and {outputLength} output elements; geometry {g} needs {g.Planes * g.InPlane} and {g.Planes * g.OutPlane}.");
    }
}
