using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The direct convolution's tests that set <see cref="KernelThreads.Count"/>: the tile and schedule choices depend on
/// the thread count, so these run alone (no other test reads the count while they change it).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dDirectThreadCountTests
{
    [Fact]
    public void LargeStridedInputWithRowsSplitMatchesReference()
    {
        // 80 channels on 56×56 (1.08 MB blocked) → 48 channels (two groups, the second of one block), stride 2.
        var g = new Conv2dGeometry(1, 80, 56, 56, 48, 3, 3, 2, 2, 1, 1);
        Assert.SkipUnless(Conv2dDirect.IsSupported(GemmPath.Vector512), "the direct kernel at Vector512 is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        using (Switches.Set(() => KernelThreads.Count, Math.Max(2, KernelThreads.Count)))
        {
            Assert.True(DirectSchedule.SplitsRowsOfLargeStridedInput(g, DirectPlan.For(g, 16), KernelThreads.Count));
            var r = new Generator(13900);
            var x = Close.RandomArray((int)g.InputLength, r);
            var w = Close.RandomArray((int)g.WeightLength, r);
            var b = Close.RandomArray(g.OutChannels, r);
            var res = Close.RandomArray((int)g.OutputLength, r);
            var expected = new float[g.OutputLength];
            Conv2dReference.Forward(g, x, w, b, expected);
            for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i] + res[i], 0f);
            var actual = Guarded.Nan(g.OutputLength);
            Conv2dKernels.Forward(g, Conv2dAlgorithm.Direct, GemmPath.Vector512, x, w, b, actual, new Conv2dEpilogue { Residual = res, Relu = true });
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(80 * 9 + 1) * 4, $"{g} rows split");
        }
    }

    [Fact]
    public void Avx2RowsSplitIntoTilesOfRAndRMinusOnePixelsRatherThanANarrowLastTile()
    {
        // (row width, output channels) → (R, tiles of R, narrow width, tile count): VGG-11's 256 channels on 56×56 were
        // 9 tiles of 6 and one of 2; 28-wide 6,6,6,6,4; AlexNet's 13-wide 5,5,3; 112-wide 18 × 6 + 4.
        // The 4 × 3 tile choice shares groups over the threads (Avx2TakesFourByThree): these are the tiles of two threads.
        // Batch-1 rows of 16 or more otherwise take the shared-tap tile (Conv2dDirectTapRowKernelTests).
        using (Switches.Set(() => KernelThreads.Count, 2))
        using (Switches.Set(() => DirectPlan.SharedTapsAvx2, false))
        {
            foreach (var (size, cout, expected) in new[] { (56, 256, (6, 6, 5, 10)), (28, 512, (6, 3, 5, 5)), (13, 384, (5, 1, 4, 3)), (112, 128, (6, 17, 5, 19)) })
            {
                var g = new Conv2dGeometry(1, 64, size, size, cout, 3, 3, 1, 1, 1, 1);
                var plan = DirectPlan.For(g, 8);
                Assert.Equal(expected, (plan.R, plan.NarrowFrom(g), plan.NarrowWidth(g), plan.ColumnTiles(g)));
                int covered = 0;
                for (int c = 0; c < plan.ColumnTiles(g); c++)
                {
                    Assert.Equal(covered, plan.ColumnStart(c, plan.NarrowFrom(g)));
                    covered += c < plan.NarrowFrom(g) ? plan.R : plan.NarrowWidth(g);
                }
                Assert.Equal(size, covered);
            }
            // Rows that already split evenly keep their tiles (14: 5,5,4; 27 as 4 × 3: six of 4 and one of 3), as does AVX-512.
            var even14 = new Conv2dGeometry(1, 64, 14, 14, 256, 3, 3, 1, 1, 1, 1);
            Assert.Equal((5, 2, 4), DirectPlan.For(even14, 8) is var p14 ? (p14.R, p14.NarrowFrom(even14), p14.NarrowWidth(even14)) : default);
            var alex27 = new Conv2dGeometry(1, 64, 27, 27, 192, 5, 5, 1, 1, 2, 2);
            Assert.Equal((4, 3, 0), DirectPlan.For(alex27, 8) is var p27 ? (p27.R, p27.NarrowWidth(alex27), p27.WideTiles) : default);
            var vgg56 = new Conv2dGeometry(1, 256, 56, 56, 256, 3, 3, 1, 1, 1, 1);
            Assert.Equal(0, DirectPlan.For(vgg56, 16).WideTiles);
        }
    }
}
