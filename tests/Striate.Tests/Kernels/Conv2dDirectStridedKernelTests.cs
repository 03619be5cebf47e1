using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The input gradient of strided convolutions as stride-1 phase convolutions on the direct tile
/// (<see cref="Conv2dDirect.BackwardDataStrided"/>) against its reference twin, on both SIMD widths: even and odd
/// sizes, channels that do not fill a block, phases without taps (1×1 stride 2, stride above the kernel), row and
/// column strides that differ, padding 0 to beyond the kernel, and every task schedule.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dDirectStridedKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(2, 20, 28, 28, 24, 3, 3, 2, 2, 1, 1),   // ResNet's downsampling 3×3, partial blocks
        new(1, 17, 15, 13, 9, 3, 3, 2, 2, 1, 1),    // odd sizes: the two column phases differ in length
        new(2, 5, 23, 22, 7, 7, 7, 2, 2, 3, 3),     // stem-like 7×7
        new(1, 9, 10, 9, 12, 1, 1, 2, 2),           // 1×1 stride 2: three of four phases have no taps
        new(1, 6, 13, 14, 10, 2, 2, 2, 2),          // 2×2 stride 2: one tap per phase, no overlap
        new(1, 8, 16, 17, 8, 5, 5, 3, 3, 2, 2),     // stride 3, nine phases
        new(2, 12, 9, 10, 20, 3, 2, 3, 1, 0, 1),    // row stride 3, column stride 1, non-square kernel
        new(1, 4, 9, 9, 4, 3, 3, 2, 2, 3, 3),       // padding beyond the kernel: border pixels get no gradient
        new(1, 33, 7, 7, 40, 3, 3, 2, 2, 1, 1),     // 4×4 output: tiles of several rows
        new(3, 16, 12, 12, 48, 3, 3, 4, 4, 1, 1),   // stride 4: sixteen phases, most without taps
    ];

    public static TheoryData<int, int> NamedCases() => DirectWidthCases.Of(Named.Length);

    public static TheoryData<int, int> RandomCases() => DirectWidthCases.Of(25);

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int width, int index) => Check(Named[index], (GemmPath)width, 500 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int width, int seed)
    {
        Check(RandomGeometry(4000 + (ulong)seed), (GemmPath)width, (ulong)seed);
    }

    /// <summary>A random strided geometry from <paramref name="seed"/>: kernels 1–5, row stride 1–3, column stride 2–3, any padding up to the kernel.</summary>
    private static Conv2dGeometry RandomGeometry(ulong seed)
    {
        var r = new Generator(seed);
        int kH = 1 + r.NextInt(5), kW = 1 + r.NextInt(5), sH = 1 + r.NextInt(3), sW = 2 + r.NextInt(2), pH = r.NextInt(kH + 1), pW = r.NextInt(kW + 1);
        int h = Conv2dGeometry.MinInputSize(kH, pH, 1) + r.NextInt(12), w = Conv2dGeometry.MinInputSize(kW, pW, 1) + r.NextInt(30);
        return new Conv2dGeometry(1 + r.NextInt(3), 1 + r.NextInt(40), h, w, 1 + r.NextInt(40), kH, kW, sH, sW, pH, pW);
    }

    private static readonly Conv2dDirect.PhaseSchedule[] Schedules = [new(1, 1), new(2, 1), new(3, 2), new(5, 9)];

    public static TheoryData<int, int, int> ScheduleCases()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int w in new[] { (int)GemmPath.Vector512, (int)GemmPath.Vector256 })
            foreach (int i in new[] { 0, 1, 5, 9 })
                for (int s = 0; s < Schedules.Length; s++) data.Add(w, i, s);
        return data;
    }

    /// <summary>Any split of the batch and the channel groups into tasks gives the reference's result.</summary>
    [Theory, MemberData(nameof(ScheduleCases))]
    public void ForcedScheduleMatchesReference(int width, int index, int schedule)
    {
        using (Switches.Set(() => Conv2dDirect.PhaseSchedule.Override, Schedules[schedule]))
            Check(Named[index] with { Batch = 5 }, (GemmPath)width, 600 + (ulong)(index * 10 + schedule));
    }

    /// <summary>
    /// The phases interleaved back pixel by pixel (<see cref="Conv2dDirect.RunInterleave"/> off) or as one run per row and
    /// column phase give the same input gradient.
    /// </summary>
    [Theory, MemberData(nameof(NamedCases))]
    public void InterleaveEitherWayMatchesReference(int width, int index)
    {
        foreach (bool runs in new[] { false, true })
            using (Switches.Set(() => Conv2dDirect.RunInterleave, runs))
                Check(Named[index], (GemmPath)width, 700 + (ulong)index);
    }

    /// <summary>
    /// Each combination of the phase tiles' border taps left out or not (<see cref="Conv2dDirect.PhaseSkipsBorder"/>),
    /// dx unpacked by the task ending each chunk or in a pass after all (<see cref="Conv2dDirect.PhaseUnpackInTask"/>) and the phases interleaved
    /// straight to NCHW or through a blocked plane (<see cref="Conv2dDirect.FusedInterleave"/>) gives the reference's result,
    /// on the named shapes and on random ones (odd widths, partial channel blocks, strides 2–3, padding up to the kernel).
    /// </summary>
    [Theory, MemberData(nameof(NamedCases))]
    public void PhaseSwitchesEitherWayMatchReferenceOnNamedGeometry(int width, int index)
    {
        for (int mask = 0; mask < 8; mask++)
            using (Switches.Set(() => Conv2dDirect.PhaseSkipsBorder, (mask & 1) != 0))
            using (Switches.Set(() => Conv2dDirect.PhaseUnpackInTask, (mask & 2) != 0))
            using (Switches.Set(() => Conv2dDirect.FusedInterleave, (mask & 4) != 0))
                Check(Named[index], (GemmPath)width, 800 + (ulong)index);
    }

    [Theory, MemberData(nameof(RandomCases))]
    public void PhaseSwitchesEitherWayMatchReferenceOnRandomGeometry(int width, int seed)
    {
        var g = RandomGeometry(9000 + (ulong)seed);
        for (int mask = 0; mask < 8; mask++)
            using (Switches.Set(() => Conv2dDirect.PhaseSkipsBorder, (mask & 1) != 0))
            using (Switches.Set(() => Conv2dDirect.PhaseUnpackInTask, (mask & 2) != 0))
            using (Switches.Set(() => Conv2dDirect.FusedInterleave, (mask & 4) != 0))
                Check(g, (GemmPath)width, 900 + (ulong)seed);
    }

    /// <summary>
    /// The strided weight gradient's choice on AVX2 (<see cref="Conv2dDirect.StridedWeightDirect"/>): with the switch off a
    /// strided convolution whose forward is direct takes im2col + GEMM for its weight gradient; on, the direct kernel.
    /// </summary>
    [Fact]
    public void StridedWeightSwitchPicksTheWeightGradient()
    {
        var g = new Conv2dGeometry(32, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1);
        Assert.SkipUnless(Conv2dDirect.BestWidth == GemmPath.Vector256 && Conv2dKernels.Choose(g) == Conv2dAlgorithm.Direct,
            "the choice applies where the forward of a strided 3×3 is direct on AVX2 (not AVX-512, and not with intrinsics off).");
        using (Switches.Set(() => Conv2dDirect.StridedWeightDirect, false))
            Assert.Equal(Conv2dAlgorithm.Im2ColGemm, Conv2dKernels.ChooseBackwardWeight(g));
        using (Switches.Set(() => Conv2dDirect.StridedWeightDirect, true))
            Assert.Equal(Conv2dAlgorithm.Direct, Conv2dKernels.ChooseBackwardWeight(g));
    }

    /// <summary>PhaseTaps keeps exactly the tap rows that read a dy row of the image for some row of the tile.</summary>
    [Fact]
    public void PhaseTapsKeepExactlyTheRowsInsideTheImage()
    {
        for (int taps = 1; taps <= 4; taps++)
        for (int outH = 1; outH <= 6; outH++)
        for (int i = 0; i < outH + taps; i++)
        for (int rows = 1; rows <= 4; rows++)
        {
            var (th0, th1) = Conv2dDirect.PhaseTaps(i, rows, taps, outH);
            for (int th = 0; th < taps; th++)
            {
                bool reads = false;
                for (int q = 0; q < rows; q++)
                {
                    int dyRow = i + q - (taps - 1) + th;
                    reads |= dyRow >= 0 && dyRow < outH;
                }
                Assert.True(reads == (th >= th0 && th < th1), $"i {i} rows {rows} taps {taps} outH {outH}: tap row {th} reads the image: {reads}, kept [{th0}, {th1})");
            }
        }
    }

    /// <summary>
    /// The schedule's tasks keep their output within the L2 budget (<see cref="Conv2dDirect.PhaseSchedule.L2Budget"/>)
    /// unless one image of one group is already larger, and cover at least one image and group.
    /// </summary>
    [Fact]
    public void ScheduleKeepsTaskOutputWithinTheL2Budget()
    {
        Conv2dGeometry[] shapes =
        [
            new(32, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1), new(32, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1),
            new(32, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1), new(8, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3),
        ];
        foreach (int v in new[] { 8, 16 })
            foreach (var g in shapes)
            {
                var plan = new Conv2dDirect.PhasePlan(g, v);
                long outGroup = (long)plan.GroupBlocks * plan.Rows.MaxCount * plan.Cols.MaxCount * v * sizeof(float);
                foreach (long budget in new long[] { 1L << 20, 256 * 1024, 64 * 1024 })
                {
                    var s = Conv2dDirect.PhaseSchedule.For(g, plan, 2, budget);
                    Assert.InRange(s.Images, 1, g.Batch);
                    Assert.InRange(s.GroupsPerTask, 1, plan.Groups);
                    Assert.True(s.Images * s.GroupsPerTask == 1 || s.Images * s.GroupsPerTask * outGroup <= budget, $"{g} V={v} budget {budget}: {s}");
                }
            }
    }

    /// <summary>The phases of an axis partition its input positions, and its taps, exactly once.</summary>
    [Fact]
    public void PhasesPartitionPositionsAndTaps()
    {
        var r = new Generator(77);
        for (int trial = 0; trial < 500; trial++)
        {
            int k = 1 + r.NextInt(7), s = 1 + r.NextInt(4), pad = r.NextInt(k + 2), input = Conv2dGeometry.MinInputSize(k, pad, 1) + r.NextInt(20);
            int output = Conv2dGeometry.OutSize(input, k, s, pad, 1);
            var axis = new PhaseAxis(s, pad, k, input, output);
            var seen = new int[input];
            int taps = 0;
            for (int p = 0; p < s; p++)
            {
                taps += axis.Taps(p);
                for (int i = axis.First(p); i < axis.First(p) + axis.Count(p); i++) seen[axis.Input(p, i)]++;
            }
            Assert.Equal(k, taps);
            Assert.All(seen, c => Assert.Equal(1, c));
        }
    }

    [Fact]
    public void StridedConvolutionsWithoutDilationTakeThePhasePath()
    {
        Assert.True(Conv2dDirect.SupportsStridedBackwardData(new Conv2dGeometry(32, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1)));
        Assert.False(Conv2dDirect.SupportsStridedBackwardData(new Conv2dGeometry(1, 8, 20, 20, 8, 3, 3, 2, 2, 2, 2, 2, 2)));
        Assert.False(Conv2dDirect.SupportsStridedBackwardData(new Conv2dGeometry(1, 8, 20, 20, 8, 3, 3, 1, 1, 1, 1)));
    }

    private static void Check(Conv2dGeometry g, GemmPath width, ulong seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(width), $"the direct kernel at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        g.Validate();
        Assert.True(Conv2dDirect.SupportsStridedBackwardData(g) || g.StrideH * g.StrideW == 1, $"{g} should take the phase path");
        var r = new Generator(seed);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        double atol = 4e-5 * Math.Sqrt(g.OutChannels * g.KernelHeight * g.KernelWidth + 1);
        var expected = new float[g.InputLength];
        var actual = Guarded.Nan(g.InputLength);
        Conv2dReference.BackwardData(g, dy, w, expected);
        Conv2dKernels.BackwardData(g, Conv2dAlgorithm.Direct, width, dy, w, actual);
        actual.Check($"gradInput {g} Direct {width}");
        Close.Assert(expected, actual, 1e-4, atol, $"gradInput {g} Direct {width}");
    }
}
