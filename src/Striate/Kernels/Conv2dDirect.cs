using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// How the direct kernel tiles one convolution's output for vectors of V floats: tiles of R columns × Rows rows ×
/// GroupBlocks blocks of V output channels (<see cref="Conv2dDirectTile{TS, TV, TR, TRows, TO, TStride}"/>), and
/// the blocked weight layout that goes with it ([groups][ICB][kH][kW][V (ic)][GroupBlocks·V (oc)]). A row's column
/// tiles are R pixels wide but the last, which takes the rest; or, with <see cref="WideTiles"/> > 0, the first
/// WideTiles are R wide and the others R − 1 (<see cref="NarrowFrom"/>, <see cref="NarrowWidth"/>).
/// </summary>
internal readonly record struct DirectPlan(int V, int R, int Rows, int GroupBlocks, bool ImagePairs = false, int WideTiles = 0, bool SharedTaps = false)
{
    /// <summary>
    /// The tile for <paramref name="g"/> (<see cref="InImage"/>), except that batch-blocked 5–7-pixel rows on AVX-512
    /// take image pairs: the same row of two images × 2 blocks (<see cref="ImagePairs"/>, 28 accumulators).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DirectPlan For(in Conv2dGeometry g, int v)
    {
        var plan = InImage(g, v);
        // One row × 3 blocks (21 accumulators, 3 weight loads + 7 broadcasts per 21 FMAs) left a quarter of the
        // registers idle, and 512 channels made 10 groups of 3 blocks and one of 2. Two images' rows × 2 blocks fill 28
        // accumulators (2 + 14 loads per 28 FMAs) in 16 even groups and, unlike two rows of one image (the batch-1
        // plan), keep leaving out the kernel rows that read only the top or bottom border. Only where the schedule
        // blocks the batch with several images per task: the two images must lie side by side in the blocked batch.
        // The tile holds at most 14 pixels: rows of 5–7 pixels only.
        if (PairImages && v == 16 && plan.Rows == 1 && plan.GroupBlocks == 3 && plan.R == g.OutWidth && plan.R <= 7 && g.Batch >= 2)
        {
            var s = DirectSchedule.For(g, plan, KernelThreads.Count);
            if (!s.PerImage && s.Images >= 2) return new DirectPlan(v, plan.R, 2, 2, ImagePairs: true);
        }
        if (v == 8 && SharedTapsAvx2 && SharesTaps(g)) plan = TapRows(g);
        else if (v == 8 && SharesTapsStride2(g)) plan = TapRowsStride2(g);
        return v == 8 && EvenColumnsAvx2 && (plan.Rows == 1 || plan.SharedTaps) && g.OutWidth > 8 ? plan.WithEvenColumns(g) : plan;
    }

    /// <summary>
    /// Whether <paramref name="g"/> takes <see cref="Conv2dDirectTapRowTile{TS, TV, TR}"/> on AVX2: stride-1 undilated
    /// rows of three taps, at least 16 pixels wide (tiles of 8 or more pixels: fewer than 8 accumulators leave FMA slots
    /// idle, and each accumulator takes its three taps one after another); or 13–15 pixels wide with at least two output
    /// rows, which take two rows at once (<see cref="Conv2dDirectTapRowsTile{TS, TV, TR}"/>, <see cref="SharedTapTwoRowsAvx2"/>).
    /// Any batch (batch 1 only with <see cref="SharedTapsBatchedAvx2"/> off): each image's rows run the same tiles.
    /// </summary>
    internal static bool SharesTaps(in Conv2dGeometry g) =>
        (g.Batch == 1 || SharedTapsBatchedAvx2) && g.Groups == 1 && g.KernelWidth == 3 && g.StrideW == 1 && g.DilationW == 1
        && (g.OutWidth >= 16 || (SharedTapTwoRowsAvx2 && g.OutWidth >= 13 && g.OutHeight >= 2));

    /// <summary>
    /// For benchmarks: whether AVX2 batch-1 13–15-pixel rows (14×14, 13×13 maps) take two rows × ⌈ow/3⌉ pixels of the
    /// shared-tap tile (else the 6 × 2 / 5 × 2 tiles): 3 + 2(R + 2) loads per 6R FMAs (R = 5: 0.57, the 6 × 2 tile 0.67)
    /// in 10 accumulators (a one-row tile of 7 pixels had 7 and ran slower). STRIATE_BENCH_AVX2_SHARED_TAP_ROWS=0.
    /// </summary>
    internal static bool SharedTapTwoRowsAvx2 = true;

    /// <summary>
    /// For benchmarks: whether batches of more than one image take the shared-tap tiles too (else batch 1 only); only the
    /// loads per FMA change. Zen 3, AVX2 only, in-process A/B with an A/A arm (bench/RESULTS.md 2026-12-07, conv14): b32
    /// forward 256→256 @14 1.35, 64→64 @56 1.36, 128→128 @28 1.03; forward + backward 1.22 / 1.20 / 1.18.
    /// STRIATE_BENCH_AVX2_SHARED_TAPS_BATCH=0.
    /// </summary>
    internal static bool SharedTapsBatchedAvx2 = true;

    /// <summary>
    /// The AVX2 plan of <see cref="Conv2dDirectTapRowTile{TS, TV, TR}"/>: rows cut into ⌈ow/12⌉ tiles of up to 12 pixels
    /// × one block (R = 12 loads 17 operands per 36 FMAs; the 6 × 2 tile 24, 4 × 3 21), the blocked weights in groups of one
    /// block. VGG-11's 56-pixel rows: 12, 11, 11, 11, 11 (with <see cref="WithEvenColumns"/>); 28: 10, 9, 9; 112: 12, 12, 11 × 8.
    /// Rows of 13–15 pixels: two rows × three tiles (14: 5, 5, 4; 13: 5, 4, 4; 15: 5, 5, 5), a last odd row one row of them.
    /// </summary>
    internal static DirectPlan TapRows(in Conv2dGeometry g)
    {
        if (g.OutWidth < 16)
        {
            int narrow = (g.OutWidth + 5) / 6;
            return new DirectPlan(8, (g.OutWidth + narrow - 1) / narrow, 2, 1, SharedTaps: true);
        }
        int tiles = (g.OutWidth + 11) / 12;
        return new DirectPlan(8, (g.OutWidth + tiles - 1) / tiles, 1, 1, SharedTaps: true);
    }

    /// <summary>For benchmarks: whether AVX2 batch-1 stride-1 3-tap rows take <see cref="Conv2dDirectTapRowTile{TS, TV, TR}"/> (else the 6 × 2 / 4 × 3 tiles).</summary>
    internal static bool SharedTapsAvx2 = true;

    /// <summary>
    /// Whether <paramref name="g"/> takes <see cref="Conv2dDirectTapRowStride2Tile{TS, TV, TR}"/> on AVX2: batch 1,
    /// stride-2 undilated rows of three taps at least <see cref="SharedTapsStride2MinWidthAvx2"/> pixels wide (0: none).
    /// </summary>
    internal static bool SharesTapsStride2(in Conv2dGeometry g) =>
        SharedTapsStride2MinWidthAvx2 > 0 && g.Batch == 1 && g.Groups == 1 && g.KernelWidth == 3 && g.StrideW == 2 && g.DilationW == 1
        && g.OutWidth >= SharedTapsStride2MinWidthAvx2;

    /// <summary>
    /// The AVX2 plan of <see cref="Conv2dDirectTapRowStride2Tile{TS, TV, TR}"/>: rows cut into ⌈ow/12⌉ tiles of up to 12
    /// pixels × one block (with <see cref="WithEvenColumns"/>: 28 → 10, 9, 9; 14 → 7, 7; 7 → 7), weights in groups of one block.
    /// </summary>
    internal static DirectPlan TapRowsStride2(in Conv2dGeometry g)
    {
        int tiles = (g.OutWidth + 11) / 12;
        return new DirectPlan(8, (g.OutWidth + tiles - 1) / tiles, 1, 1, SharedTaps: true);
    }

    /// <summary>
    /// AVX2 batch-1 stride-2 3-tap rows of at least this many output pixels take the shared-tap stride-2 tile
    /// (<see cref="SharesTapsStride2"/>); 0: none (the 6 × 2 / 4 × 3 tiles). 16: ResNet's stride-2 3×3s on 56×56 inputs
    /// (28-pixel rows: 10, 9, 9). In the model (Zen 3, AVX2 only; bench/RESULTS.md 2026-12-07 16:22–16:32, steps_b1 --procs
    /// 3, 100 rounds each way) every stride-2 row on, per step: ResNet-18 layer2.0.conv1 (64→128) −0.10 / −0.10 ms, ResNet-50
    /// layer2.0.conv2 (128→128) −0.24 / −0.27 (CIs leave out 0); the 14- and 7-pixel rows (@28, @14) moved −0.09…+0.07 ms
    /// with signs that flip between orientations, so they keep the 6 × 2 / 4 × 3 tiles. STRIATE_BENCH_AVX2_SHARED_TAPS_S2=N.
    /// </summary>
    internal static int SharedTapsStride2MinWidthAvx2 = 16;

    /// <summary>
    /// The same tiles with a row split as evenly as R allows: R-pixel tiles first, then (R − 1)-pixel ones, where the
    /// usual split would leave a last tile narrower than R − 1. On AVX2 a narrow last tile leaves FMA slots idle (two
    /// pipes × 4 cycles of latency want 8 independent accumulators): VGG-11's 56-pixel rows were 9 tiles of 6 pixels
    /// × 2 blocks and one of 2 (4 accumulators, half the FMA rate), now 6 of 6 and 4 of 5 (10 each); 28-pixel rows
    /// 6,6,6,6,4 → 6,6,6,5,5; AlexNet's 13-pixel rows 5,5,3 → 5,4,4. The number of tiles and their work stay the same.
    /// </summary>
    internal DirectPlan WithEvenColumns(in Conv2dGeometry g)
    {
        int tiles = ColumnTiles(g), rest = g.OutWidth - (tiles - 1) * R;
        if (tiles < 2 || R < 2 || rest >= R - 1) return this;
        return this with { WideTiles = g.OutWidth - tiles * (R - 1) }; // ≥ 1 since R = ⌈OutWidth / tiles⌉; < tiles since rest < R − 1
    }

    /// <summary>For benchmarks: whether AVX2 rows wider than 8 split into tiles of R and R − 1 pixels (else R and the rest).</summary>
    internal static bool EvenColumnsAvx2 = true;

    /// <summary>The first column tile of the narrow kind (R − 1 pixels, or the rest of the row after tiles of R).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int NarrowFrom(in Conv2dGeometry g) => WideTiles > 0 ? WideTiles : ColumnTiles(g) - 1;

    /// <summary>Pixels of a narrow column tile (<see cref="NarrowFrom"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int NarrowWidth(in Conv2dGeometry g) => WideTiles > 0 ? R - 1 : g.OutWidth - (ColumnTiles(g) - 1) * R;

    /// <summary>The first output column of column tile <paramref name="c"/> (tiles before <paramref name="narrowFrom"/> are R wide, the others narrow).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ColumnStart(int c, int narrowFrom) => c * R - Math.Max(0, c - narrowFrom);

    /// <summary>For benchmarks: whether batch-blocked 5–7-wide maps at V = 16 pair images (else one row × 3 blocks).</summary>
    internal static bool PairImages = true;

    /// <summary>Rows of one image a tile spans (image pairs: one row of each image).</summary>
    public int ImageRows => ImagePairs ? 1 : Rows;

    /// <summary>
    /// The tile of one image's rows for <paramref name="g"/> (the strided input gradient's phases take this one): AVX-512 (V = 16) has 28 accumulators to fill, AVX2 (V = 8) 12. Wide rows take
    /// up to 14 (6) pixels × 2 blocks, split evenly (the last tile of a row may be a little narrower; AVX2 takes 4 × 3
    /// where that leaves fewer FMA slots idle, as on 56-pixel rows); 5–9-pixel rows
    /// (7×7 maps) one row × 3 blocks on AVX-512 (two rows × 2 blocks at batch 1), two tiles of half a row × 3 blocks on
    /// AVX2; tinier maps several rows at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DirectPlan InImage(in Conv2dGeometry g, int v)
    {
        int ow = g.OutWidth, oh = g.OutHeight;
        int maxRow = v == 16 ? 14 : 6;
        int outBlocks = (g.OutChannels + v - 1) / v;
        int r, rows = 1, blocks;
        // At batch 1 the threads split output channels only: 5–7-pixel rows (7×7 maps) take 2 rows × 2 blocks, so that
        // ResNet's 512 channels make 16 groups (8 per thread on two) rather than 11 groups of 3 blocks (6 + 5). At larger
        // batches images balance the threads, and 1 row × 3 blocks (fewer loads per FMA) ran ~5 % faster.
        if (v == 16 && ow >= 5 && ow <= 7 && oh >= 2 && g.Batch == 1 && StackSmallMaps) { r = ow; rows = 2; blocks = 2; }
        else if (v == 16 && ow >= 5 && ow <= 9) { r = ow; blocks = 3; }
        // AVX2, 5–8-pixel rows (7×7 maps): two tiles of ⌈ow/2⌉ ≤ 4 pixels × 3 blocks (12 accumulators, 3 weight loads and
        // 4 broadcasts per 12 FMAs) instead of ⌈ow/2⌉ × 2 blocks (8 FMAs per 6 loads, too few chains to cover FMA latency),
        // except where groups of 2 keep the busiest thread shorter (Avx2NarrowBlocks: four blocks).
        else if (v == 8 && ow >= 5 && ow <= 8 && ThreeBlocksAvx2) { r = (ow + 1) / 2; blocks = Avx2NarrowBlocks(ow, outBlocks, KernelThreads.Count); }
        // AVX2 rows wider than 8: 6 pixels × 2 blocks, or 4 pixels × 3 blocks where that wastes fewer FMA slots
        // (Avx2WideTileCost): a 56-pixel row is 9 tiles of 6 and one of 2 (4 chains: half speed), but 14 tiles of 4.
        else if (v == 8 && ow > 8 && FourByThreeAvx2 && Avx2TakesFourByThree(ow, outBlocks, KernelThreads.Count))
        {
            int tiles = (ow + 3) / 4;
            r = (ow + tiles - 1) / tiles;
            blocks = 3;
        }
        else if (ow > maxRow / 2 || (v == 16 && ow >= 5))
        {
            int tiles = (ow + maxRow - 1) / maxRow;
            r = (ow + tiles - 1) / tiles;
            blocks = 2;
        }
        else
        {
            // Rows narrower than half a tile: stack rows (up to 4) while the pixels × blocks fit the accumulators.
            blocks = v == 16 ? 3 : 2;
            int pixels = (v == 16 ? 28 : 12) / blocks;
            r = ow;
            rows = Math.Clamp(pixels / ow, 1, Math.Min(4, oh));
        }
        return new DirectPlan(v, r, rows, Math.Min(blocks, outBlocks));
    }

    /// <summary>
    /// FMA slots one output row takes on AVX2 with tiles of up to <paramref name="maxR"/> pixels × <paramref name="o"/>
    /// blocks (the row split evenly as the plan splits it, the last group of blocks possibly smaller): a tile of r
    /// pixels × b blocks costs r·b slots per step, and at least 8 — fewer chains than two FMA pipes × 4 cycles of
    /// latency leave slots idle.
    /// </summary>
    internal static long Avx2WideTileCost(int ow, int outBlocks, int maxR, int o)
    {
        int tiles = (ow + maxR - 1) / maxR, r = (ow + tiles - 1) / tiles, rEdge = ow - (tiles - 1) * r;
        int groups = (outBlocks + o - 1) / o, oEdge = outBlocks - (groups - 1) * o;
        long Group(int blocks) => (long)(tiles - 1) * Math.Max(r * blocks, 8) + Math.Max(rEdge * blocks, 8);
        return (groups - 1) * Group(o) + Group(oEdge);
    }

    /// <summary>
    /// Whether AVX2 rows of <paramref name="ow"/> pixels with <paramref name="outBlocks"/> output blocks take 4 × 3 tiles:
    /// where they leave fewer FMA slots idle (<see cref="Avx2WideTileCost"/>), and their groups of blocks still share
    /// out evenly over the threads. Large calls make one task per group: VGG-11's 256 channels on 56×56 would be 11
    /// groups (10 of 3 blocks, 1 of 2) on two threads, 6 rounds of 3 blocks for 32 blocks, and ran 4–8 % slower at batch 1
    /// than 16 groups of 2 (03:49 window); few groups (ResNet's 64 channels: 3) are split by rows instead.
    /// </summary>
    internal static bool Avx2TakesFourByThree(int ow, int outBlocks, int threads)
    {
        int groups = (outBlocks + 2) / 3;
        return Avx2WideTileCost(ow, outBlocks, 4, 3) < Avx2WideTileCost(ow, outBlocks, 6, 2)
            && (groups % threads == 0 || groups < 2 * threads);
    }

    /// <summary>
    /// Blocks per group on AVX2's 5–8-pixel rows (tiles of ⌈ow/2⌉ and ⌊ow/2⌋ pixels): 3, or 2 where that leaves the
    /// busiest of <paramref name="threads"/> threads fewer FMA slots (<see cref="Avx2NarrowCost"/>). DenseNet-121's 32
    /// output channels (four blocks) made a group of 3 and a group of 1 (4 and 3 chains: latency-bound), one per
    /// thread, so one thread ran 21 slots per step while two groups of 2 take 16 each; ResNet's 64 blocks keep 3.
    /// </summary>
    internal static int Avx2NarrowBlocks(int ow, int outBlocks, int threads) =>
        TwoBlocksWhereShorterAvx2 && Avx2NarrowCost(ow, outBlocks, 2, threads) < Avx2NarrowCost(ow, outBlocks, 3, threads) ? 2 : 3;

    /// <summary>For benchmarks: whether AVX2's 5–8-pixel rows take groups of 2 blocks where <see cref="Avx2NarrowBlocks"/> finds them shorter (else always 3).</summary>
    internal static bool TwoBlocksWhereShorterAvx2 = true;

    /// <summary>
    /// FMA slots per step of the busiest thread on AVX2 rows of <paramref name="ow"/> ≤ 8 pixels, <paramref name="outBlocks"/>
    /// blocks in groups of <paramref name="o"/> (the last possibly smaller), the groups shared out in contiguous chunks
    /// as the batch-1 schedule does: a tile of r pixels × b blocks costs max(r·b, 8) slots (fewer chains than two FMA
    /// pipes × 4 cycles of latency leave slots idle).
    /// </summary>
    internal static long Avx2NarrowCost(int ow, int outBlocks, int o, int threads)
    {
        int r = (ow + 1) / 2, rEdge = ow - r;
        int groups = (outBlocks + o - 1) / o, perThread = (groups + threads - 1) / threads;
        long busiest = 0;
        for (int g0 = 0; g0 < groups; g0 += perThread)
        {
            long slots = 0;
            for (int grp = g0; grp < Math.Min(groups, g0 + perThread); grp++)
            {
                int b = Math.Min(o, outBlocks - grp * o);
                slots += Math.Max(r * b, 8) + (rEdge > 0 ? Math.Max(rEdge * b, 8) : 0);
            }
            busiest = Math.Max(busiest, slots);
        }
        return busiest;
    }

    /// <summary>For benchmarks: whether AVX2 rows wider than 8 may take 4 pixels × 3 blocks (else always 6 × 2).</summary>
    internal static bool FourByThreeAvx2 = true;

    /// <summary>For benchmarks: whether 5–7-wide maps at V = 16 take two rows × 2 blocks (else one row × 3 blocks).</summary>
    internal static bool StackSmallMaps = true;

    /// <summary>For benchmarks: whether 5–8-wide maps at V = 8 take ⌈ow/2⌉ pixels × 3 blocks (else × 2).</summary>
    internal static bool ThreeBlocksAvx2 = true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ColumnTiles(in Conv2dGeometry g) => (g.OutWidth + R - 1) / R;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int RowTiles(in Conv2dGeometry g) => (g.OutHeight + ImageRows - 1) / ImageRows;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int OutBlocks(in Conv2dGeometry g) => (g.OutChannels + V - 1) / V;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Groups(in Conv2dGeometry g) => (OutBlocks(g) + GroupBlocks - 1) / GroupBlocks;

    /// <summary>Floats of the blocked weights of <paramref name="g"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long WeightLength(in Conv2dGeometry g) =>
        (long)Groups(g) * ((g.InChannels + V - 1) / V) * g.KernelHeight * g.KernelWidth * V * GroupBlocks * V;
}

