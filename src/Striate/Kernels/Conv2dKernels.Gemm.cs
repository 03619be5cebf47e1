using System.Buffers;
using System.Runtime.CompilerServices;

namespace Striate.Kernels;

public static partial class Conv2dKernels
{
    // GEMMs narrower than this many columns waste the micro-kernel's width and the threads' share of N, so
    // small feature maps (14×14, 7×7) put several images side by side in one column matrix.
    private const int TargetGemmColumns = 1024;
    // Upper bound on one im2col scratch buffer (floats), so batching images never costs more than ~32 MB.
    private const long MaxColFloats = 8L << 20;

    /// <summary>How many images share one GEMM (their columns side by side).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ImagesPerGemm(in Conv2dGeometry g)
    {
        long plane = (long)g.OutHeight * g.OutWidth;
        if (plane >= TargetGemmColumns || g.Batch <= 1) return 1;
        long rows = (long)g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        long images = Math.Min(g.Batch, (TargetGemmColumns + plane - 1) / plane);
        images = Math.Min(images, Math.Max(1, MaxColFloats / Math.Max(1, rows * plane)));
        return (int)Math.Max(1, images);
    }

    // ---- the weights as GEMM's left operand, packed once per call (or kept while the weight is unchanged) ------

    [ThreadStatic] private static float[]? t_packedWeights;

    /// <summary>
    /// Every group's weight matrix packed as GEMM's A: w[grp] [Cout/g, K] for the forward, its transpose [K, Cout/g]
    /// for the input gradient, groups one after another (<see cref="Gemm.PackedALength"/> floats each). From
    /// <see cref="TransformedWeights"/> when keyed, else packed into the calling thread's scratch. Null when the
    /// product's few rows take the unpacked path (<see cref="Gemm.UsesPackedA"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float* PackedWeights(in Conv2dGeometry g, bool transpose, float* w, WeightKey? key, out float[]? holder)
    {
        var path = Gemm.BestPath;
        int og = g.OutChannelsPerGroup, k = g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        int rows = transpose ? k : og, cols = transpose ? og : k;
        holder = null;
        if (!Gemm.UsesPackedA(path, rows)) return null;
        long perGroup = Gemm.PackedALength(path, rows, cols);
        int length = checked((int)(perGroup * g.Groups));
        var fill = new GemmWeightFill { G = g, Transpose = transpose, W = w, PerGroup = perGroup };
        if (key is { } kk)
        {
            holder = TransformedWeights.Get(kk, new WeightTransform(transpose ? WeightTransformKind.GemmWeightsTransposed : WeightTransformKind.GemmWeights, (int)path, 0), length, ref fill);
            if (holder != null) return TransformedWeights.Start(holder);
        }
        float* dst = ThreadScratch.Aligned(ref t_packedWeights, length);
        holder = t_packedWeights;
        fill.Fill(dst);
        return dst;
    }

    /// <summary>
    /// Packs the forward weights of <paramref name="g"/> as GEMM's A into <see cref="TransformedWeights"/> now, for the
    /// algorithms that read them packed (1×1 and im2col): an inference session does this when it is prepared, so its
    /// first run does not pack every layer's weights (MobileNet-V2's 7×7 1×1 layers ran 3–4× slower on the first run).
    /// Does nothing when the product's few rows read A unpacked.
    /// </summary>
    internal static unsafe void KeepGemmForwardWeights(in Conv2dGeometry g, float* w, WeightKey key)
    {
        float[]? holder;
        if (TakesPointwiseTransposed(g) || TakesSubsampledPointwise(g)) PointwiseTransposedWeights(g, w, key, out holder);
        else PackedWeights(g, false, w, key, out holder);
        GC.KeepAlive(holder);
    }

    /// <summary>Whether the 1×1 forward of <paramref name="g"/> runs as pixels × channels (<see cref="PointwiseTransposed"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool TakesPointwiseTransposed(in Conv2dGeometry g) =>
        Choose(g) == Conv2dAlgorithm.Pointwise && PointwiseTransposed.Takes(Gemm.BestPath, g.OutChannelsPerGroup, g.OutHeight * g.OutWidth, g.InChannelsPerGroup);

    [ThreadStatic] private static float[]? t_transposedWeights;

