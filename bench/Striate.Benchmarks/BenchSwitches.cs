using Striate.Graph;
using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// The STRIATE_BENCH_* switches: environment variables that set static fields of the kernels and the inference passes,
/// so one binary can run a path and the path it replaced. <see cref="Apply"/> first puts every field back to the value
/// it had before the first call, then applies the environment: a switch that was set and is now unset really goes
/// back to its default, which is what <c>striate bench --ab</c> (<see cref="BenchAb"/>) needs to alternate arms in one process.
/// A new switch: its name in <see cref="Applied"/> (or <see cref="ReadAtUse"/>), every field it writes in <see cref="Slots"/>;
/// BenchAbTests fails on a STRIATE_BENCH_* name in the bench sources that no list here holds.
/// </summary>
public static class BenchSwitches
{
    /// <summary>One static field a switch writes: its value before any switch was applied, restorable.</summary>
    private abstract class Slot
    {
        public abstract void Capture();
        public abstract void Restore();
        public abstract string Describe();
    }

    private sealed class Slot<T>(string name, Func<T> get, Action<T> set) : Slot
    {
        private T saved = default!;
        public override void Capture() => saved = get();
        public override void Restore() => set(saved);
        public override string Describe() => $"{name}={get()}";
    }

    private static Slot Of<T>(string name, Func<T> get, Action<T> set) => new Slot<T>(name, get, set);