/// <summary>
/// Direct convolution on channel-blocked activations (<see cref="BlockedShape"/>, V = 16 on AVX-512, 8 on AVX2), as
/// oneDNN's direct kernels do it: no im2col matrix, the input is read where it lies, and each output tile is
/// accumulated in registers (<see cref="Conv2dDirectTile{TS, TV, TR, TRows, TO, TStride}"/>) over all input channels
/// and taps. NCHW tensors are converted at the boundary (<see cref="ChannelBlocked"/>), which also applies the
/// epilogue. The input gradient of a stride-1 convolution is the same kernel run on the output gradient with the
/// weights transposed and flipped (a "full" convolution).
/// Shapes: as <see cref="Conv2dGeometry"/>; blocked weights as <see cref="DirectPlan"/>.
/// </summary>
internal static unsafe partial class Conv2dDirect
{
    /// <summary>The widest vector this process runs the direct path with (Scalar: none).</summary>
    public static readonly GemmPath BestWidth =
        Simd512.IsSupported ? GemmPath.Vector512 : Simd256.IsSupported ? GemmPath.Vector256 : GemmPath.Scalar;

    /// <summary>Whether <paramref name="width"/> runs the direct path in this process.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool IsSupported(GemmPath width) => width switch
    {
        GemmPath.Vector512 => Simd512.IsSupported,
        GemmPath.Vector256 => Simd256.IsSupported,
        _ => false,
    };