    /// <summary>
    /// Every group's 1×1 weight matrix packed for <see cref="PointwiseTransposed"/>, groups one after another
    /// (<see cref="PointwiseTransposed.PackedWeightsLength"/> floats each); from <see cref="TransformedWeights"/> when
    /// keyed, else packed into the calling thread's scratch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float* PointwiseTransposedWeights(in Conv2dGeometry g, float* w, WeightKey? key, out float[]? holder)
    {
        var path = Gemm.BestPath;
        int og = g.OutChannelsPerGroup, cg = g.InChannelsPerGroup;
        long perGroup = PointwiseTransposed.PackedWeightsLength(path, og, cg);
        int length = checked((int)(perGroup * g.Groups));
        var fill = new PointwiseTransposedFill { G = g, W = w, PerGroup = perGroup };
        if (key is { } kk)
        {
            holder = TransformedWeights.Get(kk, new WeightTransform(WeightTransformKind.PointwiseTransposed, (int)path, 0), length, ref fill);
            if (holder != null) return TransformedWeights.Start(holder);
        }
        float* dst = ThreadScratch.Aligned(ref t_transposedWeights, length);
        holder = t_transposedWeights;
        fill.Fill(dst);
        return dst;
    }

    private unsafe struct PointwiseTransposedFill : IWeightFill
    {
        public Conv2dGeometry G;
        public float* W;
        public long PerGroup;

        public readonly void Fill(float* destination)
        {
            int og = G.OutChannelsPerGroup, cg = G.InChannelsPerGroup;
            for (int grp = 0; grp < G.Groups; grp++)
                PointwiseTransposed.PackWeights(Gemm.BestPath, W + (long)grp * og * cg, og, cg, destination + grp * PerGroup);
        }
    }

    private unsafe struct GemmWeightFill : IWeightFill
    {
        public Conv2dGeometry G;
        public bool Transpose;
        public float* W;
        public long PerGroup;

        public readonly void Fill(float* destination)
        {
            int og = G.OutChannelsPerGroup, k = G.InChannelsPerGroup * G.KernelHeight * G.KernelWidth;
            for (int grp = 0; grp < G.Groups; grp++)
            {
                float* w = W + (long)grp * og * k; // w[grp]: [Cout/g, K]
                if (Transpose) Gemm.PackA(Gemm.BestPath, true, k, og, 1f, w, k, destination + grp * PerGroup);
                else Gemm.PackA(Gemm.BestPath, false, og, k, 1f, w, k, destination + grp * PerGroup);
            }
        }
    }

    // ---- 1×1, stride 1, no padding: the image [Cin/g, H·W] is its own column matrix ------------------------

