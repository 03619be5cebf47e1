using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// How the direct forward kernel splits a batch into tasks, chosen to keep memory traffic beyond L2 low (the tile
/// itself is compute-bound once its operands are in cache). Two schedules:
/// <list type="bullet">
/// <item><b>Per image</b>: a task is one whole image, blocked in thread-local scratch just before use and unblocked
/// right after, so input and output cross memory once; but each image streams all the weights again.</item>
/// <item><b>Batch-blocked</b>: the batch is blocked up front; a task is <see cref="GroupsPerTask"/> output-channel
/// groups of <see cref="Images"/> images (of <see cref="RowChunks"/> row ranges), and each pass of weights (a range of input-channel blocks)
/// serves every image of the task before the next pass is loaded; the weights then stream once per image chunk and
/// the input once per group chunk (oneDNN's and LIBXSMM's minibatch/ofm blocking for deep, small layers).</item>
/// </list>
/// The traffic model counts bytes that do not stay in L2 (about <see cref="L2Bytes"/> is assumed usable per core).
/// </summary>
internal readonly record struct DirectSchedule(bool PerImage, int Images, int GroupsPerTask, int RowChunks)
{
    /// <summary>Bytes of L2 one task may count on by default: half of the 2 MiB of current Intel server cores, all of Zen 4's 1 MiB (which still holds the output share).</summary>
    internal const long DefaultL2Bytes = 1L << 20;

    /// <summary>
    /// Bytes of L2 one task may count on (<see cref="DefaultL2Bytes"/>), settable for benchmarks: STRIATE_BENCH_DIRECT_L2=BYTES,
    /// or =cpuid for the core's own L2 up to 1 MiB (<see cref="UsableL2"/>). Not the core's L2 by default: on a Zen 3 core
    /// (512 KiB, AVX2) the schedules chosen for 512 KiB ran no faster (bench/RESULTS.md 2026-12-06 02:10): ResNet-18's
    /// 64→64 3×3s on 56×56 at batch 1 fit one group of output channels per task instead of two, 3 group chunks × 3 row
    /// chunks = 9 tasks on 2 threads, 5–8 % slower each; 64→128 stride 2 lost its row chunks to the quarter-of-L2 rule
    /// (2 tasks); VGG-11, GoogLeNet and the batch-32 layers that changed ran even (±2 %). The output share a task keeps
    /// spills to Zen 3's 32 MiB L3 cheaply; the share the model counts ignores the row chunks Clamp adds later.
    /// </summary>
    internal static long L2Bytes = DefaultL2Bytes;

    /// <summary>The L2 the schedules may count on for a core whose CPUID reports <paramref name="detected"/> bytes (0: unknown): at most <see cref="DefaultL2Bytes"/>.</summary>
    internal static long UsableL2(long detected) => detected > 0 ? Math.Min(detected, DefaultL2Bytes) : DefaultL2Bytes;

    /// <summary>Weights (bytes) that stay in L3 from one image to the next (a share of a Zen 4 CCD's 32 MiB, which other cores use too).</summary>
    internal const long L3WeightBytes = 6L << 20;

    /// <summary>The least work (FLOPs) per task a small call is cut into (<see cref="TasksWanted"/>).</summary>
    internal const double MinTaskFlops = 4e6;

    /// <summary>The fewest output rows a row chunk of a small call's second round of tasks keeps (half of a 14×14 map).</summary>
    internal const int MinChunkRows = 7;

    /// <summary>For benchmarks: whether small calls make fewer, larger tasks (<see cref="TasksWanted"/>; else up to four per thread, as large ones).</summary>
    internal static bool SmallCallTasks = true;

    /// <summary>
    /// Whether a batch-1 stride-2 call whose blocked input outgrows L2 (ResNet-50's layer2.0.conv2: 128→128 on a 56×56
    /// input, 1.7 MB blocked) splits the output rows between the threads, each task running every group over its rows,
    /// instead of the traffic model's groups over all rows: each thread then reads only its half of the input (rows plus
    /// one halo row), which stays in its L2 from one group to the next, where each of its groups read the whole input
    /// from L3 (the weights, 0.6 MB there, then stream once per thread instead of half per thread). ResNet-50 b1 in the
    /// model (AVX-512, interleaved, bench/RESULTS.md 2026-12-05 09:07): that layer 1.179–1.192 → 1.155–1.186 ms in a clean
    /// window, 1.49 → 1.41 in a slow-memory spell. Only up to 1 MiB of weights, and only measured on AVX-512 (V = 16);
    /// ResNet-18's 64→128 on 56×56 (0.86 MB blocked) ran even either way and keeps the model's choice. Blocking each
    /// task's own input rows in the task instead of the whole input first (they come from the same core's 1×1 part) ran
    /// no faster (1.159–1.204).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool SplitsRowsOfLargeStridedInput(in Conv2dGeometry g, in DirectPlan plan, int threads) => SplitsRowsOfLargeStridedInput(g, plan, threads, L2Bytes);

    /// <summary><see cref="SplitsRowsOfLargeStridedInput(in Conv2dGeometry, in DirectPlan, int)"/> on a core whose tasks may count on <paramref name="l2"/> bytes of L2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool SplitsRowsOfLargeStridedInput(in Conv2dGeometry g, in DirectPlan plan, int threads, long l2)
    {
        if (!StridedRowSplit || g.Batch != 1 || threads < 2 || plan.V != 16 || g.StrideH < 2 || plan.RowTiles(g) < 2 * threads) return false;
        long inImage = (long)((g.InChannels + plan.V - 1) / plan.V) * (g.InHeight + 2 * g.PadH) * (g.InWidth + 2 * g.PadW) * plan.V * sizeof(float);
        return inImage > l2 && plan.WeightLength(g) * sizeof(float) <= l2;
    }

    /// <summary>For benchmarks: false leaves large strided batch-1 calls to the traffic model (STRIATE_BENCH_STRIDED_ROW_SPLIT=0).</summary>
    internal static bool StridedRowSplit = true;

    /// <summary>For benchmarks and tests: force the schedule of forward calls made on this thread (null: the traffic model's choice).</summary>
    [ThreadStatic] internal static DirectSchedule? Override;

    public int ImageChunks(in Conv2dGeometry g) => (g.Batch + Images - 1) / Images;

    public int GroupChunks(int groups) => (groups + GroupsPerTask - 1) / GroupsPerTask;

    /// <summary>The schedule for <paramref name="g"/> tiled by <paramref name="plan"/> on <paramref name="threads"/> threads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DirectSchedule For(in Conv2dGeometry g, in DirectPlan plan, int threads) => For(g, plan, threads, L2Bytes);

    /// <summary>The schedule on a core whose tasks may count on <paramref name="l2"/> bytes of L2 (<see cref="L2Bytes"/>; tests pass other cores' sizes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static DirectSchedule For(in Conv2dGeometry g, in DirectPlan plan, int threads, long l2)
    {
        if (Override is { } forced) return forced.PerImage ? forced : forced.Clamp(g, plan, threads, l2);
        if (SplitsRowsOfLargeStridedInput(g, plan, threads, l2)) return new DirectSchedule(false, 1, plan.Groups(g), threads).Clamp(g, plan, threads, l2);
        var s = Choose(g, plan, threads, l2);
        return s.PerImage ? s : s.Clamp(g, plan, threads, l2).SplitGroupsAtBatchOne(g, plan, threads);
    }

    /// <summary>
    /// At batch 1 on AVX2 (V = 8), a call whose group chunks' weights kept it from row chunks (<see cref="Clamp"/>'s
    /// quarter-of-L2 rule) and so made fewer tasks than it wants gets them from smaller group chunks instead: each task
    /// still streams its own weights once, and a thread that starts late or runs slower no longer holds up half the call.
    /// ResNet-50's 128→128 3×3s (one on 56×56 stride 2, three on 28×28) went from two tasks of four groups to eight of
    /// one, the 256→256 from two of eight to eight of two (bench/RESULTS.md 2026-12-06 09:00).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private DirectSchedule SplitGroupsAtBatchOne(in Conv2dGeometry g, in DirectPlan plan, int threads)
    {
        int groups = plan.Groups(g);
        long wanted = TasksWanted(g, threads), tasks = (long)ImageChunks(g) * GroupChunks(groups) * RowChunks;
        if (!GroupSplitAtBatchOne || g.Batch != 1 || plan.V != 8 || threads < 2 || RowChunks != 1 || tasks >= wanted || GroupChunks(groups) >= groups) return this;
        int chunks = (int)Math.Min(groups, wanted);
        return this with { GroupsPerTask = (groups + chunks - 1) / chunks };
    }

    /// <summary>For benchmarks: false leaves batch-1 AVX2 calls with too few tasks as Clamp made them (STRIATE_BENCH_GROUP_SPLIT=0).</summary>
    internal static bool GroupSplitAtBatchOne = true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static DirectSchedule Choose(in Conv2dGeometry g, in DirectPlan plan, int threads, long l2)
    {
        int groups = plan.Groups(g), n = g.Batch;
        long v = plan.V, f = sizeof(float);
        long weights = plan.WeightLength(g) * f;
        long inImage = (long)((g.InChannels + v - 1) / v) * (g.InHeight + 2 * g.PadH) * (g.InWidth + 2 * g.PadW) * v * f;
        long outGroup = (long)plan.GroupBlocks * g.OutHeight * g.OutWidth * v * f; // one image's output of one group
        long outImage = (long)plan.OutBlocks(g) * g.OutHeight * g.OutWidth * v * f;
        bool manyImages = n >= 2 * threads || threads == 1;

        // Per image: the weights come back from beyond L2 for every image unless they fit beside the image. Up to
        // L3WeightBytes they come back from L3, counted at a quarter: per image, ResNet's 256→256 3×3 on 14×14 (2.4 MB of
        // weights) and 256→512 stride 2 (4.7 MB) ran 2–6 % faster at batch 32 than the batch-blocked schedule, whose
        // blocking of the whole batch is a pass over memory; 512→512 on 7×7 (9.4 MB) did not.
        long perImage = weights + inImage + outImage <= l2 ? 0 : weights <= L3WeightBytes ? n * weights / 4 : n * weights;
        // Batch-blocked: blocking the batch up front and back costs a write and a read of it more than per image.
        long blocking = 2 * n * (inImage + outImage);
        var best = new DirectSchedule(false, 1, 1, 1);
        long bestTraffic = long.MaxValue;
        for (int gp = 1; gp <= groups; gp++)
        {
            int groupChunks = (groups + gp - 1) / gp;
            if (gp > 1 && (groups + gp - 2) / (gp - 1) == groupChunks) continue; // same number of chunks as gp − 1
            for (int b = 1; b <= n; b++)
            {
                int imageChunks = (n + b - 1) / b;
                // Image pairs: chunks of whole pairs (every even b is tried). Otherwise the smallest b of each chunk count.
                if (plan.ImagePairs ? b % 2 == 1 && b < n : b > 1 && (n + b - 2) / (b - 1) == imageChunks) continue;
                // The task's output stays in L2 while the passes of weights add onto it.
                if (b * gp * outGroup > l2 && b * gp > 1) break;
                long tasks = (long)groupChunks * imageChunks;
                if (tasks < threads && (groupChunks < groups || imageChunks < n)) continue; // would idle a thread
                long traffic = (long)groupChunks * n * inImage + imageChunks * weights + blocking;
                // Uneven last rounds leave threads idle: charge the traffic by the rounds it takes.
                long rounds = (tasks + threads - 1) / threads;
                traffic = traffic * rounds * threads / tasks;
                if (traffic < bestTraffic) { bestTraffic = traffic; best = new DirectSchedule(false, b, gp, 1); }
            }
        }
        // Image pairs need the batch blocked (per image, every tile would hold one image's row).
        if (manyImages && !plan.ImagePairs && perImage <= bestTraffic) return new DirectSchedule(true, 1, 1, 1);
        return best;
    }

    /// <summary>
    /// Tasks a call of <paramref name="g"/> should make: up to four per thread balance the threads, but each task pays a
    /// fixed cost (its share of the dispatch, the tile loop's setup, the pass of weights it streams again, the unblocking
    /// of rows whose cache lines its neighbours' tasks write too), so a small call gets at least MinTaskFlops per task,
    /// in whole rounds of the threads. DenseNet-121's 128→32 3×3s and GoogLeNet's branch-3 3×3s at batch 1 (3–14
    /// MFLOP) were cut into 8 tasks of 0.3–1.8 MFLOP: DenseNet's forty on 14×14 and 7×7 2.44 → 2.22 ms in a clean round
    /// (bench/RESULTS.md 2026-12-05 03:14).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long TasksWanted(in Conv2dGeometry g, int threads) =>
        SmallCallTasks ? threads * Math.Clamp((long)(g.ForwardFlops / (threads * MinTaskFlops)), 1, 4) : 4L * threads;

    /// <summary>Bounds the fields to <paramref name="g"/> and adds row chunks when too few tasks would keep the threads busy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private DirectSchedule Clamp(in Conv2dGeometry g, in DirectPlan plan, int threads, long l2)
    {
        int groups = plan.Groups(g), images = Math.Clamp(Images, 1, Math.Max(1, g.Batch)), gp = Math.Clamp(GroupsPerTask, 1, groups);
        var s = this with { Images = images, GroupsPerTask = gp };
        long tasks = (long)s.ImageChunks(g) * s.GroupChunks(groups);
        int rows = RowChunks > 1 ? RowChunks : (int)Math.Clamp((TasksWanted(g, threads) + tasks - 1) / tasks, 1, plan.RowTiles(g));
        // A small call's second round of tasks, where each row chunk keeps at least MinChunkRows rows: with one task per
        // thread, a thread that starts late or runs slower holds up the whole call (GoogLeNet's 14×14 branch-3 3×3s, two
        // groups of output channels, measured faster in-model with four tasks than with two; DenseNet's one group with
        // two row chunks than with four).
        if (SmallCallTasks && RowChunks <= 1 && g.ForwardFlops < 4.0 * threads * MinTaskFlops && tasks * rows < 2 * threads)
        {
            long twoRounds = (2L * threads + tasks - 1) / tasks;
            if (twoRounds <= plan.RowTiles(g) && g.OutHeight / twoRounds >= MinChunkRows) rows = (int)twoRounds;
        }
        if (tasks >= 2 * threads && RowChunks <= 1) rows = 1;
        // Each row chunk streams its group chunk's weights again. Where those outgrow a quarter of L2 (deep layers at
        // batch 1: ResNet's 512→512 3×3 on 7×7 holds 9.4 MB), the threads split output channels only: ResNet-18's
        // direct convolutions at batch 1 went from 28.7 to 23.4 ms, VGG-11's from 96.5 to 89 (bench/RESULTS.md).
        if (RowChunks <= 1 && tasks >= threads && plan.WeightLength(g) * sizeof(float) / groups * gp > l2 / 4) rows = 1;
        return s with { RowChunks = Math.Clamp(rows, 1, plan.RowTiles(g)) };
    }
}
