using System.Runtime.CompilerServices;

namespace Striate.Kernels;

public static partial class Conv2dKernels
{
    /// <summary>For tests and benchmarks: false sends strided 1×1 convolutions at batch 1 back to im2col + GEMM.</summary>
    internal static bool SubsampledPointwiseEnabled = true;

    /// <summary>
    /// Whether a strided, unpadded 1×1 forward of one image per product (ResNet-50's downsampling at batch 1:
    /// 512→1024 28×28 → 14×14, 1024→2048 14×14 → 7×7) runs as the input subsampled into a [Cin, Ho·Wo] scratch and
    /// then the small-map 1×1 product as pixels × channels (<see cref="PointwiseTransposed"/>), where that product
    /// takes the subsampled shape. im2col + GEMM made the same subsampled copy but ran the usual product on it, whose
    /// 32-column tiles pad 49 pixels to 64 and 196 to 224: 1024→2048 ran at 154 GFLOPS in the batch-1 model against
    /// 183–194 for the stride-1 7×7 1×1s that take the transposed product (Zen 4, AVX-512).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool TakesSubsampledPointwise(in Conv2dGeometry g) =>
        SubsampledPointwiseEnabled && g.KernelHeight == 1 && g.KernelWidth == 1 && g.PadH == 0 && g.PadW == 0
        && (g.StrideH > 1 || g.StrideW > 1) && ImagesPerGemm(g) == 1
        && PointwiseTransposed.Takes(Gemm.BestPath, g.OutChannelsPerGroup, g.OutHeight * g.OutWidth, g.InChannelsPerGroup);

    [ThreadStatic] private static float[]? t_subsampled;

    /// <summary>
    /// output = act(conv(input, weight) + bias + residual) for a strided unpadded 1×1 <paramref name="g"/> on
    /// <paramref name="path"/>: per image and group, x subsampled into [Cin/g, P], then <see cref="PointwiseTransposed"/>
    /// with the epilogue in its store. The weights are packed for that product (kept under <paramref name="key"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void SubsampledPointwiseForward(GemmPath path, int threads, in Conv2dGeometry g, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, in Conv2dEpilogue epilogue, Span<float> output, WeightKey? key)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, plane = g.InHeight * g.InWidth;
        float* xs = ThreadScratch.Aligned(ref t_subsampled, (long)cg * P, minimum: 4096); // xs: [Cin/g, P], one image's group subsampled
        fixed (float* w = weight, x = input, y = output, b = bias, r = epilogue.Residual)
        {
            float[]? holder;
            float* packed = path == Gemm.BestPath ? PointwiseTransposedWeights(g, w, key, out holder) : PackTransposedForPath(path, g, w, out holder);
            long perGroup = PointwiseTransposed.PackedWeightsLength(path, og, cg);
            for (int n = 0; n < g.Batch; n++)
            for (int grp = 0; grp < g.Groups; grp++)
            {
                var copy = new SubsampleBody { G = g, X = x + (long)(n * g.InChannels + grp * cg) * plane, Xs = xs };
                RunParallel(copy.Tasks, (long)cg * P, ref copy);
                // y[n, grp]: [Cout/g, P] = w[grp]: [Cout/g, Cin/g] · xs: [Cin/g, P], computed as its transpose
                long yOffset = (long)(n * g.OutChannels + grp * og) * P;
                var e = new GemmEpilogue(bias.IsEmpty ? null : b + grp * og, epilogue.Residual.IsEmpty ? null : r + yOffset, P, epilogue.Lo, epilogue.Hi);
                PointwiseTransposed.Run(path, threads, packed + grp * perGroup, og, cg, P, xs, y + yOffset, e);
            }
            GC.KeepAlive(holder);
        }
    }

    /// <summary>Every group's weights packed for <see cref="PointwiseTransposed"/> on a path other than the best one (tests).</summary>
    private static unsafe float* PackTransposedForPath(GemmPath path, in Conv2dGeometry g, float* w, out float[]? holder)
    {
        int og = g.OutChannelsPerGroup, cg = g.InChannelsPerGroup;
        long perGroup = PointwiseTransposed.PackedWeightsLength(path, og, cg);
        holder = GC.AllocateUninitializedArray<float>(checked((int)(perGroup * g.Groups)) + CacheLine.SlackFloats, pinned: true);
        float* dst = CacheLine.Align((float*)Unsafe.AsPointer(ref holder[0]));
        for (int grp = 0; grp < g.Groups; grp++)
            PointwiseTransposed.PackWeights(path, w + (long)grp * og * cg, og, cg, dst + grp * perGroup);
        return dst;
    }

    /// <summary>xs[c, oh, ow] ← x[c, oh·sH, ow·sW] for one image's group, channels split over the kernel threads.</summary>
    private unsafe struct SubsampleBody : IParallelBody
    {
        private const int ChannelsPerTask = 64;
        public Conv2dGeometry G;
        public float* X, Xs;

        public readonly int Tasks => (G.InChannelsPerGroup + ChannelsPerTask - 1) / ChannelsPerTask;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int c0 = index * ChannelsPerTask, c1 = Math.Min(G.InChannelsPerGroup, c0 + ChannelsPerTask);
            int ho = G.OutHeight, wo = G.OutWidth, sh = G.StrideH, sw = G.StrideW, inW = G.InWidth, plane = G.InHeight * inW;
            for (int c = c0; c < c1; c++)
            {
                float* src = X + (long)c * plane, dst = Xs + (long)c * ho * wo;
                for (int oh = 0; oh < ho; oh++, dst += wo)
                {
                    float* row = src + (long)oh * sh * inW;
                    for (int ow = 0; ow < wo; ow++) dst[ow] = row[ow * sw];
                }
            }
        }
    }
}