    /// <summary>Every field the switches write (the three weight-gradient overrides and the direct schedule are [ThreadStatic]: the bench thread's).</summary>
    private static readonly Slot[] Slots =
    [
        Of("WorkerPlacement.Enabled", () => WorkerPlacement.Enabled, v => WorkerPlacement.Enabled = v),
        Of("InferenceSession.RouseWorkers", () => InferenceSession.RouseWorkers, v => InferenceSession.RouseWorkers = v),
        Of("InferenceSession.BlockedActivationsMaxBatch", () => InferenceSession.BlockedActivationsMaxBatch, v => InferenceSession.BlockedActivationsMaxBatch = v),
        Of("InferenceSession.BlockedThroughMaxBatch", () => InferenceSession.BlockedThroughMaxBatch, v => InferenceSession.BlockedThroughMaxBatch = v),
        Of("InferenceSession.BlockedThroughRule", () => InferenceSession.BlockedThroughRule, v => InferenceSession.BlockedThroughRule = v),
        Of("InferenceSession.BlockedThroughPointwiseCost", () => InferenceSession.BlockedThroughPointwiseCost, v => InferenceSession.BlockedThroughPointwiseCost = v),
        Of("InferenceSession.BlockedThroughPackResidual", () => InferenceSession.BlockedThroughPackResidual, v => InferenceSession.BlockedThroughPackResidual = v),
        Of("ParallelFor.JobSlots", () => ParallelFor.JobSlots, v => ParallelFor.JobSlots = v),
        Of("ParallelFor.SpinTicks", () => ParallelFor.SpinTicks, v => ParallelFor.SpinTicks = v),
        Of("Avx2GemmTunables.ColumnBlock", () => Avx2GemmTunables.ColumnBlock, v => Avx2GemmTunables.ColumnBlock = v),
        Of("Avx512GemmTunables.ColumnBlock", () => Avx512GemmTunables.ColumnBlock, v => Avx512GemmTunables.ColumnBlock = v),
        Of("Avx512GemmTunables.SelfPackedDepth", () => Avx512GemmTunables.SelfPackedDepth, v => Avx512GemmTunables.SelfPackedDepth = v),
        Of("Avx512GemmTunables.SelfPackedPanelFloats", () => Avx512GemmTunables.SelfPackedPanelFloats, v => Avx512GemmTunables.SelfPackedPanelFloats = v),
        Of("Gemm.PackWhileMultiplying", () => Gemm.PackWhileMultiplying, v => Gemm.PackWhileMultiplying = v),
        Of("Avx2GemmTunables.SelfPackedDepth", () => Avx2GemmTunables.SelfPackedDepth, v => Avx2GemmTunables.SelfPackedDepth = v),
        Of("Avx2GemmTunables.PackAWhileMultiplying", () => Avx2GemmTunables.PackAWhileMultiplying, v => Avx2GemmTunables.PackAWhileMultiplying = v),
        Of("Avx2GemmTunables.PackAWhileMultiplyingFloats", () => Avx2GemmTunables.PackAWhileMultiplyingFloats, v => Avx2GemmTunables.PackAWhileMultiplyingFloats = v),
        Of("Avx2GemmTunables.FiveRowStrips", () => Avx2GemmTunables.FiveRowStrips, v => Avx2GemmTunables.FiveRowStrips = v),
        Of("Avx2GemmTunables.FiveRowWholePack", () => Avx2GemmTunables.FiveRowWholePack, v => Avx2GemmTunables.FiveRowWholePack = v),
        Of("Avx2GemmTunables.PackBPieces", () => Avx2GemmTunables.PackBPieces, v => Avx2GemmTunables.PackBPieces = v),
        Of("Avx2GemmTunables.PackAHalves", () => Avx2GemmTunables.PackAHalves, v => Avx2GemmTunables.PackAHalves = v),
        Of("Avx2GemmTunables.SharedPackedBFloats", () => Avx2GemmTunables.SharedPackedBFloats, v => Avx2GemmTunables.SharedPackedBFloats = v),
        Of("Avx2GemmTunables.SharedPackedBMinFloats", () => Avx2GemmTunables.SharedPackedBMinFloats, v => Avx2GemmTunables.SharedPackedBMinFloats = v),
        Of("Avx2GemmTunables.EdgeColumnsInPlace", () => Avx2GemmTunables.EdgeColumnsInPlace, v => Avx2GemmTunables.EdgeColumnsInPlace = v),
        Of("Avx2TileSwitches.WholeEpilogueStore", () => Avx2TileSwitches.WholeEpilogueStore, v => Avx2TileSwitches.WholeEpilogueStore = v),
        Of("Avx2TileSwitches.FewColumnsTile", () => Avx2TileSwitches.FewColumnsTile, v => Avx2TileSwitches.FewColumnsTile = v),
        Of("Avx2TileSwitches.OneColumnTile", () => Avx2TileSwitches.OneColumnTile, v => Avx2TileSwitches.OneColumnTile = v),
        Of("Conv2dDirect.PrefetchWeights", () => Conv2dDirect.PrefetchWeights, v => Conv2dDirect.PrefetchWeights = v),
        Of("Conv2dDirect.PrefetchMaxLines", () => Conv2dDirect.PrefetchMaxLines, v => Conv2dDirect.PrefetchMaxLines = v),
        Of("Conv2dDirect.SpreadPrefetch", () => Conv2dDirect.SpreadPrefetch, v => Conv2dDirect.SpreadPrefetch = v),
        Of("Conv2dDirect.PrefetchMaxLinesSpread", () => Conv2dDirect.PrefetchMaxLinesSpread, v => Conv2dDirect.PrefetchMaxLinesSpread = v),
        Of("Conv2dDirect.SpreadPrefetchIntoL1", () => Conv2dDirect.SpreadPrefetchIntoL1, v => Conv2dDirect.SpreadPrefetchIntoL1 = v),
        Of("Conv2dDirect.FewCalls", () => Conv2dDirect.FewCalls, v => Conv2dDirect.FewCalls = v),
        Of("Conv2dDirect.WeightImagesOverride", () => Conv2dDirect.WeightImagesOverride, v => Conv2dDirect.WeightImagesOverride = v),
        Of("Conv2dDirect.WeightRowsOverride", () => Conv2dDirect.WeightRowsOverride, v => Conv2dDirect.WeightRowsOverride = v),
        Of("Conv2dDirect.WeightKernelRowsOverride", () => Conv2dDirect.WeightKernelRowsOverride, v => Conv2dDirect.WeightKernelRowsOverride = v),
        Of("Conv2dDirect.GroupOutBlocks", () => Conv2dDirect.GroupOutBlocks, v => Conv2dDirect.GroupOutBlocks = v),
        Of("Conv2dDirect.StridedWeightDirect", () => Conv2dDirect.StridedWeightDirect, v => Conv2dDirect.StridedWeightDirect = v),
        Of("Conv2dDirect.PhaseSkipsBorder", () => Conv2dDirect.PhaseSkipsBorder, v => Conv2dDirect.PhaseSkipsBorder = v),
        Of("Conv2dDirect.FusedInterleave", () => Conv2dDirect.FusedInterleave, v => Conv2dDirect.FusedInterleave = v),
        Of("Conv2dDirect.PhaseUnpackInTask", () => Conv2dDirect.PhaseUnpackInTask, v => Conv2dDirect.PhaseUnpackInTask = v),
        Of("Conv2dDirect.Avx2InputBoundPasses", () => Conv2dDirect.Avx2InputBoundPasses, v => Conv2dDirect.Avx2InputBoundPasses = v),
        Of("Conv2dDirect.IcChunkOverride", () => Conv2dDirect.IcChunkOverride, v => Conv2dDirect.IcChunkOverride = v),
        Of("Conv2dDirect.LayoutPasses", () => Conv2dDirect.LayoutPasses, v => Conv2dDirect.LayoutPasses = v),
        Of("Conv2dDirect.TaskOutput", () => Conv2dDirect.TaskOutput, v => Conv2dDirect.TaskOutput = v),
        Of("Conv2dDirect.OverlappingBlockedPool", () => Conv2dDirect.OverlappingBlockedPool, v => Conv2dDirect.OverlappingBlockedPool = v),
        Of("Conv2dDirect.PlanarEnabled", () => Conv2dDirect.PlanarEnabled, v => Conv2dDirect.PlanarEnabled = v),
        Of("Conv2dDirect.RunInterleave", () => Conv2dDirect.RunInterleave, v => Conv2dDirect.RunInterleave = v),
        Of("Conv2dDirect.PhaseSchedule.L2BudgetOverride", () => Conv2dDirect.PhaseSchedule.L2BudgetOverride, v => Conv2dDirect.PhaseSchedule.L2BudgetOverride = v),
        Of("Conv2dDirect.PlanarDepthwiseBandRows", () => Conv2dDirect.PlanarDepthwiseBandRows, v => Conv2dDirect.PlanarDepthwiseBandRows = v),
        Of("Conv2dDirect.Balance", () => Conv2dDirect.Balance, v => Conv2dDirect.Balance = v),
        Of("Conv2dDirect.BalanceMaxPixels", () => Conv2dDirect.BalanceMaxPixels, v => Conv2dDirect.BalanceMaxPixels = v),
        Of("Conv2dDirect.BalanceMinPixels", () => Conv2dDirect.BalanceMinPixels, v => Conv2dDirect.BalanceMinPixels = v),
        Of("Conv2dDirect.BalanceStrided", () => Conv2dDirect.BalanceStrided, v => Conv2dDirect.BalanceStrided = v),
        Of("Conv2dDirect.BalanceRowItemsMaxWeightBytes", () => Conv2dDirect.BalanceRowItemsMaxWeightBytes, v => Conv2dDirect.BalanceRowItemsMaxWeightBytes = v),
        Of("Conv2dDirect.BalanceRowChunks", () => Conv2dDirect.BalanceRowChunks, v => Conv2dDirect.BalanceRowChunks = v),
        Of("DirectSchedule.SmallCallTasks", () => DirectSchedule.SmallCallTasks, v => DirectSchedule.SmallCallTasks = v),
        Of("DirectSchedule.StridedRowSplit", () => DirectSchedule.StridedRowSplit, v => DirectSchedule.StridedRowSplit = v),
        Of("DirectSchedule.GroupSplitAtBatchOne", () => DirectSchedule.GroupSplitAtBatchOne, v => DirectSchedule.GroupSplitAtBatchOne = v),
        Of("DirectSchedule.Override", () => DirectSchedule.Override, v => DirectSchedule.Override = v),
        Of("DirectSchedule.L2Bytes", () => DirectSchedule.L2Bytes, v => DirectSchedule.L2Bytes = v),
        Of("DirectPlan.ThreeBlocksAvx2", () => DirectPlan.ThreeBlocksAvx2, v => DirectPlan.ThreeBlocksAvx2 = v),
        Of("DirectPlan.TwoBlocksWhereShorterAvx2", () => DirectPlan.TwoBlocksWhereShorterAvx2, v => DirectPlan.TwoBlocksWhereShorterAvx2 = v),
        Of("DirectPlan.FourByThreeAvx2", () => DirectPlan.FourByThreeAvx2, v => DirectPlan.FourByThreeAvx2 = v),
        Of("DirectPlan.EvenColumnsAvx2", () => DirectPlan.EvenColumnsAvx2, v => DirectPlan.EvenColumnsAvx2 = v),
        Of("DirectPlan.SharedTapsAvx2", () => DirectPlan.SharedTapsAvx2, v => DirectPlan.SharedTapsAvx2 = v),
        Of("DirectPlan.SharedTapsStride2MinWidthAvx2", () => DirectPlan.SharedTapsStride2MinWidthAvx2, v => DirectPlan.SharedTapsStride2MinWidthAvx2 = v),
        Of("DirectPlan.SharedTapsBatchedAvx2", () => DirectPlan.SharedTapsBatchedAvx2, v => DirectPlan.SharedTapsBatchedAvx2 = v),
        Of("DirectPlan.SharedTapTwoRowsAvx2", () => DirectPlan.SharedTapTwoRowsAvx2, v => DirectPlan.SharedTapTwoRowsAvx2 = v),
        Of("DirectPlan.PairImages", () => DirectPlan.PairImages, v => DirectPlan.PairImages = v),
        Of("Pooling.Same3x3Enabled", () => Pooling.Same3x3Enabled, v => Pooling.Same3x3Enabled = v),
        Of("Pooling.Stride2ShortRowsEnabled", () => Pooling.Stride2ShortRowsEnabled, v => Pooling.Stride2ShortRowsEnabled = v),
        Of("ChannelBlocked.InRegisters8", () => ChannelBlocked.InRegisters8, v => ChannelBlocked.InRegisters8 = v),
        Of("ChannelBlocked.PrefetchSource", () => ChannelBlocked.PrefetchSource, v => ChannelBlocked.PrefetchSource = v),
        Of("ChannelBlocked.PrefetchMaxPlane", () => ChannelBlocked.PrefetchMaxPlane, v => ChannelBlocked.PrefetchMaxPlane = v),
        Of("PointwiseTiles.Enabled", () => PointwiseTiles.Enabled, v => PointwiseTiles.Enabled = v),
        Of("PointwiseTiles.Avx2", () => PointwiseTiles.Avx2, v => PointwiseTiles.Avx2 = v),
        Of("PointwiseTransposed.Enabled", () => PointwiseTransposed.Enabled, v => PointwiseTransposed.Enabled = v),
        Of("PointwiseTransposed.Avx2SevenBySeven", () => PointwiseTransposed.Avx2SevenBySeven, v => PointwiseTransposed.Avx2SevenBySeven = v),
        Of("PointwiseTransposed.Avx2PlainStores", () => PointwiseTransposed.Avx2PlainStores, v => PointwiseTransposed.Avx2PlainStores = v),
        Of("PointwiseTransposed.TileInL1", () => PointwiseTransposed.TileInL1, v => PointwiseTransposed.TileInL1 = v),
        Of("PointwiseTransposed.PrefetchStores", () => PointwiseTransposed.PrefetchStores, v => PointwiseTransposed.PrefetchStores = v),
        Of("PointwiseTransposed.ColumnBlockFloats", () => PointwiseTransposed.ColumnBlockFloats, v => PointwiseTransposed.ColumnBlockFloats = v),
        Of("PointwiseTransposed.WeightsOuter", () => PointwiseTransposed.WeightsOuter, v => PointwiseTransposed.WeightsOuter = v),
        Of("PointwiseTransposed.OneRowTile", () => PointwiseTransposed.OneRowTile, v => PointwiseTransposed.OneRowTile = v),
        Of("PointwiseTransposed.PrefetchPanels", () => PointwiseTransposed.PrefetchPanels, v => PointwiseTransposed.PrefetchPanels = v),
        Of("PointwiseTransposed.PrefetchInput", () => PointwiseTransposed.PrefetchInput, v => PointwiseTransposed.PrefetchInput = v),
        Of("PointwiseBlocked.OnePixelTile", () => PointwiseBlocked.OnePixelTile, v => PointwiseBlocked.OnePixelTile = v),
        Of("PointwiseBlocked.SubsampleStrided", () => PointwiseBlocked.SubsampleStrided, v => PointwiseBlocked.SubsampleStrided = v),
        Of("PointwiseBlocked.EvenRanges", () => PointwiseBlocked.EvenRanges, v => PointwiseBlocked.EvenRanges = v),
        Of("PointwiseBlocked.ItemsPerThread", () => PointwiseBlocked.ItemsPerThread, v => PointwiseBlocked.ItemsPerThread = v),
        Of("PointwiseBlocked.SmallMapItemsPerThread", () => PointwiseBlocked.SmallMapItemsPerThread, v => PointwiseBlocked.SmallMapItemsPerThread = v),
        Of("PointwiseBlocked.DeepChunkChannels", () => PointwiseBlocked.DeepChunkChannels, v => PointwiseBlocked.DeepChunkChannels = v),
        Of("PointwiseBlocked.ChunkChannels", () => PointwiseBlocked.ChunkChannels, v => PointwiseBlocked.ChunkChannels = v),
        Of("PointwiseBlocked.PrefetchInputBlocks", () => PointwiseBlocked.PrefetchInputBlocks, v => PointwiseBlocked.PrefetchInputBlocks = v),
        Of("PointwiseBlocked.PrefetchWeights", () => PointwiseBlocked.PrefetchWeights, v => PointwiseBlocked.PrefetchWeights = v),
        Of("PointwiseBlocked.Balance", () => PointwiseBlocked.Balance, v => PointwiseBlocked.Balance = v),
        Of("PointwiseBlocked.BlockedThrough16", () => PointwiseBlocked.BlockedThrough16, v => PointwiseBlocked.BlockedThrough16 = v),
        Of("PointwiseBlocked.ChunkChannels16", () => PointwiseBlocked.ChunkChannels16, v => PointwiseBlocked.ChunkChannels16 = v),
        Of("PointwiseBlocked.RangeFloats16", () => PointwiseBlocked.RangeFloats16, v => PointwiseBlocked.RangeFloats16 = v),
        Of("PointwiseBlocked.ItemsPerThread16", () => PointwiseBlocked.ItemsPerThread16, v => PointwiseBlocked.ItemsPerThread16 = v),
        Of("PointwiseBlocked.OnePixelMaxCount16", () => PointwiseBlocked.OnePixelMaxCount16, v => PointwiseBlocked.OnePixelMaxCount16 = v),
        Of("PointwiseBlocked.SmallMapItemsPerThread16", () => PointwiseBlocked.SmallMapItemsPerThread16, v => PointwiseBlocked.SmallMapItemsPerThread16 = v),
        Of("PointwiseBlocked.PrefetchInput16", () => PointwiseBlocked.PrefetchInput16, v => PointwiseBlocked.PrefetchInput16 = v),
        Of("PointwiseBlocked.PrefetchWeights16", () => PointwiseBlocked.PrefetchWeights16, v => PointwiseBlocked.PrefetchWeights16 = v),
        Of("PointwiseBlocked.BalancePairs", () => PointwiseBlocked.BalancePairs, v => PointwiseBlocked.BalancePairs = v),
        Of("PointwiseBlocked.BalanceRangesFromPixels", () => PointwiseBlocked.BalanceRangesFromPixels, v => PointwiseBlocked.BalanceRangesFromPixels = v),
        Of("PointwiseBlocked.BalanceMaxPixels", () => PointwiseBlocked.BalanceMaxPixels, v => PointwiseBlocked.BalanceMaxPixels = v),
        Of("PointwiseBlocked.BalanceMaxRangeFloats", () => PointwiseBlocked.BalanceMaxRangeFloats, v => PointwiseBlocked.BalanceMaxRangeFloats = v),
        Of("PointwiseBlocked.BalanceStrided", () => PointwiseBlocked.BalanceStrided, v => PointwiseBlocked.BalanceStrided = v),
        Of("PointwiseRows.Enabled", () => PointwiseRows.Enabled, v => PointwiseRows.Enabled = v),
        Of("PointwiseRows.TallTile", () => PointwiseRows.TallTile, v => PointwiseRows.TallTile = v),
        Of("PointwiseRows.BlockFloats", () => PointwiseRows.BlockFloats, v => PointwiseRows.BlockFloats = v),
        Of("PointwiseRows.Avx2Bands", () => PointwiseRows.Avx2Bands, v => PointwiseRows.Avx2Bands = v),
        Of("PointwiseRows.Avx2MaxRows", () => PointwiseRows.Avx2MaxRows, v => PointwiseRows.Avx2MaxRows = v),
        Of("GemmImages.VectorGather", () => GemmImages.VectorGather, v => GemmImages.VectorGather = v),
        Of("GemmImages.GatherStrips", () => GemmImages.GatherStrips, v => GemmImages.GatherStrips = v),
        Of("GemmImages.GatherPrefetch", () => GemmImages.GatherPrefetch, v => GemmImages.GatherPrefetch = v),
        Of("Conv2dKernels.SubsampledPointwiseEnabled", () => Conv2dKernels.SubsampledPointwiseEnabled, v => Conv2dKernels.SubsampledPointwiseEnabled = v),
        Of("InvertedResidualBands.BandBudgetFloats", () => InvertedResidualBands.BandBudgetFloats, v => InvertedResidualBands.BandBudgetFloats = v),
        Of("InvertedResidualBands.InPlace", () => InvertedResidualBands.InPlace, v => InvertedResidualBands.InPlace = v),
        Of("InferencePasses.PoolsBeforePointwise", () => InferencePasses.PoolsBeforePointwise, v => InferencePasses.PoolsBeforePointwise = v),
        Of("InferenceSession.AffineIntoPool", () => InferenceSession.AffineIntoPool, v => InferenceSession.AffineIntoPool = v),
        Of("InferenceSession.BandedBlockMinPixels", () => InferenceSession.BandedBlockMinPixels, v => InferenceSession.BandedBlockMinPixels = v),
        Of("InferenceSession.MergeSharedInputPointwise", () => InferenceSession.MergeSharedInputPointwise, v => InferenceSession.MergeSharedInputPointwise = v),
        Of("InferenceSession.ResidualInPlace", () => InferenceSession.ResidualInPlace, v => InferenceSession.ResidualInPlace = v),
        Of("InferenceSession.SharedInputSplitRows", () => InferenceSession.SharedInputSplitRows, v => InferenceSession.SharedInputSplitRows = v),
        Of("InferenceSession.AffineIntoConvolution", () => InferenceSession.AffineIntoConvolution, v => InferenceSession.AffineIntoConvolution = v),
        Of("InferenceSession.PoolIntoConvolution", () => InferenceSession.PoolIntoConvolution, v => InferenceSession.PoolIntoConvolution = v),
        Of("InferenceSession.PoolIntoDirectConvolution", () => InferenceSession.PoolIntoDirectConvolution, v => InferenceSession.PoolIntoDirectConvolution = v),
        Of("InferenceSession.DepthwiseIntoStem", () => InferenceSession.DepthwiseIntoStem, v => InferenceSession.DepthwiseIntoStem = v),
        Of("DepthwiseConv2d.Stride2RowsEnabled", () => DepthwiseConv2d.Stride2RowsEnabled, v => DepthwiseConv2d.Stride2RowsEnabled = v),
        Of("InferenceSession.ProjectionIntoStem", () => InferenceSession.ProjectionIntoStem, v => InferenceSession.ProjectionIntoStem = v),
    ];

