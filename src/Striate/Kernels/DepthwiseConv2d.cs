using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Depthwise convolution (groups == inChannels; output channel o reads input channel o / multiplier) as direct
/// loops: im2col would copy kH·kW times the input for a GEMM with one row per group, so direct is faster.
/// The 3×3, padding 1, stride 1/2 convolutions of MobileNets take the vector path
/// (<c>DepthwiseConv2d.Vector3x3.cs</c>); every other geometry the plane loops here: for stride 1, each kernel tap
/// is an axpy over a contiguous run of an output row, which SpanMath vectorizes; larger strides fall back to
/// scalar gathers. <see cref="Conv2dReference"/> is the specification of both.
/// Shapes: input [N, C, H, W], weight [C·multiplier, 1, kH, kW], output [N, C·multiplier, Hout, Wout].
/// </summary>
internal static unsafe partial class DepthwiseConv2d
{
    /// <summary>
    /// output = clamp(conv(input, weight) + bias, clampMin, clampMax) (bias empty = none; ±∞ bounds = no clamp; NaN
    /// passes through as in torch.clamp). Overwrites output. <paramref name="algorithm"/> forces a path (tests).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output,
        float clampMin = float.NegativeInfinity, float clampMax = float.PositiveInfinity, DepthwiseAlgorithm algorithm = DepthwiseAlgorithm.Auto)
    {
        if (algorithm == DepthwiseAlgorithm.Auto) algorithm = VectorSupports(g) ? DepthwiseAlgorithm.Vector3x3 : DepthwiseAlgorithm.Planes;
        if (algorithm == DepthwiseAlgorithm.Vector3x3)
        {
            if (!VectorSupports(g)) throw new ArgumentException($"DepthwiseConv2d: the vector 3×3 path cannot run {g} on this machine.");
            if (g.Batch == 0) return;
            fixed (float* x = input, w = weight, b = bias, y = output)
                VectorForward(g, x, w, bias.IsEmpty ? null : b, y, clampMin, clampMax);
            return;
        }
        PlanesForward(g, input, weight, bias, output);
        if (!float.IsNegativeInfinity(clampMin) || !float.IsPositiveInfinity(clampMax)) Hardtanh.Forward(output, clampMin, clampMax, output);
    }

    private static void PlanesForward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
    {
        var geom = g;
        int planes = g.Batch * g.OutChannels;
        fixed (float* pIn = input, pW = weight, pB = bias, pOut = output)
        {
            nint inA = (nint)pIn, wA = (nint)pW, bA = (nint)pB, outA = (nint)pOut;
            int inL = input.Length, wL = weight.Length, bL = bias.Length, outL = output.Length;
            Conv2dKernels.ParallelFor(planes, (long)output.Length * g.KernelHeight * g.KernelWidth, t =>
                ForwardPlane(geom, t, new ReadOnlySpan<float>((float*)inA, inL), new ReadOnlySpan<float>((float*)wA, wL),
                    new ReadOnlySpan<float>((float*)bA, bL), new Span<float>((float*)outA, outL)));
        }
    }

    /// <summary>gradInput = conv(·, weight)ᵀ · gradOutput. Overwrites gradInput. <paramref name="algorithm"/> forces a path (tests).</summary>
    public static void BackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput,
        DepthwiseAlgorithm algorithm = DepthwiseAlgorithm.Auto)
    {
        if (algorithm == DepthwiseAlgorithm.Auto) algorithm = VectorSupportsBackwardData(g) ? DepthwiseAlgorithm.Vector3x3 : DepthwiseAlgorithm.Planes;
        if (algorithm == DepthwiseAlgorithm.Vector3x3)
        {
            if (!VectorSupportsBackwardData(g)) throw new ArgumentException($"DepthwiseConv2d: the vector 3×3 input gradient cannot run {g} on this machine.");
            if (g.Batch == 0) return;
            fixed (float* dy = gradOutput, w = weight, dx = gradInput)
                VectorBackwardData(g, dy, w, dx);
            return;
        }
        var geom = g;
        int planes = g.Batch * g.InChannels;
        fixed (float* pDy = gradOutput, pW = weight, pDx = gradInput)
        {
            nint dyA = (nint)pDy, wA = (nint)pW, dxA = (nint)pDx;
            int dyL = gradOutput.Length, wL = weight.Length, dxL = gradInput.Length;
            Conv2dKernels.ParallelFor(planes, (long)gradOutput.Length * g.KernelHeight * g.KernelWidth, t =>
                BackwardDataPlane(geom, t, new ReadOnlySpan<float>((float*)dyA, dyL), new ReadOnlySpan<float>((float*)wA, wL), new Span<float>((float*)dxA, dxL)));
        }
    }

    /// <summary>gradWeight = Σ over the batch of gradOutput ⋆ input. Overwrites gradWeight. <paramref name="algorithm"/> forces a path (tests).</summary>
    public static void BackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight,
        DepthwiseAlgorithm algorithm = DepthwiseAlgorithm.Auto)
    {
        if (algorithm == DepthwiseAlgorithm.Auto) algorithm = VectorSupports(g) ? DepthwiseAlgorithm.Vector3x3 : DepthwiseAlgorithm.Planes;
        if (algorithm == DepthwiseAlgorithm.Vector3x3)
        {
            if (!VectorSupports(g)) throw new ArgumentException($"DepthwiseConv2d: the vector 3×3 weight gradient cannot run {g} on this machine.");
            if (g.Batch == 0) { gradWeight.Clear(); return; }
            fixed (float* x = input, dy = gradOutput, dw = gradWeight)
                VectorBackwardWeight(g, x, dy, dw);
            return;
        }
        var geom = g;
        fixed (float* pIn = input, pDy = gradOutput, pDw = gradWeight)
        {
            nint inA = (nint)pIn, dyA = (nint)pDy, dwA = (nint)pDw;
            int inL = input.Length, dyL = gradOutput.Length, dwL = gradWeight.Length;
            Conv2dKernels.ParallelFor(g.OutChannels, (long)gradOutput.Length * g.KernelHeight * g.KernelWidth, o =>
                BackwardWeightChannel(geom, o, new ReadOnlySpan<float>((float*)inA, inL), new ReadOnlySpan<float>((float*)dyA, dyL), new Span<float>((float*)dwA, dwL)));
        }
    }

    /// <summary>Output plane t = n·Cout + o.</summary>
    private static void ForwardPlane(in Conv2dGeometry g, int t, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
    {
        int H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth, kH = g.KernelHeight, kW = g.KernelWidth;
        int sw = g.StrideW, mult = g.OutChannels / g.InChannels;
        int n = t / g.OutChannels, o = t % g.OutChannels, c = o / mult;
        var x = input.Slice((n * g.InChannels + c) * H * W, H * W);  // x: [H, W]
        var w = weight.Slice(o * kH * kW, kH * kW);                   // w: [kH, kW]
        var y = output.Slice(t * oh * ow, oh * ow);                   // y: [Hout, Wout]
        y.Fill(bias.IsEmpty ? 0f : bias[o]);
        for (int kh = 0; kh < kH; kh++)
        for (int kw = 0; kw < kW; kw++)
        {
            float wv = w[kh * kW + kw];
            int shift = kw * g.DilationW - g.PadW;
            Im2Col.ValidRange(shift, sw, W, ow, out int lo, out int hi);
            if (lo >= hi) continue;
            for (int i = 0; i < oh; i++)
            {
                int row = i * g.StrideH - g.PadH + kh * g.DilationH;
                if ((uint)row >= (uint)H) continue;
                var src = x.Slice(row * W, W);
                var dst = y.Slice(i * ow, ow);
                if (sw == 1)
                {
                    var d = dst[lo..hi];
                    SpanMath.MultiplyAdd(src.Slice(lo + shift, hi - lo), wv, d, d);
                }
                else
                    for (int j = lo, col = lo * sw + shift; j < hi; j++, col += sw) dst[j] += wv * src[col];
            }
        }
    }

    /// <summary>Input-gradient plane t = n·Cin + c, summed over the channel's multiplier outputs.</summary>
    private static void BackwardDataPlane(in Conv2dGeometry g, int t, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        int H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth, kH = g.KernelHeight, kW = g.KernelWidth;
        int sw = g.StrideW, mult = g.OutChannels / g.InChannels;
        int n = t / g.InChannels, c = t % g.InChannels;
        var dx = gradInput.Slice(t * H * W, H * W); // dx: [H, W]
        dx.Clear();
        for (int m = 0; m < mult; m++)
        {
            int o = c * mult + m;
            var dy = gradOutput.Slice((n * g.OutChannels + o) * oh * ow, oh * ow); // dy: [Hout, Wout]
            var w = weight.Slice(o * kH * kW, kH * kW);                            // w: [kH, kW]
            for (int kh = 0; kh < kH; kh++)
            for (int kw = 0; kw < kW; kw++)
            {
                float wv = w[kh * kW + kw];
                int shift = kw * g.DilationW - g.PadW;
                Im2Col.ValidRange(shift, sw, W, ow, out int lo, out int hi);
                if (lo >= hi) continue;
                for (int i = 0; i < oh; i++)
                {
                    int row = i * g.StrideH - g.PadH + kh * g.DilationH;
                    if ((uint)row >= (uint)H) continue;
                    var src = dy.Slice(i * ow, ow);
                    var dst = dx.Slice(row * W, W);
                    if (sw == 1)
                    {
                        var d = dst.Slice(lo + shift, hi - lo);
                        SpanMath.MultiplyAdd(src[lo..hi], wv, d, d);
                    }
                    else
                        for (int j = lo, col = lo * sw + shift; j < hi; j++, col += sw) dst[col] += wv * src[j];
                }
            }
        }
    }

    /// <summary>Weight gradient of output channel o: dw[o, 0, kh, kw] = Σ_{n, i, j} dy[n, o, i, j] · x[n, c, …].</summary>
    private static void BackwardWeightChannel(in Conv2dGeometry g, int o, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
    {
        int H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth, kH = g.KernelHeight, kW = g.KernelWidth;
        int sw = g.StrideW, c = o / (g.OutChannels / g.InChannels);
        for (int kh = 0; kh < kH; kh++)
        for (int kw = 0; kw < kW; kw++)
        {
            int shift = kw * g.DilationW - g.PadW;
            Im2Col.ValidRange(shift, sw, W, ow, out int lo, out int hi);
            double sum = 0;
            if (lo < hi)
            {
                for (int n = 0; n < g.Batch; n++)
                {
                    var x = input.Slice((n * g.InChannels + c) * H * W, H * W);        // x: [H, W]
                    var dy = gradOutput.Slice((n * g.OutChannels + o) * oh * ow, oh * ow); // dy: [Hout, Wout]
                    for (int i = 0; i < oh; i++)
                    {
                        int row = i * g.StrideH - g.PadH + kh * g.DilationH;
                        if ((uint)row >= (uint)H) continue;
                        var src = x.Slice(row * W, W);
                        var d = dy.Slice(i * ow, ow);
                        if (sw == 1)
                            sum += SpanMath.Dot(d[lo..hi], src.Slice(lo + shift, hi - lo));
                        else
                        {
                            float s = 0;
                            for (int j = lo, col = lo * sw + shift; j < hi; j++, col += sw) s += d[j] * src[col];
                            sum += s;
                        }
                    }
                }
            }
            gradWeight[(o * kH + kh) * kW + kw] = (float)sum;
        }
    }
}

/// <summary>Which depthwise path runs (tests force each).</summary>
internal enum DepthwiseAlgorithm
{
    /// <summary>The vector path where it applies, else the plane loops.</summary>
    Auto,
    /// <summary>Per-plane loops for any kernel, stride, padding and dilation.</summary>
    Planes,
    /// <summary>3×3, padding 1, stride 1 or 2, on AVX-512 or AVX2 + FMA.</summary>
    Vector3x3,
}
