namespace Striate.Kernels;

public static partial class Conv2dKernels
{
    /// <summary>
    /// The gradients of y = relu(conv(x, w) + b) from its output y and dy = ∂L/∂y: with dy' = dy where y &gt; 0 (else
    /// 0), gradInput = BackwardData(dy'), gradWeight = BackwardWeight(x, dy'), gradBias[o] = Σ dy'[·, o]. An empty
    /// gradInput, gradWeight or gradBias is not computed. On <see cref="Conv2dAlgorithm.SmallDirect"/> the mask is
    /// applied while the kernels flatten dy (and the bias gradient is summed there), so dy' is never written out; the
    /// other algorithms mask into a scratch copy first, which costs what a separate ReLU backward costs.
    /// <see cref="Conv2dReference.BackwardRelu"/> is the specification.
    /// Shapes: input [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW], output and gradOutput [N, Cout, Hout, Wout].
    /// </summary>
    internal static void BackwardRelu(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> output,
        ReadOnlySpan<float> gradOutput, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias)
        => BackwardRelu(g, null, Conv2dDirect.BestWidth, input, weight, output, gradOutput, gradInput, gradWeight, gradBias);

    /// <summary>As above on a forced algorithm and width (null: each gradient's own choice, as the public calls); for tests.</summary>
    internal static void BackwardRelu(in Conv2dGeometry g, Conv2dAlgorithm? algorithm, GemmPath width, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias)
    {
        if (output.Length != g.OutputLength || gradOutput.Length != g.OutputLength)
            throw new ArgumentException($"Conv2d.BackwardRelu: output has {output.Length} and gradOutput {gradOutput.Length} elements, expected {g.OutputLength} each.");
        if ((algorithm ?? Choose(g)) == Conv2dAlgorithm.SmallDirect && g.Batch > 0)
        {
            g.CheckSpans(".BackwardRelu", input.Length, weight.Length, gradOutput.Length, "input", "gradOutput");
            CheckAlgorithm(g, Conv2dAlgorithm.SmallDirect, width, forward: false);
            var flat = FlatWidth(width);
            if (!gradInput.IsEmpty) Conv2dFlat.BackwardData(flat, g, gradOutput, output, weight, gradInput);
            if (!gradWeight.IsEmpty) Conv2dFlat.BackwardWeight(flat, g, input, gradOutput, output, gradWeight, gradBias);
            else if (!gradBias.IsEmpty) BackwardBiasMasked(g, output, gradOutput, gradBias);
            return;
        }
        float[] masked = System.Buffers.ArrayPool<float>.Shared.Rent(gradOutput.Length);
        try
        {
            var dy = masked.AsSpan(0, gradOutput.Length);
            Activations.ReluBackward(output, gradOutput, dy);
            if (!gradInput.IsEmpty)
            {
                if (algorithm is { } a) BackwardData(g, a, width, dy, weight, gradInput);
                else BackwardData(g, dy, weight, gradInput);
            }
            if (!gradWeight.IsEmpty)
            {
                if (algorithm is { } a) BackwardWeight(g, a, width, input, dy, gradWeight);
                else BackwardWeight(g, input, dy, gradWeight);
            }
            if (!gradBias.IsEmpty) BackwardBias(g, dy, gradBias);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(masked);
        }
    }

    /// <summary>gradBias from dy masked by output &gt; 0, without a masked copy (SmallDirect, weight gradient not wanted).</summary>
    private static void BackwardBiasMasked(in Conv2dGeometry g, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput, Span<float> gradBias)
    {
        float[] masked = System.Buffers.ArrayPool<float>.Shared.Rent(gradOutput.Length);
        try
        {
            var dy = masked.AsSpan(0, gradOutput.Length);
            Activations.ReluBackward(output, gradOutput, dy);
            BackwardBias(g, dy, gradBias);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(masked);
        }
    }
}
