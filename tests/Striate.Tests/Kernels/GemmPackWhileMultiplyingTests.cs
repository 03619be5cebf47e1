using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 driver packing B̃ while a block's first row strip multiplies (<see cref="Gemm256x6x16.RunInPlacePacking"/>,
/// switch <see cref="Gemm.PackWhileMultiplying"/>) against the three-loop twin and against the separate pack, with the
/// switch both ways: A packed beforehand (the products that take it), beta 0 and 1 with the epilogue (bias, residual,
/// clamp), partial column strips, several column and depth blocks, B's row stride wider than n, more rows than one block
/// of A (MC), one and two threads, and rows stored in two places; A packed per call (left to the separate pack) unchanged.
/// The results must be bit-identical either way (same multiply-adds in the same order).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class GemmPackWhileMultiplyingTests
{
    // (m, n, k, ldb): ResNet-50's 256→64 1×1 on 56×56, a depth of two blocks with a partial strip, rows past MC (144),
    // a single row strip, fewer rows than a tile (5: the switch must leave it to the separate pack), a narrow product.
    private static readonly (int M, int N, int K, int Ldb)[] Shapes =
        [(64, 3136, 256, 3136), (70, 533, 300, 540), (150, 300, 64, 300), (6, 529, 64, 529), (5, 100, 40, 100), (13, 17, 9, 20)];

    [Fact]
    public unsafe void PackedAMatchesReferenceAndTheSeparatePack()
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 700;
        foreach (var (m, n, k, ldb) in Shapes)
        foreach (int threads in new[] { 1, 2 })
        foreach (var (beta, withEpilogue) in new[] { (0f, false), (1f, true), (0f, true) })
        {
            if (!Gemm.UsesPackedA(GemmPath.Vector256, m)) continue;
            var gen = new Generator(seed++);
            int ldc = n + 3;
            var a = Close.RandomArray(m * k, gen);
            var b = Close.RandomArray(k * ldb, gen);
            var bias = Close.RandomArray(m, gen);
            var residual = Close.RandomArray(m * ldc, gen);
            var c0 = Close.RandomArray(m * ldc, gen);
            var expected = (float[])c0.Clone();
            GemmReference.Sgemm(false, false, m, n, k, 1f, a, k, b, ldb, beta, expected, ldc);
            if (withEpilogue)
                for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    expected[i * ldc + j] = Math.Clamp(expected[i * ldc + j] + bias[i] + residual[i * ldc + j], 0f, 2f);
            var packed = Guarded.Zeros(Gemm.PackedALength(GemmPath.Vector256, m, k));
            var results = new float[2][];
            for (int arm = 0; arm < 2; arm++)
            {
                var actual = Guarded.Of(c0);
                using (Switches.Set(() => Gemm.PackWhileMultiplying, arm == 1))
                fixed (float* pa = a, pp = packed.Span, pb = b, pc = actual.Span, pbias = bias, pr = residual)
                {
                    Gemm.PackA(GemmPath.Vector256, false, m, k, 1f, pa, k, pp);
                    var e = withEpilogue ? new GemmEpilogue(pbias, pr, ldc, 0f, 2f) : GemmEpilogue.None;
                    Gemm.Sgemm(GemmPath.Vector256, threads, pp, m, k, false, n, pb, ldb, beta, pc, ldc, e);
                }
                Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 8,
                    $"pack while multiplying={arm == 1} m={m} n={n} k={k} ldb={ldb} threads={threads} beta={beta} epilogue={withEpilogue}");
                packed.Check($"PackA m={m} k={k}");
                results[arm] = actual.ToArray();
            }
            Assert.Equal(results[0], results[1]);
        }
    }

    [Fact]
    public void PlainAAndSplitRowsMatchTheSeparatePackBitForBit()
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 800;
        foreach (var (m, n, k, ldb) in Shapes)
        foreach (int threads in new[] { 1, 2 })
        {
            var gen = new Generator(seed++);
            int ldc = n + 1;
            var a = Close.RandomArray(m * k, gen);
            var b = Close.RandomArray(k * ldb, gen);
            var c0 = Close.RandomArray(m * ldc, gen);
            var expected = (float[])c0.Clone();
            GemmReference.Sgemm(false, false, m, n, k, 0.5f, a, k, b, ldb, 1f, expected, ldc);
            var plain = new float[2][];
            var split = new float[]?[2];
            for (int arm = 0; arm < 2; arm++)
            {
                using (Switches.Set(() => Gemm.PackWhileMultiplying, arm == 1))
                {
                    var c = Guarded.Of(c0);
                    Gemm.Sgemm(GemmPath.Vector256, threads, false, false, m, n, k, 0.5f, a, k, b, ldb, 1f, c, ldc);
                    c.Check($"plain A, pack while multiplying={arm == 1} m={m} n={n} k={k} threads={threads}");
                    plain[arm] = c.ToArray();
                    split[arm] = SplitProduct(a, b, m, n, k, ldb, ldc, threads);
                }
                Close.Assert(expected, plain[arm], 1e-4, 1e-5 * Math.Sqrt(k + 1) * 8, $"plain A, pack while multiplying={arm == 1} m={m} n={n} k={k}");
            }
            Assert.Equal(plain[0], plain[1]);
            if (split[0] != null) Assert.Equal(split[0], split[1]);
        }
    }

    /// <summary>C = A·B with rows from m/2 on stored in a second buffer (appended after the first), or null when m is too small.</summary>
    private static unsafe float[]? SplitProduct(float[] a, float[] b, int m, int n, int k, int ldb, int ldc, int threads)
    {
        if (!Gemm.UsesPackedA(GemmPath.Vector256, m) || m < 2) return null;
        int cut = m / 2;
        var packed = Guarded.Zeros(Gemm.PackedALength(GemmPath.Vector256, m, k));
        var c = Guarded.Zeros(m * ldc);
        fixed (float* pa = a, pp = packed.Span, pb = b, pc = c.Span)
        {
            Gemm.PackA(GemmPath.Vector256, false, m, k, 1f, pa, k, pp);
            Gemm.SgemmSplitRows(GemmPath.Vector256, threads, pp, m, k, n, pb, ldb, pc, pc + (long)cut * ldc, cut, ldc, GemmEpilogue.None);
        }
        Guarded.CheckAll($"split rows m={m} n={n} k={k} cut={cut} threads={threads}", c, packed);
        return c.ToArray();
    }
}
