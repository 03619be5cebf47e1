using System.Numerics.Tensors;

namespace Striate.Kernels;

/// <summary>How <see cref="Conv2dKernels"/> computes one convolution; chosen per shape by <see cref="Conv2dKernels.Choose"/>.</summary>
public enum Conv2dAlgorithm
{
    /// <summary>1×1, stride 1, no padding: each image is already the column matrix, so one GEMM per image and group.</summary>
    Pointwise,
    /// <summary>groups == inChannels (depthwise, any channel multiplier): direct loops, vectorized along the width.</summary>
    Depthwise,
    /// <summary>Everything else: im2col + GEMM per group over a chunk of images; col2im for the input gradient.</summary>
    Im2ColGemm,
    /// <summary>
    /// im2col + GEMM for shapes too small to split one GEMM over threads (LeNet-sized): each thread takes whole
    /// chunks of images with a single-threaded GEMM; weight gradients are summed from per-task partials.
    /// </summary>
    BatchedIm2Col,
}

/// <summary>
/// Fast 2-D convolution (NCHW, weights [Cout, Cin/groups, kH, kW]): forward and the three gradients.
/// The algorithm is picked per shape here and nowhere else, so a new one (blocked layouts, Winograd) only
/// touches this folder. <see cref="Conv2dReference"/> is the specification.
/// Shapes: as <see cref="Conv2dGeometry"/>.
/// </summary>
public static partial class Conv2dKernels
{
    /// <summary>The algorithm used for <paramref name="g"/>.</summary>
    public static Conv2dAlgorithm Choose(in Conv2dGeometry g)
    {
        if (g.Groups > 1 && g.Groups == g.InChannels) return Conv2dAlgorithm.Depthwise;
        if (g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0
            && ImagesPerGemm(g) == 1)
            return Conv2dAlgorithm.Pointwise;
        return IsSmallPerChunk(g) ? Conv2dAlgorithm.BatchedIm2Col : Conv2dAlgorithm.Im2ColGemm;
    }

    /// <summary>output = conv(input, weight) + bias (bias empty = none). Overwrites output.</summary>
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
    {
        g.CheckSpans(".Forward", input.Length, weight.Length, output.Length);
        if (!bias.IsEmpty && bias.Length != g.OutChannels)
            throw new ArgumentException($"Conv2d.Forward: bias has {bias.Length} elements, expected {g.OutChannels} (one per output channel) or none.");
        if (g.Batch == 0) return;
        switch (Choose(g))
        {
            case Conv2dAlgorithm.Depthwise: DepthwiseConv2d.Forward(g, input, weight, bias, output); return;
            case Conv2dAlgorithm.Pointwise: PointwiseForward(g, input, weight, output); break;
            case Conv2dAlgorithm.BatchedIm2Col: BatchedRun(g, BatchedPass.Forward, input, weight, output, default, default); break;
            default: Im2ColForward(g, input, weight, output); break;
        }
        if (!bias.IsEmpty) AddBias(g, bias, output);
    }

    /// <summary>gradInput = d(output)/d(input)ᵀ · gradOutput. Overwrites gradInput.</summary>
    public static void BackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        g.CheckSpans(".BackwardData", gradInput.Length, weight.Length, gradOutput.Length, "gradInput", "gradOutput");
        if (g.Batch == 0) return;
        switch (Choose(g))
        {
            case Conv2dAlgorithm.Depthwise: DepthwiseConv2d.BackwardData(g, gradOutput, weight, gradInput); break;
            case Conv2dAlgorithm.Pointwise: PointwiseBackwardData(g, gradOutput, weight, gradInput); break;
            case Conv2dAlgorithm.BatchedIm2Col: BatchedRun(g, BatchedPass.BackwardData, default, weight, gradOutput, gradInput, default); break;
            default: Im2ColBackwardData(g, gradOutput, weight, gradInput); break;
        }
    }

    /// <summary>gradWeight = Σ over the batch of gradOutput · colᵀ. Overwrites gradWeight.</summary>
    public static void BackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
    {
        g.CheckSpans(".BackwardWeight", input.Length, gradWeight.Length, gradOutput.Length, "input", "gradOutput");
        if (g.Batch == 0) { gradWeight.Clear(); return; }
        switch (Choose(g))
        {
            case Conv2dAlgorithm.Depthwise: DepthwiseConv2d.BackwardWeight(g, input, gradOutput, gradWeight); break;
            case Conv2dAlgorithm.Pointwise: PointwiseBackwardWeight(g, input, gradOutput, gradWeight); break;
            case Conv2dAlgorithm.BatchedIm2Col: BatchedRun(g, BatchedPass.BackwardWeight, input, default, gradOutput, default, gradWeight); break;
            default: Im2ColBackwardWeight(g, input, gradOutput, gradWeight); break;
        }
    }

    /// <summary>gradBias[o] = Σ_{n, i, j} gradOutput[n, o, i, j]. Overwrites gradBias.</summary>
    public static void BackwardBias(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, Span<float> gradBias)
    {
        g.Validate();
        if (gradOutput.Length != g.OutputLength || gradBias.Length != g.OutChannels)
            throw new ArgumentException($"Conv2d.BackwardBias: gradOutput has {gradOutput.Length} elements (expected {g.OutputLength}), gradBias {gradBias.Length} (expected {g.OutChannels}).");
        int plane = g.OutHeight * g.OutWidth;
        for (int o = 0; o < g.OutChannels; o++)
        {
            double sum = 0;
            for (int n = 0; n < g.Batch; n++) sum += TensorPrimitives.Sum(gradOutput.Slice((n * g.OutChannels + o) * plane, plane));
            gradBias[o] = (float)sum;
        }
    }

    private static void AddBias(in Conv2dGeometry g, ReadOnlySpan<float> bias, Span<float> output)
    {
        int plane = g.OutHeight * g.OutWidth;
        for (int n = 0; n < g.Batch; n++)
        for (int o = 0; o < g.OutChannels; o++)
        {
            var y = output.Slice((n * g.OutChannels + o) * plane, plane); // y: [Hout, Wout]
            TensorPrimitives.Add(y, bias[o], y);
        }
    }
}
