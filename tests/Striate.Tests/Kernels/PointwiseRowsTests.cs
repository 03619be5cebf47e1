using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The large-map 1×1 product reading the input rows in place (<see cref="PointwiseRows"/>) against the three-loop GEMM
/// twin and a plain epilogue loop, on the paths with an in-place tile (AVX-512 14×32; AVX2 6×16): random sizes around the tile
/// edges (rows past whole 14-row strips, including the 4- and 8-row tiles; pixels past a whole
/// column strip, which is packed), depths of one and of several blocks, several column blocks, bias, residual and
/// clamp; then whole 1×1 convolutions at batch 1 on 28×28 to 112×112 maps (stride 1 and 2) against
/// <see cref="Conv2dReference"/> on whatever path this process runs (CI reruns them without AVX-512 and without
/// intrinsics, where the general driver takes them).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class PointwiseRowsTests
{
    [Theory]
    [InlineData((int)GemmPath.Vector512)] // 14×32 tile and its 4- and 8-row tiles
    [InlineData((int)GemmPath.Vector256)] // 6×16 tile and its 4-row tile (AVX2's few-row products on 28×28 maps)
    public unsafe void InPlaceProductMatchesReferenceWithEpilogue(int width)
    {
        var path = (GemmPath)width;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(170);
        for (int trial = 0; trial < 12; trial++)
        {
            // m output channels (5..150: every short-tile case), n pixels from 512 (some not a multiple of 16 or 32),
            // k across depth blocks; every third trial cuts the columns into blocks of a few strips.
            int m = 5 + (int)(gen.NextFloat() * 146), n = trial < 2 ? (trial == 0 ? 784 : 3136) : 512 + (int)(gen.NextFloat() * 700);
            int k = trial % 3 == 0 ? 513 + (int)(gen.NextFloat() * 400) : 1 + (int)(gen.NextFloat() * 200);
            bool residual = trial % 2 == 0, bias = trial % 5 != 1;
            int blockFloats = trial % 3 == 1 ? 1 << 12 : 0;
            (float Lo, float Hi) clamp = trial % 4 < 2 ? (0f, 0.5f) : (float.NegativeInfinity, float.PositiveInfinity);
            var w = Close.RandomArray(m * k, gen);   // W: [m, k]
            var x = Close.RandomArray(k * n, gen);   // x: [k, n]
            var b = Close.RandomArray(m, gen);
            var res = Close.RandomArray(m * n, gen); // residual: [m, n]
            var expected = EpilogueReference.Pointwise(m, n, k, w, x, bias ? b : null, residual ? res : null, clamp);
            var actual = Guarded.Nan(m * n);
            var packed = Guarded.Zeros(Gemm.PackedALength(path, m, k));
            fixed (float* pw = w, pp = packed.Span, px = x, py = actual.Span, pb = b, pres = res)
            {
                Gemm.PackA(path, false, m, k, 1f, pw, k, pp);
                var epilogue = new GemmEpilogue(bias ? pb : null, residual ? pres : null, n, clamp.Lo, clamp.Hi);
                PointwiseRows.Run(path, 1 + trial % 3, pp, m, k, n, px, py, epilogue, blockFloats); // 1, 2 or 3 threads
            }
            packed.Check($"PackA {path} m={m} k={k}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k) * 4, $"{path} m={m} n={n} k={k} bias={bias} residual={residual} clamp={clamp} block={blockFloats}");
        }
    }

    [Theory]
    [InlineData((int)GemmPath.Vector512)] // 14×32 tile, the tall 16-row tile
    [InlineData((int)GemmPath.Vector256)] // 6×16 tile and its 4-row tile
    public unsafe void BandProductOnTheCallingThreadMatchesReference(int width)
    {
        var path = (GemmPath)width;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(173);
        for (int trial = 0; trial < 14; trial++)
        {
            // 15, 16, 29 and 30 rows take the tall 16-row tile for their last strips on AVX-512 (on AVX2: 6-row strips and a
            // 3- or 4-row rest); B's and C's rows are longer than the band (a band of a larger map); n from 1 (one packed
            // edge strip) to several whole strips.
            int m = trial < 4 ? new[] { 15, 16, 29, 30 }[trial] : 5 + (int)(gen.NextFloat() * 40);
            int n = trial == 0 ? 1792 : 1 + (int)(gen.NextFloat() * 300), k = 1 + (int)(gen.NextFloat() * (trial == 5 ? 700 : 48));
            int ldb = n + (int)(gen.NextFloat() * 40), ldc = n + 16 * (int)(gen.NextFloat() * 4);
            bool bias = trial % 3 != 2;
            var w = Close.RandomArray(m * k, gen);     // W: [m, k]
            var x = Close.RandomArray(k * ldb, gen);   // x: [k, ldb], the first n columns used
            var b = Close.RandomArray(m, gen);
            var expected = new float[m * ldc];
            var actual = Guarded.Nan(m * ldc);
            Array.Fill(expected, float.NaN);
            GemmReference.Sgemm(false, false, m, n, k, 1f, w, k, x, ldb, 0f, expected, ldc);
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                expected[i * ldc + j] = MathF.Min(MathF.Max(expected[i * ldc + j] + (bias ? b[i] : 0f), -1f), 2f);
            var packed = Guarded.Zeros(Gemm.PackedALength(path, m, k));
            fixed (float* pw = w, pp = packed.Span, px = x, py = actual.Span, pb = b)
            {
                Gemm.PackA(path, false, m, k, 1f, pw, k, pp);
                PointwiseRows.RunHere(path, pp, m, k, n, px, ldb, py, ldc, new GemmEpilogue(bias ? pb : null, null, 0, -1f, 2f));
            }
            // Columns past n stay NaN in both.
            packed.Check($"PackA {path} m={m} k={k}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k) * 4, $"{path} band m={m} n={n} k={k} ldb={ldb} ldc={ldc} bias={bias}");
        }
    }

    [Theory]
    [InlineData(64, 56, 256, 1)]   // ResNet-50's layer1 expansion (3136 pixels: whole 32-wide strips)
    [InlineData(256, 56, 64, 1)]   // layer1 reduction (64 rows: an 8-row tile on AVX-512)
    [InlineData(512, 28, 128, 1)]  // layer2 reduction (784 pixels: a packed 16-wide last strip on AVX-512)
    [InlineData(32, 112, 24, 1)]   // a narrow product on a 112×112 map (rows 14 + 10)
    [InlineData(32, 112, 16, 1)]   // MobileNet-V2's features.1 1×1 (16 rows: one tall tile on AVX-512)
    [InlineData(64, 28, 64, 2)]    // two groups
    [InlineData(192, 28, 32, 1)]   // GoogLeNet's inception3a.branch4.1 (32 rows: in place on AVX2 too, 5 strips of 6 and a 2-row rest)
    [InlineData(256, 28, 64, 1)]   // inception3b.branch4.1 (64 rows: in place on AVX2 too)
    public void PointwiseConvolutionOnLargeMapsMatchesReference(int cin, int size, int cout, int groups)
    {
        var g = new Conv2dGeometry(1, cin, size, size, cout, 1, 1, Groups: groups);
        var (x, w, b, res, expected) = Conv2dEpilogueTests.Operands(g, new Generator(171));
        for (int i = 0; i < expected.Length; i++) expected[i] = Math.Clamp(expected[i] + res[i], 0f, 6f);
        var actual = Guarded.Nan(g.OutputLength);
        using (Switches.Set(() => KernelThreads.Count, Math.Max(2, KernelThreads.Count)))
            Conv2dKernels.Forward(g, Conv2dAlgorithm.Pointwise, Conv2dDirect.BestWidth, x, w, b, actual, new Conv2dEpilogue { Residual = res, Clamp = (0f, 6f) });
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin) * 4, $"1×1 {cin}→{cout} @{size}×{size} groups {groups}");
    }

    [Fact]
    public void Avx2TakesOnlyFewRowProductsOn28By28Maps()
    {
        var path = GemmPath.Vector256;
        Assert.True(PointwiseRows.Takes(path, 32, 784, 192), "GoogLeNet's 192→32 @28");
        Assert.True(PointwiseRows.Takes(path, 64, 784, 256), "GoogLeNet's 256→64 @28");
        Assert.False(PointwiseRows.Takes(path, 64, 3136, 256), "ResNet-50's 256→64 @56 stays on B̃");
        Assert.False(PointwiseRows.Takes(path, 128, 784, 512), "ResNet-50's 512→128 @28 stays on B̃");
        Assert.False(PointwiseRows.Takes(path, 64, 196, 512), "14×14 maps stay on B̃");
        using (Switches.Set(() => PointwiseRows.Avx2MaxRows, 0))
            Assert.False(PointwiseRows.Takes(path, 32, 784, 192), "STRIATE_BENCH_AVX2_POINTWISE_ROWS=0");
    }

    [Theory]
    [InlineData(256, 56, 512)] // ResNet-50's layer2.0.downsample: 1×1 s2, 784 output pixels
    [InlineData(64, 64, 40)]   // 1024 output pixels, rows past a whole strip
    public void StridedPointwiseConvolutionAtBatchOneMatchesReference(int cin, int size, int cout)
    {
        var g = new Conv2dGeometry(1, cin, size, size, cout, 1, 1, StrideH: 2, StrideW: 2);
        var (x, w, b, res, expected) = Conv2dEpilogueTests.Operands(g, new Generator(172));
        for (int i = 0; i < expected.Length; i++) expected[i] = Math.Max(expected[i] + res[i], 0f);
        var actual = Guarded.Nan(g.OutputLength);
        Conv2dKernels.Forward(g, Conv2dKernels.Choose(g), Conv2dDirect.BestWidth, x, w, b, actual, new Conv2dEpilogue { Residual = res, Clamp = (0f, float.PositiveInfinity) });
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin) * 4, $"1×1 s2 {cin}→{cout} @{size}×{size}");
    }
}