    /// <summary>Floats per vector (block size) of <paramref name="width"/>.</summary>
    public static int VectorLength(GemmPath width) => width == GemmPath.Vector512 ? 16 : 8;

    /// <summary>Whether the forward pass of <paramref name="g"/> fits the direct kernel (no groups, column stride 1 or 2; any stride the pixel-input path takes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Supports(in Conv2dGeometry g) => g.Groups == 1 && (g.StrideW is 1 or 2 || TakesPixels(g));

    /// <summary>Whether the input gradient of <paramref name="g"/> is a direct convolution (stride 1, padding ≤ dilation·(k − 1)).</summary>
    public static bool SupportsBackwardData(in Conv2dGeometry g) =>
        g.Groups == 1 && g.StrideH == 1 && g.StrideW == 1 && FullPad(g.KernelHeight, g.DilationH, g.PadH) >= 0 && FullPad(g.KernelWidth, g.DilationW, g.PadW) >= 0;

    private static int FullPad(int k, int dilation, int pad) => dilation * (k - 1) - pad;

    /// <summary>The stride-1 convolution whose forward is the input gradient of <paramref name="g"/>.</summary>
    public static Conv2dGeometry TransposedGeometry(in Conv2dGeometry g) => new(
        g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.KernelHeight, g.KernelWidth, 1, 1,
        FullPad(g.KernelHeight, g.DilationH, g.PadH), FullPad(g.KernelWidth, g.DilationW, g.PadW), g.DilationH, g.DilationW);

    /// <summary>
    /// Blocked weights for the forward kernel of <paramref name="g"/> under <paramref name="plan"/>:
    /// dst[grp][icb][kh][kw][ic][oc] = w[grp·B·V + oc, icb·V + ic, kh, kw] (B = plan.GroupBlocks), zero past the real
    /// channels. <paramref name="w"/> is [Cout, Cin, kH, kW] of <paramref name="g"/>, or, with
    /// <paramref name="transposeFlip"/>, the weights of the convolution whose input gradient <paramref name="g"/> is:
    /// [Cin, Cout, kH, kW] read with input and output channels swapped and the taps mirrored.
    /// </summary>
    public static void ReorderWeights(in Conv2dGeometry g, in DirectPlan plan, bool transposeFlip, float* w, float* dst)
        => Reorder(g, plan, transposeFlip, w, dst, plain: false);

    /// <summary>The plain twin of <see cref="ReorderWeights"/>: element by element.</summary>
    internal static void ReorderWeightsReference(in Conv2dGeometry g, in DirectPlan plan, bool transposeFlip, float* w, float* dst)
        => Reorder(g, plan, transposeFlip, w, dst, plain: true);

    private static void Reorder(in Conv2dGeometry g, in DirectPlan plan, bool transposeFlip, float* w, float* dst, bool plain)
    {
        int v = plan.V, width = plan.GroupBlocks * v, taps = g.KernelHeight * g.KernelWidth;
        int groups = plan.Groups(g), icBlocks = (g.InChannels + v - 1) / v;
        long tapStride = (long)v * width; // floats from one tap to the next in dst
        var body = new ReorderBody { G = g, V = v, Width = width, Taps = taps, IcBlocks = icBlocks, TapStride = tapStride, Flip = transposeFlip, Plain = plain, W = w, Dst = dst };
        Conv2dKernels.RunParallel(groups * icBlocks, plan.WeightLength(g), ref body);
    }

    private struct ReorderBody : IParallelBody
    {
        public Conv2dGeometry G;
        public int V, Width, Taps, IcBlocks;
        public long TapStride;
        public bool Flip, Plain;
        public float* W, Dst;

        public readonly void Invoke(int index)
        {
            int grp = index / IcBlocks, icb = index % IcBlocks, v = V, taps = Taps;
            float* block = Dst + (long)index * taps * TapStride; // [kH·kW][V (ic)][Width (oc)]
            if (!Plain && !Flip && TransposedBlocks(grp, icb, block)) return;
            if (!Plain && Flip && FlippedBlocks(grp, icb, block)) return;
            for (int oc = 0; oc < Width; oc++)
            for (int ic = 0; ic < v; ic++)
            {
                int o = grp * Width + oc, c = icb * v + ic;
                float* d = block + ic * Width + oc;
                if (o >= G.OutChannels || c >= G.InChannels)
                {
                    for (int t = 0; t < taps; t++) d[t * TapStride] = 0;
                    continue;
                }
                // The kH·kW taps of one (output, input) channel pair are contiguous in the source.
                if (!Flip)
                {
                    float* src = W + ((long)o * G.InChannels + c) * taps;
                    for (int t = 0; t < taps; t++) d[t * TapStride] = src[t];
                }
                else
                {
                    float* src = W + ((long)c * G.OutChannels + o) * taps; // w[c, o] of the original convolution
                    for (int t = 0; t < taps; t++) d[t * TapStride] = src[taps - 1 - t];
                }
            }
        }

        /// <summary>
        /// A block of whole channels (no zero fill) of the flipped (input-gradient) form, one tap at a time: for each input
        /// channel of the block the source w[c, o0 .. o0+Width, taps] is contiguous, so tap t's row of Width output
        /// channels is read at stride kH·kW from there and written as one sequential run. The element-by-element loop
        /// stored each channel pair's kH·kW taps TapStride apart, scattered over the whole block. False when the block has
        /// channels past the real ones.
        /// </summary>
        private readonly bool FlippedBlocks(int grp, int icb, float* block)
        {
            int v = V, taps = Taps, width = Width, o0 = grp * width, c0 = icb * v;
            if (c0 + v > G.InChannels || o0 + width > G.OutChannels) return false;
            for (int ic = 0; ic < v; ic++)
            {
                float* src = W + ((long)(c0 + ic) * G.OutChannels + o0) * taps; // w[c, o0 ..]: [Width][kH·kW] of the original convolution
                for (int t = 0; t < taps; t++)
                {
                    float* s = src + (taps - 1 - t), d = block + t * TapStride + ic * width;
                    for (int oc = 0; oc < width; oc++, s += taps) d[oc] = *s;
                }
            }
            return true;
        }

        /// <summary>
        /// A block of whole channels (no zero fill) reordered V × V at a time: the source rows of V output channels are
        /// [V (ic) · taps] contiguous floats each, so one transpose of V rows × V of those floats gives V vectors, each the
        /// V output channels of one (ic, tap), stored whole into block[tap][ic]. The element-by-element form (scattered
        /// stores kH·kW·V·Width floats apart) took 4 % of conv3x3_512_512_7's forward, which reorders 2.4 M floats per
        /// call in training. False (nothing written) when this ISA has no transpose for V.
        /// </summary>
        private readonly bool TransposedBlocks(int grp, int icb, float* block)
        {
            int v = V, taps = Taps, o0 = grp * Width, c0 = icb * v;
            if (c0 + v > G.InChannels || o0 + Width > G.OutChannels) return false;
            long rowStride = (long)G.InChannels * taps; // w: [Cout][Cin·taps]
            float* tile = stackalloc float[v * v];      // [V (ic, tap) columns][V output channels]
            for (int ob = 0; ob < Width; ob += v)
            {
                float* rows = W + (o0 + ob) * rowStride + (long)c0 * taps; // [V oc][V·taps (ic, tap)]
                for (int j0 = 0; j0 < v * taps; j0 += v)
                {
                    if (!Transpose.TryBlock(v, rows + j0, (nint)rowStride, tile, v)) return false;
                    for (int j = 0; j < v; j++)
                    {
                        int ic = (j0 + j) / taps, t = (j0 + j) % taps;
                        float* d = block + t * TapStride + ic * Width + ob;
                        if (v == 16) Vector512.Store(Vector512.Load(tile + j * v), d);
                        else Vector256.Store(Vector256.Load(tile + j * v), d);
                    }
                }
            }
            return true;
        }
    }

