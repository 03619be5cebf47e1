using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 batch-1 tile of stride-1 3-tap rows that broadcasts each input value once for its three taps
/// (<see cref="Conv2dDirectTapRowTile{TS, TV, TR}"/>, <see cref="DirectPlan.SharedTapsAvx2"/>) against the reference twin,
/// with the switch each way: random shapes (1–3 kernel rows, row stride and dilation, padding 0–2 so that edge tiles
/// leave out the border's taps or not, partial channel blocks, several input-channel passes), VGG-like rows of 16–112
/// pixels, and the output a slice of a larger buffer whose guard values after it must stay untouched.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dDirectTapRowKernelTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(1, 16, 6, 56, 24, 3, 3, 1, 1, 1, 1),     // 56-wide rows: 12, 11, 11, 11, 11 pixels
        new(1, 20, 5, 28, 16, 3, 3, 1, 1, 1, 1),     // 28: 10, 9, 9
        new(1, 8, 3, 112, 8, 3, 3, 1, 1, 1, 1),      // 112: 12, 12, 11 × 8
        new(1, 136, 4, 16, 20, 3, 3, 1, 1, 1, 1),    // 16: two tiles of 8; 17 input blocks in passes that add onto the stored tiles
        new(1, 12, 7, 24, 9, 3, 3, 1, 1, 0, 0),      // no padding: no edge taps left out, 22-wide output (11, 11)
        new(1, 12, 9, 21, 9, 3, 3, 2, 1, 2, 2),      // padding 2, row stride 2: the edge tiles' first and last columns read only the border
        new(1, 10, 8, 30, 17, 2, 3, 1, 1, 1, 1),     // two kernel rows
        new(1, 9, 12, 20, 11, 3, 3, 1, 1, 2, 1, 2, 1), // row dilation 2
        new(1, 40, 14, 14, 24, 3, 3, 1, 1, 1, 1),    // 14×14: two rows × 5, 5, 4 pixels
        new(1, 20, 13, 13, 17, 3, 3, 1, 1, 1, 1),    // 13×13: two rows × 5, 4, 4, a last tile of one row
        new(1, 136, 7, 15, 9, 3, 3, 1, 1, 1, 1),     // 15 wide, 7 rows, several passes
        new(1, 12, 9, 15, 9, 3, 3, 2, 1, 2, 2),      // padding 2, row stride 2, 13-wide rows
    ];

    public static TheoryData<int> NamedCases() => new(Enumerable.Range(0, Named.Length));

    public static TheoryData<int> RandomCases() => new(Enumerable.Range(0, 24));

    [Theory, MemberData(nameof(NamedCases))]
    public void MatchesReferenceOnNamedGeometry(int index) => CheckBothWays(Named[index], 41000 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomGeometry(int seed)
    {
        var r = new Generator(4100 + (ulong)seed);
        int kH = 1 + r.NextInt(3), sH = 1 + r.NextInt(2), dH = 1 + r.NextInt(2), pH = r.NextInt(3), pW = r.NextInt(3);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(6);
        int w = 13 + 2 - 2 * pW + r.NextInt(60); // output width 13–72
        var g = new Conv2dGeometry(1, 1 + r.NextInt(70), h, w, 1 + r.NextInt(30), kH, 3, sH, 1, pH, pW, dH, 1);
        CheckBothWays(g, 42000 + (ulong)seed);
    }

    /// <summary>Output rows 12–16 pixels wide (12: the 6 × 2 tiles; 13–15: two rows of the shared-tap tile; 16: one row), odd channel counts, any row count.</summary>
    [Theory, MemberData(nameof(RandomCases))]
    public void MatchesReferenceOnRandomNarrowRows(int seed)
    {
        var r = new Generator(4300 + (ulong)seed);
        int kH = 1 + r.NextInt(3), sH = 1 + r.NextInt(2), dH = 1 + r.NextInt(2), pH = r.NextInt(3), pW = r.NextInt(3);
        int h = Conv2dGeometry.MinInputSize(kH, pH, dH) + r.NextInt(16);
        int w = 12 + 2 - 2 * pW + r.NextInt(5); // output width 12–16
        var g = new Conv2dGeometry(1, 1 + 2 * r.NextInt(40), h, w, 1 + 2 * r.NextInt(20), kH, 3, sH, 1, pH, pW, dH, 1);
        CheckBothWays(g, 43000 + (ulong)seed);
    }

    /// <summary>Which shapes take the tile: any batch (batch 1 only with the batched switch off), three taps, column stride and dilation 1, rows of 16 pixels or more (13–15 with a second row: two-row tiles); the row split.</summary>
    [Fact]
    public void Avx2BatchOneStrideOneRowsOfThirteenOrMoreTakeTheTile()
    {
        var vgg = new Conv2dGeometry(1, 128, 56, 56, 256, 3, 3, 1, 1, 1, 1);
        var plan = DirectPlan.For(vgg, 8);
        Assert.True(plan.SharedTaps);
        Assert.Equal((12, 1, 1), (plan.R, plan.Rows, plan.GroupBlocks));
        Assert.Equal((1, 11), (plan.NarrowFrom(vgg), plan.NarrowWidth(vgg))); // 12, 11, 11, 11, 11
        var narrow = new Conv2dGeometry(1, 512, 28, 28, 512, 3, 3, 1, 1, 1, 1);
        Assert.Equal((10, 1, 9), DirectPlan.For(narrow, 8) is var p ? (p.R, p.NarrowFrom(narrow), p.NarrowWidth(narrow)) : default);
        Assert.False(DirectPlan.For(vgg, 16).SharedTaps);                                                     // AVX-512
        Assert.True(DirectPlan.For(vgg with { Batch = 2 }, 8).SharedTaps);                                     // batches
        using (Switches.Set(() => DirectPlan.SharedTapsBatchedAvx2, false))
            Assert.False(DirectPlan.For(vgg with { Batch = 2 }, 8).SharedTaps);
        var r14 = new Conv2dGeometry(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1);                               // 14-wide rows: two rows × 5, 5, 4
        Assert.Equal((true, 5, 2, 1, 2, 4), DirectPlan.For(r14, 8) is var q ? (q.SharedTaps, q.R, q.Rows, q.GroupBlocks, q.NarrowFrom(r14), q.NarrowWidth(r14)) : default);
        var r13 = new Conv2dGeometry(1, 384, 13, 13, 256, 3, 3, 1, 1, 1, 1);                               // 13: two rows × 5, 4, 4
        Assert.Equal((true, 5, 2, 1, 4), DirectPlan.For(r13, 8) is var q13 ? (q13.SharedTaps, q13.R, q13.Rows, q13.NarrowFrom(r13), q13.NarrowWidth(r13)) : default);
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 14, 12, 64, 3, 3, 1, 1, 1, 1), 8).SharedTaps);  // 12-wide rows
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 1, 14, 64, 3, 3, 1, 1, 1, 1), 8).SharedTaps);   // one 14-wide row: no second row
        using (Switches.Set(() => DirectPlan.SharedTapTwoRowsAvx2, false))
            Assert.False(DirectPlan.For(r14, 8).SharedTaps);
        using (Switches.Set(() => DirectPlan.SharedTapsStride2MinWidthAvx2, 0)) // column stride 2: not this tile (Conv2dDirectTapRowStride2KernelTests)
            Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1), 8).SharedTaps);
        Assert.False(DirectPlan.For(new Conv2dGeometry(1, 64, 56, 56, 128, 5, 5, 1, 1, 2, 2), 8).SharedTaps);  // five taps
        using (Switches.Set(() => DirectPlan.SharedTapsAvx2, false))
            Assert.False(DirectPlan.For(vgg, 8).SharedTaps);
    }

    /// <summary>
    /// The shared-tap tile kind (<see cref="Conv2dDirect.SharedTapKind"/>) names the tile the kernel table runs and the one
    /// <see cref="Conv2dDirect.ForwardTileMethods"/> lists for compiling ahead: stride 2, two rows (a last odd row: one), one row.
    /// </summary>
    [Fact]
    public void TileMethodsListTheSharedTapTileOfEachKind()
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector256), "the AVX2 direct kernel is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var cases = new (Conv2dGeometry G, Type[] Tiles)[]
        {
            (new(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1), [typeof(Conv2dDirectTapRowStride2Tile<,,>)]),
            (new(1, 40, 14, 14, 24, 3, 3, 1, 1, 1, 1), [typeof(Conv2dDirectTapRowsTile<,,>)]),
            (new(1, 20, 13, 13, 17, 3, 3, 1, 1, 1, 1), [typeof(Conv2dDirectTapRowsTile<,,>), typeof(Conv2dDirectTapRowTile<,,>)]),
            (new(1, 16, 6, 56, 24, 3, 3, 1, 1, 1, 1), [typeof(Conv2dDirectTapRowTile<,,>)]),
        };
        foreach (var (g, tiles) in cases)
        {
            Assert.True(DirectPlan.For(g, 8).SharedTaps);
            var listed = Conv2dDirect.ForwardTileMethods(GemmPath.Vector256, g).Select(m => m.DeclaringType!.GetGenericTypeDefinition()).Distinct().OrderBy(t => t.Name).ToArray();
            Assert.Equal(tiles.OrderBy(t => t.Name).ToArray(), listed);
        }
        Assert.Equal(Conv2dDirect.SharedTapTile.Stride2, Conv2dDirect.SharedTapKind(new Conv2dGeometry(1, 8, 14, 14, 8, 3, 3, 2, 2, 1, 1), 2));
        Assert.Equal(Conv2dDirect.SharedTapTile.TwoRows, Conv2dDirect.SharedTapKind(new Conv2dGeometry(1, 8, 14, 14, 8, 3, 3, 1, 1, 1, 1), 2));
        Assert.Equal(Conv2dDirect.SharedTapTile.OneRow, Conv2dDirect.SharedTapKind(new Conv2dGeometry(1, 8, 14, 14, 8, 3, 3, 1, 1, 1, 1), 1));
    }

    /// <summary>
    /// The rule at ResNet-50's training batch (8): its stride-1 3×3s of 56-, 28- and 14-wide rows take the shared-tap
    /// tiles forward and for the input gradient (the transposed geometry: same rows); 512→512 @7 keeps the 4 × 3 tiles.
    /// Kept unrestricted by the per-shape A/B at batch 8 (bench/RESULTS.md 2026-12-07, taps: no shape slower with them).
    /// </summary>
    [Fact]
    public void ResNetTrainingShapesAtBatchEightTakeTheTileBothPasses()
    {
        foreach (var (c, size, shares) in new[] { (64, 56, true), (128, 28, true), (256, 14, true), (512, 7, false) })
        {
            var g = new Conv2dGeometry(8, c, size, size, c, 3, 3, 1, 1, 1, 1);
            Assert.Equal(shares, DirectPlan.For(g, 8).SharedTaps);
            Assert.Equal(shares, DirectPlan.For(Conv2dDirect.TransposedGeometry(g), 8).SharedTaps);
            using (Switches.Set(() => DirectPlan.SharedTapsBatchedAvx2, false))
                Assert.False(DirectPlan.For(g, 8).SharedTaps);
        }
    }

    // Batches (DirectPlan.SharedTapsBatchedAvx2): ResNet's 14×14 layer3 shape cut down, 13-, 28- and 56-wide rows, padding 0 and 2.
    private static readonly Conv2dGeometry[] Batched =
    [
        new(3, 24, 14, 14, 20, 3, 3, 1, 1, 1, 1),    // two rows × 5, 5, 4 pixels per image
        new(2, 20, 13, 13, 17, 3, 3, 1, 1, 1, 1),    // 13×13: a last tile of one row in every image
        new(4, 16, 6, 28, 24, 3, 3, 1, 1, 1, 1),     // one row × 10, 9, 9
        new(2, 12, 5, 56, 9, 3, 3, 1, 1, 0, 0),      // no padding, 54-wide rows
        new(5, 136, 4, 15, 12, 3, 3, 1, 1, 2, 2),    // padding 2, 17 input blocks in several passes
    ];

    private static readonly DirectSchedule[] Schedules =
    [
        new(true, 1, 1, 1),    // one image per task
        new(false, 2, 1, 1),   // batch blocked, two images and one group per task
        new(false, 3, 2, 2),   // three images, two groups, rows in two chunks
    ];

    public static TheoryData<int, int> BatchedCases()
    {
        var data = new TheoryData<int, int>();
        for (int i = 0; i < Batched.Length; i++)
            for (int s = 0; s < Schedules.Length; s++) data.Add(i, s);
        return data;
    }

    /// <summary>
    /// Batches of several images on the shared-tap tiles and without them (the switch each way), under each kind of
    /// schedule, against the reference twin: forward, forward with residual and ReLU, input gradient; every output guarded.
    /// </summary>
    [Theory, MemberData(nameof(BatchedCases))]
    public void BatchesMatchReferenceBothWays(int index, int schedule)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector256), "the AVX2 direct kernel is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var g = Batched[index];
        g.Validate();
        var c = ReferenceCase.Draw(g, 44000 + (ulong)(index * 10 + schedule));
        using var forced = Switches.Set(() => DirectSchedule.Override, Schedules[schedule]);
        foreach (bool on in new[] { true, false })
            using (Switches.Set(() => DirectPlan.SharedTapsBatchedAvx2, on))
            {
                string what = $"{g} schedule {Schedules[schedule]} batched shared taps {on}";
                Assert.Equal(on, DirectPlan.For(g, 8).SharedTaps);
                c.Check(what, backwardData: true);
            }
    }

    /// <summary>Forward (bias; bias + residual + ReLU) and the input gradient (a stride-1 full convolution, the same tile) with the tile and without.</summary>
    private static void CheckBothWays(Conv2dGeometry g, ulong seed)
    {
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector256), "the AVX2 direct kernel is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        g.Validate();
        var c = ReferenceCase.Draw(g, seed);
        // Shared taps with two-row tiles for 13–15-pixel rows, shared taps without them, and neither.
        foreach (var (taps, rows) in new[] { (true, true), (true, false), (false, false) })
            using (Switches.Set(() => DirectPlan.SharedTapsAvx2, taps))
            using (Switches.Set(() => DirectPlan.SharedTapTwoRowsAvx2, rows))
            {
                string what = $"{g} shared taps {taps}, two rows {rows}";
                var plan = DirectPlan.For(g, 8);
                bool narrow = g.OutWidth < 16;
                Assert.Equal(taps && (!narrow || (rows && g.OutWidth >= 13 && g.OutHeight >= 2)), plan.SharedTaps);
                if (plan.SharedTaps) Assert.Equal(narrow ? 2 : 1, plan.Rows);
                c.Check(what, backwardData: Conv2dDirect.SupportsBackwardData(g));
            }
    }

    /// <summary>Random inputs of one geometry and the reference twin's forward, fused (bias + residual + ReLU) and input gradient.</summary>
    private sealed record ReferenceCase(Conv2dGeometry G, float[] X, float[] W, float[] B, float[] Res, float[] Dy,
        double Atol, float[] Expected, float[] Fused, float[] DxExpected)
    {
        public static ReferenceCase Draw(Conv2dGeometry g, ulong seed)
        {
            var (x, w, b, res, dy, atol) = Conv2dDirectKernelTests.DirectInputs.Draw(g, seed);
            var expected = new float[g.OutputLength];
            Conv2dReference.Forward(g, x, w, b, expected);
            var fused = new float[g.OutputLength];
            for (int i = 0; i < fused.Length; i++) fused[i] = MathF.Max(expected[i] + res[i], 0f);
            var dxExpected = new float[g.InputLength];
            Conv2dReference.BackwardData(g, dy, w, dxExpected);
            return new ReferenceCase(g, x, w, b, res, dy, atol, expected, fused, dxExpected);
        }

        /// <summary>The direct kernel under the switches in force: forward, forward with residual and ReLU, and (when asked) the input gradient, each into guarded outputs.</summary>
        public void Check(string what, bool backwardData)
        {
            var y = Guarded.Nan(G.OutputLength);
            Conv2dKernels.Forward(G, Conv2dAlgorithm.Direct, GemmPath.Vector256, X, W, B, y, default);
            Close.Assert(Expected, y, 1e-4, Atol, $"forward {what}");

            y = Guarded.Nan(G.OutputLength);
            Conv2dKernels.Forward(G, Conv2dAlgorithm.Direct, GemmPath.Vector256, X, W, B, y, new Conv2dEpilogue { Residual = Res, Relu = true });
            Close.Assert(Fused, y, 1e-4, Atol, $"forward with residual and ReLU {what}");

            if (!backwardData) return;
            var dx = Guarded.Nan(G.InputLength);
            Conv2dKernels.BackwardData(G, Conv2dAlgorithm.Direct, GemmPath.Vector256, Dy, W, dx);
            Close.Assert(DxExpected, dx, 1e-4, Atol, $"gradInput {what}");
        }
    }
}
