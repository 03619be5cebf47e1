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
public static class Pooling
{
    /// <summary>
    /// Max pooling. <paramref name="indices"/> receives, per output, the flat index (h·InW + w) of the chosen
    /// element within its plane, as PyTorch's return_indices. Ties keep the first maximum in scan order; a NaN
    /// wins over every number (PyTorch propagates NaN).
    /// </summary>
    public static void MaxPool2dForward(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, Span<int> indices)
    {
        // input: [Planes, InH, InW]; output, indices: [Planes, OutH, OutW]
        Check(g, input.Length, output.Length, nameof(MaxPool2dForward));
        if (indices.Length != output.Length) throw new ArgumentException($"Pooling.MaxPool2dForward: indices has {indices.Length} elements, expected {output.Length}.");
        int inW = g.InW;
        for (int p = 0; p < g.Planes; p++)
        {
            var plane = input.Slice(p * g.InPlane, g.InPlane);
            int o = p * g.OutPlane;
            for (int oh = 0; oh < g.OutH; oh++)
            {
                int h0 = oh * g.StrideH - g.PadH;
                int h1 = Math.Min(h0 + g.KernelH, g.InH);
                h0 = Math.Max(h0, 0);
                for (int ow = 0; ow < g.OutW; ow++, o++)
                {
                    int w0 = ow * g.StrideW - g.PadW;
                    int w1 = Math.Min(w0 + g.KernelW, inW);
                    w0 = Math.Max(w0, 0);
                    int best = h0 * inW + w0;
                    float max = float.NegativeInfinity;
                    for (int h = h0; h < h1; h++)
                    {
                        var row = plane.Slice(h * inW, inW);
                        for (int w = w0; w < w1; w++)
                        {
                            float v = row[w];
                            if (v > max || float.IsNaN(v)) { max = v; best = h * inW + w; if (float.IsNaN(v)) goto done; }
                        }
                    }
                done:
                    output[o] = max;
                    indices[o] = best;
                }
            }
        }
    }

    /// <summary>
    /// Max pooling backward: each output gradient goes to the element that won its window (sums where windows
    /// overlap). Also serves adaptive max pooling, which saves indices in the same form.
    /// </summary>
    public static void MaxPool2dBackward(int planes, int inPlane, int outPlane, ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> indices, Span<float> gradInput)
    {
        // gradOutput, indices: [planes, outPlane]; gradInput: [planes, inPlane]
        if (gradOutput.Length != planes * outPlane || indices.Length != gradOutput.Length || gradInput.Length != planes * inPlane)
            throw new ArgumentException($"Pooling.MaxPool2dBackward: got gradOutput {gradOutput.Length}, indices {indices.Length}, gradInput {gradInput.Length} elements; expected {planes * outPlane}, {planes * outPlane}, {planes * inPlane}.");
        gradInput.Clear();
        for (int p = 0; p < planes; p++)
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
    public static void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> input, Span<float> output)
    {
        // input: [Planes, InH, InW]; output: [Planes, OutH, OutW]
        Check(g, input.Length, output.Length, nameof(AvgPool2dForward));
        int inW = g.InW;
        for (int p = 0; p < g.Planes; p++)
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
    public static void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        // gradOutput: [Planes, OutH, OutW]; gradInput: [Planes, InH, InW]
        Check(g, gradInput.Length, gradOutput.Length, nameof(AvgPool2dBackward));
        gradInput.Clear();
        int inW = g.InW;
        for (int p = 0; p < g.Planes; p++)
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

    private static void Check(in Pool2dGeometry g, int inputLength, int outputLength, string op)
    {
        if (inputLength != g.Planes * g.InPlane || outputLength != g.Planes * g.OutPlane)
            throw new ArgumentException($"Pooling.{op}: got {inputLength} input and {outputLength} output elements; geometry {g} needs {g.Planes * g.InPlane} and {g.Planes * g.OutPlane}.");
    }
}
