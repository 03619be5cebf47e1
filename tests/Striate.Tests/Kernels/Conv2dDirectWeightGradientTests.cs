using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The direct weight gradient (<see cref="Conv2dDirect.BackwardWeight"/>) against its reference twin with every number
/// of images per tile call (one plane per call, several, the whole batch, a last call with fewer), every number of output
/// rows per pass (one, a few, a last pass with fewer), tasks over all kernel rows or one each, on both SIMD widths,
/// stride 1 and 2, channels that do not fill a block.
/// </summary>
public class Conv2dDirectWeightGradientTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW)
    private static readonly Conv2dGeometry[] Named =
    [
        new(5, 20, 7, 7, 24, 3, 3, 1, 1, 1, 1),     // layer4-like 7×7 planes, partial blocks
        new(5, 17, 15, 13, 9, 3, 3, 2, 2, 1, 1),    // stride 2, odd sizes
        new(4, 16, 9, 11, 40, 5, 5, 1, 1, 2, 2),    // 5×5: two groups of taps per kernel row
        new(3, 9, 10, 9, 12, 1, 1, 2, 2),           // 1×1 stride 2
        new(3, 12, 12, 12, 44, 3, 3, 2, 2, 1, 1),   // stride 2, 3 or 6 output blocks, a partial one
    ];

    public static TheoryData<int, int, int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int, int, int>();
        foreach (int w in new[] { (int)GemmPath.Vector512, (int)GemmPath.Vector256 })
            for (int i = 0; i < Named.Length; i++)
                foreach (int parts in new[] { 1, 2 })
                {
                    foreach (int images in new[] { 1, 2, 3, 5 }) data.Add(w, i, images, 0, parts);
                    foreach (int rows in new[] { 1, 2, 4 }) data.Add(w, i, 0, rows, parts);
                }
        return data;
    }

    /// <summary><paramref name="images"/> per call or <paramref name="rows"/> per pass (0: chosen); <paramref name="kernelRows"/> 1 = tasks over all kernel rows, 2 = one each.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void MatchesReferenceWithAnyBlocking(int width, int index, int images, int rows, int kernelRows)
    {
        var path = (GemmPath)width;
        Assert.SkipUnless(Conv2dDirect.IsSupported(path), $"the direct kernel at {path} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var g = Named[index];
        var r = new Generator(800 + (ulong)(index * 10 + images));
        var x = Close.RandomArray((int)g.InputLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        var expected = new float[g.WeightLength];
        var actual = Guarded.Nan(g.WeightLength);
        Conv2dReference.BackwardWeight(g, x, dy, expected);
        using (Switches.Set(() => Conv2dDirect.WeightImagesOverride, images))
        using (Switches.Set(() => Conv2dDirect.WeightRowsOverride, rows))
        using (Switches.Set(() => Conv2dDirect.WeightKernelRowsOverride, kernelRows))
            Conv2dKernels.BackwardWeight(g, Conv2dAlgorithm.Direct, path, x, dy, actual);
        double atol = 4e-5 * Math.Sqrt(g.Batch * g.OutHeight * g.OutWidth + 1);
        Close.Assert(expected, actual, 1e-4, atol, $"gradWeight {g} Direct {path}, {images} images per call, {rows} rows per pass, kernel rows {kernelRows}");
    }

    public static TheoryData<int, int, int, int> GroupCases()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (int w in new[] { (int)GemmPath.Vector512, (int)GemmPath.Vector256 })
            for (int i = 0; i < Named.Length; i++)
                foreach (int outBlocks in new[] { 1, 2, 4, 8 })
                    foreach (int kernelRows in new[] { 1, 2 })
                        data.Add(w, i, outBlocks, kernelRows);
        return data;
    }

    /// <summary>
    /// Tasks of <paramref name="outBlocks"/> output blocks each (the strided grouping, <see cref="Conv2dDirect.GroupOutBlocks"/>,
    /// forced on every shape; a last group with fewer), with one row per pass so every group runs several passes: the same
    /// numbers as the reference, and bit for bit those of one block per task (the sums run in the same order).
    /// </summary>
    [Theory, MemberData(nameof(GroupCases))]
    public void OutputBlockGroupsMatchReference(int width, int index, int outBlocks, int kernelRows)
    {
        var path = (GemmPath)width;
        Assert.SkipUnless(Conv2dDirect.IsSupported(path), $"the direct kernel at {path} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var g = Named[index];
        var r = new Generator(900 + (ulong)(index * 10 + outBlocks));
        var x = Close.RandomArray((int)g.InputLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        var expected = new float[g.WeightLength];
        var single = Guarded.Nan(g.WeightLength);
        var actual = Guarded.Nan(g.WeightLength);
        Conv2dReference.BackwardWeight(g, x, dy, expected);
        using (Switches.Set(() => Conv2dDirect.WeightRowsOverride, 1))
        using (Switches.Set(() => Conv2dDirect.WeightKernelRowsOverride, kernelRows))
        {
            using (Switches.Set(() => Conv2dDirect.WeightOutBlocksOverride, 1))
                Conv2dKernels.BackwardWeight(g, Conv2dAlgorithm.Direct, path, x, dy, single);
            using (Switches.Set(() => Conv2dDirect.WeightOutBlocksOverride, outBlocks))
                Conv2dKernels.BackwardWeight(g, Conv2dAlgorithm.Direct, path, x, dy, actual);
        }
        double atol = 4e-5 * Math.Sqrt(g.Batch * g.OutHeight * g.OutWidth + 1);
        Close.Assert(expected, actual, 1e-4, atol, $"gradWeight {g} Direct {path}, {outBlocks} output blocks per task, kernel rows {kernelRows}");
        single.Check($"gradWeight {g} Direct {path}, one output block per task");
        Assert.Equal(single.ToArray(), actual.ToArray());
    }

    /// <summary>The chosen grouping: several output blocks per task on strided shapes only, and enough tasks for the threads.</summary>
    [Fact]
    public void StridedShapesGroupOutputBlocks()
    {
        var strided = new Conv2dGeometry(32, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1);
        var plain = new Conv2dGeometry(32, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1);
        foreach (int v in new[] { 8, 16 })
        {
            var b = Blocking(strided, v, 2);
            Assert.True(b.OutBlocks > 1, $"{strided} V = {v}: {b}");
            Assert.True((256 / v + b.OutBlocks - 1) / b.OutBlocks * (128 / v) * b.KernelRowParts >= 8, $"{strided} V = {v}: {b}");
            Assert.Equal(1, Blocking(plain, v, 2).OutBlocks);
        }
    }

    private static Conv2dDirect.WeightBlocking Blocking(in Conv2dGeometry g, int v, int threads) => Conv2dDirect.WeightBlocking.For(g,
        new BlockedShape(g.Batch, g.InChannels, g.InHeight, g.InWidth, v, g.PadH, g.PadW), new BlockedShape(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, v), threads);
}
