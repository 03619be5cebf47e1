using System.Runtime.CompilerServices;

namespace Striate.Kernels;

// PointwiseBlocked's self-balancing schedule at batch 1: threads take small items as they finish instead of one fixed
// share each.
internal static unsafe partial class PointwiseBlocked
{
    /// <summary>
    /// Whether a batch-1 call on a small map (at most <see cref="BalanceMaxPixels"/> output pixels) on several threads
    /// runs <see cref="BalancedBody"/>'s schedule (STRIATE_BENCH_PWB_BALANCE=0: <see cref="Body.Plan"/>'s one or two
    /// fixed items per thread, where the core the host slows holds the call up).
    /// </summary>
    internal static bool Balance = true;

    /// <summary>Output pixels up to which <see cref="Balance"/> applies (28×28), where a range's input also fits <see cref="BalanceMaxRangeFloats"/>.</summary>
    internal static int BalanceMaxPixels = 784;

    /// <summary>
    /// Floats of a range's input (all its channels) up to which <see cref="Balance"/> applies: each thread keeps its range
    /// in L2 (512 KiB) over its items. Per call (2 threads, weights from memory): 128→512 @28 0.960 (200 KiB ranges),
    /// 512→128 @28 1.014 (800 KiB), 256→128 @56 1.091.
    /// </summary>
    internal static int BalanceMaxRangeFloats = 1 << 17;

    /// <summary>
    /// Output pixels from which a balanced call cuts the map into one pixel range per thread (below: one range, the
    /// whole map, its pairs in one span per thread; STRIATE_BENCH_PWB_BALANCE_RANGES_FROM=P).
    /// </summary>
    internal static int BalanceRangesFromPixels = 100;

    /// <summary>
    /// Whether strided calls (the downsamples, on their gathered copy) take <see cref="Balance"/> too
    /// (STRIATE_BENCH_PWB_BALANCE_STRIDED=0: Plan's fixed items). Per call (2 threads, weights from memory, arms in random
    /// order call by call, A/A 0.998–1.007), balanced ÷ fixed: ResNet-18/34's 64→128 s2 @56 0.982, 128→256 s2 @28 0.984,
    /// 256→512 s2 @14 0.958; ResNet-50's 256→512 s2 @56 0.984, 512→1024 s2 @28 0.941, 1024→2048 s2 @14 0.942. In the
    /// model (steps_b1 --procs 3, 100 rounds, both orientations): see bench/RESULTS.md 2026-12-07 (pwb2).
    /// </summary>
    internal static bool BalanceStrided = true;

    /// <summary>Output-block pairs per balanced item (STRIATE_BENCH_PWB_BALANCE_PAIRS=N).</summary>
    internal static int BalancePairs = 1;

    /// <summary>
    /// The balanced schedule of one batch-1 call: the map in R pixel ranges (one per thread, or one), the pairs in
    /// items of <see cref="BalancePairs"/> pairs (every chunk of the depth each), and the items in rows ("rows": with one
    /// range per thread a row is a range's items in pair order; with one range the pairs are cut into one span per
    /// thread). Thread i owns row i mod rows and takes its items from the front; a thread whose row is done takes the
    /// other rows' items from the back. With ranges the threads walk the same weight panels in step and share each one
    /// through L3 (it comes from memory once, where two ranges each read all the weights) while each keeps its own
    /// range's input in L2; each thread prefetches its next item's first panel (the next in its row, either way).
    /// <see cref="ClaimRows"/> holds each row's items.
    /// </summary>
    private struct BalancedBody : IParallelBody, IClaimedItem
    {
        public Body Item;
        /// <summary>Per row (a span of groups of one pixel range) its groups, absolute indices.</summary>
        public ClaimRows Claims;
        public int Spans, RangePixels, GroupPairs, Groups;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index) => Claims.Drain(index, this);

        /// <summary>Item (group <paramref name="g"/>, the pixel range of row <paramref name="row"/>); <paramref name="next"/> is the group this thread likely takes next (its first panel is prefetched at the end).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int row, int g, int next)
        {
            int r = row / Spans;
            int pixels = Item.Ys.Height * Item.Ys.Width;
            int p0 = r * RangePixels, p1 = Math.Min(pixels, p0 + RangePixels);
            int j0 = g * GroupPairs, j1 = Math.Min(Item.Pairs, j0 + GroupPairs);
            int nextPair = next >= 0 ? next * GroupPairs : -1;
            ZeroBorder(Item.Y, Item.Ys, j0 * 2, Math.Min(Item.Ys.Blocks, j1 * 2), p0, p1);
            Item.RunTiles(Item.X, Item.Y, Item.Residual, j0, j1, p0, p1, nextPair);
        }
    }

    /// <summary>Whether <see cref="Run"/> takes the balanced schedule (<see cref="Balance"/>) for a call from <paramref name="xs"/> to <paramref name="ys"/> on <paramref name="threads"/> threads.</summary>
    internal static bool Balanced(in BlockedShape xs, in BlockedShape ys, int stride, int threads)
    {
        int pixels = ys.Height * ys.Width;
        if (!Balance || !UsesTiles || threads <= 1 || ys.Batch != 1 || pixels > BalanceMaxPixels) return false;
        if (stride > 1 && !(BalanceStrided && SubsampleStrided)) return false;
        int ranges = BalanceRanges(pixels, threads), rangePixels = ((pixels + 5) / 6 + ranges - 1) / ranges * 6;
        return (long)RoundUp8(xs.Channels) * Math.Min(pixels, rangePixels) <= BalanceMaxRangeFloats;
    }

    /// <summary>Pixel ranges of a balanced call (before rounding to whole tiles): one per thread from <see cref="BalanceRangesFromPixels"/>, else one.</summary>
    private static int BalanceRanges(int pixels, int threads) => pixels >= BalanceRangesFromPixels ? Math.Min(threads, (pixels + 5) / 6) : 1;

    /// <summary>Runs one batch-1 call under <see cref="BalancedBody"/>'s schedule on <paramref name="threads"/> threads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunBalanced(ref Body body, int threads)
    {
        int pixels = body.Ys.Height * body.Ys.Width;
        body.PlanPairsAndChunk();
        int tiles = (pixels + 5) / 6;
        int ranges = BalanceRanges(pixels, threads);
        int rangeTiles = (tiles + ranges - 1) / ranges;
        int groupPairs = Math.Max(1, BalancePairs);
        int groups = (body.Pairs + groupPairs - 1) / groupPairs;
        ranges = (pixels + rangeTiles * 6 - 1) / (rangeTiles * 6);
        int spans = Math.Max(1, Math.Min(groups, threads / ranges));
        var balanced = new BalancedBody
        {
            Item = body, RangePixels = rangeTiles * 6, GroupPairs = groupPairs, Groups = groups, Spans = spans,
        };
        int rows = ranges * spans;
        long* storage = stackalloc long[ClaimRows.StorageLongs(rows)];
        balanced.Claims = new ClaimRows(storage, rows);
        for (int row = 0; row < rows; row++)
        {
            int span = row % spans;
            balanced.Claims.Set(row, (int)((long)groups * span / spans), (int)((long)groups * (span + 1) / spans));
        }
        ParallelFor.Run(threads, ref balanced, threads);
    }
}