    /// <summary>
    /// y [N, Cout, Hout, Wout] = act(conv(x, w) + bias + residual); bias and residual may be null. With a
    /// <paramref name="weightKey"/> the blocked weights come from <see cref="TransformedWeights"/> (reordered only when
    /// the weight changed); without one they are reordered into the calling thread's scratch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(GemmPath width, in Conv2dGeometry g, float* x, float* w, float* bias, float* residual, bool relu, float* y, WeightKey? weightKey = null)
    {
        if (TakesPixels(g))
        {
            ForwardPixels(width, g, x, w, bias, residual, relu, y, weightKey);
            return;
        }
        var plan = DirectPlan.For(g, VectorLength(width));
        float* wb = BlockedWeights(g, plan, WeightTransformKind.DirectForward, w, weightKey, out var holder);
        ForwardBlockedWeights(width, g, plan, x, wb, bias, residual, relu, y);
        GC.KeepAlive(holder);
    }

    /// <summary>dx [N, Cin, H, W] = the input gradient of a stride-1 convolution, as a full convolution of dy.</summary>
    public static void BackwardData(GemmPath width, in Conv2dGeometry g, float* dy, float* w, float* dx, WeightKey? weightKey = null)
    {
        var full = TransposedGeometry(g);
        var plan = DirectPlan.For(full, VectorLength(width));
        float* wb = BlockedWeights(full, plan, WeightTransformKind.DirectBackwardData, w, weightKey, out var holder);
        ForwardBlockedWeights(width, full, plan, dy, wb, null, null, false, dx);
        GC.KeepAlive(holder);
    }

    [ThreadStatic] private static float[]? t_weights;

    /// <summary>Blocks the forward weights of <paramref name="g"/> into <see cref="TransformedWeights"/> now (an inference session does this when it is prepared, not on its first run).</summary>
    public static void KeepForwardWeights(GemmPath width, in Conv2dGeometry g, float* w, WeightKey key)
    {
        if (TakesPixels(g))
        {
            PixelWeights(g, PixelPlan.For(g, VectorLength(width)), w, key, out _);
            return;
        }
        var plan = DirectPlan.For(g, VectorLength(width));
        BlockedWeights(g, plan, WeightTransformKind.DirectForward, w, key, out _);
    }

    /// <summary>
    /// The blocked weights of <paramref name="g"/> for <paramref name="plan"/>: from <see cref="TransformedWeights"/>
    /// when keyed (and kept there), else reordered into the calling thread's scratch. Both arrays are pinned; <paramref name="holder"/>
    /// keeps the one returned alive.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float* BlockedWeights(in Conv2dGeometry g, in DirectPlan plan, WeightTransformKind kind, float* w, WeightKey? key, out float[] holder)
    {
        int length = checked((int)plan.WeightLength(g));
        bool flip = kind == WeightTransformKind.DirectBackwardData;
        if (key is { } k)
        {
            var fill = new ReorderFill { G = g, Plan = plan, Flip = flip, W = w };
            var kept = TransformedWeights.Get(k, new WeightTransform(kind, plan.V, plan.GroupBlocks), length, ref fill);
            if (kept != null)
            {
                holder = kept;
                return TransformedWeights.Start(kept);
            }
        }
        float* scratch = ThreadScratch.Aligned(ref t_weights, length);
        holder = t_weights!;
        ReorderWeights(g, plan, flip, w, scratch);
        return scratch;
    }

    private struct ReorderFill : IWeightFill
    {
        public Conv2dGeometry G;
        public DirectPlan Plan;
        public bool Flip;
        public float* W;

        public readonly void Fill(float* destination) => ReorderWeights(G, Plan, Flip, W, destination);
    }

    /// <summary>The forward pass with weights already blocked for <paramref name="plan"/> (<see cref="ReorderWeights"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardBlockedWeights(GemmPath width, in Conv2dGeometry g, in DirectPlan plan, float* x, float* wb, float* bias, float* residual, bool relu, float* y)
    {
        if (width == GemmPath.Vector512) Run<Simd512, Vector512<float>>(g, plan, x, wb, bias, residual, relu, y);
        else if (width == GemmPath.Vector256) Run<Simd256, Vector256<float>>(g, plan, x, wb, bias, residual, relu, y);
        else throw new PlatformNotSupportedException($"Conv2dDirect: no direct kernel for {width}.");
    }

    /// <summary>
    /// Whether <see cref="ForwardBlocked"/> runs <paramref name="g"/> on <paramref name="width"/>: the channel-blocked
    /// direct path (not the pixel-input one) with a batch-blocked schedule (a per-image schedule blocks and unblocks each
    /// image inside its task, so there is no whole blocked tensor to hand on).
    /// </summary>
    public static bool TakesBlocked(GemmPath width, in Conv2dGeometry g) =>
        IsSupported(width) && Supports(g) && !TakesPixels(g) && !DirectSchedule.For(g, DirectPlan.For(g, VectorLength(width)), KernelThreads.Count).PerImage;

    /// <summary>
    /// The forward on channel-blocked activations, for an inference session that keeps them blocked between direct
    /// steps. With <paramref name="xBlocked"/> x is already [N, ICB, H + 2·PadH, W + 2·PadW, V] (zero border, zero
    /// missing channels: no pack), else NCHW. With <paramref name="yPad"/> ≥ 0, y is [N, OCB, Hout + 2·yPad,
    /// Wout + 2·yPad, V], whose border and missing channels the caller keeps zero (the tiles never write the border;
    /// missing channels come out 0 from zero weights and bias), and residual, when given, is blocked in y's shape; each
    /// task applies bias + residual + ReLU to its rows in place (<see cref="ChannelBlocked.EpilogueRowsInPlace"/>).
    /// With yPad &lt; 0, y and residual are NCHW, unblocked with the epilogue as <see cref="Forward"/> does.
    /// Only where <see cref="TakesBlocked"/> (batch-blocked schedules, no pooling).
    /// </summary>
    public static void ForwardBlocked(GemmPath width, in Conv2dGeometry g, float* x, bool xBlocked, float* w, float* bias, float* residual, bool relu,
        float* y, int yPad, WeightKey? weightKey = null)
    {
        var plan = DirectPlan.For(g, VectorLength(width));
        float* wb = BlockedWeights(g, plan, WeightTransformKind.DirectForward, w, weightKey, out var holder);
        var io = new BlockedIO { X = xBlocked ? x : null, Y = yPad >= 0 ? y : null, Residual = yPad >= 0 ? residual : null, OutPad = Math.Max(0, yPad) };
        float* xPlain = xBlocked ? null : x, yPlain = yPad >= 0 ? null : y, rPlain = yPad >= 0 ? null : residual;
        if (width == GemmPath.Vector512) Run<Simd512, Vector512<float>>(g, plan, xPlain, wb, bias, rPlain, relu, yPlain, null, io);
        else if (width == GemmPath.Vector256) Run<Simd256, Vector256<float>>(g, plan, xPlain, wb, bias, rPlain, relu, yPlain, null, io);
        else throw new PlatformNotSupportedException($"Conv2dDirect: no direct kernel for {width}.");
        GC.KeepAlive(holder);
    }

