using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>The packed GEMM against its three-loop twin, on every path this machine can run.</summary>
public class GemmTests(ITestOutputHelper output)
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    /// <summary>Runs one case on a path/thread budget and compares with GemmReference; the tolerance grows with k.</summary>
    private static void Check(GemmPath path, int threads, bool transA, bool transB, int m, int n, int k, float alpha, float beta,
        int ldaPad, int ldbPad, int ldcPad, ulong seed, bool nanInC = false)
    {
        int lda = (transA ? m : k) + ldaPad, ldb = (transB ? k : n) + ldbPad, ldc = n + ldcPad;
        int aRows = transA ? k : m, bRows = transB ? n : k;
        // Each operand's last row stops at its width (no padding after it), as a caller's buffer may.
        var ops = GemmOperands.Draw(new Generator(seed),
            Math.Max(0, aRows * lda - ldaPad), Math.Max(0, bRows * ldb - ldbPad), Math.Max(0, m * ldc - ldcPad), nanInC);
        var (a, b) = (ops.A, ops.B);
        var expected = ops.CopyOfC();
        var actual = ops.GuardedC();
        GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        Gemm.Sgemm(path, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc);
        double atol = 1e-5 * Math.Sqrt(k + 1) * 4 * (Math.Abs(alpha) + Math.Abs(beta) + 1);
        // The padding between rows of C must be untouched: both started equal, the reference never writes it; and nothing
        // before C or past its last row (guard bands) may be written.
        Close.Assert(expected, actual, 1e-4, atol,
            $"{path} threads={threads} transA={transA} transB={transB} m={m} n={n} k={k} alpha={alpha} beta={beta} pads=({ldaPad},{ldbPad},{ldcPad})");
    }

    private static void SkipUnlessSupported(GemmPath path) =>
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryTransposeAndScalingMatchesReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        ulong seed = 1;
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        foreach (var (alpha, beta) in new[] { (1f, 0f), (1f, 1f), (0.5f, -2f), (-1.5f, 0.25f) })
            Check(path, 1, ta, tb, 37, 45, 29, alpha, beta, 0, 0, 0, seed++);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void SizesAroundTileAndBlockEdgesMatchReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        // Just under, at and over MR (4, 6, 14), NR (4, 8, 16, 32), KC (256, 512) and MC (64, 96, 144, 448).
        int[] ms = { 1, 3, 4, 5, 6, 7, 13, 14, 15, 28, 63, 65, 97, 139, 141, 145, 447, 449 };
        int[] ns = { 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 65 };
        int[] ks = { 1, 2, 17, 255, 256, 257, 511, 512, 513, 1025 };
        ulong seed = 100;
        var gen = new Generator(7);
        for (int t = 0; t < 60; t++)
        {
            int m = ms[gen.NextInt(ms.Length)], n = ns[gen.NextInt(ns.Length)], k = ks[gen.NextInt(ks.Length)];
            bool ta = gen.NextInt(2) == 1, tb = gen.NextInt(2) == 1;
            Check(path, 1, ta, tb, m, n, k, 1f, t % 3 == 0 ? 0f : 0.5f, gen.NextInt(3), gen.NextInt(3), gen.NextInt(3), seed++);
        }
        Check(path, 1, false, false, 1, 1, 1, 2f, 0f, 0, 0, 0, seed++);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryHeightOfTheLastRowStripMatchesReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        // m = 2·MR + r for every r: the last strip runs the shorter tiles (AVX-512: 4 rows for r ≤ 4, 8 for r ≤ 8;
        // AVX2: 4 rows for r ≤ 4) or the full one, with and without beta, on whole and partial column tiles.
        int mr = path switch { GemmPath.Vector512 => 14, GemmPath.Scalar => 4, _ => 6 };
        ulong seed = 300;
        for (int r = 1; r <= mr; r++)
        {
            Check(path, 1, false, false, 2 * mr + r, 64, 37, 1f, 0f, 0, 0, 0, seed++);
            Check(path, 1, true, true, 2 * mr + r, 45, 300, -0.5f, 0.5f, 1, 2, 3, seed++);
            Check(path, 2, false, true, 2 * mr + r, 20, 9, 1f, 1f, 0, 0, 1, seed++);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryWidthOfTheLastColumnStripMatchesReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        // n = 2·NR + r for every r: a last strip of at most 16 columns on AVX-512, 8 on AVX2, runs the one-vector tile
        // (GemmEdgeColumns.cs; AVX2's splits even and odd depths, so odd k = 37, 9 end on a lone depth), wider ones the
        // full tile; with full and short row strips, with and without beta.
        int nr = path switch { GemmPath.Vector512 => 32, GemmPath.Vector256 => 16, GemmPath.Vector128 => 8, _ => 4 };
        ulong seed = 500;
        for (int r = 1; r <= nr; r++)
        {
            Check(path, 1, false, false, 45, 2 * nr + r, 37, 1f, 0f, 0, 0, 0, seed++);
            Check(path, 1, true, true, 31, 2 * nr + r, 300, -0.5f, 0.5f, 1, 2, 3, seed++);
            Check(path, 2, false, true, 14, 2 * nr + r, 9, 1f, 1f, 0, 0, 1, seed++);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void LargeShapesMatchReferenceSingleAndMultiThreaded(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        Check(path, 1, false, false, 300, 257, 513, 1f, 0f, 0, 0, 0, 11);
        Check(path, 3, true, true, 300, 257, 513, 0.75f, 0.5f, 5, 3, 1, 12);
        Check(path, 2, false, true, 150, 1100, 70, 1f, 1f, 0, 0, 4, 13);
        Check(path, 4, true, false, 1000, 20, 300, -1f, 0f, 0, 2, 0, 14);
        // Square: the threads split rows (parts of MR-multiples, the last one short).
        Check(path, 2, false, false, 451, 449, 257, 1f, 0.5f, 0, 0, 0, 15);
    }

    [Fact]
    public void ColumnBlocksWidenOnlyWhenTheCallPacksA()
    {
        // A packed per call: B̃ blocks of up to 4 MiB, so A is packed once per depth block (sgemm_2048 in one block).
        Assert.Equal(4096, GemmDriver<Gemm256x6x16>.ColumnBlock(packedA: false, kc: 256));
        Assert.Equal(2048, GemmDriver<Gemm512x14x32>.ColumnBlock(packedA: false, kc: 512));
        Assert.Equal(5952, GemmDriver<Gemm256x6x16>.ColumnBlock(packedA: false, kc: 176));
        // A packed ahead (a convolution's weights): the tile's L2-sized block.
        Assert.Equal(Gemm256x6x16.NC, GemmDriver<Gemm256x6x16>.ColumnBlock(packedA: true, kc: 256));
        Assert.Equal(Gemm512x14x32.NC, GemmDriver<Gemm512x14x32>.ColumnBlock(packedA: true, kc: 512));
        // Shallow products never take fewer columns than the tile's own block.
        Assert.Equal(Gemm128x6x8.NC, GemmDriver<Gemm128x6x8>.ColumnBlock(packedA: false, kc: 4096));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ProductsWiderThanOneColumnBlockMatchReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        // k = 513: three depth blocks of 176 (AVX2, 128-bit, scalar) or two of 264 (AVX-512), so 5952 or 3968 columns
        // per block; 6000 columns take two blocks of columns on every path, and the second block's A is packed again.
        Check(path, 1, false, false, 7, 6000, 513, 1f, 0.5f, 0, 1, 2, 41);
        Check(path, 2, true, false, 9, 6000, 513, -0.5f, 0f, 3, 0, 0, 42, nanInC: true);
    }

    [Fact]
    public void SquareProductsSplitRowsAndPrepackedWeightsSplitColumns()
    {
        // sgemm_1024 on the AVX-512 tile (14×32): 74 row tiles, 32 column tiles, 2 threads. Splitting columns would
        // pack all of A once per part; rows pack it once in total. One part per thread: a second row part per thread
        // would pack all of B once more.
        Assert.Equal((2, 1), GemmDriver<Gemm512x14x32>.Split(1024, 1024, 1024, 74, 32, packedA: false, threads: 2));
        Assert.Equal((2, 1), GemmDriver<Gemm512x14x32>.Split(2048, 2048, 2048, 147, 64, packedA: false, threads: 2));
        // Very tall products: packing B once more per part is under 0.5 % of a part's work, so two parts per thread
        // (balance against a slowed thread) win.
        Assert.Equal((4, 1), GemmDriver<Gemm512x14x32>.Split(5600, 1024, 512, 400, 32, packedA: false, threads: 2));
        // A convolution's GEMM with its weights packed ahead: only B is packed, so the parts take columns.
        Assert.Equal((1, 2), GemmDriver<Gemm512x14x32>.Split(256, 3136, 576, 19, 98, packedA: true, threads: 2));
        Assert.Equal((1, 4), GemmDriver<Gemm256x6x16>.Split(64, 25088, 576, 11, 1568, packedA: true, threads: 2));
        // Too few columns for two parts: rows again.
        Assert.Equal((2, 1), GemmDriver<Gemm256x6x16>.Split(600, 40, 300, 100, 3, packedA: true, threads: 2));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void BetaZeroIgnoresNaNInC(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        // Full tiles, edge tiles, several depth blocks (only the first may apply beta) and the threaded split.
        Check(path, 1, false, false, 29, 70, 600, 1f, 0f, 0, 0, 3, 21, nanInC: true);
        Check(path, 2, true, false, 200, 300, 100, 2f, 0f, 0, 0, 0, 22, nanInC: true);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void FewRowsTakeTheUnpackedPathAndMatchReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        SkipUnlessSupported(path);
        ulong seed = 300;
        foreach (int m in new[] { 1, 2, 4, 5 })
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        {
            Check(path, 2, ta, tb, m, 700, 300, 1.5f, 0f, 1, 2, 3, seed++, nanInC: true);
            Check(path, 2, ta, tb, m, 257, 33, -1f, 0.5f, 0, 0, 0, seed++);
        }
    }

    [Fact]
    public void AutomaticPathMatchesReferenceOnManyRandomShapes()
    {
        output.WriteLine($"Automatic path: {Gemm.BestPath}, threads: {KernelThreads.Count}");
        var gen = new Generator(99);
        for (int t = 0; t < 40; t++)
        {
            int m = 1 + gen.NextInt(90), n = 1 + gen.NextInt(90), k = 1 + gen.NextInt(300);
            Check(Gemm.BestPath, KernelThreads.Count, gen.NextInt(2) == 1, gen.NextInt(2) == 1, m, n, k,
                1f, gen.NextInt(2), gen.NextInt(2), gen.NextInt(2), gen.NextInt(2), (ulong)(1000 + t));
        }
        // And through the public entry point.
        var a = Close.RandomArray(64 * 80, gen);
        var b = Close.RandomArray(80 * 96, gen);
        var expected = new float[64 * 96];
        var actual = Guarded.Nan(64 * 96);
        GemmReference.Sgemm(false, false, 64, 96, 80, 1f, a, 80, b, 96, 0f, expected, 96);
        Gemm.Sgemm(false, false, 64, 96, 80, 1f, a, 80, b, 96, 0f, actual, 96);
        Close.Assert(expected, actual, 1e-4, 1e-4, "public Sgemm 64×96×80");
    }

    [Fact]
    public void ZeroDepthOrZeroAlphaScalesCByBeta()
    {
        var c = new[] { 1f, 2f, 3f, 4f, 5f, 6f };
        Gemm.Sgemm(false, false, 2, 3, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 3, 2f, c, 3);
        Assert.Equal(new[] { 2f, 4f, 6f, 8f, 10f, 12f }, c);
        var nan = new[] { float.NaN, float.NaN };
        Gemm.Sgemm(false, false, 1, 2, 1, 0f, new[] { float.NaN }, 1, new[] { 1f, 1f }, 2, 0f, nan, 2);
        Assert.Equal(new[] { 0f, 0f }, nan);
    }

    [Theory]
    [InlineData("A", false, false)]
    [InlineData("A", true, false)]
    [InlineData("B", false, false)]
    [InlineData("B", false, true)]
    [InlineData("C", false, false)]
    public void TooShortSpanThrowsArgumentExceptionNamingTheMatrix(string which, bool transA, bool transB)
    {
        int m = 5, n = 6, k = 7;
        int lda = transA ? m : k, ldb = transB ? k : n;
        var a = new float[m * k - (which == "A" ? 1 : 0)];
        var b = new float[k * n - (which == "B" ? 1 : 0)];
        var c = new float[m * n - (which == "C" ? 1 : 0)];
        var e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n));
        Assert.Contains($"{which} is", e.Message);
    }

    [Fact]
    public void TooSmallLeadingDimensionThrows()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.Sgemm(false, false, 2, 3, 4, 1f, new float[100], 3, new float[100], 3, 0f, new float[100], 3));
        Assert.Contains("lda", e.Message);
    }
}
