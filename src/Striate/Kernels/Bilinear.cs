using System.Buffers;

namespace Striate.Kernels;

/// <summary>
/// Bilinear resampling of [planes, inH, inW] to [planes, outH, outW] with align_corners = false and no
/// antialiasing (torch.nn.functional.interpolate(mode="bilinear")). Output pixel d samples the source at
/// max(0, scale·(d + 0.5) − 0.5) (PyTorch's area_pixel_compute_source_index), with scale = in/out, or
/// 1/scale_factor when the caller gave a scale factor. The taps and weights per output row and column are
/// computed once per call, not per plane.
/// </summary>
public static class Bilinear
{
    /// <summary>PyTorch's source scale: 1/scaleFactor when a positive factor was given, else in/out.</summary>
    public static float SourceScale(int input, int output, double scaleFactor) =>
        scaleFactor > 0 ? (float)(1.0 / scaleFactor) : (float)input / output;

    /// <summary>The two source taps (i0, i0 + step) and their weights for output index <paramref name="d"/>.</summary>
    public static void Taps(int d, float scale, int input, out int i0, out int step, out float w0, out float w1)
    {
        float src = scale * (d + 0.5f) - 0.5f;
        if (src < 0) src = 0;
        // Guard as recent PyTorch does: a source beyond the last pixel (only reachable with a scale factor that does
        // not match the output size) reads the last pixel.
        i0 = Math.Min((int)src, input - 1);
        step = i0 < input - 1 ? 1 : 0;
        w1 = Math.Clamp(src - i0, 0f, 1f);
        w0 = 1f - w1;
    }

    private static void ForwardSerial(int planes, int inH, int inW, int outH, int outW, float scaleH, float scaleW, ReadOnlySpan<float> input, Span<float> output)
    {
        // input: [planes, inH, inW]; output: [planes, outH, outW]
        Check(planes, inH, inW, outH, outW, input.Length, output.Length, nameof(Forward));
        // taps: [outH + outW] (first index, step); weights: [2·(outH + outW)]
        int[] taps = ArrayPool<int>.Shared.Rent(2 * (outH + outW));
        float[] weights = ArrayPool<float>.Shared.Rent(2 * (outH + outW));
        Precompute(inH, inW, outH, outW, scaleH, scaleW, taps, weights);
        int inPlane = inH * inW, outPlane = outH * outW;
        for (int p = 0; p < planes; p++)
        {
            var src = input.Slice(p * inPlane, inPlane);
            var dst = output.Slice(p * outPlane, outPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                var row0 = src.Slice(taps[2 * oh] * inW, inW);
                var row1 = src.Slice((taps[2 * oh] + taps[2 * oh + 1]) * inW, inW);
                float wh0 = weights[2 * oh], wh1 = weights[2 * oh + 1];
                var d = dst.Slice(oh * outW, outW);
                for (int ow = 0; ow < outW; ow++)
                {
                    int c = 2 * (outH + ow);
                    int w0 = taps[c], w1 = w0 + taps[c + 1];
                    float ww0 = weights[c], ww1 = weights[c + 1];
                    d[ow] = wh0 * (ww0 * row0[w0] + ww1 * row0[w1]) + wh1 * (ww0 * row1[w0] + ww1 * row1[w1]);
                }
            }
        }
        ArrayPool<int>.Shared.Return(taps);
        ArrayPool<float>.Shared.Return(weights);
    }

