using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// One convolution shape of ResNet-18 (He et al. 2016) at 224×224 input; square kernel, stride and padding, no groups.
/// Shapes: input [batch, InChannels, InSize, InSize], weight [OutChannels, InChannels, Kernel, Kernel].
/// </summary>
public sealed record ConvBenchShape(string Name, int InChannels, int OutChannels, int InSize, int Kernel, int Stride, int Padding)
{
    /// <summary>The geometry of this shape for <paramref name="batch"/> images.</summary>
    public Conv2dGeometry Geometry(int batch) =>
        new(batch, InChannels, InSize, InSize, OutChannels, Kernel, Kernel, Stride, Stride, Padding, Padding);
}

/// <summary>
/// GFLOPS of the convolution kernels on every distinct ResNet-18 convolution at batch 32. A forward counts
/// 2·N·Cout·Hout·Wout·(Cin/g)·kH·kW flops; forward + input gradient + weight gradient counts three times that.
/// </summary>
public static class ConvBenchmarks
{
    /// <summary>The batch size of the figures.</summary>
    public const int Batch = 32;

    /// <summary>
    /// Every distinct convolution of ResNet-18 at 224×224 (names without the batch/pass suffix; a figure is
    /// <c>{Name}_b32_fwd</c> or <c>{Name}_b32_fwdbwd</c>). Mirrored by scripts that measure PyTorch on the same shapes.
    /// </summary>
    public static readonly ConvBenchShape[] Shapes =
    [
        new("conv7x7_3_64_224_s2", 3, 64, 224, 7, 2, 3),        // stem
        new("conv3x3_64_56", 64, 64, 56, 3, 1, 1),               // layer1 (the headline figure keeps this short name)
        new("conv3x3_64_128_56_s2", 64, 128, 56, 3, 2, 1),       // layer2.0.conv1
        new("conv1x1_64_128_56_s2", 64, 128, 56, 1, 2, 0),       // layer2.0.downsample
        new("conv3x3_128_128_28_s1", 128, 128, 28, 3, 1, 1),     // layer2
        new("conv3x3_128_256_28_s2", 128, 256, 28, 3, 2, 1),     // layer3.0.conv1
        new("conv1x1_128_256_28_s2", 128, 256, 28, 1, 2, 0),     // layer3.0.downsample
        new("conv3x3_256_256_14_s1", 256, 256, 14, 3, 1, 1),     // layer3
        new("conv3x3_256_512_14_s2", 256, 512, 14, 3, 2, 1),     // layer4.0.conv1
        new("conv1x1_256_512_14_s2", 256, 512, 14, 1, 2, 0),     // layer4.0.downsample
        new("conv3x3_512_512_7_s1", 512, 512, 7, 3, 1, 1),       // layer4
    ];

    /// <summary>
    /// STRIATE_BENCH_CONV_ALGORITHM=Direct|Im2ColGemm|... measures every shape on that algorithm instead of the chosen
    /// one (to compare algorithms shape by shape when tuning <see cref="Conv2dKernels.Choose"/>).
    /// </summary>
    private static Conv2dAlgorithm? ForcedAlgorithm =>
        Enum.TryParse<Conv2dAlgorithm>(Environment.GetEnvironmentVariable("STRIATE_BENCH_CONV_ALGORITHM"), out var a) ? a : null;

