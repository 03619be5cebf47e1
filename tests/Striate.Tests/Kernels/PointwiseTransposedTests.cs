using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The small-map 1×1 product as pixels × channels (<see cref="PointwiseTransposed"/>) against the three-loop GEMM twin
/// and a plain epilogue loop, on every GEMM path this machine runs (the transposed store has AVX-512, AVX2 and scalar
/// forms): random sizes around the tile edges (pixels past a whole row tile, channels past a whole column tile), depths
/// of one and of several blocks, bias, residual and clamp; then whole 1×1 convolutions taking it, against
/// <see cref="Conv2dReference"/>.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class PointwiseTransposedTests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    [Theory, MemberData(nameof(Paths))]
    public unsafe void TransposedProductMatchesReferenceWithEpilogue(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(160);
        for (int trial = 0; trial < 14; trial++)
        {
            // m output channels (past whole 32- and 16-column tiles), n pixels up to 14×14, k across depth blocks.
            int m = 1 + (int)(gen.NextFloat() * 150), n = trial < 2 ? (trial == 0 ? 49 : 196) : 1 + (int)(gen.NextFloat() * PointwiseTransposed.MaxPixels);
            int k = trial % 3 == 0 ? 513 + (int)(gen.NextFloat() * 400) : 1 + (int)(gen.NextFloat() * 200);
            bool residual = trial % 2 == 0, bias = trial % 5 != 1;
            (float Lo, float Hi) clamp = trial % 4 < 2 ? (0f, 0.5f) : (float.NegativeInfinity, float.PositiveInfinity);
            var w = Close.RandomArray(m * k, gen);   // W: [m, k]
            var x = Close.RandomArray(k * n, gen);   // x: [k, n]
            var b = Close.RandomArray(m, gen);
            var res = Close.RandomArray(m * n, gen); // residual: [m, n]
            var expected = EpilogueReference.Pointwise(m, n, k, w, x, bias ? b : null, residual ? res : null, clamp);
            var actual = Guarded.Nan(m * n);
            var packed = Guarded.Zeros(PointwiseTransposed.PackedWeightsLength(path, m, k));
            fixed (float* pw = w, pp = packed.Span, px = x, py = actual.Span, pb = b, pres = res)
            {
                PointwiseTransposed.PackWeights(path, pw, m, k, pp);
                var epilogue = new GemmEpilogue(bias ? pb : null, residual ? pres : null, n, clamp.Lo, clamp.Hi);
                PointwiseTransposed.Run(path, 1 + trial % 3, pp, m, k, n, px, py, epilogue); // 1, 2 or 3 parts
            }
            packed.Check($"PackWeights {path} m={m} k={k}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k) * 4, $"{path} m={m} n={n} k={k} bias={bias} residual={residual} clamp={clamp}");
        }
    }

    /// <summary>
    /// Many output channels (ResNet-50's 256→1024 on 14×14 and 512→2048 on 7×7 are 32 and 64 column tiles): the tiles run
    /// in several column blocks (<see cref="PointwiseTransposed.ColumnBlockFloats"/>), one-block depths keep each tile in
    /// the thread's L1 buffer and the store's lines are prefetched; then the same product in the form before (scratch,
    /// no blocks, no prefetch). Both against the three-loop twin. (The switches only reorder and relocate work: another
    /// test running meanwhile gives the same results either way.)
    /// </summary>
    [Theory, MemberData(nameof(Paths))]
    public void ManyChannelsRunInColumnBlocksAndMatchReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(161);
        for (int trial = 0; trial < 6; trial++)
        {
            bool oldForm = trial >= 4;
            int m = 600 + (int)(gen.NextFloat() * 500), n = trial % 2 == 0 ? 49 : 1 + (int)(gen.NextFloat() * PointwiseTransposed.MaxPixels);
            int k = trial % 3 == 2 ? 520 + (int)(gen.NextFloat() * 100) : 100 + (int)(gen.NextFloat() * 200);
            var (w, x, b, res, expected) = ReluResidualCase(m, n, k, gen);
            float[] actual;
            // The old form: no tiles sized to L1, no store prefetch, all columns in one block.
            using (Switches.Set(() => PointwiseTransposed.TileInL1, !oldForm && PointwiseTransposed.TileInL1))
            using (Switches.Set(() => PointwiseTransposed.PrefetchStores, !oldForm && PointwiseTransposed.PrefetchStores))
            using (Switches.Set(() => PointwiseTransposed.ColumnBlockFloats, oldForm ? int.MaxValue : PointwiseTransposed.ColumnBlockFloats))
                actual = RunReluResidual(path, 1 + trial % 2, m, n, k, w, x, b, res);
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k) * 4, $"{path} m={m} n={n} k={k} old form={oldForm}");
        }
    }

    /// <summary>
    /// The AVX2 product's forms (each weight panel over every row tile or row tile outer,
    /// <see cref="PointwiseTransposed.WeightsOuter"/>; a lone last pixel through the one-row tile or the 4-row tile,
    /// <see cref="PointwiseTransposed.OneRowTile"/>) on random sizes: pixel counts leaving one pixel in the last row tile
    /// (49, 6q + 1) and others (196, 48, 1–196), depths of one and several blocks and with a remainder past a multiple of
    /// 4, 1–3 parts split by rows and by columns. Every form matches the three-loop twin; the two loop orders match each
    /// other bit for bit (they run the same tiles).
    /// </summary>
    [Fact]
    public void Avx2FormsMatchReference()
    {
        var path = GemmPath.Vector256;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(162);
        for (int trial = 0; trial < 12; trial++)
        {
            int m = 16 + (int)(gen.NextFloat() * 300);
            int n = trial switch { 0 => 49, 1 => 196, 2 => 48, 3 or 4 => 1 + 6 * (int)(gen.NextFloat() * 32), _ => 1 + (int)(gen.NextFloat() * PointwiseTransposed.MaxPixels) };
            int k = trial % 3 == 0 ? 1 + (int)(gen.NextFloat() * 250) : 600 + (int)(gen.NextFloat() * 1500);
            var (w, x, b, res, expected) = ReluResidualCase(m, n, k, gen);
            var outputs = new float[4][];
            for (int form = 0; form < 4; form++)
            {
                float[] actual;
                using (Switches.Set(() => PointwiseTransposed.WeightsOuter, form % 2 == 0))
                using (Switches.Set(() => PointwiseTransposed.OneRowTile, form < 2))
                    actual = outputs[form] = RunReluResidual(path, 1 + trial % 3, m, n, k, w, x, b, res);
                Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k) * 4, $"m={m} n={n} k={k} weights outer={form % 2 == 0} one-row tile={form < 2}");
            }
            Assert.Equal(outputs[0], outputs[1]);
            Assert.Equal(outputs[2], outputs[3]);
        }
    }

    /// <summary>
    /// The prefetches while the tiles run (<see cref="PointwiseTransposed.PrefetchPanels"/>: the next weight panel, also
    /// across a depth block's end; <see cref="PointwiseTransposed.PrefetchInput"/>: a pixel part's rows of x for the next
    /// depth block) each way, on every path this machine runs, on random sizes: depths of one and several blocks (and a
    /// short last block), pixel counts splitting by rows (more than 64) and by columns, 1–3 parts. Every form matches the
    /// three-loop twin and the form without prefetches bit for bit (they only touch memory early).
    /// </summary>
    [Theory, MemberData(nameof(Paths))]
    public void PrefetchFormsMatchReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(163);
        for (int trial = 0; trial < 10; trial++)
        {
            int m = 16 + (int)(gen.NextFloat() * 300);
            int n = trial switch { 0 => 196, 1 => 49, 2 => 1 + (int)(gen.NextFloat() * 64), _ => 1 + (int)(gen.NextFloat() * PointwiseTransposed.MaxPixels) };
            int k = trial % 3 == 0 ? 1 + (int)(gen.NextFloat() * 250) : 600 + (int)(gen.NextFloat() * 1500);
            var (w, x, b, res, expected) = ReluResidualCase(m, n, k, gen);
            float[]? plain = null;
            for (int form = 0; form < 4; form++)
            {
                float[] actual;
                using (Switches.Set(() => PointwiseTransposed.PrefetchPanels, (form & 1) != 0))
                using (Switches.Set(() => PointwiseTransposed.PrefetchInput, (form & 2) != 0))
                    actual = RunReluResidual(path, 1 + trial % 3, m, n, k, w, x, b, res);
                Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k) * 4, $"{path} m={m} n={n} k={k} panels={(form & 1) != 0} input={(form & 2) != 0}");
                if (plain == null) plain = actual;
                else Assert.Equal(plain, actual);
            }
        }
    }

    /// <summary>W [m, k], x [k, n], b [m] and a residual [m, n] drawn in that order, and the three-loop twin's ReLU(W·x + b + residual).</summary>
    private static (float[] W, float[] X, float[] B, float[] Res, float[] Expected) ReluResidualCase(int m, int n, int k, Generator gen)
    {
        var w = Close.RandomArray(m * k, gen);
        var x = Close.RandomArray(k * n, gen);
        var b = Close.RandomArray(m, gen);
        var res = Close.RandomArray(m * n, gen);
        var expected = new float[m * n];
        GemmReference.Sgemm(false, false, m, n, k, 1f, w, k, x, n, 0f, expected, n);
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            expected[i * n + j] = MathF.Max(expected[i * n + j] + b[i] + res[i * n + j], 0f);
        return (w, x, b, res, expected);
    }

    /// <summary>The transposed product with bias, residual and ReLU in its store, in <paramref name="parts"/> parts, into a NaN-filled y.</summary>
    private static unsafe float[] RunReluResidual(GemmPath path, int parts, int m, int n, int k, float[] w, float[] x, float[] b, float[] res)
    {
        var actual = Guarded.Nan(m * n);
        var packed = Guarded.Zeros(PointwiseTransposed.PackedWeightsLength(path, m, k));
        fixed (float* pw = w, pp = packed.Span, px = x, py = actual.Span, pb = b, pres = res)
        {
            PointwiseTransposed.PackWeights(path, pw, m, k, pp);
            PointwiseTransposed.Run(path, parts, pp, m, k, n, px, py, new GemmEpilogue(pb, pres, n, 0f, float.PositiveInfinity));
        }
        Guarded.CheckAll($"{path} {parts} parts m={m} n={n} k={k}", actual, packed);
        return actual.ToArray();
    }

    [Theory]
    [InlineData(960, 7, 320, 1)]   // MobileNet-V2's last projection: 49 pixels = 3 row tiles of 14 and one of 7 (AVX-512)
    [InlineData(384, 14, 96, 1)]   // MobileNet-V2's projection at 14×14: 196 pixels = 14 row tiles of 14 (AVX-512)
    [InlineData(832, 7, 48, 1)]    // GoogLeNet's 5×5-branch reduction: channels past a whole column tile
    [InlineData(1024, 14, 256, 1)] // ResNet-50's layer3 reduction: 196 pixels on AVX2 too (depth 1024)
    [InlineData(256, 14, 1024, 1)] // ResNet-50's layer3 expansion (one depth block, 32 column tiles in blocks)
    [InlineData(256, 7, 256, 2)]   // two groups, two images
    public void PointwiseConvolutionOnSmallMapsMatchesReference(int cin, int size, int cout, int batchAndGroups)
    {
        var g = new Conv2dGeometry(batchAndGroups, cin, size, size, cout, 1, 1, Groups: batchAndGroups);
        var (x, w, b, res, expected) = Conv2dEpilogueTests.Operands(g, new Generator(161));
        for (int i = 0; i < expected.Length; i++) expected[i] = Math.Clamp(expected[i] + res[i], 0f, 6f);
        var actual = Guarded.Nan(g.OutputLength);
        using (Switches.Set(() => KernelThreads.Count, Math.Max(2, KernelThreads.Count)))
            Conv2dKernels.Forward(g, Conv2dAlgorithm.Pointwise, Conv2dDirect.BestWidth, x, w, b, actual, new Conv2dEpilogue { Residual = res, Clamp = (0f, 6f) });
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin) * 4, $"1×1 {cin}→{cout} @{size}×{size} batch/groups {batchAndGroups}");
    }
}
