using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Adaptive pooling (torch.nn.functional.adaptive_avg_pool2d / adaptive_max_pool2d): output cell i along a
/// dimension of size In pooled to Out covers [floor(i·In/Out), ceil((i+1)·In/Out)), so cells may overlap or
/// differ in size by one. Input [planes, inH, inW], output [planes, outH, outW].
/// </summary>
public static class AdaptivePooling
{
    /// <summary>First input index of output cell <paramref name="i"/>: floor(i·In/Out).</summary>
    public static int Start(int i, int input, int output) => (int)((long)i * input / output);

    /// <summary>One past the last input index of output cell <paramref name="i"/>: ceil((i+1)·In/Out).</summary>
    public static int End(int i, int input, int output) => (int)(((long)(i + 1) * input + output - 1) / output);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AvgForwardSerial(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> input, Span<float> output)
    {
        // input: [planes, inH, inW]; output: [planes, outH, outW]
        Check(planes, inH, inW, outH, outW, input.Length, output.Length, nameof(AvgForward));
        int inPlane = inH * inW;
        if (outH == 1 && outW == 1)
        {
            // Global average pooling: one contiguous vectorized sum per plane.
            for (int p = 0; p < planes; p++)
                output[p] = Striate.Kernels.SpanMath.Sum(input.Slice(p * inPlane, inPlane)) / inPlane;
            return;
        }
        int o = 0;
        for (int p = 0; p < planes; p++)
        {
            var plane = input.Slice(p * inPlane, inPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = Start(oh, inH, outH), h1 = End(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++, o++)
                {
                    int w0 = Start(ow, inW, outW), w1 = End(ow, inW, outW);
                    float sum = 0;
                    for (int h = h0; h < h1; h++)
                    {
                        var row = plane.Slice(h * inW, inW);
                        for (int w = w0; w < w1; w++) sum += row[w];
                    }
                    output[o] = sum / ((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    private static void AvgBackwardSerial(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        // gradOutput: [planes, outH, outW]; gradInput: [planes, inH, inW]
        Check(planes, inH, inW, outH, outW, gradInput.Length, gradOutput.Length, nameof(AvgBackward));
        int inPlane = inH * inW;
        if (outH == 1 && outW == 1)
        {
            for (int p = 0; p < planes; p++) gradInput.Slice(p * inPlane, inPlane).Fill(gradOutput[p] / inPlane);
            return;
        }
        gradInput.Clear();
        int o = 0;
        for (int p = 0; p < planes; p++)
        {
            var plane = gradInput.Slice(p * inPlane, inPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = Start(oh, inH, outH), h1 = End(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++, o++)
                {
                    int w0 = Start(ow, inW, outW), w1 = End(ow, inW, outW);
                    float share = gradOutput[o] / ((h1 - h0) * (w1 - w0));
                    for (int h = h0; h < h1; h++)
                    {
                        var row = plane.Slice(h * inW + w0, w1 - w0);
                        for (int w = 0; w < row.Length; w++) row[w] += share;
                    }
                }
            }
        }
    }

    private static void MaxForwardSerial(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> input, Span<float> output, Span<int> indices)
    {
        // input: [planes, inH, inW]; output: [planes, outH, outW]; indices: [planes, outH, outW] or empty (not wanted)
        Check(planes, inH, inW, outH, outW, input.Length, output.Length, nameof(MaxForward));
        if (!indices.IsEmpty && indices.Length != output.Length)
            throw new ArgumentException($"AdaptivePooling.MaxForward: indices has {indices.Length} elements, expected {output.Length} (or none).");
        int inPlane = inH * inW;
        int o = 0;
        for (int p = 0; p < planes; p++)
        {
            var plane = input.Slice(p * inPlane, inPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = Start(oh, inH, outH), h1 = End(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++, o++)
                {
                    int w0 = Start(ow, inW, outW), w1 = End(ow, inW, outW);
                    float max = float.NegativeInfinity;
                    for (int h = h0; h < h1; h++)
                    {
                        var row = plane.Slice(h * inW, inW);
                        for (int w = w0; w < w1; w++) { float v = row[w]; max = v > max || float.IsNaN(v) ? v : max; }
                    }
                    output[o] = max;
                    if (!indices.IsEmpty) indices[o] = Pooling.ScanArgMax(plane, inW, h0, h1, w0, w1, max);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void AvgForward(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> input, Span<float> output)
    {
        // input: [planes, inH, inW]; output: [planes, outH, outW]
        Check(planes, inH, inW, outH, outW, input.Length, output.Length, nameof(AvgForward));
        int inPlane = inH * inW, outPlane = outH * outW;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut;
            PlaneParallel.For(planes, (long)planes * (inPlane + outPlane), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
                AvgForwardSerial(p1 - p0, inH, inW, outH, outW,
                    new ReadOnlySpan<float>((float*)inAddr + (long)p0 * inPlane, (p1 - p0) * inPlane),
                    new Span<float>((float*)outAddr + (long)p0 * outPlane, (p1 - p0) * outPlane)));
        }
    }

    public static unsafe void AvgBackward(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        // gradOutput: [planes, outH, outW]; gradInput: [planes, inH, inW]
        Check(planes, inH, inW, outH, outW, gradInput.Length, gradOutput.Length, nameof(AvgBackward));
        int inPlane = inH * inW, outPlane = outH * outW;
        fixed (float* pGo = gradOutput)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo, giAddr = (nint)pGi;
            PlaneParallel.For(planes, (long)planes * (inPlane + outPlane), (p0, p1) =>
                AvgBackwardSerial(p1 - p0, inH, inW, outH, outW,
                    new ReadOnlySpan<float>((float*)goAddr + (long)p0 * outPlane, (p1 - p0) * outPlane),
                    new Span<float>((float*)giAddr + (long)p0 * inPlane, (p1 - p0) * inPlane)));
        }
    }

    /// <summary>
    /// Adaptive max pooling; <paramref name="indices"/> (when not empty) gets the in-plane flat index of each winner
    /// (first maximum in scan order; NaN propagates, recording the last NaN as PyTorch does), for
    /// <see cref="Pooling.MaxPool2dBackward(int, int, int, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/>.
    /// </summary>
    public static unsafe void MaxForward(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> input, Span<float> output, Span<int> indices)
    {
        // input: [planes, inH, inW]; output: [planes, outH, outW]; indices: [planes, outH, outW] or empty (not wanted)
        Check(planes, inH, inW, outH, outW, input.Length, output.Length, nameof(MaxForward));
        if (!indices.IsEmpty && indices.Length != output.Length)
            throw new ArgumentException($"AdaptivePooling.MaxForward: indices has {indices.Length} elements, expected {output.Length} (or none).");
        int inPlane = inH * inW, outPlane = outH * outW;
        bool wantIndex = !indices.IsEmpty;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        fixed (int* pIdx = indices)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut, idxAddr = (nint)pIdx;
            PlaneParallel.For(planes, (long)planes * (inPlane + outPlane), (p0, p1) =>
                MaxForwardSerial(p1 - p0, inH, inW, outH, outW,
                    new ReadOnlySpan<float>((float*)inAddr + (long)p0 * inPlane, (p1 - p0) * inPlane),
                    new Span<float>((float*)outAddr + (long)p0 * outPlane, (p1 - p0) * outPlane),
                    wantIndex ? new Span<int>((int*)idxAddr + (long)p0 * outPlane, (p1 - p0) * outPlane) : Span<int>.Empty));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Check(int planes, int inH, int inW, int outH, int outW, int inputLength, int outputLength, string op)
    {
        if (outH <= 0 || outW <= 0 || inH <= 0 || inW <= 0)
            throw new ArgumentException($"AdaptivePooling.{op}: sizes must be positive, got input {inH}x{inW}, output {outH}x{outW}.");
        if (inputLength != planes * inH * inW || outputLength != planes * outH * outW)
            throw new ArgumentException($"AdaptivePooling.{op}: got {inputLength} input and {outputLength} output elements, expected {planes * inH * inW} and {planes * outH * outW}.");
    }
}
