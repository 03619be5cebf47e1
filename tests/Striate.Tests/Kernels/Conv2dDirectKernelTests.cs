using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The direct convolution on channel-blocked data (<see cref="Conv2dAlgorithm.Direct"/>) against its reference twin,
/// forced on each SIMD width (16-float blocks on AVX-512, 8-float blocks on AVX2) whatever the shape heuristics say:
/// channel counts that do not fill a block, every tile width 1–14 and overlapping last tiles, both column strides,
/// row strides, padding, dilation, and the fused epilogue (bias, residual, ReLU).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dDirectKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(2, 16, 9, 9, 32, 3, 3, 1, 1, 1, 1),                    // whole blocks, 9-wide rows (one tile)
        new(1, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1),                    // ResNet layer4-like 7×7
        new(2, 20, 30, 29, 24, 3, 3, 1, 1, 1, 1),                  // partial blocks, 29 = tiles with overlap
        new(1, 24, 15, 15, 40, 3, 3, 2, 2, 1, 1),                  // stride 2, odd output width 8
        new(2, 17, 11, 12, 9, 1, 1, 2, 2),                         // 1×1 stride 2 (ResNet downsample)
        new(1, 8, 12, 40, 48, 5, 5, 1, 1, 2, 2),                   // 5×5, three output groups of blocks
        new(1, 16, 10, 13, 16, 3, 3, 1, 1, 2, 2, 2, 2),            // dilation 2
        new(2, 12, 9, 10, 20, 3, 2, 3, 1, 0, 1),                   // row stride 3, non-square kernel
        new(1, 33, 3, 3, 17, 3, 3, 1, 1, 1, 1),                    // 3×3 planes: tiles narrower than the maximum
        new(3, 5, 8, 1, 7, 3, 1, 1, 1, 1, 0),                      // one-pixel-wide rows
        new(1, 48, 14, 14, 96, 1, 1),                              // 1×1 stride 1 (otherwise the pointwise GEMM)
        new(2, 16, 6, 5, 56, 3, 3, 1, 1, 1, 1),                    // 5-wide rows: AVX2's 3-pixel tiles, last group of 1 block
        new(1, 40, 7, 7, 72, 3, 3, 1, 1, 1, 1),                    // 7×7 at batch 1: AVX-512's 2 rows × 7 × 2 blocks, a 1-row edge, last group of 1 block
        new(2, 20, 3, 4, 40, 3, 3, 1, 1, 2, 2),                    // padding 2 on tiny maps: stacked rows whose kernel rows reach the image in part
        new(1, 16, 5, 9, 24, 3, 3, 2, 1, 3, 1),                    // padding 3 > kernel reach: whole tile rows read only the zero border
        new(1, 300, 7, 7, 40, 3, 3, 1, 1, 1, 1),                   // deep input: several passes over input-channel blocks (AVX-512 7 + 7 + 5, AVX2 19 + 19), adding onto stored tiles
        new(2, 24, 8, 8, 40, 3, 3, 1, 1, 1, 1),                    // 8-wide rows at batch 2, three output blocks: one image's row × 3 blocks (a pair would be 16 pixels)
        new(4, 24, 6, 6, 40, 3, 3, 1, 1, 1, 1),                    // 6-wide rows at batch 4: AVX-512 pairs images when the batch is blocked
        new(1, 16, 14, 14, 48, 3, 3, 1, 1, 1, 1),                  // a small call at batch 1 (GoogLeNet 4a's branch 3): groups of 2 and 1 blocks, two row chunks each
        new(1, 128, 14, 14, 32, 3, 3, 1, 1, 1, 1),                 // a small call with one group (DenseNet's 3×3 on 14×14): one row chunk per thread
        new(1, 20, 5, 56, 64, 3, 3, 1, 1, 1, 1),                   // 56-wide rows: AVX2's 4 pixels × 3 blocks (14 tiles), last group of 2 blocks
        new(2, 12, 4, 27, 72, 3, 3, 1, 1, 1, 1),                   // 27-wide rows: AVX2's 4 × 3 tiles with a 3-pixel last tile, 3 groups of 3 blocks
        new(1, 12, 3, 56, 32, 3, 3, 1, 1, 1, 1),                   // 56-wide rows, 4 blocks: AVX2's 6 × 2 tiles split 6 × 6 + 4 × 5 pixels
        new(1, 20, 5, 28, 40, 3, 3, 1, 1, 1, 1),                   // 28-wide rows: AVX2 6,6,6,5,5 pixels, last group of 1 block
        new(1, 24, 13, 13, 48, 3, 3, 1, 1, 1, 1),                  // 13×13 (AlexNet): AVX2 5,4,4 pixels × 2 blocks
        new(1, 8, 3, 112, 16, 3, 3, 1, 1, 1, 1),                   // 112-wide rows: AVX2 17 tiles of 6 and 2 of 5
        new(1, 128, 7, 7, 32, 3, 3, 1, 1, 1, 1),                   // DenseNet's 3×3 on 7×7: AVX2's 4 + 3 pixels × two groups of 2 blocks
    ];

    public static TheoryData<int, int> NamedCases() => DirectWidthCases.Of(Named.Length);

    public static TheoryData<int, int> RandomCases() => DirectWidthCases.Of(30);

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int width, int index) => Check(Named[index], (GemmPath)width, 3000 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed) => Check(RandomGeometry(new Generator(900 + (ulong)seed)), (GemmPath)width, (ulong)seed);

    /// <summary>
    /// Batches of at least two images per kernel thread run one whole image per task (blocked in thread-local
    /// scratch); smaller ones block the batch first and split rows. Both schedules, on both widths.
    /// </summary>
    [Theory, MemberData(nameof(NamedCases))]
    public void PerImageScheduleMatchesReference(int width, int index)
    {
        var g = Named[index] with { Batch = 2 * KernelThreads.Count + 1 };
        Check(g, (GemmPath)width, 7000 + (ulong)index);
    }

    private static readonly DirectSchedule[] Schedules =
    [
        new(true, 1, 1, 1),    // one image per task, thread-local blocking
        new(false, 1, 1, 1),   // batch blocked, one image and one group per task
        new(false, 2, 1, 1),   // two images per task (the last chunk has one)
        new(false, 3, 2, 2),   // three images, two groups, rows in two chunks
        new(false, 5, 9, 3),   // every image and every group in one task, rows in three chunks
    ];

    public static TheoryData<int, int, int> ScheduleCases()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int w in new[] { (int)GemmPath.Vector512, (int)GemmPath.Vector256 })
            foreach (int i in new[] { 1, 2, 5, 8, 15 })
                for (int s = 0; s < Schedules.Length; s++) data.Add(w, i, s);
        return data;
    }

    /// <summary>Every schedule of the forward kernel (and of the input gradient, the same kernel) gives the reference's result.</summary>
    [Theory, MemberData(nameof(ScheduleCases))]
    public void ForcedScheduleMatchesReference(int width, int index, int schedule)
    {
        var g = Named[index] with { Batch = 5 };
        using (Switches.Set(() => DirectSchedule.Override, Schedules[schedule]))
            Check(g, (GemmPath)width, 11000 + (ulong)(index * 10 + schedule));
    }

    /// <summary>
    /// Batch-1 AVX2 calls whose weights refuse row chunks take smaller group chunks to have enough tasks
    /// (DirectSchedule.GroupSplitAtBatchOne): the chosen schedule splits the groups, and the result matches the reference.
    /// </summary>
    [Theory]
    [InlineData(128, 28, 1)]
    [InlineData(128, 56, 2)]
    [InlineData(256, 28, 2)]
    public void BatchOneGroupSplitMatchesReference(int channels, int size, int stride)
    {
        var g = new Conv2dGeometry(1, channels, size, size, channels, 3, 3, stride, stride, 1, 1);
        var plan = DirectPlan.For(g, 8);
        int threads = KernelThreads.Count;
        bool saved = DirectSchedule.GroupSplitAtBatchOne;
        try
        {
            DirectSchedule.GroupSplitAtBatchOne = false;
            var before = DirectSchedule.For(g, plan, threads);
            DirectSchedule.GroupSplitAtBatchOne = true;
            var after = DirectSchedule.For(g, plan, threads);
            // On two threads (CI's machines) the split is taken; on more, these calls may already have enough tasks.
            if (threads == 2) Assert.True(after.GroupsPerTask < before.GroupsPerTask, $"{g}: {before} -> {after}");
            Check(g, GemmPath.Vector256, 14000 + (ulong)(channels + size));
        }
        finally { DirectSchedule.GroupSplitAtBatchOne = saved; }
    }

    /// <summary>
    /// Batch-blocked 7-wide maps on AVX-512 pair images (one row of two images per tile); chunks of three images end
    /// with a lone image on the one-row kernel, and deep inputs add later passes onto the stored pairs.
    /// </summary>
    [Theory]
    [InlineData(40, 72, 3)]
    [InlineData(300, 40, 2)]
    [InlineData(24, 48, 5, 5)]
    [InlineData(64, 64, 2, 6)]
    public void ImagePairsMatchReferenceWithALoneLastImage(int cin, int cout, int images, int size = 7)
    {
        var g = new Conv2dGeometry(5, cin, size, size, cout, 3, 3, 1, 1, 1, 1);
        using (Switches.Set(() => DirectSchedule.Override, new DirectSchedule(false, images, 1, 1)))
        {
            var plan = DirectPlan.For(g, 16);
            Assert.True(plan.ImagePairs && plan.ImageRows == 1 && plan.RowTiles(g) == size, $"{plan}");
            Check(g, GemmPath.Vector512, 13000 + (ulong)(cin + images));
        }
    }

    /// <summary>
    /// The forward tiles prefetch the next pass's weights in a burst before each call or spread over the call's taps
    /// (<see cref="Conv2dDirect.SpreadPrefetch"/>), or not at all: the results are the same to the bit and match the
    /// reference. Batch 1 with several passes per task: 7×7 maps (AVX2's L1-sized passes), 14×14 (one pass per group,
    /// slices over the burst cap), a deep strided layer.
    /// </summary>
    [Theory]
    [InlineData(1, 96, 7, 7, 72, 1)]
    [InlineData(1, 256, 14, 14, 64, 1)]
    [InlineData(2, 160, 12, 12, 48, 2)]
    public void PrefetchingTheNextPassLeavesTheResultUnchanged(int batch, int cin, int h, int w, int cout, int stride)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(Conv2dDirect.BestWidth), "no direct kernel is hardware-accelerated here (or it is disabled by DOTNET_Enable* settings).");
        var g = new Conv2dGeometry(batch, cin, h, w, cout, 3, 3, stride, stride, 1, 1);
        foreach (var width in new[] { GemmPath.Vector512, GemmPath.Vector256 })
        {
            if (!Conv2dDirect.IsSupported(width)) continue;
            var r = new Generator(17 + (ulong)cin);
            var x = Close.RandomArray((int)g.InputLength, r);
            var wt = Close.RandomArray((int)g.WeightLength, r);
            var b = Close.RandomArray(g.OutChannels, r);
            var expected = new float[g.OutputLength];
            Conv2dReference.Forward(g, x, wt, b, expected);
            float[]? first = null;
            foreach (var (on, mode, intoL1) in new[] { (false, 0, true), (true, 0, true), (true, 1, true), (true, 2, true), (true, 2, false) })
            {
                var actual = Guarded.Nan(g.OutputLength);
                using (Switches.Set(() => Conv2dDirect.PrefetchWeights, on))
                using (Switches.Set(() => Conv2dDirect.SpreadPrefetch, mode))
                using (Switches.Set(() => Conv2dDirect.SpreadPrefetchIntoL1, intoL1))
                    Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, width, x, wt, b, actual, default);
                Close.Assert(expected, actual, 1e-4, 1e-3, $"{g} {width} prefetch {on} spread {mode} T0 {intoL1}");
                if (first == null) first = actual.ToArray();
                else Assert.Equal(first, actual.ToArray());
            }
        }
    }

    /// <summary>
    /// AVX2 forward passes are bounded by the input a tile call reads too (<see cref="Conv2dDirect.Avx2InputBoundPasses"/>,
    /// 12 KiB): a 3×3 tile of 6 pixels (768 bytes per block) takes 16 blocks per pass, not the 32 its weights allow;
    /// L1-sized passes and AVX-512 keep theirs. A deep 20-wide layer at batch 1 and a deep 7×7 per image give the
    /// reference's result either way.
    /// </summary>
    [Theory]
    [InlineData(1, 264, 10, 20, 32)]
    [InlineData(5, 200, 7, 7, 24)]
    public void Avx2PassesBoundedByTheirInputMatchTheReference(int batch, int cin, int h, int w, int cout)
    {
        // (blocks per pass with the bound, without): 33 blocks of a 6-pixel 3×3 tile, 3 passes of 11 rather than 2 of 17.
        Assert.Equal((11, 17), (Conv2dDirect.PassBlocks(8, false, 40, 9 * 8 * 16, 768, 33), WithInputBound(false, () => Conv2dDirect.PassBlocks(8, false, 40, 9 * 8 * 16, 768, 33))));
        Assert.Equal(18, Conv2dDirect.PassBlocks(8, false, 42, 9 * 8 * 16, 672, 18)); // 5-pixel tiles: up to 18 blocks (GoogLeNet's 144→288 on 14×14, one pass)
        Assert.Equal(10, Conv2dDirect.PassBlocks(8, false, 42, 9 * 8 * 16, 672, 20)); // 20 blocks: 2 passes of 10
        Assert.Equal(16, Conv2dDirect.PassBlocks(8, true, 40, 9 * 8 * 24, 576, 64));  // 7×7 per image, 4 pixels × 3 blocks: 21 by either bound, 4 passes of 16
        Assert.Equal(3, Conv2dDirect.PassBlocks(8, false, 14, 9 * 8 * 24, 576, 25));  // few calls: L1-sized, as before
        Assert.Equal(8, Conv2dDirect.PassBlocks(16, false, 40, 9 * 16 * 32, 3072, 16)); // AVX-512: weights only, 8 blocks of 16
        var g = new Conv2dGeometry(batch, cin, h, w, cout, 3, 3, 1, 1, 1, 1);
        Check(g, GemmPath.Vector256, 15000 + (ulong)cin);
        WithInputBound(false, () => { Check(g, GemmPath.Vector256, 15100 + (ulong)cin); return 0; });
    }

    private static T WithInputBound<T>(bool on, Func<T> run)
    {
        using (Switches.Set(() => Conv2dDirect.Avx2InputBoundPasses, on))
            return run();
    }

    [Fact]
    public void DeepLayersWithLargeWeightsBlockTheBatch()
    {
        // ResNet layer4 at batch 32: 9 MiB of weights would stream from beyond L2 once per image.
        var g = new Conv2dGeometry(32, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1);
        var plan = DirectPlan.For(g, 16);
        var s = DirectSchedule.For(g, plan, 2);
        Assert.False(s.PerImage);
        Assert.True(s.Images > 1, $"{s}");
        // layer1: small weights, large images: one image per task.
        var early = new Conv2dGeometry(32, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1);
        Assert.True(DirectSchedule.For(early, DirectPlan.For(early, 16), 2).PerImage);
        // layer3: 2.4 MB of weights come back from L3 for each image, cheaper than blocking the whole batch.
        var mid = new Conv2dGeometry(32, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1);
        Assert.True(DirectSchedule.For(mid, DirectPlan.For(mid, 16), 2).PerImage);
    }

    /// <summary>
    /// Small calls at batch 1 make tasks of at least DirectSchedule.MinTaskFlops, in whole rounds of the threads (a second
    /// round where row chunks keep half of a 14-row map); large ones still make up to four tasks per thread.
    /// </summary>
    [Theory]
    [InlineData(16, 48, 14, 4)]   // 2.7 MFLOP, groups of 2 + 1 blocks on AVX-512: two row chunks of 7 rows each
    [InlineData(128, 32, 14, 2)]  // 14.5 MFLOP, one group: two row chunks (four would leave 3–4 rows each)
    [InlineData(32, 128, 7, 2)]   // 3.6 MFLOP: the traffic model gives each task two of the four groups, no row chunks
    [InlineData(64, 64, 56, 8)]   // 231 MFLOP: four tasks per thread, as before
    public void SmallCallsMakeFewerLargerTasks(int cin, int cout, int size, int expectedTasks)
    {
        var g = new Conv2dGeometry(1, cin, size, size, cout, 3, 3, 1, 1, 1, 1);
        var plan = DirectPlan.For(g, 16);
        var s = DirectSchedule.For(g, plan, 2);
        Assert.False(s.PerImage);
        Assert.Equal(expectedTasks, s.ImageChunks(g) * s.GroupChunks(plan.Groups(g)) * s.RowChunks);
    }

    [Fact]
    public void LargeStridedInputsAtBatchOneSplitRowsBetweenThreads()
    {
        // ResNet-50's layer2.0.conv2 (1.7 MB blocked input): two row chunks, every group in each.
        var g = new Conv2dGeometry(1, 128, 56, 56, 128, 3, 3, 2, 2, 1, 1);
        var plan = DirectPlan.For(g, 16);
        Assert.True(DirectSchedule.SplitsRowsOfLargeStridedInput(g, plan, 2));
        var s = DirectSchedule.For(g, plan, 2);
        Assert.Equal((false, 1, plan.Groups(g), 2), (s.PerImage, s.Images, s.GroupsPerTask, s.RowChunks));
        // ResNet-18's 64→128 on 56×56 (0.86 MB), stride 1, batch 2, AVX2's plan and one thread keep the traffic model's choice.
        var small = new Conv2dGeometry(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1);
        Assert.False(DirectSchedule.SplitsRowsOfLargeStridedInput(small, DirectPlan.For(small, 16), 2));
        var s1 = g with { StrideH = 1, StrideW = 1 };
        Assert.False(DirectSchedule.SplitsRowsOfLargeStridedInput(s1, DirectPlan.For(s1, 16), 2));
        Assert.False(DirectSchedule.SplitsRowsOfLargeStridedInput(g with { Batch = 2 }, DirectPlan.For(g with { Batch = 2 }, 16), 2));
        Assert.False(DirectSchedule.SplitsRowsOfLargeStridedInput(g, DirectPlan.For(g, 8), 2));
        Assert.False(DirectSchedule.SplitsRowsOfLargeStridedInput(g, plan, 1));
    }

    [Fact]
    public void EdgeTilesLeaveOutOnlyTapsThatReadPadding()
    {
        // 3×3, padding 1 on 7×7: the first and last output rows skip one kernel row, a whole-row tile both edge taps.
        var g = new Conv2dGeometry(2, 16, 7, 7, 16, 3, 3, 1, 1, 1, 1);
        Assert.Equal((1, 3), Conv2dDirect.RowTaps(g, 0, 1));
        Assert.Equal((0, 3), Conv2dDirect.RowTaps(g, 3, 1));
        Assert.Equal((0, 2), Conv2dDirect.RowTaps(g, 6, 1));
        Assert.Equal((0, 3), Conv2dDirect.RowTaps(g, 0, 2)); // two stacked rows: the second needs kernel row 0
        Assert.Equal(Conv2dDirect.LeftEdge | Conv2dDirect.RightEdge, Conv2dDirect.ColumnEdges(g, 0, 7));
        Assert.Equal(Conv2dDirect.LeftEdge, Conv2dDirect.ColumnEdges(g, 0, 4));
        Assert.Equal(Conv2dDirect.RightEdge, Conv2dDirect.ColumnEdges(g, 4, 3));
        // Without padding every tap reads the image; stride 2 on 14 → 7 reaches the last column (13) without padding.
        Assert.Equal((0, 3), Conv2dDirect.RowTaps(g with { PadH = 0, PadW = 0 }, 0, 1));
        Assert.Equal(0, Conv2dDirect.ColumnEdges(g with { PadH = 0, PadW = 0 }, 0, 5));
        var s2 = new Conv2dGeometry(2, 16, 14, 14, 16, 3, 3, 2, 2, 1, 1);
        Assert.Equal(Conv2dDirect.LeftEdge, Conv2dDirect.ColumnEdges(s2, 0, 7));
        // Padding beyond the kernel's reach: no kernel row reaches the image.
        var wide = new Conv2dGeometry(1, 16, 5, 9, 24, 3, 3, 2, 1, 3, 1);
        var (kh0, kh1) = Conv2dDirect.RowTaps(wide, 0, 1);
        Assert.Equal(kh0, kh1);
    }

    [Fact]
    public void SevenBySevenMapsAtBatchOneSplitIntoAnEvenNumberOfGroups()
    {
        // ResNet layer4 at batch 1: the threads split output channels only; 32 blocks of 16 in 16 groups, not 11.
        var g = new Conv2dGeometry(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1);
        var plan = DirectPlan.For(g, 16);
        Assert.Equal((7, 2, 2, 16), (plan.R, plan.Rows, plan.GroupBlocks, plan.Groups(g)));
        // At batch 32 the batch is blocked and images balance the threads: the same row of two images × 2 blocks (28
        // accumulators, 16 groups); one image's rows stay one row × 3 blocks (the strided input gradient's phases).
        var p32 = DirectPlan.For(g with { Batch = 32 }, 16);
        Assert.Equal((7, 2, 2, true, 1), (p32.R, p32.Rows, p32.GroupBlocks, p32.ImagePairs, p32.ImageRows));
        Assert.Equal((7, 1, 3, false), (DirectPlan.InImage(g with { Batch = 32 }, 16) is var one ? (one.R, one.Rows, one.GroupBlocks, one.ImagePairs) : default));
        // 8- and 9-wide rows stay one image's: two of them would be 16–18 pixels, more than the tile's 14.
        var wide = new Conv2dGeometry(32, 128, 8, 8, 128, 3, 3, 1, 1, 1, 1);
        Assert.False(DirectPlan.For(wide, 16).ImagePairs);
        var s32 = DirectSchedule.For(g with { Batch = 32 }, p32, 2);
        Assert.False(s32.PerImage);
        Assert.True(s32.Images % 2 == 0, $"{s32}");
        // AVX2: two tiles of 4 (+ 3) pixels × 3 blocks, 12 accumulators.
        var avx2 = DirectPlan.For(g, 8);
        Assert.Equal((4, 1, 3), (avx2.R, avx2.Rows, avx2.GroupBlocks));
    }

    /// <summary>
    /// AVX2's 7×7 maps take groups of 3 blocks unless groups of 2 leave the busiest thread fewer FMA slots: DenseNet-121's
    /// 32 output channels (4 blocks) as 2 + 2 rather than 3 + 1 (a one-block group runs 4 and 3 chains, latency-bound);
    /// ResNet's 512 channels and GoogLeNet's 128 and 320 keep 3.
    /// </summary>
    [Theory]
    [InlineData(32, 2, 2)]
    [InlineData(32, 1, 2)]
    [InlineData(128, 2, 3)]
    [InlineData(320, 2, 3)]
    [InlineData(512, 2, 3)]
    [InlineData(512, 1, 3)]
    public void Avx2SevenBySevenMapsTakeGroupsOfTwoBlocksWhereTheBusiestThreadIsShorter(int cout, int threads, int expected)
    {
        Assert.Equal(expected, DirectPlan.Avx2NarrowBlocks(7, (cout + 7) / 8, threads));
        // 4 blocks on two threads: 3 + 1 costs the first thread 12 + 9 slots per step, 2 + 2 costs each 8 + 8.
        Assert.Equal((21, 16), (DirectPlan.Avx2NarrowCost(7, 4, 3, 2), DirectPlan.Avx2NarrowCost(7, 4, 2, 2)));
        var dense = new Conv2dGeometry(1, 128, 7, 7, 32, 3, 3, 1, 1, 1, 1);
        Assert.Equal(DirectPlan.Avx2NarrowBlocks(7, 4, KernelThreads.Count), DirectPlan.For(dense, 8).GroupBlocks);
    }

    [Fact]
    public void Avx2WideRowsTakeFourPixelsByThreeBlocksWhereFewerFmaSlotsGoIdle()
    {
        // Batch-1 rows of 16 or more otherwise take the shared-tap tile (Conv2dDirectTapRowKernelTests).
        using var sharedTaps = Switches.Set(() => DirectPlan.SharedTapsAvx2, false);
        // 56-pixel rows: 6 × 2 tiles leave a 2-pixel tile (4 chains, half the FMA rate); 14 tiles of 4 × 3 do not.
        var layer1 = new Conv2dGeometry(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1);
        Assert.Equal((4, 1, 3), DirectPlan.For(layer1, 8) is var a ? (a.R, a.Rows, a.GroupBlocks) : default);
        Assert.Equal(448, DirectPlan.Avx2WideTileCost(56, 8, 4, 3));
        Assert.Equal(464, DirectPlan.Avx2WideTileCost(56, 8, 6, 2));
        // 28- and 14-pixel rows split evenly into 6 × 2 tiles (6,6,6,6,4 and 5,5,4), and 32 output channels (4 blocks)
        // would leave a group of one block: these keep 6 × 2.
        foreach (var (size, cout) in new[] { (28, 128), (14, 256), (56, 32) })
        {
            var g = new Conv2dGeometry(1, 64, size, size, cout, 3, 3, 1, 1, 1, 1);
            Assert.Equal(2, DirectPlan.For(g, 8).GroupBlocks);
        }
        // Groups that would not share out evenly over two threads keep 6 × 2: VGG-11's 256 channels on 56×56 (11 groups
        // of 4 × 3, the last of 2 blocks; 16 of 6 × 2); ResNet's 3 groups are split by rows, GoogLeNet's 192 channels make 8.
        Assert.False(DirectPlan.Avx2TakesFourByThree(56, 32, threads: 2));
        Assert.True(DirectPlan.Avx2TakesFourByThree(56, 8, threads: 2));
        Assert.True(DirectPlan.Avx2TakesFourByThree(56, 24, threads: 2));
        Assert.True(DirectPlan.Avx2TakesFourByThree(56, 32, threads: 1));
        // AVX-512 is not concerned.
        Assert.Equal((14, 2), DirectPlan.For(layer1, 16) is var b ? (b.R, b.GroupBlocks) : default);
    }

    [Fact]
    public void ResNetConvolutionsTakeTheDirectPathWhereSimdAllows()
    {
        var g = new Conv2dGeometry(32, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1);
        Assert.Equal(Conv2dDirect.BestWidth == GemmPath.Scalar || Conv2dDirect.BestWidth == GemmPath.Vector128 ? Conv2dAlgorithm.Im2ColGemm : Conv2dAlgorithm.Direct,
            Conv2dKernels.Choose(g));
        // The 3-channel stem runs on the pixel-input path (Conv2dDirectPixelKernelTests); its gradients keep im2col.
        var stem = new Conv2dGeometry(32, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3);
        Assert.True(Conv2dDirect.TakesPixels(stem));
        Assert.Equal(Conv2dAlgorithm.Im2ColGemm, Conv2dKernels.ChooseBackwardWeight(stem));
    }

    [Fact]
    public void ForcingAnUnsupportedShapeNamesIt()
    {
        var g = new Conv2dGeometry(1, 4, 8, 8, 4, 3, 3, Groups: 2);
        var e = Assert.Throws<ArgumentException>(() => Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, GemmPath.Vector256,
            new float[g.InputLength], new float[g.WeightLength], default, new float[g.OutputLength], default));
        Assert.Contains("Direct", e.Message);
    }

    private static Conv2dGeometry RandomGeometry(Generator r)
    {
        int kH = 1 + r.NextInt(4), kW = 1 + r.NextInt(4);
        int sH = 1 + r.NextInt(3), sW = 1 + r.NextInt(2), pH = r.NextInt(3), pW = r.NextInt(3), dH = 1 + r.NextInt(2), dW = 1 + r.NextInt(2);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(10), w = Conv2dGeometry.MinInputSize(kW, pW, dW) + r.NextInt(34);
        return new Conv2dGeometry(1 + r.NextInt(3), 1 + r.NextInt(40), h, w, 1 + r.NextInt(40), kH, kW, sH, sW, pH, pW, dH, dW);
    }

    /// <summary>
    /// The random inputs of one direct-convolution check, drawn in one fixed order from <paramref name="seed"/>, and the
    /// absolute tolerance that grows with the reduction length (here and in Conv2dDirectTapRowKernelTests' reference cases).
    /// </summary>
    internal sealed record DirectInputs(float[] X, float[] W, float[] B, float[] Res, float[] Dy, double Atol)
    {
        public static DirectInputs Draw(Conv2dGeometry g, ulong seed)
        {
            var r = new Generator(seed);
            var x = Close.RandomArray((int)g.InputLength, r);
            var w = Close.RandomArray((int)g.WeightLength, r);
            var b = Close.RandomArray(g.OutChannels, r);
            var res = Close.RandomArray((int)g.OutputLength, r);
            var dy = Close.RandomArray((int)g.OutputLength, r);
            double atol = 1e-5 * Math.Sqrt(Math.Max(g.InChannels, g.OutChannels) * g.KernelHeight * g.KernelWidth + 1) * 4;
            return new DirectInputs(x, w, b, res, dy, atol);
        }
    }

    /// <summary>Forward (with and without bias, with the fused residual + ReLU) and both gradients, forced onto Direct at <paramref name="width"/>.</summary>
    internal static void Check(Conv2dGeometry g, GemmPath width, ulong seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(width), $"the direct kernel at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        g.Validate();
        var (x, w, b, res, dy, atol) = DirectInputs.Draw(g, seed);
        string what = $"{g} Direct {width}";

        var expected = new float[g.OutputLength];
        var actual = Guarded.Nan(g.OutputLength);
        Conv2dReference.Forward(g, x, w, b, expected);
        Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, width, x, w, b, actual, default);
        Close.Assert(expected, actual, 1e-4, atol, $"forward {what}");

        actual = Guarded.Nan(g.OutputLength);
        Conv2dReference.Forward(g, x, w, ReadOnlySpan<float>.Empty, expected);
        Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, width, x, w, default, actual, default);
        Close.Assert(expected, actual, 1e-4, atol, $"forward without bias {what}");

        // Epilogue: relu(conv + bias + residual), as a residual block ends.
        Conv2dReference.Forward(g, x, w, b, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i] + res[i], 0f);
        actual = Guarded.Nan(g.OutputLength);
        Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, width, x, w, b, actual, new Conv2dEpilogue { Residual = res, Relu = true });
        Close.Assert(expected, actual, 1e-4, atol, $"forward with residual and ReLU {what}");

        var dxExpected = new float[g.InputLength];
        var dxActual = Guarded.Nan(g.InputLength);
        Conv2dReference.BackwardData(g, dy, w, dxExpected);
        Conv2dKernels.BackwardData(g, Conv2dAlgorithm.Direct, width, dy, w, dxActual);
        Close.Assert(dxExpected, dxActual, 1e-4, atol, $"gradInput {what} (direct: {Conv2dDirect.SupportsBackwardData(g)})");

        var dwExpected = new float[g.WeightLength];
        var dwActual = Guarded.Nan(g.WeightLength);
        Conv2dReference.BackwardWeight(g, x, dy, dwExpected);
        Conv2dKernels.BackwardWeight(g, Conv2dAlgorithm.Direct, width, x, dy, dwActual);
        Close.Assert(dwExpected, dwActual, 1e-4, atol * Math.Sqrt(g.Batch * g.OutHeight * g.OutWidth), $"gradWeight {what}");
    }
}
