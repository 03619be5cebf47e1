using System.Runtime.CompilerServices;

namespace Striate.Kernels;

// The direct forward's self-balancing schedule at batch 1: threads take small items as they finish instead of the
// tasks DirectSchedule fixes up front.
internal static unsafe partial class Conv2dDirect
{
    /// <summary>
    /// Whether a batch-1 AVX2 forward on a small map (<see cref="BalanceMaxPixels"/>) on several threads runs
    /// <see cref="BalancedBody"/>'s schedule (STRIATE_BENCH_DIRECT_BALANCE=0: <see cref="DirectSchedule"/>'s 4–8 tasks, handed
    /// out by <see cref="ParallelFor"/>, each a chunk of groups over all rows or a row chunk that re-reads its groups).
    /// Per call on the Zen 3 (2 threads, 48 weight copies in turn, per-call alternating harness; bench/RESULTS.md
    /// 2026-12-07 19:44): GoogLeNet's 96→128 and 128→192 @28 0.962 / 0.979 of the fixed tasks, 112→224, 144→288, 160→320
    /// @14 0.967 / 0.979 / 0.983, branch 3's 16→32 @28, 32→128 and 24→64 @14 0.996 / 0.902 / 0.913; ResNet-50's blocked
    /// 128→128 @28 0.973, 256→256 @14 0.998 (every CI but the last below 1). In the model (steps_b1, 100 rounds each way):
    /// GoogLeNet's fourteen 3×3s @14 and @28 −0.44 / −0.28 ms, ResNet-50's and ResNet-18's balanced steps −0.01…−0.14 ms,
    /// whole models inside noise but GoogLeNet's one way (0.959).
    /// </summary>
    internal static bool Balance = true;

    /// <summary>Output pixels up to which <see cref="Balance"/> applies (28×28; STRIATE_BENCH_DIRECT_BALANCE_MAX_PIXELS=P).</summary>
    internal static int BalanceMaxPixels = 784;

    /// <summary>
    /// Output pixels from which <see cref="Balance"/> applies (STRIATE_BENCH_DIRECT_BALANCE_MIN_PIXELS=P): not 7×7 maps,
    /// whose 7 row tiles make ranges of 4 and 3 rows (the short one then takes the long one's last groups, input and all).
    /// GoogLeNet in the model (steps_b1, 100 rounds each way): its four 3×3s @7 ran +0.03 / −0.07 ms on − off in sum, the
    /// fourteen @14 and @28 −0.44 / −0.28.
    /// </summary>
    internal static int BalanceMinPixels = 100;

    /// <summary>
    /// Bytes of blocked input one thread's row range reads (its rows and the halo, all channels) up to which
    /// <see cref="Balance"/> applies: the range stays in the core's L2 (512 KiB on Zen 3) from one group to the next.
    /// </summary>
    internal static long BalanceMaxRangeBytes = 512 * 1024;

    /// <summary>Whether strided calls take <see cref="Balance"/> too (STRIATE_BENCH_DIRECT_BALANCE_STRIDED=1).</summary>
    internal static bool BalanceStrided = false;

    /// <summary>
    /// Blocked weights (bytes) up to which a balanced call's items are row chunks of every group (each item reads all
    /// the weights, from L2) instead of one group over a thread's rows (STRIATE_BENCH_DIRECT_BALANCE_ROW_ITEMS=BYTES); 0:
    /// never. Row chunks (4 per thread) ran slower than group items on every shape measured, the small ones too (16→32
    /// @28 1.018 of the fixed tasks where group items ran 0.996, 24→64 @14 1.019 / 0.913, 32→128 @14 1.046 / 0.902; the
    /// large 1.02–1.20), so none takes them.
    /// </summary>
    internal static long BalanceRowItemsMaxWeightBytes = 0;

    /// <summary>Items per thread's row range when the items are row chunks (<see cref="BalanceRowItemsMaxWeightBytes"/>; STRIATE_BENCH_DIRECT_BALANCE_ROW_CHUNKS=N).</summary>
    internal static int BalanceRowChunks = 4;

