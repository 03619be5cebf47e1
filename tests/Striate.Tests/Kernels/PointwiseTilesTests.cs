using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The small-map 1×1 product spread tile by tile (<see cref="PointwiseTiles"/>) against the three-loop GEMM twin and a
/// plain epilogue loop, on every GEMM path this machine runs: random sizes around the tile edges, depths of one and of
/// several blocks, and the epilogue (bias, residual, clamp) on the last block's store; then a whole 1×1 convolution
/// taking it, against <see cref="Conv2dReference"/>.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class PointwiseTilesTests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    [Theory, MemberData(nameof(Paths))]
    public unsafe void TilesMatchReferenceWithEpilogue(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(150);
        for (int trial = 0; trial < 12; trial++)
        {
            // m above the few-rows path, n up to the widest map taken, k across depth blocks (256 or 512 per block, by path).
            int m = 5 + (int)(gen.NextFloat() * 120), n = 1 + (int)(gen.NextFloat() * PointwiseTiles.MaxColumns);
            int k = trial % 3 == 0 ? 513 + (int)(gen.NextFloat() * 400) : 1 + (int)(gen.NextFloat() * 200);
            bool residual = trial % 2 == 0;
            (float Lo, float Hi) clamp = trial % 4 < 2 ? (0f, 0.5f) : (float.NegativeInfinity, float.PositiveInfinity);
            var a = Close.RandomArray(m * k, gen);
            var b = Close.RandomArray(k * n, gen);
            var bias = Close.RandomArray(m, gen);
            var res = Close.RandomArray(m * n, gen);
            var expected = EpilogueReference.Pointwise(m, n, k, a, b, bias, residual ? res : null, clamp);
            var actual = Guarded.Nan(m * n);
            var packed = Guarded.Zeros(Gemm.PackedALength(path, m, k));
            fixed (float* pa = a, pp = packed.Span, pb = b, pc = actual.Span, pbias = bias, pres = res)
            {
                Gemm.PackA(path, false, m, k, 1f, pa, k, pp);
                var epilogue = new GemmEpilogue(pbias, residual ? pres : null, n, clamp.Lo, clamp.Hi);
                PointwiseTiles.Run(path, 2, pp, m, k, n, pb, pc, epilogue);
            }
            packed.Check($"PackA {path} m={m} k={k}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k) * 4, $"{path} m={m} n={n} k={k} residual={residual} clamp={clamp}");
        }
    }

    /// <summary>
    /// AVX2's 14×14 products of many output channels (<see cref="PointwiseTiles.Avx2"/>: ResNet-50's 256→1024 and random
    /// shapes past 1024 channels and 64 pixels) as whole 1×1 convolutions with bias, residual and ReLU, tile by tile and
    /// through the general driver, both against <see cref="Conv2dReference"/>; the rule takes them only with the switch on.
    /// </summary>
    [Fact]
    public void Avx2ManyChannelsTakeTilesAndMatchReference()
    {
        Assert.SkipUnless(Gemm.BestPath == GemmPath.Vector256, "AVX2 is not the best GEMM path on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(152);
        for (int trial = 0; trial < 5; trial++)
        {
            int cin = trial == 0 ? 256 : 64 + (int)(gen.NextFloat() * 600), size = trial == 0 ? 14 : 9 + (int)(gen.NextFloat() * 6);
            int cout = trial == 0 ? 1024 : PointwiseTiles.Avx2MinRows + (int)(gen.NextFloat() * 200);
            var g = new Conv2dGeometry(1, cin, size, size, cout, 1, 1);
            int threads = Math.Max(2, KernelThreads.Count);
            var (x, w, b, res, expected) = Conv2dEpilogueTests.Operands(g, gen);
            for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i] + res[i], 0f);
            foreach (bool tiles in new[] { true, false })
            {
                var actual = Guarded.Nan(g.OutputLength);
                using (Switches.Set(() => KernelThreads.Count, threads))
                using (Switches.Set(() => PointwiseTiles.Avx2, tiles))
                {
                    Assert.Equal(tiles, PointwiseTiles.Takes(GemmPath.Vector256, threads, cout, size * size, cin));
                    Conv2dKernels.Forward(g, x, w, b, actual, new Conv2dEpilogue { Residual = res, Relu = true });
                }
                Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin) * 4, $"1×1 {cin}→{cout} @{size}×{size} tiles={tiles}");
            }
        }
    }

    [Theory]
    [InlineData(576, 14, 96)]  // 196 columns, several depth blocks: MobileNet-V2's projection (the driver's, unless its cut is uneven)
    [InlineData(512, 14, 24)]  // two row strips on AVX-512: one part, one thread, in the general driver
    [InlineData(832, 7, 32)]   // 49 columns, four depth blocks: GoogLeNet's 5×5-branch reduction (taken on AVX-512 and AVX2)
    public void PointwiseConvolutionOnSmallMapsMatchesReference(int cin, int size, int cout)
    {
        var g = new Conv2dGeometry(1, cin, size, size, cout, 1, 1);
        Assert.Equal(Conv2dAlgorithm.Pointwise, Conv2dKernels.Choose(g));
        var r = new Generator(151);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(cout, r);
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = Math.Clamp(expected[i], 0f, 6f);
        var actual = Guarded.Nan(g.OutputLength);
        using (Switches.Set(() => KernelThreads.Count, Math.Max(2, KernelThreads.Count))) // the tiles are taken with two threads or more
            Conv2dKernels.Forward(g, x, w, b, actual, new Conv2dEpilogue { Clamp = (0f, 6f) });
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin) * 4, $"1×1 {cin}→{cout} @{size}×{size}");
    }
}