    private static readonly object Sync = new();
    private static bool captured;

    /// <summary>
    /// The switches <see cref="Apply"/> reads (each sets one or more fields of <see cref="Slots"/>), and those the suites
    /// read where they use them (<see cref="ReadAtUse"/>); <c>--ab</c> accepts these and no other variable.
    /// </summary>
    // One name per line, newest last: helpers working at the same time each append one, and a line of several names
    // conflicted on every rebase.
    public static IReadOnlyList<string> Applied { get; } =
    [
        "STRIATE_BENCH_AVX2_NC",
        "STRIATE_BENCH_512_NC",
        "STRIATE_BENCH_512_KC_SELF",
        "STRIATE_BENCH_512_PANEL",
        "STRIATE_BENCH_PREFETCH",
        "STRIATE_BENCH_PREFETCH_MAX",
        "STRIATE_BENCH_PREFETCH_SPREAD",
        "STRIATE_BENCH_PREFETCH_SPREAD_MAX",
        "STRIATE_BENCH_PREFETCH_L1",
        "STRIATE_BENCH_FEW_CALLS",
        "STRIATE_BENCH_SMALL_TASKS",
        "STRIATE_BENCH_SAME_POOL",
        "STRIATE_BENCH_STRIDE2_POOL",
        "STRIATE_BENCH_AVX2_THREE",
        "STRIATE_BENCH_AVX2_NARROW_TWO",
        "STRIATE_BENCH_AVX2_EDGE_COLUMNS",
        "STRIATE_BENCH_AVX2_ONE_COLUMN",
        "STRIATE_BENCH_AVX2_EDGE_IN_PLACE",
        "STRIATE_BENCH_AVX2_PLAIN_STORE",
        "STRIATE_BENCH_AVX2_FOUR_BY_THREE",
        "STRIATE_BENCH_AVX2_EVEN_COLUMNS",
        "STRIATE_BENCH_WEIGHT_IMAGES",
        "STRIATE_BENCH_WEIGHT_ROWS",
        "STRIATE_BENCH_WEIGHT_KERNEL_ROWS",
        "STRIATE_BENCH_WEIGHT_GROUPS",
        "STRIATE_BENCH_STRIDED_WEIGHT",
        "STRIATE_BENCH_AVX2_PASS_INPUT",
        "STRIATE_BENCH_IC_CHUNK",
        "STRIATE_BENCH_PAIR_IMAGES",
        "STRIATE_BENCH_TASK_OUTPUT",
        "STRIATE_BENCH_BLOCKS8_IN_REGISTERS",
        "STRIATE_BENCH_PACK_PREFETCH",
        "STRIATE_BENCH_PACK_PREFETCH_PLANE",
        "STRIATE_BENCH_DIRECT_SCHEDULE",
        "STRIATE_BENCH_DIRECT_L2",
        "STRIATE_BENCH_DIRECT_BALANCE",
        "STRIATE_BENCH_DIRECT_BALANCE_MAX_PIXELS",
        "STRIATE_BENCH_DIRECT_BALANCE_MIN_PIXELS",
        "STRIATE_BENCH_DIRECT_BALANCE_STRIDED",
        "STRIATE_BENCH_DIRECT_BALANCE_ROW_ITEMS",
        "STRIATE_BENCH_DIRECT_BALANCE_ROW_CHUNKS",
        "STRIATE_BENCH_POINTWISE_TILES",
        "STRIATE_BENCH_POINTWISE_TRANSPOSED",
        "STRIATE_BENCH_AVX2_TRANSPOSED_7",
        "STRIATE_BENCH_POINTWISE_ROWS",
        "STRIATE_BENCH_AVX2_POINTWISE_ROWS",
        "STRIATE_BENCH_TALL_TILE",
        "STRIATE_BENCH_ROWS_BLOCK",
        "STRIATE_BENCH_SUBSAMPLED_POINTWISE",
        "STRIATE_BENCH_POOL_BEFORE_1X1",
        "STRIATE_BENCH_AFFINE_POOL",
        "STRIATE_BENCH_STRIDED_ROW_SPLIT",
        "STRIATE_BENCH_GROUP_SPLIT",
        "STRIATE_BENCH_BANDED_BLOCKS",
        "STRIATE_BENCH_BANDED_MIN_PIXELS",
        "STRIATE_BENCH_BAND_BUDGET",
        "STRIATE_BENCH_BANDS_IN_PLACE",
        "STRIATE_BENCH_AVX2_BANDS_IN_PLACE",
        "STRIATE_BENCH_SHARED_INPUT",
        "STRIATE_BENCH_SHARED_SPLIT",
        "STRIATE_BENCH_AFFINE_CONV",
        "STRIATE_BENCH_POOL_CONV",
        "STRIATE_BENCH_POOL_DIRECT",
        "STRIATE_BENCH_POOL_OVERLAP",
        "STRIATE_BENCH_PLANAR_STEM",
        "STRIATE_BENCH_STEM_DEPTHWISE",
        "STRIATE_BENCH_STEM_PROJECT",
        "STRIATE_BENCH_STEM_BAND_ROWS",
        "STRIATE_BENCH_TRANSPOSED_TILES",
        "STRIATE_BENCH_TRANSPOSED_WEIGHTS_OUTER",
        "STRIATE_BENCH_TRANSPOSED_ONE_ROW",
        "STRIATE_BENCH_PWB_ONE_PIXEL",
        "STRIATE_BENCH_PWB_SUBSAMPLE",
        "STRIATE_BENCH_PWB_ITEMS",
        "STRIATE_BENCH_PWB_EVEN_RANGES",
        "STRIATE_BENCH_PWB_SMALL_ITEMS",
        "STRIATE_BENCH_PWB_CHUNK",
        "STRIATE_BENCH_PWB_DEEP_CHUNK",
        "STRIATE_BENCH_PWB_PREFETCH_X",
        "STRIATE_BENCH_PWB_PREFETCH_W",
        "STRIATE_BENCH_PWB_BALANCE",
        "STRIATE_BENCH_PWB_BALANCE_PAIRS",
        "STRIATE_BENCH_PWB_BALANCE_RANGES_FROM",
        "STRIATE_BENCH_PWB_BALANCE_MAX_PIXELS",
        "STRIATE_BENCH_PWB_BALANCE_MAX_RANGE_FLOATS",
        "STRIATE_BENCH_PWB_BALANCE_STRIDED",
        "STRIATE_BENCH_PWB16",
        "STRIATE_BENCH_PWB16_CHUNK",
        "STRIATE_BENCH_PWB16_RANGE",
        "STRIATE_BENCH_PWB16_ITEMS",
        "STRIATE_BENCH_PWB16_SMALL_ITEMS",
        "STRIATE_BENCH_PWB16_ONE",
        "STRIATE_BENCH_PWB16_PREFETCH_W",
        "STRIATE_BENCH_PWB16_PREFETCH_X",
        "STRIATE_BENCH_BAND_FLOATS",
        "STRIATE_BENCH_PHASE_RUNS",
        "STRIATE_BENCH_PHASE_L2",
        "STRIATE_BENCH_PHASE_BORDER",
        "STRIATE_BENCH_PHASE_FUSED",
        "STRIATE_BENCH_PHASE_UNPACK_IN_TASK",
        "STRIATE_BENCH_RESIDUAL_IN_PLACE",
        "STRIATE_BENCH_PACK_WHILE_MULTIPLYING",
        "STRIATE_BENCH_GATHER",
        "STRIATE_BENCH_GATHER_STRIPS",
        "STRIATE_BENCH_GATHER_PREFETCH",
        "STRIATE_BENCH_AVX2_KC_SELF",
        "STRIATE_BENCH_PACK_A_WHILE_MULTIPLYING",
        "STRIATE_BENCH_PACK_A_FLOATS",
        "STRIATE_BENCH_WORKERS_OFF_CALLER",
        "STRIATE_BENCH_JOB_SLOTS",
        "STRIATE_BENCH_ROUSE_WORKERS",
        "STRIATE_BENCH_WORKER_SPIN_US",
        "STRIATE_BENCH_FIVE_ROW_STRIPS",
        "STRIATE_BENCH_FIVE_ROW_WHOLE_PACK",
        "STRIATE_BENCH_PACK_B_PIECES",
        "STRIATE_BENCH_PACK_A_HALVES",
        "STRIATE_BENCH_AVX2_SHARED_B",
        "STRIATE_BENCH_AVX2_SHARED_B_MIN",
        "STRIATE_BENCH_DW_STRIDE2_ROWS",
        "STRIATE_BENCH_AVX2_SHARED_TAPS",
        "STRIATE_BENCH_AVX2_EPILOGUE_STORE",
        "STRIATE_BENCH_AVX2_SHARED_TAP_ROWS",
        "STRIATE_BENCH_AVX2_SHARED_TAPS_BATCH",
        "STRIATE_BENCH_DIRECT_LAYOUT",
        "STRIATE_BENCH_BLOCKED_ACTIVATIONS",
        "STRIATE_BENCH_BLOCKED_THROUGH",
        "STRIATE_BENCH_TRANSPOSED_PREFETCH",
        "STRIATE_BENCH_AVX2_POINTWISE_TILES",
        "STRIATE_BENCH_BLOCKED_THROUGH_RULE",
        "STRIATE_BENCH_BLOCKED_THROUGH_COST",
        "STRIATE_BENCH_BLOCKED_THROUGH_PACK",
        "STRIATE_BENCH_AVX2_SHARED_TAPS_S2",
    ];

