using System.Runtime.CompilerServices;

namespace Striate.Kernels;

public static partial class Conv2dKernels
{
    /// <summary>
    /// Whether <see cref="ForwardWithInputAffine"/> runs <paramref name="g"/>: a 1×1, stride-1, unpadded convolution
    /// without groups whose product takes packed weights (the GEMM's B packing is where the input is transformed; a
    /// padded or larger kernel would see the transform's value, not zero, in its padding).
    /// </summary>
    public static bool TakesInputAffine(in Conv2dGeometry g) =>
        g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.Groups == 1
        && Gemm.UsesPackedA(Gemm.BestPath, g.OutChannels);

    /// <summary>
    /// output = act(conv(act_in(input · scale[c] + shift[c]), weight) + bias + residual), act_in = ReLU when
    /// <paramref name="inputRelu"/>: an eval-mode batch norm (→ ReLU) in front of a 1×1 convolution, applied to each
    /// input row as the GEMM packs it (<see cref="GemmRowAffine"/>), so its result is never written whole (DenseNet's
    /// norm → relu → conv, whose input is the whole concatenation so far). The same values as
    /// <see cref="ChannelAffine.Forward"/> then <see cref="Forward(in Conv2dGeometry, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in Conv2dEpilogue, WeightKey?)"/>.
    /// One GEMM per image, as <see cref="Conv2dAlgorithm.Pointwise"/> runs it. Requires <see cref="TakesInputAffine"/>.
    /// Shapes: scale, shift [Cin]; the rest as Forward.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void ForwardWithInputAffine(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift,
        bool inputRelu, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output, in Conv2dEpilogue epilogue, WeightKey? weightKey = null)
    {
        CheckForwardOperands(g, ".ForwardWithInputAffine", input.Length, weight.Length, output.Length, bias.Length, epilogue.Residual.Length);
        if (!TakesInputAffine(g)) throw new ArgumentException($"Conv2d.ForwardWithInputAffine: {g} is not a 1×1 stride-1 unpadded convolution without groups whose weights are packed.");
        if (scale.Length != g.InChannels || shift.Length != g.InChannels)
            throw new ArgumentException($"Conv2d.ForwardWithInputAffine: scale has {scale.Length} and shift {shift.Length} elements, expected {g.InChannels} (one per input channel) each.");
        if (g.Batch == 0) return;
        int P = g.OutHeight * g.OutWidth, cin = g.InChannels, cout = g.OutChannels;
        fixed (float* w = weight, x = input, y = output, b = bias, r = epilogue.Residual, s = scale, t = shift)
        {
            float* packed = PackedWeights(g, false, w, weightKey, out var holder);
            var rows = new GemmRowAffine(s, t, inputRelu);
            for (int n = 0; n < g.Batch; n++)
            {
                long yOffset = (long)n * cout * P;
                var e = new GemmEpilogue(bias.IsEmpty ? null : b, epilogue.Residual.IsEmpty ? null : r + yOffset, P, epilogue.Lo, epilogue.Hi);
                Gemm.Sgemm(Gemm.BestPath, KernelThreads.Count, packed, cout, cin, false, P, x + (long)n * cin * P, P, 0f, y + yOffset, P, e, rows);
            }
            GC.KeepAlive(holder);
        }
    }
}
