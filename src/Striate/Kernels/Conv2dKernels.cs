using System.Runtime.CompilerServices;

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
    /// <summary>
    /// Small stride-1 convolutions of few channels (LeNet's) on flattened zero-padded planes (<see cref="Conv2dFlat"/>):
    /// forward, input and weight gradients without an im2col matrix in memory.
    /// </summary>
    SmallDirect,
    /// <summary>
    /// Direct convolution on channel-blocked copies of the data (<see cref="Conv2dDirect"/>): no im2col matrix, a
    /// register-blocked output tile per SIMD width. Input gradient directly for stride 1 (im2col otherwise), weight
    /// gradient directly.
    /// </summary>
    Direct,
}

/// <summary>
/// What a convolution does to its result before storing it: y = act(conv(x, w) + bias + residual), act ReLU, a clamp
/// (ReLU6 is [0, 6]) or none. Lets a residual block's add and activation ride on the convolution's output store
/// instead of more passes.
/// Shapes: Residual empty or the output's shape [N, Cout, Hout, Wout]; it must not overlap the output.
/// </summary>
public readonly ref struct Conv2dEpilogue
{
    /// <summary>Added to the convolution's output (with the bias) before the activation; empty for none.</summary>
    public ReadOnlySpan<float> Residual { get; init; }

    /// <summary>Whether max(·, 0) is applied last.</summary>
    public bool Relu { get; init; }

    /// <summary>
    /// Bounds y is clamped to last, min(max(·, Min), Max) as Hardtanh (ReLU6 is (0, 6)); null for none. With
    /// <see cref="Relu"/> as well, ReLU comes first.
    /// </summary>
    public (float Min, float Max)? Clamp { get; init; }

    /// <summary>True when the epilogue does nothing beyond the bias.</summary>
    public bool IsEmpty => Residual.IsEmpty && !Relu && Clamp == null;

    /// <summary>The lower bound of the activation as one clamp: 0 for ReLU, −∞ for none.</summary>
    internal float Lo => Clamp is { } c ? (Relu ? MathF.Max(0f, c.Min) : c.Min) : Relu ? 0f : float.NegativeInfinity;

    /// <summary>The upper bound of the activation as one clamp: +∞ unless clamped.</summary>
    internal float Hi => Clamp is { } c ? c.Max : float.PositiveInfinity;

    /// <summary>True when the activation is exactly ReLU or none (what every kernel's store can do).</summary>
    internal bool ReluOrNone => Clamp == null;
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
        if (IsSmallPerChunk(g))
            return Conv2dFlat.Supports(g) && Conv2dFlat.BestWidth != GemmPath.Scalar ? Conv2dAlgorithm.SmallDirect : Conv2dAlgorithm.BatchedIm2Col;
        return DirectWins(g, Conv2dDirect.BestWidth) ? Conv2dAlgorithm.Direct : Conv2dAlgorithm.Im2ColGemm;
    }

    /// <summary>output = conv(input, weight) + bias (bias empty = none). Overwrites output.</summary>
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output)
        => Forward(g, input, weight, bias, output, default);

    /// <summary>
    /// output = act(conv(input, weight) + bias + residual) as <paramref name="epilogue"/> says. Overwrites output.
    /// A <paramref name="weightKey"/> (the weight tensor and its version) lets the kernel keep its reordered copy of
    /// the weight in <see cref="TransformedWeights"/> until the version changes.
    /// </summary>
    public static void Forward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output,
        in Conv2dEpilogue epilogue, WeightKey? weightKey = null)
        => Forward(g, Choose(g), Conv2dDirect.BestWidth, input, weight, bias, output, epilogue, weightKey);

    /// <summary>The forward's spans against <paramref name="g"/>: input, weight and output; bias and residual when given (length 0: none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckForwardOperands(in Conv2dGeometry g, string op, int inputLength, int weightLength, int outputLength, int biasLength, int residualLength)
    {
        g.CheckSpans(op, inputLength, weightLength, outputLength);
        if (biasLength != 0 && biasLength != g.OutChannels)
            throw new ArgumentException($"Conv2d{op}: bias has {biasLength} elements, expected {g.OutChannels} (one per output channel) or none.");
        if (residualLength != 0 && residualLength != g.OutputLength)
            throw new ArgumentException($"Conv2d{op}: residual has {residualLength} elements, expected {g.OutputLength} (the output's shape) or none.");
    }

    /// <summary>As the public overload, on a given algorithm (and SIMD width for <see cref="Conv2dAlgorithm.Direct"/>); for tests and benchmarks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Forward(in Conv2dGeometry g, Conv2dAlgorithm algorithm, GemmPath width, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, Span<float> output, in Conv2dEpilogue epilogue, WeightKey? weightKey = null)
    {
        CheckForwardOperands(g, ".Forward", input.Length, weight.Length, output.Length, bias.Length, epilogue.Residual.Length);
        CheckAlgorithm(g, algorithm, width, forward: true);
        if (g.Batch == 0) return;
        switch (algorithm)
        {
            case Conv2dAlgorithm.Depthwise when epilogue.Residual.IsEmpty:
                DepthwiseConv2d.Forward(g, input, weight, bias, output, epilogue.Lo, epilogue.Hi);
                return;
            case Conv2dAlgorithm.Depthwise: DepthwiseConv2d.Forward(g, input, weight, bias, output); ApplyEpilogue(g, default, epilogue, output); return;
            case Conv2dAlgorithm.Direct when !epilogue.ReluOrNone && Conv2dDirect.TakesPixels(g):
                // The pixel path (RGB stems) clamps where it unblocks its rows: ReLU6 without a pass of its own.
                fixed (float* x = input, w = weight, b = bias, r = epilogue.Residual, y = output)
                    Conv2dDirect.ForwardPixelsClamped(width, g, x, w, b, r, epilogue.Lo, epilogue.Hi, y, weightKey);
                return;
            case Conv2dAlgorithm.Direct:
                fixed (float* x = input, w = weight, b = bias, r = epilogue.Residual, y = output)
                    Conv2dDirect.Forward(width, g, x, w, b, r, epilogue.ReluOrNone && epilogue.Relu, y, weightKey);
                // The direct tile's store knows ReLU only; another clamp (ReLU6) is a pass of its own.
                if (!epilogue.ReluOrNone) Hardtanh.Forward(output, epilogue.Lo, epilogue.Hi, output);
                return;
            case Conv2dAlgorithm.Pointwise: PointwiseForward(g, input, weight, bias, epilogue, output, weightKey); return;
            case Conv2dAlgorithm.BatchedIm2Col: BatchedRun(g, BatchedPass.Forward, input, weight, output, default, default); break;
            case Conv2dAlgorithm.SmallDirect:
            {
                // The flat copy-out adds the bias and can apply ReLU; a residual or another clamp is a pass of its own.
                bool relu = epilogue.Relu && epilogue.ReluOrNone && epilogue.Residual.IsEmpty;
                Conv2dFlat.Forward(FlatWidth(width), g, input, weight, bias, output, relu);
                if (!relu) ApplyEpilogue(g, default, epilogue, output);
                return;
            }
            default: if (Im2ColForward(g, input, weight, bias, epilogue, output, weightKey)) return; break;
        }
        ApplyEpilogue(g, bias, epilogue, output);
    }

    /// <summary>gradInput = d(output)/d(input)ᵀ · gradOutput. Overwrites gradInput. <paramref name="weightKey"/> as for <see cref="Forward(in Conv2dGeometry, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in Conv2dEpilogue, WeightKey?)"/>.</summary>
    public static void BackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput, WeightKey? weightKey = null)
        => BackwardData(g, ChooseBackward(g), Conv2dDirect.BestWidth, gradOutput, weight, gradInput, weightKey);

    /// <summary>
    /// The algorithm of the gradients: as <see cref="Choose"/>, except that convolutions of few input channels (the RGB
    /// stem), whose forward runs on the direct kernel's pixel-input path, keep im2col + GEMM for their gradients (the
    /// blocked gradient kernels would pad 3 channels to a whole block).
    /// </summary>
    private static Conv2dAlgorithm ChooseBackward(in Conv2dGeometry g)
    {
        var a = Choose(g);
        return a == Conv2dAlgorithm.Direct && Conv2dDirect.TakesPixels(g) ? Conv2dAlgorithm.Im2ColGemm : a;
    }

    /// <summary>
    /// As the public overload, on a given algorithm. Direct runs the input gradient of a stride-1 convolution as a full
    /// convolution, of a strided one as stride-1 phase convolutions, and falls back to im2col for the rest (dilated and strided, groups).
    /// </summary>
    internal static unsafe void BackwardData(in Conv2dGeometry g, Conv2dAlgorithm algorithm, GemmPath width, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> weight, Span<float> gradInput, WeightKey? weightKey = null)
    {
        g.CheckSpans(".BackwardData", gradInput.Length, weight.Length, gradOutput.Length, "gradInput", "gradOutput");
        CheckAlgorithm(g, algorithm, width, forward: false);
        if (g.Batch == 0) return;
        if (algorithm == Conv2dAlgorithm.Direct)
        {
            if (Conv2dDirect.SupportsBackwardData(g))
            {
                fixed (float* dy = gradOutput, w = weight, dx = gradInput)
                    Conv2dDirect.BackwardData(width, g, dy, w, dx, weightKey);
                return;
            }
            if (Conv2dDirect.SupportsStridedBackwardData(g))
            {
                fixed (float* dy = gradOutput, w = weight, dx = gradInput)
                    Conv2dDirect.BackwardDataStrided(width, g, dy, w, dx, weightKey);
                return;
            }
            algorithm = Conv2dAlgorithm.Im2ColGemm;
        }
        switch (algorithm)
        {
            case Conv2dAlgorithm.Depthwise: DepthwiseConv2d.BackwardData(g, gradOutput, weight, gradInput); break;
            case Conv2dAlgorithm.Pointwise: PointwiseBackwardData(g, gradOutput, weight, gradInput, weightKey); break;
            case Conv2dAlgorithm.BatchedIm2Col: BatchedRun(g, BatchedPass.BackwardData, default, weight, gradOutput, gradInput, default); break;
            case Conv2dAlgorithm.SmallDirect: Conv2dFlat.BackwardData(FlatWidth(width), g, gradOutput, weight, gradInput); break;
            default: Im2ColBackwardData(g, gradOutput, weight, gradInput, weightKey); break;
        }
    }

    /// <summary>gradWeight = Σ over the batch of gradOutput · colᵀ. Overwrites gradWeight.</summary>
    public static void BackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
        => BackwardWeight(g, ChooseBackwardWeight(g), Conv2dDirect.BestWidth, input, gradOutput, gradWeight);

    /// <summary>
    /// The algorithm of the weight gradient: as <see cref="Choose"/>, except that strided direct convolutions take
    /// im2col + GEMM for it on AVX2, where the direct weight kernel (reading every other input pixel) measured no faster;
    /// on AVX-512 it beats im2col there by 1.2–1.3× (bench/RESULTS.md, 2026-12-03).
    /// </summary>
    public static Conv2dAlgorithm ChooseBackwardWeight(in Conv2dGeometry g)
    {
        var a = ChooseBackward(g);
        bool strided = g.StrideH > 1 || g.StrideW > 1;
        return a == Conv2dAlgorithm.Direct && strided && Conv2dDirect.BestWidth != GemmPath.Vector512 && !Conv2dDirect.StridedWeightIsDirect(g)
            ? Conv2dAlgorithm.Im2ColGemm : a;
    }

    /// <summary>As the public overload, on a given algorithm.</summary>
    internal static unsafe void BackwardWeight(in Conv2dGeometry g, Conv2dAlgorithm algorithm, GemmPath width, ReadOnlySpan<float> input,
        ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
    {
        g.CheckSpans(".BackwardWeight", input.Length, gradWeight.Length, gradOutput.Length, "input", "gradOutput");
        CheckAlgorithm(g, algorithm, width, forward: false);
        if (g.Batch == 0) { gradWeight.Clear(); return; }
        if (algorithm == Conv2dAlgorithm.Direct)
        {
            if (Conv2dDirect.SupportsBackwardWeight(g))
            {
                fixed (float* x = input, dy = gradOutput, dw = gradWeight)
                    Conv2dDirect.BackwardWeight(width, g, x, dy, dw);
                return;
            }
            algorithm = Conv2dAlgorithm.Im2ColGemm;
        }
        switch (algorithm)
        {
            case Conv2dAlgorithm.Depthwise: DepthwiseConv2d.BackwardWeight(g, input, gradOutput, gradWeight); break;
            case Conv2dAlgorithm.Pointwise: PointwiseBackwardWeight(g, input, gradOutput, gradWeight); break;
            case Conv2dAlgorithm.BatchedIm2Col: BatchedRun(g, BatchedPass.BackwardWeight, input, default, gradOutput, default, gradWeight); break;
            case Conv2dAlgorithm.SmallDirect: Conv2dFlat.BackwardWeight(FlatWidth(width), g, input, gradOutput, gradWeight); break;
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
            for (int n = 0; n < g.Batch; n++) sum += SpanMath.Sum(gradOutput.Slice((n * g.OutChannels + o) * plane, plane));
            gradBias[o] = (float)sum;
        }
    }

    /// <summary>Whether the direct kernel is expected to beat im2col + GEMM on <paramref name="g"/> (from bench/RESULTS.md measurements).</summary>
    internal static bool DirectWins(in Conv2dGeometry g, GemmPath width)
    {
        if (!Conv2dDirect.IsSupported(width) || !Conv2dDirect.Supports(g)) return false;
        int v = width == GemmPath.Vector512 ? 16 : 8;
        // 1×1 kernels do too little work per input element to pay for blocking it (im2col of a 1×1 is a strided copy).
        if (g.KernelHeight * g.KernelWidth == 1) return false;
        // Channels are padded to whole blocks of V: skip shapes where that wastes much. Few input channels (the RGB
        // stem) are not blocked at all but kept interleaved per pixel (Conv2dDirect.TakesPixels), where there is at least
        // a whole block of outputs (LeNet's 1→6 5×5 keeps im2col).
        static bool Dense(int channels, int v) => (channels + v - 1) / v * v * 2 <= 3 * channels;
        bool pixels = Conv2dDirect.TakesPixels(g) && g.OutChannels >= v;
        return (pixels || Dense(g.InChannels, v)) && Dense(g.OutChannels, v);
    }

    /// <summary>
    /// The width <see cref="Conv2dFlat"/> runs for a requested one: the request where that path has it (tests force
    /// Vector128), else its own widest (the default request is the blocked direct kernel's, which has no Vector128).
    /// </summary>
    private static GemmPath FlatWidth(GemmPath width) => Conv2dFlat.IsSupported(width) ? width : Conv2dFlat.BestWidth;

    /// <summary>
    /// Whether <paramref name="algorithm"/> (at <paramref name="width"/> for the vector paths) can run <paramref name="g"/>
    /// in this process: the forward and the gradients, or with <paramref name="forward"/> false the gradients only (Direct
    /// falls back to im2col inside for gradients it has no kernel for). Tests force algorithms on exactly these shapes.
    /// </summary>
    internal static bool CanRun(in Conv2dGeometry g, Conv2dAlgorithm algorithm, GemmPath width, bool forward = true) => algorithm switch
    {
        Conv2dAlgorithm.Depthwise => g.Groups > 1 && g.Groups == g.InChannels,
        Conv2dAlgorithm.Pointwise => g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0,
        Conv2dAlgorithm.Direct => Conv2dDirect.IsSupported(width) && (!forward || Conv2dDirect.Supports(g)),
        Conv2dAlgorithm.SmallDirect => Conv2dFlat.Supports(g) && Conv2dFlat.IsSupported(FlatWidth(width)),
        _ => true,
    };

    /// <summary>Throws when <paramref name="algorithm"/> cannot run <paramref name="g"/> (<see cref="CanRun"/>; tests force algorithms).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckAlgorithm(in Conv2dGeometry g, Conv2dAlgorithm algorithm, GemmPath width, bool forward)
    {
        if (!CanRun(g, algorithm, width, forward)) throw new ArgumentException($"Conv2d: algorithm {algorithm} ({width}) cannot run {g}.");
    }

    /// <summary>output = act(output + bias + residual), one pass; nothing when there is nothing to do.</summary>
    private static void ApplyEpilogue(in Conv2dGeometry g, ReadOnlySpan<float> bias, in Conv2dEpilogue epilogue, Span<float> output)
    {
        if (bias.IsEmpty && epilogue.IsEmpty) return;
        int plane = g.OutHeight * g.OutWidth;
        var residual = epilogue.Residual;
        for (int n = 0; n < g.Batch; n++)
        for (int o = 0; o < g.OutChannels; o++)
        {
            int offset = (n * g.OutChannels + o) * plane;
            var y = output.Slice(offset, plane); // y: [Hout, Wout]
            if (!bias.IsEmpty) SpanMath.Add(y, bias[o], y);
            if (!residual.IsEmpty) SpanMath.Add(y, residual.Slice(offset, plane), y);
            if (epilogue.ReluOrNone) { if (epilogue.Relu) SpanMath.Max(y, 0f, y); }
            else Hardtanh.Forward(y, epilogue.Lo, epilogue.Hi, y);
        }
    }
}