    private static void BackwardSerial(int planes, int inH, int inW, int outH, int outW, float scaleH, float scaleW, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        // gradOutput: [planes, outH, outW]; gradInput: [planes, inH, inW]
        Check(planes, inH, inW, outH, outW, gradInput.Length, gradOutput.Length, nameof(Backward));
        int[] taps = ArrayPool<int>.Shared.Rent(2 * (outH + outW));
        float[] weights = ArrayPool<float>.Shared.Rent(2 * (outH + outW));
        Precompute(inH, inW, outH, outW, scaleH, scaleW, taps, weights);
        gradInput.Clear();
        int inPlane = inH * inW, outPlane = outH * outW;
        for (int p = 0; p < planes; p++)
        {
            var gi = gradInput.Slice(p * inPlane, inPlane);
            var go = gradOutput.Slice(p * outPlane, outPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                var row0 = gi.Slice(taps[2 * oh] * inW, inW);
                var row1 = gi.Slice((taps[2 * oh] + taps[2 * oh + 1]) * inW, inW);
                float wh0 = weights[2 * oh], wh1 = weights[2 * oh + 1];
                var g = go.Slice(oh * outW, outW);
                for (int ow = 0; ow < outW; ow++)
                {
                    int c = 2 * (outH + ow);
                    int w0 = taps[c], w1 = w0 + taps[c + 1];
                    float ww0 = weights[c], ww1 = weights[c + 1];
                    float v = g[ow];
                    // Rows may coincide (step 0 at the border): accumulate row0 before row1 so both shares land.
                    row0[w0] += wh0 * ww0 * v;
                    row0[w1] += wh0 * ww1 * v;
                    row1[w0] += wh1 * ww0 * v;
                    row1[w1] += wh1 * ww1 * v;
                }
            }
        }
        ArrayPool<int>.Shared.Return(taps);
        ArrayPool<float>.Shared.Return(weights);
    }

    public static unsafe void Forward(int planes, int inH, int inW, int outH, int outW, float scaleH, float scaleW, ReadOnlySpan<float> input, Span<float> output)
    {
        // input: [planes, inH, inW]; output: [planes, outH, outW]
        Check(planes, inH, inW, outH, outW, input.Length, output.Length, nameof(Forward));
        int inPlane = inH * inW, outPlane = outH * outW;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut;
            PlaneParallel.For(planes, 4L * planes * outPlane, (p0, p1) =>
                ForwardSerial(p1 - p0, inH, inW, outH, outW, scaleH, scaleW,
                    new ReadOnlySpan<float>((float*)inAddr + (long)p0 * inPlane, (p1 - p0) * inPlane),
                    new Span<float>((float*)outAddr + (long)p0 * outPlane, (p1 - p0) * outPlane)));
        }
    }

    /// <summary>Adjoint of <see cref="Forward"/>: each output gradient is scattered to its four taps with the same weights.</summary>
    public static unsafe void Backward(int planes, int inH, int inW, int outH, int outW, float scaleH, float scaleW, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        // gradOutput: [planes, outH, outW]; gradInput: [planes, inH, inW]
        Check(planes, inH, inW, outH, outW, gradInput.Length, gradOutput.Length, nameof(Backward));
        int inPlane = inH * inW, outPlane = outH * outW;
        fixed (float* pGo = gradOutput)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo, giAddr = (nint)pGi;
            PlaneParallel.For(planes, 4L * planes * outPlane, (p0, p1) =>
                BackwardSerial(p1 - p0, inH, inW, outH, outW, scaleH, scaleW,
                    new ReadOnlySpan<float>((float*)goAddr + (long)p0 * outPlane, (p1 - p0) * outPlane),
                    new Span<float>((float*)giAddr + (long)p0 * inPlane, (p1 - p0) * inPlane)));
        }
    }

    // taps[2i], taps[2i+1] = first index and step; weights[2i], weights[2i+1] = their weights; rows first, then columns.
    private static void Precompute(int inH, int inW, int outH, int outW, float scaleH, float scaleW, int[] taps, float[] weights)
    {
        for (int oh = 0; oh < outH; oh++)
            Taps(oh, scaleH, inH, out taps[2 * oh], out taps[2 * oh + 1], out weights[2 * oh], out weights[2 * oh + 1]);
        for (int ow = 0; ow < outW; ow++)
        {
            int c = 2 * (outH + ow);
            Taps(ow, scaleW, inW, out taps[c], out taps[c + 1], out weights[c], out weights[c + 1]);
        }
    }

    private static void Check(int planes, int inH, int inW, int outH, int outW, int inputLength, int outputLength, string op)
    {
        if (inH <= 0 || inW <= 0 || outH <= 0 || outW <= 0)
            throw new ArgumentException($"Bilinear.{op}: sizes must be positive, got input {inH}x{inW}, output {outH}x{outW}.");
        if (inputLength != planes * inH * inW || outputLength != planes * outH * outW)
            throw new ArgumentException($"Bilinear.{op}: got {inputLength} input and {outputLength} output elements, expected {planes * inH * inW} and {planes * outH * outW}.");
    }
}