    /// <summary>Switches a suite reads each time it measures (no field to compare): the conv suite's forced algorithm, the layers suite's residual store.</summary>
    public static IReadOnlyList<string> ReadAtUse { get; } = ["STRIATE_BENCH_CONV_ALGORITHM", "STRIATE_BENCH_LAYER_RESIDUAL"];

    /// <summary>STRIATE_BENCH_* variables that are not code paths and why <c>--ab</c> refuses them.</summary>
    public static IReadOnlyDictionary<string, string> NotSwitches { get; } = new Dictionary<string, string>
    {
        ["STRIATE_BENCH_PROFILE"] = "it prints a profile rather than choosing a path; set it in the environment and both arms are profiled side by side",
        ["STRIATE_BENCH_CLOCK"] = "it is read once when the process starts; set it in the environment for both arms",
        ["STRIATE_BENCH_LAYER_ROUNDS"] = "it sets how long the layers suite measures, not a path; set it in the environment for both arms",
        ["STRIATE_BENCH_PASSES"] = "it adds figures, so the arms would measure different figure sets",
        ["STRIATE_BENCH_VERBOSE"] = "it only prints",
        ["STRIATE_BENCH_RANKS"] = "it belongs to the allreduce suite, which runs in processes of its own",
    };

    /// <summary>Why <paramref name="name"/> cannot be an arm's switch, or null when it can.</summary>
    public static string? Refusal(string name)
    {
        if (!name.StartsWith("STRIATE_BENCH_", StringComparison.Ordinal))
            return $"'{name}' is not a STRIATE_BENCH_* switch: --ab only flips the benchmark switches (DOTNET_* and other variables act when the process starts; compare those across processes)";
        if (NotSwitches.TryGetValue(name, out var why)) return $"{name} cannot be an arm's switch: {why}";
        if (!Applied.Contains(name) && !ReadAtUse.Contains(name))
            return $"{name} is not a switch striate bench knows; known: {string.Join(", ", Applied.Concat(ReadAtUse).Order(StringComparer.Ordinal))}";
        return null;
    }