    /// <summary>Whether <see cref="Run{TS, TV}"/> takes the balanced schedule for <paramref name="g"/> tiled by <paramref name="plan"/> on <paramref name="threads"/> threads.</summary>
    internal static bool Balanced(in Conv2dGeometry g, in DirectPlan plan, int threads)
    {
        if (!Balance || threads <= 1 || g.Batch != 1 || plan.V != 8 || plan.ImagePairs || DirectSchedule.Override.HasValue) return false;
        if (g.OutHeight * g.OutWidth > BalanceMaxPixels || g.OutHeight * g.OutWidth < BalanceMinPixels || (g.StrideH > 1 || g.StrideW > 1) && !BalanceStrided) return false;
        if (g.ForwardFlops < 2.0 * MinBalancedFlops) return false; // RunParallel would run it on one thread
        int rowTiles = plan.RowTiles(g), ranges = Math.Min(threads, rowTiles);
        int rangeRows = (rowTiles + ranges - 1) / ranges * plan.Rows;
        long inRows = Math.Min(g.InHeight + 2L * g.PadH, (rangeRows - 1L) * g.StrideH + (g.KernelHeight - 1L) * g.DilationH + 1);
        long rangeBytes = (long)((g.InChannels + 7) / 8) * inRows * (g.InWidth + 2 * g.PadW) * 8 * sizeof(float);
        return rangeBytes <= BalanceMaxRangeBytes;
    }

    /// <summary>The least work (multiply-adds) a call has before it runs on several threads (Conv2dKernels.RunParallel's MinParallelElements).</summary>
    private const long MinBalancedFlops = 1 << 15;

    /// <summary>
    /// The balanced schedule of one batch-1 call: the output rows in one range of row tiles per thread ("rows" of items,
    /// thread i owning row i), each row's items either its output-channel groups in order (each item one group over the
    /// range, every input-channel pass) or, where the weights are small (<see cref="BalanceRowItemsMaxWeightBytes"/>),
    /// chunks of the range's row tiles (each item every group). With groups, the threads walk the same groups in step:
    /// each group's weights come from memory once and reach the other core through L3, where each thread's own groups
    /// came from memory apart, and each thread's range of input stays in its L2; each item prefetches the next group's
    /// first pass. A thread whose row is done takes the other rows' items from the back (their last groups, or last row
    /// chunks; <see cref="ClaimRows"/>, as PointwiseBlocked.Balanced takes its items).
    /// </summary>
    private struct BalancedBody : IParallelBody, IClaimedItem
    {
        public Body Item;
        /// <summary>Per row (thread range) its items: groups, or row chunks (<see cref="ByRows"/>).</summary>
        public ClaimRows Claims;
        public int RowChunks;
        /// <summary>Items are row chunks of every group (else groups over the row's range).</summary>
        public bool ByRows;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index) => Claims.Drain(index, this);

        /// <summary>Item <paramref name="i"/> of row <paramref name="row"/>; <paramref name="next"/>: the item this thread likely takes next (−1: none).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int row, int i, int next)
        {
            int rows = Claims.Rows, t0 = (int)((long)Item.RowTiles * row / rows), t1 = (int)((long)Item.RowTiles * (row + 1) / rows);
            if (!ByRows)
            {
                Item.Task(0, 1, i, i + 1, t0, t1, 0, 0, next);
                return;
            }
            int c0 = t0 + (int)((long)(t1 - t0) * i / RowChunks), c1 = t0 + (int)((long)(t1 - t0) * (i + 1) / RowChunks);
            if (c1 > c0) Item.Task(0, 1, 0, Item.Groups, c0, c1, 0, 0, -1);
        }
    }

    /// <summary>Runs one batch-1 call (<paramref name="body"/> set up for a batch-blocked schedule) under <see cref="BalancedBody"/>'s schedule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunBalanced(ref Body body, int threads)
    {
        int rows = Math.Min(threads, body.RowTiles);
        bool byRows = body.Plan.WeightLength(body.G) * sizeof(float) <= BalanceRowItemsMaxWeightBytes;
        int rowChunks = Math.Clamp(BalanceRowChunks, 1, Math.Max(1, body.RowTiles / rows));
        long* storage = stackalloc long[ClaimRows.StorageLongs(rows)];
        var balanced = new BalancedBody { Item = body, Claims = new ClaimRows(storage, rows), RowChunks = rowChunks, ByRows = byRows };
        int items = byRows ? rowChunks : body.Groups;
        for (int row = 0; row < rows; row++) balanced.Claims.Set(row, 0, items);
        ParallelFor.Run(rows, ref balanced, threads);
    }
}