    /// <summary>Blocked input and output of <see cref="ForwardBlocked"/> (null X: NCHW input, packed; null Y: NCHW output).</summary>
    private readonly struct BlockedIO
    {
        public float* X { get; init; }
        /// <summary>The blocked output's first float (its padded corner), OutPad rows and columns of zero border around each plane.</summary>
        public float* Y { get; init; }
        /// <summary>The blocked residual, in Y's shape (only with Y).</summary>
        public float* Residual { get; init; }
        public int OutPad { get; init; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TS, TV>(in Conv2dGeometry g, in DirectPlan plan, float* x, float* wb, float* bias, float* residual, bool relu, float* y,
        Pool2dGeometry? pool = null, BlockedIO blockedIO = default)
        where TS : struct, ISimdFloat<TV> where TV : struct
    {
        int v = TS.Length;
        bool blockedIn = blockedIO.X != null, blockedOut = blockedIO.Y != null;
        var inShape = new BlockedShape(g.Batch, g.InChannels, g.InHeight, g.InWidth, v, g.PadH, g.PadW);
        var outShape = new BlockedShape(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, v, blockedIO.OutPad, blockedIO.OutPad);
        int groups = plan.Groups(g), threads = KernelThreads.Count;
        var body = new Body
        {
            G = g, Plan = plan, In = inShape, Out = outShape, X = x, W = wb, Y = y, Bias = bias, Residual = residual, Relu = relu,
            Groups = groups, ColumnTiles = plan.ColumnTiles(g), RowTiles = plan.RowTiles(g),
            NarrowFrom = plan.NarrowFrom(g), NarrowWidth = plan.NarrowWidth(g),
            Pooled = pool.HasValue, Pool = pool.GetValueOrDefault(), PoolRows = &PoolRows<TS, TV>,
        };
        // Kernels for the full tile and the edge tiles (fewer columns at a row's end, fewer rows at the bottom,
        // fewer blocks in the last group): edge tiles never overlap their neighbours, because later input-channel
        // passes add onto what is stored.
        for (int i = 0; i < 8; i++)
        {
            var (r, rows, o) = TileShape(g, plan, i);
            body.Kernels[i] = !plan.SharedTaps ? (nint)Tile<TS, TV>(r, rows, o, g.StrideW) : SharedTapKind(g, rows) switch
            {
                SharedTapTile.Stride2 => (nint)TapRowStride2Tile<TS, TV>(r),
                SharedTapTile.TwoRows => (nint)TapRowsTile<TS, TV>(r),
                _ => (nint)TapRowTile<TS, TV>(r),
            };
        }
        // Per image or batch-blocked (DirectSchedule says why): the second blocks the batch up front and lets each
        // task run its output-channel groups over a chunk of images, a pass of weights serving every image in turn.
        var schedule = DirectSchedule.For(g, plan, threads);
        if ((blockedIn || blockedOut) && (schedule.PerImage || pool.HasValue))
            throw new NotSupportedException($"Conv2dDirect.ForwardBlocked: {g} has a per-image schedule or a pool here; call it only where TakesBlocked.");
        if (schedule.PerImage)
        {
            body.PerImage = true;
            body.RowChunks = 1;
            Conv2dKernels.RunParallel(g.Batch, (long)(g.ForwardFlops / 2), ref body);
            return;
        }
        // Tasks that unblock their own output accumulate it in a task-sized scratch of their thread (TaskOutput), not in a
        // blocked copy of the whole output. A blocked output is written by the tasks in place (epilogue included).
        bool unpackInTask = !blockedOut && (UnpackInTask || pool.HasValue); // a pooled output is only ever written by the tasks
        float[]? xb = blockedIn ? null : ArrayPool<float>.Shared.Rent(checked((int)inShape.Length + CacheLine.SlackFloats));   // x: [N, ICB, Hp, Wp, V]
        float[]? yb = blockedOut ? null : ArrayPool<float>.Shared.Rent(unpackInTask && TaskOutput ? 1 : checked((int)outShape.Length + CacheLine.SlackFloats));  // y: [N, OCB, Hout, Wout, V]
        try
        {
            fixed (float* xPinned = xb, yPinned = yb)
            {
                float* px = blockedIn ? blockedIO.X : CacheLine.Align(xPinned);
                // A blocked output is addressed from its pixel (0, 0) of image 0, block 0 (inside the border).
                long corner = outShape.PadH * outShape.RowPitch + (long)outShape.PadW * v;
                float* py = blockedOut ? blockedIO.Y + corner : CacheLine.Align(yPinned);
                if (!blockedIn && LayoutPasses) ChannelBlocked.Pack(x, inShape, px);
                body.Images = schedule.Images;
                body.GroupsPerTask = schedule.GroupsPerTask;
                body.GroupChunks = schedule.GroupChunks(groups);
                body.RowChunks = schedule.RowChunks;
                body.Xb = px;
                body.Yb = py;
                body.BlockedOut = blockedOut;
                if (blockedOut) body.Residual = blockedIO.Residual == null ? null : blockedIO.Residual + corner;
                body.UnpackInTask = unpackInTask && LayoutPasses;
                body.TaskOutput = unpackInTask && TaskOutput;
                // At batch 1 on AVX2, small maps balance themselves over the threads (Conv2dDirect.Balanced.cs).
                if (!pool.HasValue && Balanced(g, plan, threads)) RunBalanced(ref body, threads);
                else Conv2dKernels.RunParallel(schedule.ImageChunks(g) * body.GroupChunks * body.RowChunks, (long)(g.ForwardFlops / 2), ref body);
                if (!blockedOut && !unpackInTask && LayoutPasses) ChannelBlocked.Unpack(py, outShape, y, bias, residual, relu);
            }
        }
        finally
        {
            if (xb != null) ArrayPool<float>.Shared.Return(xb);
            if (yb != null) ArrayPool<float>.Shared.Return(yb);
        }
    }

    /// <summary>
    /// The tile of kernel-table entry <paramref name="i"/>: (last group ? 4 : 0) + (last row tile ? 2 : 0) + (narrow
    /// column tile ? 1 : 0); edge tiles have fewer columns, rows or channel blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int R, int Rows, int Blocks) TileShape(in Conv2dGeometry g, in DirectPlan plan, int i)
    {
        // Image pairs: the "last row tile" kernel is the one for a lone image (an odd image count), one row of it.
        int rEdge = plan.NarrowWidth(g), rowsEdge = plan.ImagePairs ? 1 : g.OutHeight - (plan.RowTiles(g) - 1) * plan.Rows;
        int lastBlocks = plan.OutBlocks(g) - (plan.Groups(g) - 1) * plan.GroupBlocks;
        return ((i & 1) != 0 ? rEdge : plan.R, (i & 2) != 0 ? rowsEdge : plan.Rows, (i & 4) != 0 ? lastBlocks : plan.GroupBlocks);
    }

    /// <summary>The shared-tap tiles of <see cref="DirectPlan.SharedTaps"/> plans: one row of stride 2, two rows or one row of stride 1.</summary>
    internal enum SharedTapTile { Stride2, TwoRows, OneRow }

    /// <summary>
    /// Which shared-tap tile runs a tile of <paramref name="rows"/> rows of <paramref name="g"/> (a shared-tap plan): the
    /// stride-2 tile for column stride 2, else the two-row tile for two rows and the one-row tile for one (the last odd
    /// row of a two-row plan too). One rule for the kernel table (<see cref="Run{TS, TV}"/>) and <see cref="ForwardTileMethods"/>.
    /// </summary>
    internal static SharedTapTile SharedTapKind(in Conv2dGeometry g, int rows) =>
        g.StrideW == 2 ? SharedTapTile.Stride2 : rows == 2 ? SharedTapTile.TwoRows : SharedTapTile.OneRow;

    /// <summary>
    /// The tile kernels a forward pass of <paramref name="g"/> calls, as methods to compile ahead of the first call
    /// (<see cref="System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(RuntimeMethodHandle)"/>): each is a
    /// large straight-line method the JIT takes milliseconds over, and a ResNet calls a few dozen distinct ones, which
    /// would otherwise make the first run of a prepared model several times slower than the next.
    /// </summary>
    public static IEnumerable<System.Reflection.MethodInfo> ForwardTileMethods(GemmPath width, Conv2dGeometry g)
    {
        if (!IsSupported(width) || !Supports(g)) yield break;
        if (TakesPixels(g))
        {
            if (TakesPlanar(g))
                foreach (var m in PlanarTileMethods(width, g)) yield return m;
            foreach (var m in PixelTileMethods(width, g)) yield return m;
            yield break;
        }
        var plan = DirectPlan.For(g, VectorLength(width));
        var (simd, vector) = width == GemmPath.Vector512 ? (typeof(Simd512), typeof(Vector512<float>)) : (typeof(Simd256), typeof(Vector256<float>));
        for (int i = 0; i < 8; i++)
        {
            var (r, rows, o) = TileShape(g, plan, i);
            if (plan.SharedTaps)
            {
                var type = SharedTapKind(g, rows) switch
                {
                    SharedTapTile.Stride2 => typeof(Conv2dDirectTapRowStride2Tile<,,>),
                    SharedTapTile.TwoRows => typeof(Conv2dDirectTapRowsTile<,,>),
                    _ => typeof(Conv2dDirectTapRowTile<,,>),
                };
                yield return type.MakeGenericType(simd, vector, Constant(r))
                    .GetMethod(nameof(Conv2dDirectTapRowTile<Simd256, Vector256<float>, C1>.Run))!;
                continue;
            }
            yield return typeof(Conv2dDirectTile<,,,,,>).MakeGenericType(simd, vector, Constant(r), Constant(rows), Constant(o), Constant(g.StrideW))
                .GetMethod(nameof(Conv2dDirectTile<Simd512, Vector512<float>, C1, C1, C1, C1>.Run))!;
        }
    }

    private static Type Constant(int value) => value switch
    {
        1 => typeof(C1), 2 => typeof(C2), 3 => typeof(C3), 4 => typeof(C4), 5 => typeof(C5), 6 => typeof(C6), 7 => typeof(C7),
        8 => typeof(C8), 9 => typeof(C9), 10 => typeof(C10), 11 => typeof(C11), 12 => typeof(C12), 13 => typeof(C13), 14 => typeof(C14),
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, "Conv2dDirect: tile constants run from 1 to 14."),
    };

    [ThreadStatic] private static float[]? t_input, t_output, t_taskOutput;


    private struct Body : IParallelBody
    {
        public Conv2dGeometry G;
        public DirectPlan Plan;
        public BlockedShape In, Out;
        public float* X, W, Y, Bias, Residual;   // NCHW input and output (the pooled output when Pooled), blocked weights
        /// <summary>Whether each task pools its output rows by <see cref="Pool"/> (with bias and ReLU) into Y instead of unblocking them.</summary>
        public bool Pooled;
        public Pool2dGeometry Pool;
        public delegate*<float*, in BlockedShape, int, int, int, in Pool2dGeometry, float*, float*, void> PoolRows;
        public float* Xb, Yb;                    // the blocked batch (when not PerImage)
        public bool Relu, PerImage, UnpackInTask, TaskOutput;
        /// <summary>Y is blocked (Yb: its pixel (0, 0)); each task applies the epilogue to its rows in place (<see cref="ForwardBlocked"/>).</summary>
        public bool BlockedOut;
        public int Groups, ColumnTiles, RowTiles, RowChunks, Images, GroupsPerTask, GroupChunks;
        /// <summary>Column tiles from NarrowFrom on are NarrowWidth pixels wide (<see cref="DirectPlan.NarrowFrom"/>).</summary>
        public int NarrowFrom, NarrowWidth;
        /// <summary>Tile kernels indexed by (last group ? 4 : 0) + (last row tile ? 2 : 0) + (narrow column tile ? 1 : 0).</summary>
        public KernelTable Kernels;

        // AggressiveOptimization (here and on the other loops of this file): compiled optimized at once, so the first
        // runs of an inference session (a short-lived process) do not run tier-0 code while the JIT catches up.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            if (!PerImage)
            {
                int chunk = index % RowChunks, rest = index / RowChunks;
                int g0 = rest % GroupChunks * GroupsPerTask, n0 = rest / GroupChunks * Images;
                int n1 = Math.Min(G.Batch, n0 + Images), g1 = Math.Min(Groups, g0 + GroupsPerTask);
                int t0 = (int)((long)RowTiles * chunk / RowChunks), t1 = (int)((long)RowTiles * (chunk + 1) / RowChunks), q0 = 0, q1 = 0;
                if (Pooled) (t0, t1, q0, q1) = PooledChunk(G, Plan, Pool, chunk, RowChunks);
                if (t1 <= t0) return; // a chunk of no pooled rows (more chunks than windows)
                Task(n0, n1, g0, g1, t0, t1, q0, q1, -1);
                return;
            }
            // One image: block it, convolve every group of output channels, unblock with the epilogue.
            int image = index;
            float* xb = ThreadScratch.Aligned(ref t_input, In.ImageStride);
            float* yb = ThreadScratch.Aligned(ref t_output, Out.ImageStride);
            long inImage = (long)In.Channels * In.Height * In.Width, outImage = (long)Out.Channels * Out.Height * Out.Width;
            for (int cb = 0; cb < In.Blocks; cb++) ChannelBlocked.PackBlock(X + image * inImage, In, cb, xb);
            Tiles(xb, yb, Out.ImageStride, 0, 1, 0, Groups, 0, RowTiles, -1);
            if (Pooled)
            {
                for (int cb = 0; cb < Out.Blocks; cb++) PoolRows(yb, Out, cb, 0, Pool.OutH, Pool, Y + image * (long)Out.Channels * Pool.OutPlane, Bias);
                return;
            }
            for (int cb = 0; cb < Out.Blocks; cb++)
                ChannelBlocked.UnpackBlock(yb, Out, cb, Y + image * outImage, Bias, Residual == null ? null : Residual + image * outImage, Relu);
        }

        /// <summary>
        /// One batch-blocked task: groups [g0, g1) of images [n0, n1) over row tiles [t0, t1) (pooled rows [q0, q1)), then
        /// its output's epilogue (in place, or unblocked from the task's scratch); <paramref name="nextGroup"/> ≥ 0: the
        /// group this thread likely runs next, whose first pass the last pass prefetches (<see cref="Tiles"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Task(int n0, int n1, int g0, int g1, int t0, int t1, int q0, int q1, int nextGroup)
        {
            int cb0 = g0 * Plan.GroupBlocks, cb1 = Math.Min(Out.Blocks, g1 * Plan.GroupBlocks);
            // yBatch + n·yImageStride + cb·Out.BlockStride is block cb of image n's blocked output: in the whole blocked
            // output, or in this thread's scratch of the task's images × blocks [cb0, cb1), whose lines stay in the
            // core's cache from one task to the next. The batch's blocked output was written cold by each task's
            // first pass (a read of every line from memory before the write) and pushed out of L3 beside the input
            // and weights (bench/RESULTS.md 2026-12-05 02:47–03:53).
            float* yBatch = Yb;
            long yImageStride = Out.ImageStride;
            if (TaskOutput)
            {
                yImageStride = (cb1 - cb0) * Out.BlockStride;
                yBatch = ThreadScratch.Aligned(ref t_taskOutput, (n1 - n0) * yImageStride) - n0 * yImageStride - cb0 * Out.BlockStride;
            }
            Tiles(Xb, yBatch, yImageStride, n0, n1, g0, g1, t0, t1, nextGroup);
            if (BlockedOut)
            {
                int r0 = t0 * Plan.ImageRows, r1 = Math.Min(Out.Height, t1 * Plan.ImageRows);
                for (int n = n0; n < n1; n++)
                for (int cb = cb0; cb < cb1; cb++)
                    ChannelBlocked.EpilogueRowsInPlace(yBatch + n * yImageStride + cb * Out.BlockStride, Out, cb, r0, r1, Bias,
                        Residual == null ? null : Residual + n * yImageStride + cb * Out.BlockStride, Relu);
                return;
            }
            if (UnpackInTask)
            {
                // The task's output is complete (every input-channel pass has run): unblock it with the epilogue
                // now, from this core's cache, rather than in a separate pass over the whole output.
                long yImage = (long)Out.Channels * Out.Height * Out.Width;
                int h0 = t0 * Plan.ImageRows, h1 = Math.Min(Out.Height, t1 * Plan.ImageRows);
                if (Pooled)
                {
                    long pooledImage = (long)Out.Channels * Pool.OutPlane;
                    for (int n = n0; n < n1; n++)
                    for (int cb = cb0; cb < cb1; cb++)
                        PoolRows(yBatch + n * yImageStride, Out, cb, q0, q1, Pool, Y + n * pooledImage, Bias);
                    return;
                }
                for (int n = n0; n < n1; n++)
                for (int cb = cb0; cb < cb1; cb++)
                    ChannelBlocked.UnpackRows(yBatch + n * yImageStride, Out, cb, h0, h1, Y + n * yImage, Bias, Residual == null ? null : Residual + n * yImage, Relu);
            }
        }

        /// <summary>
        /// Row tiles [t0, t1) (of Plan.ImageRows output rows each) of output-channel groups [g0, g1) of blocked images
        /// [n0, n1) (image n at xBatch + n·In.ImageStride, yBatch + n·yImageStride); a pass of weights (one group,
        /// a range of input-channel blocks) serves every image before the next pass is loaded. With image pairs a tile's
        /// second row is the same row of the next image: the tile's row step is then one image (a lone last image takes
        /// the one-row kernel).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Tiles(float* xBatch, float* yBatch, long yImageStride, int n0, int n1, int g0, int g1, int t0, int t1, int nextGroup)
        {
            var g = G;
            int v = In.V, icBlocks = In.Blocks, kH = g.KernelHeight, kW = g.KernelWidth, rows = Plan.ImageRows, r = Plan.R;
            bool pairs = Plan.ImagePairs;
            int imageStep = pairs ? 2 : 1;
            nint wStep = (nint)Plan.GroupBlocks * v;
            nint xRowStep = (nint)(g.DilationH * In.RowPitch), xColStep = (nint)g.DilationW * v;
            nint xTileRow = pairs ? (nint)In.ImageStride : (nint)(g.StrideH * In.RowPitch), yRowPitch = pairs ? (nint)yImageStride : (nint)Out.RowPitch;
            // Input-channel blocks per pass (oneDNN's ic blocking, PassBlocks): each tile keeps its accumulators in registers over
            // the pass's blocks, and later passes add onto the stored tiles. Passes of PassWeightFloats (weights from L2;
            // on AVX2 also at most Avx2PassInputBytes of input per tile call) rather than of L1 size: on AVX-512 a 3×3 block of 2·16 output channels is 18 KiB, so L1-sized passes were
            // one block each, and each tile stored and reloaded its accumulators every 16 input channels. Passes are
            // split evenly so the last is not a sliver.
            // AVX2 passes that serve few tile calls (a 7×7 map at batch 1: 14 calls of 4 + 3 pixels × 3 blocks) are L1-sized
            // instead: each call re-reads the pass's weights (3 vectors per 12 FMAs), from L1 rather than L2. ResNet-18 b1
            // AVX2, the three 7×7 layers 3.79–3.83 → 3.23–3.43 ms (passes of 2–4 blocks; bench/RESULTS.md 2026-12-05 01:07).
            // Not on AVX-512: its batch-1 7×7 plan makes 4 calls per pass of 2 vectors per 28 FMAs; 2-block passes lost there.
            // Not per image (b32's 256→512 s2 on AVX2, 14 calls per pass too: 193.6 → 192.1 GFLOPS, one round).
            long perBlock = (long)kH * kW * v * wStep, kRowFloats = (long)kW * v * wStep;
            int calls = (n1 - n0 + imageStep - 1) / imageStep * (t1 - t0) * ColumnTiles; // tile calls per pass
            // Input one tile call reads per input-channel block: its columns and rows of taps, V floats each.
            long tileInputBytes = (long)((r - 1) * g.StrideW + (kW - 1) * g.DilationW + 1) * ((Plan.Rows - 1) * g.StrideH + (kH - 1) * g.DilationH + 1) * v * sizeof(float);
            int chunk = PassBlocks(v, PerImage, calls, perBlock, tileInputBytes, icBlocks);
            long groupFloats = (long)icBlocks * perBlock;
            bool spread = SpreadPrefetch >= (v == 8 ? 1 : 2);
            for (int ic0 = 0; ic0 < icBlocks; ic0 += chunk)
            {
                int blocks = Math.Min(chunk, icBlocks - ic0);
                for (int grp = g0; grp < g1; grp++)
                {
                    int groupIndex = grp == Groups - 1 ? 4 : 0;
                    float* wChunk = W + grp * groupFloats + ic0 * perBlock;
                    // The next pass's weights (the next group's, or the first group's of the next input-channel range),
                    // a slice prefetched into L2 with each tile call of this pass: at batch 1 a pass serves few tiles
                    // (14 on AVX2's 7×7 maps), and its first tile otherwise waits on memory line by line. Spread, the
                    // tile requests its slice a few lines per tap; else it is requested in one burst before the call.
                    float* pf = null, pfEnd = null;
                    int linesPerCall = 0;
                    if (PrefetchWeights)
                    {
                        int nextIc = grp + 1 < g1 ? ic0 : ic0 + chunk, nextGrp = grp + 1 < g1 ? grp + 1 : g0;
                        // The task's last pass: the first pass of the group this thread runs next, when the caller knows it.
                        if (nextIc >= icBlocks && nextGroup >= 0) (nextIc, nextGrp) = (0, nextGroup);
                        if (nextIc < icBlocks)
                        {
                            pf = W + nextGrp * groupFloats + nextIc * perBlock;
                            pfEnd = pf + Math.Min(chunk, icBlocks - nextIc) * perBlock;
                            linesPerCall = (int)(((pfEnd - pf) / 16 + calls - 1) / calls);
                            if (linesPerCall > (spread && v == 8 ? PrefetchMaxLinesSpread : PrefetchMaxLines)) pf = pfEnd = null;
                        }
                    }
                    long yGroup = (long)grp * Plan.GroupBlocks * Out.BlockStride;
                    for (int n = n0; n < n1; n += imageStep)
                    {
                        float* xChunk = xBatch + n * In.ImageStride + ic0 * In.BlockStride;
                        float* yBlock = yBatch + n * yImageStride + yGroup;
                        bool lone = pairs && n + 1 == n1;
                        for (int t = t0; t < t1; t++)
                        {
                            int oh = t * rows, rowIndex = groupIndex + ((pairs ? lone : t == RowTiles - 1) ? 2 : 0);
                            // Kernel rows [kh0, kh1) reach the image for some row of the tile; the others read only the
                            // zero border and are left out (on 7×7 maps that is 2 of 21 rows of taps, on 14×14 2 of 42).
                            var (kh0, kh1) = RowTaps(g, oh, Math.Min(rows, g.OutHeight - oh));
                            float* xRow = xChunk + (long)oh * g.StrideH * In.RowPitch + kh0 * xRowStep;
                            float* wRows = wChunk + kh0 * kRowFloats;
                            nint wSkip = (nint)((kH - (kh1 - kh0)) * kRowFloats);
                            float* yRow = yBlock + oh * Out.RowPitch;
                            for (int c = 0; c < ColumnTiles; c++)
                            {
                                bool narrow = c >= NarrowFrom;
                                int ow0 = Plan.ColumnStart(c, NarrowFrom), edges = ColumnEdges(g, ow0, narrow ? NarrowWidth : r);
                                var tile = (delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void>)
                                    Kernels[rowIndex + (narrow ? 1 : 0)];
                                // This call's slice of the next pass: [pf, sliceEnd), perTap lines before each of its taps.
                                float* slice = null, sliceEnd = null;
                                int perTap = 0, taps = blocks * (kh1 - kh0) * kW;
                                if (pf < pfEnd)
                                {
                                    if (spread && taps > 0)
                                    {
                                        slice = pf;
                                        sliceEnd = pf = Math.Min(linesPerCall, (pfEnd - pf) / 16) * 16 + pf;
                                        perTap = (linesPerCall + taps - 1) / taps;
                                    }
                                    else pf = Prefetch(pf, pfEnd, linesPerCall);
                                }
                                tile(xRow + (long)ow0 * g.StrideW * v, wRows, yRow + (long)ow0 * v, blocks, kh1 - kh0, kW, wStep, wSkip,
                                    (nint)In.BlockStride, xRowStep, xColStep, xTileRow, (nint)Out.BlockStride, yRowPitch, ic0 > 0, edges, slice, sliceEnd, perTap);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Prefetches (T2: into L2) up to <paramref name="lines"/> cache lines from <paramref name="p"/>, not past <paramref name="end"/>; returns where the next slice starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float* Prefetch(float* p, float* end, int lines)
    {
        float* stop = p + (long)lines * 16;
        if (stop > end) stop = end;
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
            for (; p < stop; p += 16) System.Runtime.Intrinsics.X86.Sse.Prefetch2(p);
        return stop;
    }

    /// <summary>
    /// Whether the forward tiles prefetch the next pass's weights. bench/RESULTS.md 2026-12-05 00:33, ResNet-18 b1 (the
    /// three 512→512 7×7 layers / whole run): AVX2 4.35–4.53 → 3.78–3.97 ms / 19.6–20.0 → 18.6–19.0 ms. T2 measured
    /// better than T1 and T0 (into L1 too).
    /// </summary>
    internal static bool PrefetchWeights = true;

    /// <summary>
    /// The most cache lines prefetched before one tile call; a larger slice is not prefetched at all. AVX-512's batch-1
    /// 7×7 plan makes 4 tile calls per pass (576-line slices), and those bursts made its 7×7 layers slower (2.8 → 3.6 ms).
    /// </summary>
    internal static int PrefetchMaxLines = 192;

    /// <summary>
    /// Where the tile calls request their slice of the next pass's weights a few lines per tap (<see
    /// cref="Conv2dDirectTile{TS, TV, TR, TRows, TO, TStride}"/>) rather than in a burst before the call: 0 nowhere, 1 on
    /// AVX2 (V = 8), 2 on AVX2 and AVX-512. perf put 3.6 % of ResNet-18's AVX2 samples at batch 1 on the burst's
    /// prefetcht2, waiting for miss buffers. ResNet-18 / ResNet-50 at batch 1 (bench/RESULTS.md 2026-12-05 08:14–08:34):
    /// AVX-512's 256→256 3×3s on 14×14 3.03–3.05 → 2.88–2.99 ms (three) and 5.16–5.21 → 4.86–4.93 (five); AVX2's
    /// 512→512 on 7×7 3.17–3.24 → 3.07–3.17 and 2.13 → 2.05–2.06. AVX-512 keeps the burst's cap (its 7×7 passes, 576
    /// lines per call, ran slower prefetched, spread or not).
    /// </summary>
    internal static int SpreadPrefetch = 2;

    /// <summary>
    /// Whether the spread prefetch is prefetcht0 (else prefetcht2, as the bursts are). Spread a line or so per tap, T0
    /// did not disturb the pass in use and ran AVX2's 7×7 passes (L1-sized, 14 calls each) faster: ResNet-18 b1's three
    /// 512→512 3.16–3.40 → 3.06–3.20 ms in five interleaved rounds (bench/RESULTS.md 2026-12-05 09:08–09:19; NTA alike);
    /// 14×14 and AVX-512 unchanged.
    /// </summary>
    internal static bool SpreadPrefetchIntoL1 = true;

    /// <summary>
    /// The spread prefetch of a tile call: up to <paramref name="lines"/> lines from <paramref name="prefetch"/> (not past
    /// <paramref name="prefetchEnd"/>), prefetcht0 or prefetcht2 as <see cref="SpreadPrefetchIntoL1"/> says; returns where
    /// the next call goes on. One helper for the direct tiles (per tap or per kernel row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* SpreadPrefetchLines(float* prefetch, float* prefetchEnd, int lines)
    {
        if (!Sse.IsSupported || lines <= 0) return prefetch;
        if (SpreadPrefetchIntoL1)
            for (int q = 0; q < lines && prefetch < prefetchEnd; q++, prefetch += 16) Sse.Prefetch0(prefetch);
        else
            for (int q = 0; q < lines && prefetch < prefetchEnd; q++, prefetch += 16) Sse.Prefetch2(prefetch);
        return prefetch;
    }

    /// <summary>
    /// The most lines one spread tile call prefetches; a larger slice is not prefetched at all. Spread over the taps,
    /// AVX2's 14×14 passes (one 147 KB group over 42 calls: 219 lines each) are prefetched, which bursts capped at
    /// <see cref="PrefetchMaxLines"/> left to the first call of every pass.
    /// </summary>
    internal static int PrefetchMaxLinesSpread = 1024;

    /// <summary>
    /// The kernel rows [kh0, kh1) whose taps read an image row (not the zero border) for at least one of the
    /// <paramref name="rows"/> output rows from <paramref name="oh"/>: a row kh is left out only when it falls above the
    /// image for the tile's last row or below it for the first. Empty (kh0 == kh1) when every tap reads padding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (int Kh0, int Kh1) RowTaps(in Conv2dGeometry g, int oh, int rows)
    {
        int d = g.DilationH, kH = g.KernelHeight;
        int top = oh * g.StrideH - g.PadH, bottom = (oh + rows - 1) * g.StrideH - g.PadH; // image rows of tap 0
        int kh0 = bottom >= 0 ? 0 : Math.Min(kH, (-bottom + d - 1) / d);
        int kh1 = top >= g.InHeight ? 0 : Math.Min(kH, (g.InHeight - top + d - 1) / d);
        return (kh0, Math.Max(kh0, kh1));
    }

    /// <summary>
    /// Which edge taps of the column tile of <paramref name="r"/> pixels from <paramref name="ow0"/> read only the zero
    /// border (flags of <see cref="Conv2dDirectTile{TS, TV, TR, TRows, TO, TStride}"/>): tap 0 of its first pixel left
    /// of the image, the last tap of its last pixel right of it. One-tap kernels have no edge to leave out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ColumnEdges(in Conv2dGeometry g, int ow0, int r)
    {
        if (g.KernelWidth < 2) return 0;
        int first = ow0 * g.StrideW - g.PadW, last = (ow0 + r - 1) * g.StrideW - g.PadW + (g.KernelWidth - 1) * g.DilationW;
        return (first < 0 ? LeftEdge : 0) | (last >= g.InWidth ? RightEdge : 0);
    }

    /// <summary>Flag of a tile's <c>edges</c>: its first column of pixels reads padding at tap 0.</summary>
    internal const int LeftEdge = 1;

    /// <summary>Flag of a tile's <c>edges</c>: its last column of pixels reads padding at the last tap.</summary>
    internal const int RightEdge = 2;

    [InlineArray(8)]
    private struct KernelTable
    {
        private nint first;
    }

    /// <summary>Blocked weights one pass of the strided input-gradient tiles may use (floats): about half of a 48 KiB L1 data cache.</summary>
    private const long L1WeightFloats = 6 * 1024;

    /// <summary>
    /// Blocked weights one pass of the forward tiles may use (floats, 144 KiB: in L2 beside the task's input and output).
    /// Streaming them from L2 costs nothing the FMAs notice (2–3 vector loads per 14–28 FMAs); fewer passes save each
    /// tile's accumulator stores and reloads. bench/RESULTS.md 2026-12-04 21:26 (L1-sized → this): 3×3 forwards at b32
    /// +1–4 % on both ISAs (AVX2 512_512_7 212 → 222 GFLOPS), ResNet-18 b1's 512→512 7×7 layers 1.04 → 0.93 ms; 18 K
    /// and 36 K floats measured alike, whole passes (all input channels) a little slower.
    /// </summary>
    private const long PassWeightFloats = 36 * 1024;

    /// <summary>
    /// Bytes of input one AVX2 tile call may read per pass (12 KiB, three-eighths of a 32 KiB L1 data cache): a 3×3
    /// tile of 6 pixels × 2 blocks reads 8 columns × 3 rows × 32 bytes per input-channel block, so passes of up to 16
    /// blocks (128 channels, as AVX-512's passes of <see cref="PassWeightFloats"/>), 18 for 5-pixel tiles. By weights
    /// alone a 3×3 pass took 32 blocks: 24 KiB of input per call beside the pass's 144 KiB of weights streaming through
    /// L1. On an AVX2-only Zen 3, VGG-11's layers alone at batch 1 ran 4–6 % faster in passes of 16 blocks (256→256 on
    /// 56×56 20.4–20.6 → 19.4 ms, 512→512 on 28×28 19.8–20.2 → 18.7–18.8; 8, 12 and 24 blocks no better) and in the
    /// model 5–9 % on 28×28 and 14×14, as ResNet-18's 256→256 on 14×14 (bench/RESULTS.md 2026-12-05 23:12–23:31).
    /// </summary>
    private const long Avx2PassInputBytes = 12 * 1024;

    /// <summary>For benchmarks: whether AVX2 forward passes are also bounded by <see cref="Avx2PassInputBytes"/> (else by weights only, as AVX-512).</summary>
    internal static bool Avx2InputBoundPasses = true;

    /// <summary>
    /// Input-channel blocks per pass of the forward tiles, split evenly over the <paramref name="icBlocks"/> (the last
    /// pass is not a sliver): L1-sized on AVX2 where a batch-blocked pass serves at most <see cref="FewCalls"/> tile
    /// calls, else <see cref="PassWeightFloats"/> of weights, on AVX2 also at most <see cref="Avx2PassInputBytes"/> of
    /// input per tile call; at least one block. <paramref name="perBlock"/> is the floats of weights one block of a
    /// group takes, <paramref name="tileInputBytes"/> the bytes of input one tile call reads per block.
    /// </summary>
    internal static int PassBlocks(int v, bool perImage, int calls, long perBlock, long tileInputBytes, int icBlocks)
    {
        long passFloats = v == 8 && !perImage && calls <= FewCalls ? L1WeightFloats : PassWeightFloats;
        long blocks = passFloats / perBlock;
        if (v == 8 && Avx2InputBoundPasses) blocks = Math.Min(blocks, Avx2PassInputBytes / Math.Max(1, tileInputBytes));
        int chunk = IcChunkOverride > 0 ? IcChunkOverride : (int)Math.Clamp(blocks, 1, icBlocks);
        int passes = (icBlocks + chunk - 1) / chunk;
        return (icBlocks + passes - 1) / passes;
    }

    /// <summary>Tile calls per pass up to which AVX2 passes are L1-sized (<see cref="L1WeightFloats"/>); for benchmarks settable (0: never).</summary>
    internal static int FewCalls = 16;

    /// <summary>For benchmarks: whether batch-blocked tasks unblock their own output (else one pass after all tasks).</summary>
    internal static bool UnpackInTask = true;

    /// <summary>
    /// For benchmarks only (bench "blocked" suite): false skips the batch-scheduled forward's NCHW → blocked pack and its
    /// unblocking of the output, so the tiles can be timed alone (the output is then left unwritten). Never a switch.
    /// </summary>
    internal static bool LayoutPasses = true;

    /// <summary>For benchmarks: whether batch-blocked tasks that unblock their own output accumulate it in a task-sized scratch of their thread (else in a blocked copy of the whole output).</summary>
    internal static bool TaskOutput = true;

    /// <summary>For benchmarks comparing pass sizes: input-channel blocks per pass (0: from <see cref="PassWeightFloats"/>, or <see cref="L1WeightFloats"/> in the strided input gradient).</summary>
    internal static int IcChunkOverride;

    // ---- choosing the compiled tile (R columns, Rows rows, O blocks, column stride S) ---------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void> Tile<TS, TV>(int r, int rows, int o, int s)
        where TS : struct, ISimdFloat<TV> where TV : struct => r switch
    {
        1 => TileRows<TS, TV, C1>(rows, o, s),
        2 => TileRows<TS, TV, C2>(rows, o, s),
        3 => TileRows<TS, TV, C3>(rows, o, s),
        4 => TileRows<TS, TV, C4>(rows, o, s),
        5 => TileRows<TS, TV, C5>(rows, o, s),
        6 => TileRows<TS, TV, C6>(rows, o, s),
        7 => TileRows<TS, TV, C7>(rows, o, s),
        8 => TileO<TS, TV, C8, C1>(o, s),
        9 => TileO<TS, TV, C9, C1>(o, s),
        10 => TileO<TS, TV, C10, C1>(o, s),
        11 => TileO<TS, TV, C11, C1>(o, s),
        12 => TileO<TS, TV, C12, C1>(o, s),
        13 => TileO<TS, TV, C13, C1>(o, s),
        14 => TileO<TS, TV, C14, C1>(o, s),
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "Conv2dDirect: a tile row holds 1 to 14 pixels."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void> TapRowsTile<TS, TV>(int r)
        where TS : struct, ISimdFloat<TV> where TV : struct => r switch
    {
        1 => &Conv2dDirectTapRowsTile<TS, TV, C1>.Run,
        2 => &Conv2dDirectTapRowsTile<TS, TV, C2>.Run,
        3 => &Conv2dDirectTapRowsTile<TS, TV, C3>.Run,
        4 => &Conv2dDirectTapRowsTile<TS, TV, C4>.Run,
        5 => &Conv2dDirectTapRowsTile<TS, TV, C5>.Run,
        6 => &Conv2dDirectTapRowsTile<TS, TV, C6>.Run,
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "Conv2dDirect: a two-row shared-tap tile holds 1 to 6 pixels per row."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void> TapRowTile<TS, TV>(int r)
        where TS : struct, ISimdFloat<TV> where TV : struct => r switch
    {
        1 => &Conv2dDirectTapRowTile<TS, TV, C1>.Run,
        2 => &Conv2dDirectTapRowTile<TS, TV, C2>.Run,
        3 => &Conv2dDirectTapRowTile<TS, TV, C3>.Run,
        4 => &Conv2dDirectTapRowTile<TS, TV, C4>.Run,
        5 => &Conv2dDirectTapRowTile<TS, TV, C5>.Run,
        6 => &Conv2dDirectTapRowTile<TS, TV, C6>.Run,
        7 => &Conv2dDirectTapRowTile<TS, TV, C7>.Run,
        8 => &Conv2dDirectTapRowTile<TS, TV, C8>.Run,
        9 => &Conv2dDirectTapRowTile<TS, TV, C9>.Run,
        10 => &Conv2dDirectTapRowTile<TS, TV, C10>.Run,
        11 => &Conv2dDirectTapRowTile<TS, TV, C11>.Run,
        12 => &Conv2dDirectTapRowTile<TS, TV, C12>.Run,
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "Conv2dDirect: a shared-tap row tile holds 1 to 12 pixels."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void> TapRowStride2Tile<TS, TV>(int r)
        where TS : struct, ISimdFloat<TV> where TV : struct => r switch
    {
        1 => &Conv2dDirectTapRowStride2Tile<TS, TV, C1>.Run,
        2 => &Conv2dDirectTapRowStride2Tile<TS, TV, C2>.Run,
        3 => &Conv2dDirectTapRowStride2Tile<TS, TV, C3>.Run,
        4 => &Conv2dDirectTapRowStride2Tile<TS, TV, C4>.Run,
        5 => &Conv2dDirectTapRowStride2Tile<TS, TV, C5>.Run,
        6 => &Conv2dDirectTapRowStride2Tile<TS, TV, C6>.Run,
        7 => &Conv2dDirectTapRowStride2Tile<TS, TV, C7>.Run,
        8 => &Conv2dDirectTapRowStride2Tile<TS, TV, C8>.Run,
        9 => &Conv2dDirectTapRowStride2Tile<TS, TV, C9>.Run,
        10 => &Conv2dDirectTapRowStride2Tile<TS, TV, C10>.Run,
        11 => &Conv2dDirectTapRowStride2Tile<TS, TV, C11>.Run,
        12 => &Conv2dDirectTapRowStride2Tile<TS, TV, C12>.Run,
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "Conv2dDirect: a stride-2 shared-tap row tile holds 1 to 12 pixels."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void> TileRows<TS, TV, TR>(int rows, int o, int s)
        where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant => rows switch
    {
        1 => TileO<TS, TV, TR, C1>(o, s),
        2 => TileO<TS, TV, TR, C2>(o, s),
        3 => TileO<TS, TV, TR, C3>(o, s),
        4 => TileO<TS, TV, TR, C4>(o, s),
        _ => throw new ArgumentOutOfRangeException(nameof(rows), rows, "Conv2dDirect: a tile spans 1 to 4 rows."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void> TileO<TS, TV, TR, TRows>(int o, int s)
        where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant where TRows : struct, IConstant => o switch
    {
        1 => TileS<TS, TV, TR, TRows, C1>(s),
        2 => TileS<TS, TV, TR, TRows, C2>(s),
        3 => TileS<TS, TV, TR, TRows, C3>(s),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o, "Conv2dDirect: a tile holds 1 to 3 channel blocks."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void> TileS<TS, TV, TR, TRows, TO>(int s)
        where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant where TRows : struct, IConstant where TO : struct, IConstant =>
        s == 1 ? &Conv2dDirectTile<TS, TV, TR, TRows, TO, C1>.Run : &Conv2dDirectTile<TS, TV, TR, TRows, TO, C2>.Run;
}