    /// <summary>
    /// Puts every switched field back to its value before the first call, then applies the STRIATE_BENCH_* variables of
    /// the environment as it is now. Suites call it before they measure; <see cref="BenchAb"/> before each arm.
    /// </summary>
    public static void Apply()
    {
        lock (Sync)
        {
            if (!captured)
            {
                foreach (var s in Slots) s.Capture();
                captured = true;
            }
            foreach (var s in Slots) s.Restore();
            ConvBenchmarks.ApplyDirectScheduleOverride();
            ModelBenchmarks.ApplyInferenceSwitches();
            PointwiseBlockedBenchmarks.ApplySwitches();
            GemmBenchmarks.ApplyAvx512Switches();
            // STRIATE_BENCH_BAND_FLOATS: the bands' working-set budget (floats) of the layers suite's blocks, for tuning.
            if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_BAND_FLOATS"), out int budget) && budget > 0) InvertedResidualBands.BandBudgetFloats = budget;
        }
    }

    /// <summary>Every switched field back to its value before the first <see cref="Apply"/> (nothing if it never ran).</summary>
    public static void RestoreDefaults()
    {
        lock (Sync)
            if (captured)
                foreach (var s in Slots) s.Restore();
    }

    /// <summary>Every switched field as "Type.Field=value", one per field: two arms whose states are equal run the same code.</summary>
    public static IReadOnlyList<string> State() => Slots.Select(s => s.Describe()).ToArray();
}