    /// <summary>
    /// STRIATE_BENCH_AVX2_NC=N: columns of B̃ per block of the AVX2 GEMM driver (Avx2GemmTunables.ColumnBlock, a multiple of
    /// 16; by default 256 where a core's L2 holds 512 KiB or less, else 512); STRIATE_BENCH_PACK_WHILE_MULTIPLYING=0.
    /// </summary>
    private static void ApplyAvx2ColumnBlockOverride()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_NC"), out int nc) && nc > 0 && nc % 16 == 0) Avx2GemmTunables.ColumnBlock = nc;
        // STRIATE_BENCH_PACK_WHILE_MULTIPLYING=0: the AVX2 driver packs each block's B̃ in a pass of its own before the tiles.
        Gemm.PackWhileMultiplying = Environment.GetEnvironmentVariable("STRIATE_BENCH_PACK_WHILE_MULTIPLYING") != "0";
        // STRIATE_BENCH_AVX2_KC_SELF=N: deepest block of the AVX2 products that pack A themselves (a multiple of 8).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_KC_SELF"), out int kc) && kc > 0 && kc % 8 == 0) Avx2GemmTunables.SelfPackedDepth = kc;
        // STRIATE_BENCH_PACK_A_WHILE_MULTIPLYING=0: products that pack A themselves pack each Ã strip in a pass of its own.
        Avx2GemmTunables.PackAWhileMultiplying = Environment.GetEnvironmentVariable("STRIATE_BENCH_PACK_A_WHILE_MULTIPLYING") != "0";
        // STRIATE_BENCH_PACK_A_FLOATS=N: the least rows × depth of A a part packs while multiplying (0: every part).
        if (long.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PACK_A_FLOATS"), out long aFloats) && aFloats >= 0) Avx2GemmTunables.PackAWhileMultiplyingFloats = aFloats;
        // STRIATE_BENCH_AVX2_SHARED_B=N: floats of a whole B̃ up to which row parts share one (0: each packs its own).
        if (long.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_SHARED_B"), out long sharedB) && sharedB >= 0) Avx2GemmTunables.SharedPackedBFloats = sharedB;
        // STRIATE_BENCH_AVX2_SHARED_B_MIN=N: floats of a whole B̃ up to which every row part packs its own.
        if (long.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_SHARED_B_MIN"), out long sharedBMin) && sharedBMin >= 0) Avx2GemmTunables.SharedPackedBMinFloats = sharedBMin;
        // STRIATE_BENCH_FIVE_ROW_STRIPS=0: products that pack A themselves keep whole 6-row strips and one short strip per block.
        Avx2GemmTunables.FiveRowStrips = Environment.GetEnvironmentVariable("STRIATE_BENCH_FIVE_ROW_STRIPS") != "0";
        Avx2GemmTunables.FiveRowWholePack = Environment.GetEnvironmentVariable("STRIATE_BENCH_FIVE_ROW_WHOLE_PACK") != "0";
        // STRIATE_BENCH_PACK_B_PIECES=0: B̃'s row pieces packed as four 64-byte block copies (GemmPacking.CopyPiece).
        Avx2GemmTunables.PackBPieces = Environment.GetEnvironmentVariable("STRIATE_BENCH_PACK_B_PIECES") != "0";
        // STRIATE_BENCH_PACK_A_HALVES=0: full 6-row Ã strips packed by 8 × 8 transposes (GemmPacking.PackAStripAvx).
        Avx2GemmTunables.PackAHalves = Environment.GetEnvironmentVariable("STRIATE_BENCH_PACK_A_HALVES") != "0";
    }

    /// <summary>
    /// STRIATE_BENCH_DIRECT_SCHEDULE=perimage|IMAGES,GROUPS[,ROWCHUNKS] forces the direct kernel's schedule
    /// (<see cref="DirectSchedule"/>) instead of its traffic model's choice, to compare schedules shape by shape; and the
    /// direct kernel's and AVX2 GEMM's other switches. Only <see cref="BenchSwitches.Apply"/> calls it, after putting every
    /// field back to its default (a switch left unset here leaves its field alone).
    /// </summary>
    internal static void ApplyDirectScheduleOverride()
    {
        ApplyAvx2ColumnBlockOverride();
        // STRIATE_BENCH_PREFETCH=0: the direct tiles do not prefetch the next pass's weights; STRIATE_BENCH_PREFETCH_MAX=N: lines per tile call.
        Conv2dDirect.PrefetchWeights = Environment.GetEnvironmentVariable("STRIATE_BENCH_PREFETCH") != "0";
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PREFETCH_MAX"), out int prefetchMax)) Conv2dDirect.PrefetchMaxLines = prefetchMax;
        // STRIATE_BENCH_PREFETCH_SPREAD=0|1|2: the tile calls request the next pass's weights a few lines per tap nowhere / on
        // AVX2 / on AVX2 and AVX-512 (Conv2dDirect.SpreadPrefetch; elsewhere one burst before each call);
        // STRIATE_BENCH_PREFETCH_SPREAD_MAX=N: lines per spread call.
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PREFETCH_SPREAD"), out int spread)) Conv2dDirect.SpreadPrefetch = spread;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PREFETCH_SPREAD_MAX"), out int spreadMax)) Conv2dDirect.PrefetchMaxLinesSpread = spreadMax;
        // STRIATE_BENCH_PREFETCH_L1=0: the spread prefetch as prefetcht2, not prefetcht0 (Conv2dDirect.SpreadPrefetchIntoL1).
        Conv2dDirect.SpreadPrefetchIntoL1 = Environment.GetEnvironmentVariable("STRIATE_BENCH_PREFETCH_L1") != "0";
        // STRIATE_BENCH_FEW_CALLS=N: AVX2 passes serving up to N tile calls are L1-sized (Conv2dDirect.FewCalls; 0: never).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_FEW_CALLS"), out int fewCalls)) Conv2dDirect.FewCalls = fewCalls;
        // STRIATE_BENCH_DIRECT_BALANCE=0|1: batch-1 AVX2 forwards on small maps balance themselves over the threads
        // (Conv2dDirect.Balance); _MAX_PIXELS=P the largest map, _MIN_PIXELS=P the smallest, _STRIDED=1 strided calls too, _ROW_ITEMS=BYTES the blocked
        // weights up to which items are row chunks of every group, _ROW_CHUNKS=N those chunks per thread's rows.
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE") is "0" or "1") Conv2dDirect.Balance = Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE") == "1";
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE_MAX_PIXELS"), out int balancePixels)) Conv2dDirect.BalanceMaxPixels = balancePixels;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE_MIN_PIXELS"), out int balanceMinPixels)) Conv2dDirect.BalanceMinPixels = balanceMinPixels;
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE_STRIDED") is "0" or "1") Conv2dDirect.BalanceStrided = Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE_STRIDED") == "1";
        if (long.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE_ROW_ITEMS"), out long rowItems) && rowItems >= 0) Conv2dDirect.BalanceRowItemsMaxWeightBytes = rowItems;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_BALANCE_ROW_CHUNKS"), out int rowChunks) && rowChunks > 0) Conv2dDirect.BalanceRowChunks = rowChunks;
        // STRIATE_BENCH_DIRECT_L2=BYTES|cpuid: the L2 the direct schedules count on (DirectSchedule.L2Bytes, 1 MiB; cpuid: the core's, up to 1 MiB).
        var l2Text = Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_L2");
        if (l2Text == "cpuid") DirectSchedule.L2Bytes = DirectSchedule.UsableL2(CpuCaches.L2Bytes);
        else if (long.TryParse(l2Text, out long l2) && l2 > 0) DirectSchedule.L2Bytes = l2;
        // STRIATE_BENCH_SMALL_TASKS=0: small direct calls split into up to four tasks per thread like large ones (DirectSchedule.SmallCallTasks).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_SMALL_TASKS") == "0") DirectSchedule.SmallCallTasks = false;
        // STRIATE_BENCH_SAME_POOL=0: 3×3/1 "same" max pools on rows ≤ 32 take the padded-rows kernel (Pooling.Same3x3Enabled).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_SAME_POOL") == "0") Pooling.Same3x3Enabled = false;
        // STRIATE_BENCH_STRIDE2_POOL=0: 2×2/2 and 3×3/2 max pools without padding on rows of 8–32 take the padded-rows kernel (Pooling.Stride2ShortRowsEnabled).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_STRIDE2_POOL") == "0") Pooling.Stride2ShortRowsEnabled = false;
        // STRIATE_BENCH_AVX2_THREE=0: 7×7 maps on AVX2 as 4-pixel tiles × 2 blocks, not × 3 (DirectPlan.ThreeBlocksAvx2).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_THREE") == "0") DirectPlan.ThreeBlocksAvx2 = false;
        // STRIATE_BENCH_AVX2_NARROW_TWO=0: AVX2's 7×7 maps always in groups of 3 blocks, never 2 (DirectPlan.TwoBlocksWhereShorterAvx2).
        DirectPlan.TwoBlocksWhereShorterAvx2 = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_NARROW_TWO") != "0";
        // STRIATE_BENCH_AVX2_EDGE_COLUMNS=0: the AVX2 GEMM runs a last strip of ≤ 8 columns on the full 6×16 tile (Avx2TileSwitches.FewColumnsTile).
        Avx2TileSwitches.FewColumnsTile = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_EDGE_COLUMNS") != "0";
        // STRIATE_BENCH_AVX2_ONE_COLUMN=0: a last strip of one column on the one-vector tile, not as a matrix-vector product (Avx2TileSwitches.OneColumnTile).
        Avx2TileSwitches.OneColumnTile = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_ONE_COLUMN") != "0";
        // STRIATE_BENCH_AVX2_EDGE_IN_PLACE=0: the AVX2 GEMM packs a block's last strip of 1–4 columns into B̃ again instead of reading it in place (Avx2GemmTunables.EdgeColumnsInPlace).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_EDGE_IN_PLACE") == "0") Avx2GemmTunables.EdgeColumnsInPlace = false;
        // STRIATE_BENCH_AVX2_PLAIN_STORE=0: the AVX2 transposed 1×1 stores whole tiles with vmaskmovps too (PointwiseTransposed.Avx2PlainStores).
        PointwiseTransposed.Avx2PlainStores = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_PLAIN_STORE") != "0";
        // STRIATE_BENCH_AVX2_EPILOGUE_STORE=0: whole AVX2 6×16 tiles with an epilogue store row by row through the edge store (Avx2TileSwitches.WholeEpilogueStore).
        Avx2TileSwitches.WholeEpilogueStore = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_EPILOGUE_STORE") != "0";
        // STRIATE_BENCH_AVX2_FOUR_BY_THREE=0: AVX2 rows wider than 8 always as 6 pixels × 2 blocks (DirectPlan.FourByThreeAvx2).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_FOUR_BY_THREE") == "0") DirectPlan.FourByThreeAvx2 = false;
        // STRIATE_BENCH_AVX2_EVEN_COLUMNS=0: AVX2 rows wider than 8 as tiles of R pixels and a last one of the rest, not R and R − 1 (DirectPlan.EvenColumnsAvx2).
        DirectPlan.EvenColumnsAvx2 = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_EVEN_COLUMNS") != "0";
        // STRIATE_BENCH_AVX2_SHARED_TAPS=0: AVX2 batch-1 stride-1 3×3 rows ≥ 16 take the 6 × 2 / 4 × 3 tiles, not 12-pixel rows sharing each broadcast over three taps (DirectPlan.SharedTapsAvx2).
        DirectPlan.SharedTapsAvx2 = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_SHARED_TAPS") != "0";
        // STRIATE_BENCH_AVX2_SHARED_TAPS_S2=N: AVX2 batch-1 stride-2 3×3 rows of ≥ N output pixels take the stride-2 shared-tap tile (0: none; DirectPlan.SharedTapsStride2MinWidthAvx2).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_SHARED_TAPS_S2"), out int s2Taps)) DirectPlan.SharedTapsStride2MinWidthAvx2 = s2Taps;
        // STRIATE_BENCH_AVX2_SHARED_TAP_ROWS=0: 13–15-pixel rows keep the 6 × 2 tiles, not two rows of the shared-tap tile (DirectPlan.SharedTapTwoRowsAvx2).
        DirectPlan.SharedTapTwoRowsAvx2 = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_SHARED_TAP_ROWS") != "0";
        // STRIATE_BENCH_AVX2_SHARED_TAPS_BATCH=0: only batch 1 takes the shared-tap tiles (DirectPlan.SharedTapsBatchedAvx2).
        DirectPlan.SharedTapsBatchedAvx2 = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_SHARED_TAPS_BATCH") != "0";
        // STRIATE_BENCH_WEIGHT_IMAGES=N: images per weight-gradient tile call (Conv2dDirect.WeightImagesOverride).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_WEIGHT_IMAGES"), out int images)) Conv2dDirect.WeightImagesOverride = images;
        // STRIATE_BENCH_WEIGHT_ROWS=N: output rows per weight-gradient pass; STRIATE_BENCH_WEIGHT_KERNEL_ROWS=1|2: tasks over
        // all kernel rows or one each (Conv2dDirect.WeightBlocking).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_WEIGHT_ROWS"), out int rows)) Conv2dDirect.WeightRowsOverride = rows;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_WEIGHT_KERNEL_ROWS"), out int kernelRows)) Conv2dDirect.WeightKernelRowsOverride = kernelRows;
        // STRIATE_BENCH_WEIGHT_GROUPS=0: strided direct weight gradients take one output block per task, not a group (Conv2dDirect.GroupOutBlocks).
        Conv2dDirect.GroupOutBlocks = Environment.GetEnvironmentVariable("STRIATE_BENCH_WEIGHT_GROUPS") != "0";
        // STRIATE_BENCH_STRIDED_WEIGHT=1: strided direct convolutions take the direct weight gradient on AVX2 too, not im2col + GEMM (Conv2dDirect.StridedWeightDirect).
        Conv2dDirect.StridedWeightDirect = Environment.GetEnvironmentVariable("STRIATE_BENCH_STRIDED_WEIGHT") == "1";
        // STRIATE_BENCH_AVX2_PASS_INPUT=0: AVX2 forward passes bounded by their weights only, as AVX-512, not also by 12 KiB of input per tile call (Conv2dDirect.Avx2InputBoundPasses).
        Conv2dDirect.Avx2InputBoundPasses = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_PASS_INPUT") != "0";
        // STRIATE_BENCH_IC_CHUNK=N: input-channel blocks per pass of the forward tiles (Conv2dDirect.IcChunkOverride).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_IC_CHUNK"), out int icChunk)) Conv2dDirect.IcChunkOverride = icChunk;
        // STRIATE_BENCH_PAIR_IMAGES=0: batch-blocked 7×7 maps on AVX-512 as one row × 3 blocks, not image pairs (DirectPlan.PairImages).
        DirectPlan.PairImages = Environment.GetEnvironmentVariable("STRIATE_BENCH_PAIR_IMAGES") != "0";
        // STRIATE_BENCH_TASK_OUTPUT=0: batch-blocked tasks accumulate into a blocked copy of the whole output, not their thread's task-sized scratch.
        Conv2dDirect.TaskOutput = Environment.GetEnvironmentVariable("STRIATE_BENCH_TASK_OUTPUT") != "0";
        // STRIATE_BENCH_DIRECT_LAYOUT=0 (a measurement, wrong outputs): batch-scheduled direct forwards skip their NCHW → blocked pack
        // and the unblocking of their output, so a per-step A/B in the model (bench/steps_b1.py) reads what those passes cost there.
        Conv2dDirect.LayoutPasses = Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_LAYOUT") != "0";
        // STRIATE_BENCH_BLOCKS8_IN_REGISTERS=0: AVX2's 8-channel blocks unblocked (and narrow rows packed) through a stack block (ChannelBlocked.InRegisters8).
        ChannelBlocked.InRegisters8 = Environment.GetEnvironmentVariable("STRIATE_BENCH_BLOCKS8_IN_REGISTERS") != "0";
        // STRIATE_BENCH_PACK_PREFETCH=0: the batch packing does not prefetch each block's source (ChannelBlocked.PrefetchSource).
        ChannelBlocked.PrefetchSource = Environment.GetEnvironmentVariable("STRIATE_BENCH_PACK_PREFETCH") != "0";
        // STRIATE_BENCH_PACK_PREFETCH_PLANE=0: it prefetches the blocks of every plane size, not only planes up to 256 pixels.
        ChannelBlocked.PrefetchMaxPlane = Environment.GetEnvironmentVariable("STRIATE_BENCH_PACK_PREFETCH_PLANE") == "0" ? int.MaxValue : 256;
        // STRIATE_BENCH_PHASE_RUNS=0: the strided input gradient interleaves its phases pixel by pixel (Conv2dDirect.RunInterleave).
        Conv2dDirect.RunInterleave = Environment.GetEnvironmentVariable("STRIATE_BENCH_PHASE_RUNS") != "0";
        // STRIATE_BENCH_PHASE_BORDER=0: the strided input gradient's phase tiles also multiply the taps that read only dy's zero border (Conv2dDirect.PhaseSkipsBorder).
        Conv2dDirect.PhaseSkipsBorder = Environment.GetEnvironmentVariable("STRIATE_BENCH_PHASE_BORDER") != "0";
        // STRIATE_BENCH_PHASE_FUSED=0: it interleaves the phases into a blocked plane and unblocks that, not both in one pass (Conv2dDirect.FusedInterleave).
        Conv2dDirect.FusedInterleave = Environment.GetEnvironmentVariable("STRIATE_BENCH_PHASE_FUSED") != "0";
        // STRIATE_BENCH_PHASE_UNPACK_IN_TASK=0: it unpacks dx in one pass after all phases, not chunk by chunk as each chunk's last phase ends (Conv2dDirect.PhaseUnpackInTask).
        Conv2dDirect.PhaseUnpackInTask = Environment.GetEnvironmentVariable("STRIATE_BENCH_PHASE_UNPACK_IN_TASK") != "0";
        // STRIATE_BENCH_PHASE_L2=BYTES: a strided input-gradient task's output budget in L2 (Conv2dDirect.PhaseSchedule.L2BudgetOverride; 0: half of a ≤ 512 KiB L2, else 1 MiB).
        if (long.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PHASE_L2"), out long phaseL2) && phaseL2 > 0) Conv2dDirect.PhaseSchedule.L2BudgetOverride = phaseL2;
        // STRIATE_BENCH_GATHER=0: the gathered 1×1 (strided downsampling at batch > 1) packs B̃ element by element, strip by
        // strip (GemmImages.VectorGather); STRIATE_BENCH_GATHER_STRIPS=N: strips per pass over the channels (GemmImages.GatherStrips; 0: all).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_GATHER") == "0") GemmImages.VectorGather = false;
        // STRIATE_BENCH_GATHER_PREFETCH=0: that packing does not prefetch the next channel's lines (GemmImages.GatherPrefetch).
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_GATHER_PREFETCH") == "0") GemmImages.GatherPrefetch = false;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_GATHER_STRIPS"), out int gatherStrips) && gatherStrips >= 0) GemmImages.GatherStrips = gatherStrips;
        var text = Environment.GetEnvironmentVariable("STRIATE_BENCH_DIRECT_SCHEDULE");
        if (string.IsNullOrEmpty(text)) return;
        if (text == "perimage") { DirectSchedule.Override = new DirectSchedule(true, 1, 1, 1); return; }
        var parts = text.Split(',').Select(int.Parse).ToArray();
        DirectSchedule.Override = new DirectSchedule(false, parts[0], parts[1], parts.Length > 2 ? parts[2] : 0);
    }

    /// <summary>
    /// All figures at batch 32 (about a minute in total with a fast GEMM on two cores), then, only when a --figures
    /// pattern names them (contains "_b8"), the same shapes at batch <see cref="TrainingBatch"/> (<c>{Name}_b8_fwd</c>, …):
    /// ResNet-50 trains its stride-1 3×3s (64→64 @56, 128→128 @28, 256→256 @14, 512→512 @7) at batch 8.
    /// </summary>
    public static IEnumerable<BenchFigure> Run()
    {
        foreach (var f in Run(Batch, minSeconds: 0.5)) yield return f;
        if (!BenchFilter.Patterns.Any(p => p.Contains($"_b{TrainingBatch}", StringComparison.Ordinal))) yield break;
        foreach (var f in Run(TrainingBatch, minSeconds: 0.5)) yield return f;
    }

    /// <summary>The batch of the figures a run gets only by naming them (tv_resnet50_224_train_b8's batch).</summary>
    public const int TrainingBatch = 8;

    /// <summary>All figures at <paramref name="batch"/>; each timing is the best of at least two runs after a warm-up.</summary>
    public static IEnumerable<BenchFigure> Run(int batch, double minSeconds)
    {
        BenchSwitches.Apply();
        foreach (var shape in Shapes)
        {
            string prefix = $"{shape.Name}_b{batch}";
            if (!BenchFilter.Wants(prefix + "_fwd") && !BenchFilter.Wants(prefix + "_fwdbwd")) continue;
            var g = shape.Geometry(batch);
            var r = new Generator(42);
            var x = Random((int)g.InputLength, r);   // x: [N, Cin, H, W]
            var w = Random((int)g.WeightLength, r);  // w: [Cout, Cin, k, k]
            var y = new float[g.OutputLength];       // y: [N, Cout, Hout, Wout]
            var dy = Random((int)g.OutputLength, r); // dy: [N, Cout, Hout, Wout]
            var dx = new float[g.InputLength];       // dx: [N, Cin, H, W]
            var dw = new float[g.WeightLength];      // dW: [Cout, Cin, k, k]

            var forced = ForcedAlgorithm;
            if (forced != null && forced != Conv2dKernels.Choose(g)) Console.Error.WriteLine($"{prefix}: forced {forced} (would choose {Conv2dKernels.Choose(g)})");
            var width = Conv2dDirect.BestWidth;
            if (Environment.GetEnvironmentVariable("STRIATE_BENCH_VERBOSE") == "1") Describe(prefix, g, width);
            void Forward()
            {
                if (forced is { } a) Conv2dKernels.Forward(g, a, width, x, w, default, y, default);
                else Conv2dKernels.Forward(g, x, w, default, y);
            }
            double fwd = BenchTimer.BestSeconds(Forward, minSeconds, minRuns: 2);
            yield return new BenchFigure($"{prefix}_fwd", g.ForwardFlops / fwd / 1e9, "GFLOPS");

            double all = BenchTimer.BestSeconds(() =>
            {
                Forward();
                if (forced is { } a)
                {
                    Conv2dKernels.BackwardData(g, a, width, dy, w, dx);
                    Conv2dKernels.BackwardWeight(g, a, width, x, dy, dw);
                }
                else
                {
                    Conv2dKernels.BackwardData(g, dy, w, dx);
                    Conv2dKernels.BackwardWeight(g, x, dy, dw);
                }
            }, minSeconds, minRuns: 2);
            yield return new BenchFigure($"{prefix}_fwdbwd", 3 * g.ForwardFlops / all / 1e9, "GFLOPS");
            if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PASSES") != "1") continue;
            // Each gradient alone (STRIATE_BENCH_PASSES=1), to see which pass limits a shape's fwdbwd figure.
            double data = BenchTimer.BestSeconds(() =>
            {
                if (forced is { } a) Conv2dKernels.BackwardData(g, a, width, dy, w, dx);
                else Conv2dKernels.BackwardData(g, dy, w, dx);
            }, minSeconds, minRuns: 2);
            yield return new BenchFigure($"{prefix}_bwddata", g.ForwardFlops / data / 1e9, "GFLOPS");
            double weight = BenchTimer.BestSeconds(() =>
            {
                if (forced is { } a) Conv2dKernels.BackwardWeight(g, a, width, x, dy, dw);
                else Conv2dKernels.BackwardWeight(g, x, dy, dw);
            }, minSeconds, minRuns: 2);
            yield return new BenchFigure($"{prefix}_bwdweight", g.ForwardFlops / weight / 1e9, "GFLOPS");
            if (ReorderSeconds(g, w, width, minSeconds) is { } reorder)
                yield return new BenchFigure($"{prefix}_bwddata_reorder", reorder * 1e6, "µs");
            foreach (var f in ForwardPhases(prefix, g, x, w, y, width, minSeconds)) yield return f;
        }
    }

    /// <summary>
    /// The direct forward's phases (STRIATE_BENCH_PASSES=1): the forward with its blocked weights kept
    /// (<see cref="TransformedWeights"/> hit: no reorder), the weight reorder alone and the batch's packing alone, to see
    /// what the per-call work around the tiles costs. Nothing when the shape's forward is not direct.
    /// </summary>
    private static IEnumerable<BenchFigure> ForwardPhases(string prefix, Conv2dGeometry g, float[] x, float[] w, float[] y, GemmPath width, double minSeconds)
    {
        if (Conv2dKernels.Choose(g) != Conv2dAlgorithm.Direct || Conv2dDirect.TakesPixels(g)) yield break;
        var key = new WeightKey(w, 1);
        double keyed = BenchTimer.BestSeconds(() => Conv2dKernels.Forward(g, x, w, default, y, default, key), minSeconds, minRuns: 2);
        yield return new BenchFigure($"{prefix}_fwd_keyed", g.ForwardFlops / keyed / 1e9, "GFLOPS");
        var plan = DirectPlan.For(g, Conv2dDirect.VectorLength(width));
        var wb = new float[plan.WeightLength(g)];
        double reorder = BenchTimer.BestSeconds(() => Reorder(g, plan, w, wb), minSeconds, minRuns: 2);
        yield return new BenchFigure($"{prefix}_fwd_reorder", reorder * 1e6, "µs");
        var shape = new BlockedShape(g.Batch, g.InChannels, g.InHeight, g.InWidth, plan.V, g.PadH, g.PadW);
        var xb = new float[shape.Length];
        double pack = BenchTimer.BestSeconds(() => Pack(x, shape, xb), minSeconds, minRuns: 2);
        yield return new BenchFigure($"{prefix}_fwd_pack", pack * 1e6, "µs");
    }

    private static unsafe void Reorder(in Conv2dGeometry g, in DirectPlan plan, float[] w, float[] wb)
    {
        fixed (float* pw = w, pd = wb) Conv2dDirect.ReorderWeights(g, plan, false, pw, pd);
    }

    private static unsafe void Pack(float[] x, in BlockedShape shape, float[] xb)
    {
        fixed (float* px = x, pd = xb) ChannelBlocked.Pack(px, shape, pd);
    }

    /// <summary>
    /// The direct input gradient's weight reorder alone (done on every training call): the flipped blocks of the stride-1
    /// form or the phase blocks of the strided form. Null when the shape's input gradient is not direct.
    /// </summary>
    private static unsafe double? ReorderSeconds(in Conv2dGeometry g, float[] w, GemmPath width, double minSeconds)
    {
        if (Conv2dKernels.Choose(g) != Conv2dAlgorithm.Direct) return null;
        int v = Conv2dDirect.VectorLength(width);
        var geometry = g;
        if (Conv2dDirect.SupportsBackwardData(g))
        {
            var full = Conv2dDirect.TransposedGeometry(g);
            var plan = DirectPlan.For(full, v);
            var dst = new float[plan.WeightLength(full)];
            return BenchTimer.BestSeconds(() => { fixed (float* pw = w, pd = dst) Conv2dDirect.ReorderWeights(full, plan, true, pw, pd); }, minSeconds, minRuns: 2);
        }
        if (Conv2dDirect.SupportsStridedBackwardData(g))
        {
            var plan = new Conv2dDirect.PhasePlan(g, v);
            var dst = new float[plan.WeightLength];
            return BenchTimer.BestSeconds(() => { fixed (float* pw = w, pd = dst) Conv2dDirect.ReorderPhaseWeights(geometry, plan, pw, pd); }, minSeconds, minRuns: 2);
        }
        return null;
    }

    /// <summary>Which algorithms and direct schedules a shape takes (STRIATE_BENCH_VERBOSE=1), on stderr.</summary>
    private static void Describe(string prefix, in Conv2dGeometry g, GemmPath width)
    {
        var line = $"{prefix}: forward {Conv2dKernels.Choose(g)}, weight gradient {Conv2dKernels.ChooseBackwardWeight(g)}";
        if (Conv2dKernels.Choose(g) == Conv2dAlgorithm.Direct)
        {
            int v = Conv2dDirect.VectorLength(width);
            var plan = DirectPlan.For(g, v);
            line += $"; forward {plan} {DirectSchedule.For(g, plan, KernelThreads.Count)}";
            if (Conv2dDirect.SupportsBackwardData(g))
            {
                var t = Conv2dDirect.TransposedGeometry(g);
                var tp = DirectPlan.For(t, v);
                line += $"; input gradient {tp} {DirectSchedule.For(t, tp, KernelThreads.Count)}";
            }
            else if (Conv2dDirect.SupportsStridedBackwardData(g))
            {
                var pp = new Conv2dDirect.PhasePlan(g, v);
                line += $"; input gradient {pp.Phases} phases of {pp.GroupBlocks} blocks, {Conv2dDirect.PhaseSchedule.For(g, pp, KernelThreads.Count)}";
            }
        }
        Console.Error.WriteLine(line);
    }

    private static float[] Random(int length, Generator r)
    {
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = r.NextFloat() * 2 - 1;
        return a;
    }
}