    /// <summary>
    /// output = act(conv(input, weight) + bias + residual): one GEMM per image and group, the bias (per output channel,
    /// a row of the GEMM's C), residual and clamp applied by the GEMM's store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PointwiseForward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, in Conv2dEpilogue epilogue, Span<float> output, WeightKey? key)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, threads = KernelThreads.Count;
        float lo = epilogue.Lo, hi = epilogue.Hi;
        var product = PointwiseProductOf(g, Gemm.BestPath, threads);
        if (product == PointwiseProduct.Transposed)
        {
            PointwiseTransposedForward(g, input, weight, bias, epilogue, output, key);
            return;
        }
        fixed (float* w = weight, x = input, y = output, b = bias, r = epilogue.Residual)
        {
            float* packed = PackedWeights(g, false, w, key, out var holder); // null exactly when product is Plain
            long perGroup = packed == null ? 0 : Gemm.PackedALength(Gemm.BestPath, og, cg);
            for (int n = 0; n < g.Batch; n++)
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // y[n, grp]: [Cout/g, P] = w[grp]: [Cout/g, Cin/g] · x[n, grp]: [Cin/g, P], then the epilogue
                long yOffset = (long)(n * g.OutChannels + grp * og) * P;
                float* xg = x + (long)(n * g.InChannels + grp * cg) * P, yg = y + yOffset;
                var e = new GemmEpilogue(bias.IsEmpty ? null : b + grp * og, epilogue.Residual.IsEmpty ? null : r + yOffset, P, lo, hi);
                if (product == PointwiseProduct.Tiles)
                    PointwiseTiles.Run(Gemm.BestPath, threads, packed + grp * perGroup, og, cg, P, xg, yg, e);
                else if (product == PointwiseProduct.Rows)
                    PointwiseRows.Run(Gemm.BestPath, threads, packed + grp * perGroup, og, cg, P, xg, yg, e);
                else if (product == PointwiseProduct.Packed) Gemm.Sgemm(Gemm.BestPath, threads, packed + grp * perGroup, og, cg, false, P, xg, P, 0f, yg, P, e);
                else
                {
                    Gemm.Sgemm(false, false, og, P, cg, 1f, weight.Slice(grp * og * cg, og * cg), cg,
                        input.Slice((n * g.InChannels + grp * cg) * P, cg * P), P, 0f, output.Slice((int)yOffset, og * P), P);
                    e.ApplyTo(yg, og, P, P);
                }
            }
            GC.KeepAlive(holder);
        }
    }

    /// <summary>The products <see cref="PointwiseForward"/> runs a 1×1 convolution's groups as.</summary>
    private enum PointwiseProduct
    {
        /// <summary>Pixels × channels (<see cref="PointwiseTransposed"/>).</summary>
        Transposed,
        /// <summary>Packed weights on small maps (<see cref="PointwiseTiles"/>).</summary>
        Tiles,
        /// <summary>Packed weights reading the image's rows in place (<see cref="PointwiseRows"/>, batch 1 only).</summary>
        Rows,
        /// <summary>One GEMM with the weights packed.</summary>
        Packed,
        /// <summary>One GEMM on the weights as they are (too few rows to pack), then the epilogue.</summary>
        Plain,
    }

    /// <summary>
    /// Which product <see cref="PointwiseForward"/> takes for <paramref name="g"/> on <paramref name="path"/> and
    /// <paramref name="threads"/> threads; <see cref="TakesSplitPointwise"/> asks the same question.
    /// </summary>
    private static PointwiseProduct PointwiseProductOf(in Conv2dGeometry g, GemmPath path, int threads)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        if (PointwiseTransposed.Takes(path, og, P, cg)) return PointwiseProduct.Transposed;
        if (!Gemm.UsesPackedA(path, og)) return PointwiseProduct.Plain; // PackedWeights packs nothing
        if (PointwiseTiles.Takes(path, threads, og, P, cg)) return PointwiseProduct.Tiles;
        // At batch 1 only: the image was just written by the step before and is read from cache; at batch 8 the
        // in-place reads of each image from memory made ResNet-50's training 2 % slower (5.44 → 5.32 img/s).
        if (g.Batch == 1 && PointwiseRows.Takes(path, og, P, cg)) return PointwiseProduct.Rows;
        return PointwiseProduct.Packed;
    }

    /// <summary>
    /// Whether the 1×1 forward of <paramref name="g"/> (batch 1, one group) runs as one GEMM with the weights packed
    /// (<see cref="PointwiseForward"/>'s <see cref="PointwiseProduct.Packed"/> product), whose output rows
    /// <see cref="PointwiseForwardSplit"/> can store in two places. Not where a pixels × channels, tiled or in-place-rows
    /// product takes the layer (AVX-512's 1×1s).
    /// </summary>
    internal static bool TakesSplitPointwise(in Conv2dGeometry g) =>
        g.Batch == 1 && g.Groups == 1 && Choose(g) == Conv2dAlgorithm.Pointwise
        && PointwiseProductOf(g, Gemm.BestPath, KernelThreads.Count) == PointwiseProduct.Packed;

    /// <summary>
    /// Whether <see cref="PointwiseForward"/> of <paramref name="g"/> with a residual may write its output over that residual (the
    /// two the same floats): on AVX2, a 1×1 run as one GEMM on packed weights (<see cref="PointwiseProduct.Packed"/>, for
    /// every thread count there) in one depth block (Cin ≤ the AVX2 tile's KC, 256), whose tile store reads each
    /// residual element just before it writes the output element in its place. Not the unpacked fallback (a product,
    /// then the epilogue as a second pass, would add the product to itself), nor a product of several depth blocks (the
    /// first would overwrite the residual with a partial sum), nor the pixels × channels product; AVX-512's tiled and
    /// in-place-rows products are not checked for it (and measured nowhere), so AVX-512 keeps the residual apart.
    /// </summary>
    internal static bool ResidualMayShareOutput(in Conv2dGeometry g) =>
        Gemm.BestPath == GemmPath.Vector256 && Choose(g) == Conv2dAlgorithm.Pointwise && g.Groups == 1 && g.InChannels <= Gemm256x6x16.KC
        && PointwiseProductOf(g, GemmPath.Vector256, KernelThreads.Count) == PointwiseProduct.Packed;

    /// <summary>
    /// As <see cref="PointwiseForward"/> for a <see cref="TakesSplitPointwise"/> geometry, the output channels [0, splitRow) stored
    /// in <paramref name="output"/> and [splitRow, C_out) in <paramref name="output2"/> (an Inception block's branch 1
    /// in its block of the concatenation, beside the reduces).
    /// Shapes: input [1, C_in, H, W], weight [C_out, C_in, 1, 1], bias [C_out] or empty, output [splitRow, H·W],
    /// output2 [C_out − splitRow, H·W].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void PointwiseForwardSplit(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, in Conv2dEpilogue epilogue, Span<float> output, Span<float> output2, int splitRow, WeightKey? key)
    {
        if (!TakesSplitPointwise(g)) throw new ArgumentException($"PointwiseForwardSplit: {g} does not run as one packed 1×1 product.");
        if (!epilogue.Residual.IsEmpty) throw new ArgumentException("PointwiseForwardSplit: a residual is not supported.");
        int P = g.OutHeight * g.OutWidth, cin = g.InChannels, cout = g.OutChannels;
        if (input.Length < cin * P || weight.Length < cout * cin || (!bias.IsEmpty && bias.Length < cout)
            || output.Length < splitRow * P || output2.Length < (cout - splitRow) * P)
            throw new ArgumentException($"PointwiseForwardSplit: spans too short for {cin}→{cout} on {P} pixels cut at channel {splitRow} " +
                $"(input {input.Length}, weight {weight.Length}, bias {bias.Length}, output {output.Length}, output2 {output2.Length}).");
        fixed (float* w = weight, x = input, y = output, y2 = output2, b = bias)
        {
            float* packed = PackedWeights(g, false, w, key, out var holder);
            var e = new GemmEpilogue(bias.IsEmpty ? null : b, null, P, epilogue.Lo, epilogue.Hi);
            Gemm.SgemmSplitRows(Gemm.BestPath, KernelThreads.Count, packed, cout, cin, P, x, P, y, y2, splitRow, P, e);
            GC.KeepAlive(holder);
        }
    }

    /// <summary>As <see cref="PointwiseForward"/>, each image's product as pixels × channels (<see cref="PointwiseTransposed"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PointwiseTransposedForward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, in Conv2dEpilogue epilogue, Span<float> output, WeightKey? key)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        fixed (float* w = weight, x = input, y = output, b = bias, r = epilogue.Residual)
        {
            float* packed = PointwiseTransposedWeights(g, w, key, out var holder);
            long perGroup = PointwiseTransposed.PackedWeightsLength(Gemm.BestPath, og, cg);
            for (int n = 0; n < g.Batch; n++)
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // y[n, grp]: [Cout/g, P] = w[grp]: [Cout/g, Cin/g] · x[n, grp]: [Cin/g, P], computed as its transpose
                long yOffset = (long)(n * g.OutChannels + grp * og) * P;
                var e = new GemmEpilogue(bias.IsEmpty ? null : b + grp * og, epilogue.Residual.IsEmpty ? null : r + yOffset, P, epilogue.Lo, epilogue.Hi);
                PointwiseTransposed.Run(Gemm.BestPath, KernelThreads.Count, packed + grp * perGroup, og, cg, P,
                    x + (long)(n * g.InChannels + grp * cg) * P, y + yOffset, e);
            }
            GC.KeepAlive(holder);
        }
    }

    private static unsafe void PointwiseBackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput, WeightKey? key)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        fixed (float* w = weight, dy = gradOutput, dx = gradInput)
        {
            float* packed = PackedWeights(g, true, w, key, out var holder);
            long perGroup = packed == null ? 0 : Gemm.PackedALength(Gemm.BestPath, cg, og);
            for (int n = 0; n < g.Batch; n++)
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // dx[n, grp]: [Cin/g, P] = w[grp]ᵀ: [Cin/g, Cout/g] · dy[n, grp]: [Cout/g, P]
                float* dyg = dy + (long)(n * g.OutChannels + grp * og) * P, dxg = dx + (long)(n * g.InChannels + grp * cg) * P;
                if (packed != null) Gemm.Sgemm(Gemm.BestPath, KernelThreads.Count, packed + grp * perGroup, cg, og, false, P, dyg, P, 0f, dxg, P);
                else Gemm.Sgemm(true, false, cg, P, og, 1f, weight.Slice(grp * og * cg, og * cg), cg,
                    gradOutput.Slice((n * g.OutChannels + grp * og) * P, og * P), P, 0f, gradInput.Slice((n * g.InChannels + grp * cg) * P, cg * P), P);
            }
            GC.KeepAlive(holder);
        }
    }

    private static void PointwiseBackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        for (int n = 0; n < g.Batch; n++)
        for (int grp = 0; grp < g.Groups; grp++)
            // dw[grp]: [Cout/g, Cin/g] (+)= dy[n, grp]: [Cout/g, P] · x[n, grp]ᵀ: [P, Cin/g]
            Gemm.Sgemm(false, true, og, cg, P, 1f, gradOutput.Slice((n * g.OutChannels + grp * og) * P, og * P), P,
                input.Slice((n * g.InChannels + grp * cg) * P, cg * P), P, n == 0 ? 0f : 1f,
                gradWeight.Slice(grp * og * cg, og * cg), cg);
    }

    // ---- general case: im2col + GEMM over chunks of images ---------------------------------------------

    /// <summary>
    /// output = conv(input, weight) via im2col + GEMM. When one image fills a GEMM (large planes), the GEMM's store also
    /// applies the bias, residual and clamp and this returns true; otherwise the caller applies them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool Im2ColForward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, in Conv2dEpilogue epilogue, Span<float> output, WeightKey? key)
    {
        int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup;
        int K = g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        int chunk = ImagesPerGemm(g);
        if (TakesSubsampledPointwise(g))
        {
            SubsampledPointwiseForward(Gemm.BestPath, KernelThreads.Count, g, input, weight, bias, epilogue, output, key);
            return true;
        }
        if (chunk > 1 && TakesGatheredPointwise(g))
        {
            GatheredPointwiseForward(g, input, weight, output, key);
            return false;
        }
        float[] col = ArrayPool<float>.Shared.Rent(K * chunk * P);        // col: [K, b·P]
        float[]? wide = chunk > 1 ? ArrayPool<float>.Shared.Rent(og * chunk * P) : null; // y chunk: [Cout/g, b·P]
        try
        {
            fixed (float* w = weight, pcol = col, pwide = wide, y = output, pb = bias, pr = epilogue.Residual)
            {
                float* packed = PackedWeights(g, false, w, key, out var holder);
                long perGroup = packed == null ? 0 : Gemm.PackedALength(Gemm.BestPath, og, K);
                bool fused = chunk == 1 && packed != null;
                float lo = epilogue.Lo, hi = epilogue.Hi;
                for (int n0 = 0; n0 < g.Batch; n0 += chunk)
                {
                    int b = Math.Min(chunk, g.Batch - n0), ld = b * P;
                    for (int grp = 0; grp < g.Groups; grp++)
                    {
                        PackImages(g, input, n0, b, grp, col, ld);
                        // y[n0, grp]: [Cout/g, P] (one image) or the chunk [Cout/g, b·P] = w[grp]: [Cout/g, K] · col: [K, b·P]
                        float* c = b == 1 ? y + (long)(n0 * g.OutChannels + grp * og) * P : pwide;
                        int ldc = b == 1 ? P : ld;
                        long yOffset = (long)(n0 * g.OutChannels + grp * og) * P;
                        var e = fused ? new GemmEpilogue(bias.IsEmpty ? null : pb + grp * og, epilogue.Residual.IsEmpty ? null : pr + yOffset, P, lo, hi) : GemmEpilogue.None;
                        // A strided 1×1 at batch 1 on a large map (ResNet-50's 256→512 s2 @56): its column matrix is the
                        // subsampled image, read in place like a stride-1 1×1's input.
                        if (packed != null && g.Batch == 1 && g.KernelHeight * g.KernelWidth == 1 && PointwiseRows.Takes(Gemm.BestPath, og, ld, K))
                            PointwiseRows.Run(Gemm.BestPath, KernelThreads.Count, packed + grp * perGroup, og, K, ld, pcol, c, e);
                        else if (packed != null) Gemm.Sgemm(Gemm.BestPath, KernelThreads.Count, packed + grp * perGroup, og, K, false, ld, pcol, ld, 0f, c, ldc, e);
                        else Gemm.Sgemm(false, false, og, ld, K, 1f, weight.Slice(grp * og * K, og * K), K, col, ld, 0f,
                            new Span<float>(c, (og - 1) * ldc + ld), ldc);
                        if (b == 1) continue;
                        ScatterOutputs(g, pwide, n0, b, grp, y);
                    }
                }
                GC.KeepAlive(holder);
                return fused;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            if (wide != null) ArrayPool<float>.Shared.Return(wide);
        }
    }

    /// <summary>
    /// Whether a forward that im2col would run in chunks of images is a 1×1 unpadded product whose columns can be read
    /// straight from the strided input (<see cref="GemmImages"/>): stride-2 1×1 downsampling layers on 28×28 … 7×7 maps.
    /// </summary>
    internal static bool TakesGatheredPointwise(in Conv2dGeometry g) =>
        g.KernelHeight == 1 && g.KernelWidth == 1 && g.PadH == 0 && g.PadW == 0 && Gemm.UsesPackedA(Gemm.BestPath, g.OutChannelsPerGroup);

    /// <summary>output = conv(input, weight) for <see cref="TakesGatheredPointwise"/> geometry: one gathered GEMM per group over the whole batch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GatheredPointwiseForward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, Span<float> output, WeightKey? key)
    {
        int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup, cg = g.InChannelsPerGroup, plane = g.InHeight * g.InWidth;
        fixed (float* w = weight, x = input, y = output)
        {
            float* packed = PackedWeights(g, false, w, key, out var holder);
            long perGroup = Gemm.PackedALength(Gemm.BestPath, og, cg);
            for (int grp = 0; grp < g.Groups; grp++)
            {
                // y[:, grp]: [N, Cout/g, P] = w[grp]: [Cout/g, Cin/g] · x[:, grp] gathered: [Cin/g, N·P]
                var job = new ImageGemmJob(og, cg, g.Batch, packed + grp * perGroup,
                    x + (long)grp * cg * plane, g.InChannels * plane, plane, g.InWidth, g.StrideH, g.StrideW, g.OutWidth, P,
                    y + (long)grp * og * P, g.OutChannels * P);
                GemmImages.Run(Gemm.BestPath, KernelThreads.Count, job);
            }
            GC.KeepAlive(holder);
        }
    }

    private static unsafe void Im2ColBackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput, WeightKey? key)
    {
        int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup;
        int K = g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        int chunk = ImagesPerGemm(g);
        float[] col = ArrayPool<float>.Shared.Rent(K * chunk * P);        // dcol: [K, b·P]
        float[]? wide = chunk > 1 ? ArrayPool<float>.Shared.Rent(og * chunk * P) : null; // dy chunk: [Cout/g, b·P]
        try
        {
            gradInput.Clear(); // col2im accumulates, and strides larger than the kernel leave pixels untouched
            fixed (float* w = weight, pcol = col)
            {
                float* packed = PackedWeights(g, true, w, key, out var holder);
                long perGroup = packed == null ? 0 : Gemm.PackedALength(Gemm.BestPath, K, og);
                for (int n0 = 0; n0 < g.Batch; n0 += chunk)
                {
                    int b = Math.Min(chunk, g.Batch - n0), ld = b * P;
                    for (int grp = 0; grp < g.Groups; grp++)
                    {
                        ReadOnlySpan<float> dy = b == 1 ? gradOutput.Slice((n0 * g.OutChannels + grp * og) * P, og * P) : GatherOutputs(g, gradOutput, n0, b, grp, wide!);
                        // dcol: [K, b·P] = w[grp]ᵀ: [K, Cout/g] · dy: [Cout/g, b·P]
                        if (packed != null)
                            fixed (float* pdy = dy)
                                Gemm.Sgemm(Gemm.BestPath, KernelThreads.Count, packed + grp * perGroup, K, og, false, ld, pdy, ld, 0f, pcol, ld);
                        else Gemm.Sgemm(true, false, K, ld, og, 1f, weight.Slice(grp * og * K, og * K), K, dy, ld, 0f, col, ld);
                        UnpackImages(g, col, ld, n0, b, grp, gradInput);
                    }
                }
                GC.KeepAlive(holder);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            if (wide != null) ArrayPool<float>.Shared.Return(wide);
        }
    }

    private static void Im2ColBackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
    {
        int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup;
        int K = g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        int chunk = ImagesPerGemm(g);
        float[] col = ArrayPool<float>.Shared.Rent(K * chunk * P);        // col: [K, b·P]
        float[]? wide = chunk > 1 ? ArrayPool<float>.Shared.Rent(og * chunk * P) : null; // dy chunk: [Cout/g, b·P]
        try
        {
            for (int n0 = 0; n0 < g.Batch; n0 += chunk)
            {
                int b = Math.Min(chunk, g.Batch - n0), ld = b * P;
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    PackImages(g, input, n0, b, grp, col, ld);
                    ReadOnlySpan<float> dy = b == 1 ? gradOutput.Slice((n0 * g.OutChannels + grp * og) * P, og * P) : GatherOutputs(g, gradOutput, n0, b, grp, wide!);
                    // dw[grp]: [Cout/g, K] (+)= dy: [Cout/g, b·P] · colᵀ: [b·P, K]
                    Gemm.Sgemm(false, true, og, K, ld, 1f, dy, ld, col, ld, n0 == 0 ? 0f : 1f, gradWeight.Slice(grp * og * K, og * K), K);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            if (wide != null) ArrayPool<float>.Shared.Return(wide);
        }
    }

    /// <summary>dy[n0..n0+b, grp] laid side by side: [Cout/g, b·P].</summary>
    private static unsafe ReadOnlySpan<float> GatherOutputs(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, int n0, int b, int grp, float[] wide)
    {
        int og = g.OutChannelsPerGroup, ld = b * g.OutHeight * g.OutWidth;
        fixed (float* dy = gradOutput, pwide = wide)
        {
            var body = new ChunkCopy { G = g, Wide = pwide, Images = dy, N0 = n0, B = b, Grp = grp, ToWide = true };
            RunParallel(body.Tasks, (long)og * ld, ref body);
        }
        return wide.AsSpan(0, og * ld);
    }

    /// <summary>The chunk's product [Cout/g, b·P] (images side by side) copied to y[n0..n0+b, grp].</summary>
    private static unsafe void ScatterOutputs(in Conv2dGeometry g, float* wide, int n0, int b, int grp, float* y)
    {
        var body = new ChunkCopy { G = g, Wide = wide, Images = y, N0 = n0, B = b, Grp = grp, ToWide = false };
        RunParallel(body.Tasks, (long)g.OutChannelsPerGroup * b * g.OutHeight * g.OutWidth, ref body);
    }

    /// <summary>
    /// Copies between a chunk's side-by-side matrix [Cout/g, b·P] and the images' NCHW planes, on the kernel threads:
    /// on 14×14 and 7×7 maps this copy is 2 MB per chunk of 21 images, and serial it took 9 % of a stride-2 1×1
    /// forward while the other thread waited.
    /// </summary>
    private unsafe struct ChunkCopy : IParallelBody
    {
        private const int ChannelsPerTask = 64;
        public Conv2dGeometry G;
        public float* Wide, Images;
        public int N0, B, Grp;
        public bool ToWide;

        public readonly int Tasks => B * ((G.OutChannelsPerGroup + ChannelsPerTask - 1) / ChannelsPerTask);

        public readonly void Invoke(int index)
        {
            int og = G.OutChannelsPerGroup, P = G.OutHeight * G.OutWidth, ld = B * P;
            int perImage = (og + ChannelsPerTask - 1) / ChannelsPerTask;
            int i = index / perImage, o0 = index % perImage * ChannelsPerTask, o1 = Math.Min(og, o0 + ChannelsPerTask);
            for (int o = o0; o < o1; o++)
            {
                float* wide = Wide + (long)o * ld + i * P;
                float* image = Images + ((long)(N0 + i) * G.OutChannels + Grp * og + o) * P;
                if (ToWide) Buffer.MemoryCopy(image, wide, P * sizeof(float), P * sizeof(float));
                else Buffer.MemoryCopy(wide, image, P * sizeof(float), P * sizeof(float));
            }
        }
    }
}
