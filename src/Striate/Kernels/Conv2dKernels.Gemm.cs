using System.Buffers;

namespace Striate.Kernels;

public static partial class Conv2dKernels
{
    // GEMMs narrower than this many columns waste the micro-kernel's width and the threads' share of N, so
    // small feature maps (14×14, 7×7) put several images side by side in one column matrix.
    private const int TargetGemmColumns = 1024;
    // Upper bound on one im2col scratch buffer (floats), so batching images never costs more than ~32 MB.
    private const long MaxColFloats = 8L << 20;

    /// <summary>How many images share one GEMM (their columns side by side).</summary>
    internal static int ImagesPerGemm(in Conv2dGeometry g)
    {
        long plane = (long)g.OutHeight * g.OutWidth;
        if (plane >= TargetGemmColumns || g.Batch <= 1) return 1;
        long rows = (long)g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        long images = Math.Min(g.Batch, (TargetGemmColumns + plane - 1) / plane);
        images = Math.Min(images, Math.Max(1, MaxColFloats / Math.Max(1, rows * plane)));
        return (int)Math.Max(1, images);
    }

    // ---- 1×1, stride 1, no padding: the image [Cin/g, H·W] is its own column matrix ------------------------

    private static void PointwiseForward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, Span<float> output)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        for (int n = 0; n < g.Batch; n++)
        for (int grp = 0; grp < g.Groups; grp++)
            // y[n, grp]: [Cout/g, P] = w[grp]: [Cout/g, Cin/g] · x[n, grp]: [Cin/g, P]
            Gemm.Sgemm(false, false, og, P, cg, 1f, weight.Slice(grp * og * cg, og * cg), cg,
                input.Slice((n * g.InChannels + grp * cg) * P, cg * P), P, 0f,
                output.Slice((n * g.OutChannels + grp * og) * P, og * P), P);
    }

    private static void PointwiseBackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        int P = g.OutHeight * g.OutWidth, cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup;
        for (int n = 0; n < g.Batch; n++)
        for (int grp = 0; grp < g.Groups; grp++)
            // dx[n, grp]: [Cin/g, P] = w[grp]ᵀ: [Cin/g, Cout/g] · dy[n, grp]: [Cout/g, P]
            Gemm.Sgemm(true, false, cg, P, og, 1f, weight.Slice(grp * og * cg, og * cg), cg,
                gradOutput.Slice((n * g.OutChannels + grp * og) * P, og * P), P, 0f,
                gradInput.Slice((n * g.InChannels + grp * cg) * P, cg * P), P);
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

    private static void Im2ColForward(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, Span<float> output)
    {
        int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup;
        int K = g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        int chunk = ImagesPerGemm(g);
        float[] col = ArrayPool<float>.Shared.Rent(K * chunk * P);        // col: [K, b·P]
        float[]? wide = chunk > 1 ? ArrayPool<float>.Shared.Rent(og * chunk * P) : null; // y chunk: [Cout/g, b·P]
        try
        {
            for (int n0 = 0; n0 < g.Batch; n0 += chunk)
            {
                int b = Math.Min(chunk, g.Batch - n0), ld = b * P;
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    PackImages(g, input, n0, b, grp, col, ld);
                    var w = weight.Slice(grp * og * K, og * K); // w[grp]: [Cout/g, K]
                    if (b == 1)
                    {
                        Gemm.Sgemm(false, false, og, P, K, 1f, w, K, col, ld, 0f, output.Slice((n0 * g.OutChannels + grp * og) * P, og * P), P);
                        continue;
                    }
                    Gemm.Sgemm(false, false, og, ld, K, 1f, w, K, col, ld, 0f, wide, ld);
                    for (int i = 0; i < b; i++)
                    for (int o = 0; o < og; o++)
                        wide.AsSpan(o * ld + i * P, P).CopyTo(output.Slice(((n0 + i) * g.OutChannels + grp * og + o) * P, P));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            if (wide != null) ArrayPool<float>.Shared.Return(wide);
        }
    }

    private static void Im2ColBackwardData(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup;
        int K = g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        int chunk = ImagesPerGemm(g);
        float[] col = ArrayPool<float>.Shared.Rent(K * chunk * P);        // dcol: [K, b·P]
        float[]? wide = chunk > 1 ? ArrayPool<float>.Shared.Rent(og * chunk * P) : null; // dy chunk: [Cout/g, b·P]
        try
        {
            gradInput.Clear(); // col2im accumulates, and strides larger than the kernel leave pixels untouched
            for (int n0 = 0; n0 < g.Batch; n0 += chunk)
            {
                int b = Math.Min(chunk, g.Batch - n0), ld = b * P;
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    var w = weight.Slice(grp * og * K, og * K); // w[grp]: [Cout/g, K]
                    ReadOnlySpan<float> dy = b == 1 ? gradOutput.Slice((n0 * g.OutChannels + grp * og) * P, og * P) : GatherOutputs(g, gradOutput, n0, b, grp, wide!);
                    // dcol: [K, b·P] = w[grp]ᵀ: [K, Cout/g] · dy: [Cout/g, b·P]
                    Gemm.Sgemm(true, false, K, ld, og, 1f, w, K, dy, ld, 0f, col, ld);
                    UnpackImages(g, col, ld, n0, b, grp, gradInput);
                }
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
    private static ReadOnlySpan<float> GatherOutputs(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, int n0, int b, int grp, float[] wide)
    {
        int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup, ld = b * P;
        for (int i = 0; i < b; i++)
        for (int o = 0; o < og; o++)
            gradOutput.Slice(((n0 + i) * g.OutChannels + grp * og + o) * P, P).CopyTo(wide.AsSpan(o * ld + i * P, P));
        return wide.AsSpan(0, og * ld);
    }
}
