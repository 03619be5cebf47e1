using System.Buffers;

namespace Striate.Kernels;

public static partial class Conv2dKernels
{
    // Below this many flops per image chunk and group, one GEMM is too small to split over threads well
    // (LeNet's 1→6 and 6→16 convolutions: ~0.5 and ~5 MFLOP), so threads take whole chunks of images instead.
    private const long MaxBatchedChunkFlops = 16L << 20;

    // Fixed number of tasks the batch is cut into, independent of the thread count, so the summation order of
    // the weight gradient (one partial per task, summed in task order) and hence the result never depend on it.
    private const int BatchedTasks = 16;

    /// <summary>Whether <paramref name="g"/> is small enough per chunk of images for <see cref="Conv2dAlgorithm.BatchedIm2Col"/>.</summary>
    private static bool IsSmallPerChunk(in Conv2dGeometry g)
    {
        int chunk = ImagesPerGemm(g);
        if ((g.Batch + chunk - 1) / chunk < 2) return false;
        long k = (long)g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth;
        long flops = 2L * g.OutChannels * chunk * g.OutHeight * g.OutWidth * k;
        return flops <= MaxBatchedChunkFlops;
    }

    [ThreadStatic] private static float[]? t_col;
    [ThreadStatic] private static float[]? t_wide;

    // Up to this many output channels per group, the forward product is done row by row (below) instead of by GEMM,
    // whose register tile (14 rows on AVX-512) would be poorly filled and whose packing costs more than it saves.
    private const int MaxRowCombinationRows = SmallProducts.MaxRows;

    private static bool SmallRows(int rows) => rows <= MaxRowCombinationRows;

    private enum BatchedPass { Forward, BackwardData, BackwardWeight }

    /// <summary>
    /// One task of the batched path: the image chunks [task·chunks/T, (task+1)·chunks/T) done serially on one thread
    /// (im2col/col2im and a single-threaded GEMM per chunk and group), in thread-local scratch.
    /// </summary>
    private unsafe struct BatchedBody : IParallelBody
    {
        public Conv2dGeometry G;
        public BatchedPass Pass;
        public int Chunk, Chunks, Tasks;
        public float* X, W, Y;           // input, weight, output (written by Forward; gradOutput for the backward passes)
        public int XLength, WLength, YLength;
        public float* Dx;                // gradInput (BackwardData)
        public float* Partials;          // [Tasks, WeightLength] (BackwardWeight)

        public void Invoke(int task)
        {
            int c0 = (int)((long)Chunks * task / Tasks), c1 = (int)((long)Chunks * (task + 1) / Tasks);
            var g = G;
            int P = g.OutHeight * g.OutWidth, og = g.OutChannelsPerGroup, cg = g.InChannelsPerGroup;
            int K = cg * g.KernelHeight * g.KernelWidth, image = cg * g.InHeight * g.InWidth;
            float[] col = ThreadScratch.Array(ref t_col, (long)K * Chunk * P);   // col: [K, b·P]
            float[] wide = ThreadScratch.Array(ref t_wide, (long)og * Chunk * P); // y/dy chunk: [Cout/g, b·P]
            var x = new ReadOnlySpan<float>(X, XLength);
            var w = new ReadOnlySpan<float>(W, W == null ? 0 : WLength);
            var y = new Span<float>(Y, YLength);
            for (int c = c0; c < c1; c++)
            {
                int n0 = c * Chunk, b = Math.Min(Chunk, g.Batch - n0), ld = b * P;
                if (Pass == BatchedPass.BackwardData) new Span<float>(Dx + (long)n0 * g.InChannels * g.InHeight * g.InWidth, b * g.InChannels * g.InHeight * g.InWidth).Clear();
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    var wg = w.IsEmpty ? w : w.Slice(grp * og * K, og * K); // w[grp]: [Cout/g, K] (none for the weight gradient)
                    switch (Pass)
                    {
                        case BatchedPass.Forward:
                            for (int i = 0; i < b; i++)
                                Im2Col.PackRows(g, x.Slice(((n0 + i) * g.InChannels + grp * cg) * g.InHeight * g.InWidth, image), col.AsSpan(i * P), ld, 0, K);
                            if (SmallRows(og))
                            {
                                // Straight into y[n0 + i, grp·og .. ]: [Cout/g, P] per image, no scatter pass.
                                for (int i = 0; i < b; i++)
                                    SmallProducts.RowCombinations(og, K, P, wg, col.AsSpan(i * P), ld,
                                        y.Slice(((n0 + i) * g.OutChannels + grp * og) * P, og * P), P);
                                break;
                            }
                            Gemm.Sgemm(Gemm.BestPath, 1, false, false, og, ld, K, 1f, wg, K, col, ld, 0f, wide, ld);
                            for (int i = 0; i < b; i++)
                            for (int o = 0; o < og; o++)
                                wide.AsSpan(o * ld + i * P, P).CopyTo(y.Slice(((n0 + i) * g.OutChannels + grp * og + o) * P, P));
                            break;
                        case BatchedPass.BackwardData:
                        {
                            var dy = GatherOutputs(g, y, n0, b, grp, wide);
                            // dcol: [K, b·P] = w[grp]ᵀ: [K, Cout/g] · dy: [Cout/g, b·P]
                            Gemm.Sgemm(Gemm.BestPath, 1, true, false, K, ld, og, 1f, wg, K, dy, ld, 0f, col, ld);
                            for (int i = 0; i < b; i++)
                            {
                                var dst = new Span<float>(Dx + (long)((n0 + i) * g.InChannels + grp * cg) * g.InHeight * g.InWidth, image);
                                Im2Col.UnpackChannels(g, col.AsSpan(i * P), ld, dst, 0, cg);
                            }
                            break;
                        }
                        default:
                        {
                            for (int i = 0; i < b; i++)
                                Im2Col.PackRows(g, x.Slice(((n0 + i) * g.InChannels + grp * cg) * g.InHeight * g.InWidth, image), col.AsSpan(i * P), ld, 0, K);
                            var dy = GatherOutputs(g, y, n0, b, grp, wide);
                            var dw = new Span<float>(Partials + (long)task * WLength + grp * og * K, og * K);
                            // dw[grp]: [Cout/g, K] (+)= dy: [Cout/g, b·P] · colᵀ: [b·P, K]
                            // Tiny [Cout/g, K] result over a long inner dimension: register-blocked dot products beat packing.
                            SmallProducts.RowDots(og, K, ld, dy, col, dw, accumulate: c != c0);
                            break;
                        }
                    }
                }
            }
            if (Pass == BatchedPass.BackwardWeight && c0 == c1) new Span<float>(Partials + (long)task * WLength, WLength).Clear();
        }
    }

    private static unsafe void BatchedRun(in Conv2dGeometry g, BatchedPass pass, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> y,
        Span<float> dx, Span<float> dw)
    {
        int chunk = ImagesPerGemm(g), chunks = (g.Batch + chunk - 1) / chunk;
        int tasks = Math.Min(chunks, BatchedTasks);
        float[]? partials = pass == BatchedPass.BackwardWeight ? ArrayPool<float>.Shared.Rent(checked((int)(tasks * g.WeightLength))) : null;
        try
        {
            fixed (float* px = x, pw = w, py = y, pdx = dx, ppart = partials)
            {
                var body = new BatchedBody
                {
                    G = g, Pass = pass, Chunk = chunk, Chunks = chunks, Tasks = tasks,
                    X = px, W = pw, Y = py, XLength = x.Length, WLength = (int)g.WeightLength, YLength = y.Length, Dx = pdx, Partials = ppart,
                };
                Kernels.ParallelFor.Run(tasks, ref body);
            }
            if (partials != null)
            {
                int length = (int)g.WeightLength;
                partials.AsSpan(0, length).CopyTo(dw);
                for (int t = 1; t < tasks; t++) Elementwise.AddInPlace(dw, partials.AsSpan(t * length, length));
            }
        }
        finally
        {
            if (partials != null) ArrayPool<float>.Shared.Return(partials);
        }
    }
}
