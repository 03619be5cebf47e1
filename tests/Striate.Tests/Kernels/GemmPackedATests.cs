using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// GEMM with its left operand packed once (<see cref="Gemm.PackA"/>, as convolutions keep their weights) against the
/// three-loop twin, on every path this machine runs: both storage orders of A, alpha folded into the packing, beta,
/// several depth blocks, and row counts around the tile height.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmPackedATests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    [Theory, MemberData(nameof(Paths))]
    public unsafe void PackedAMatchesReference(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 40;
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        foreach (var (m, n, k) in new[] { (5, 7, 3), (14, 32, 256), (29, 45, 300), (64, 100, 513), (6, 17, 1) })
        foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, 1f) })
        {
            if (!Gemm.UsesPackedA(path, m)) continue;
            int lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 3;
            var ops = GemmOperands.Draw(new Generator(seed++), transA, transB, m, n, k, lda, ldb, ldc, nanC: beta == 0);
            var (a, b) = (ops.A, ops.B);
            var expected = ops.CopyOfC();
            var actual = Guarded.Of(ops.C);
            GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
            var packed = Guarded.Zeros(Gemm.PackedALength(path, m, k));
            fixed (float* pa = a, pp = packed.Span, pb = b, pc = actual.Span)
            {
                Gemm.PackA(path, transA, m, k, alpha, pa, lda, pp);
                Gemm.Sgemm(path, 2, pp, m, k, transB, n, pb, ldb, beta, pc, ldc);
            }
            // Only C's n columns are compared; the reference leaves the 3 padding columns as they were, and so must Sgemm.
            if (beta == 0)
                for (int i = 0; i < m; i++)
                for (int j = n; j < ldc; j++) { expected[i * ldc + j] = 0; actual[i * ldc + j] = float.IsNaN(actual[i * ldc + j]) ? 0 : 1; }
            packed.Check($"{path} PackA transA={transA} m={m} k={k}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * (Math.Abs(alpha) + Math.Abs(beta) + 1),
                $"{path} packed A transA={transA} transB={transB} m={m} n={n} k={k} alpha={alpha} beta={beta}");
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public unsafe void PackedLayoutIsThePlainLayoutAndNothingPastItIsWritten(int pathIndex)
    {
        // The vector packing transposes 8×8 blocks and lets the upper rows' stores run two floats into the next depth's
        // slots (and only the strip's last depth masks them): element for element it must equal the plain layout —
        // Ã = [depth block][strip][kc][MR], rows past m zero — and leave the floats after it untouched.
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        int mr = path switch
        {
            GemmPath.Vector512 => Gemm512x14x32.MR,
            GemmPath.Vector256 => Gemm256x6x16.MR,
            GemmPath.Vector128 => Gemm128x6x8.MR,
            _ => GemmScalar4x4.MR,
        };
        // Depth blocks of equal depth (GemmDriver.DepthBlock), e.g. 513 = 264 + 249 with KC = 384.
        Func<int, int> depthBlock = path switch
        {
            GemmPath.Vector512 => GemmDriver<Gemm512x14x32>.DepthBlock,
            GemmPath.Vector256 => GemmDriver<Gemm256x6x16>.DepthBlock,
            GemmPath.Vector128 => GemmDriver<Gemm128x6x8>.DepthBlock,
            _ => GemmDriver<GemmScalar4x4>.DepthBlock,
        };
        var gen = new Generator(77);
        foreach (bool transA in new[] { false, true })
        foreach (var (m, k) in new[] { (14, 8), (28, 16), (12, 16), (18, 256), (6, 7), (12, 9), (29, 256), (20, 264), (15, 300), (42, 513), (3, 40) })
        {
            float alpha = transA ? 1f : -0.75f;
            int lda = (transA ? m : k) + 5;
            var a = Close.RandomArray((transA ? k : m) * lda, gen);
            long length = Gemm.PackedALength(path, m, k);
            var packed = new float[length + 64];
            Array.Fill(packed, float.NaN);
            fixed (float* pa = a, pp = packed) Gemm.PackA(path, transA, m, k, alpha, pa, lda, pp);
            int mPadded = (m + mr - 1) / mr * mr;
            int kcMax = depthBlock(k);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                for (int s = 0; s < mPadded; s += mr)
                for (int p = 0; p < kc; p++)
                for (int r = 0; r < mr; r++)
                {
                    int i = s + r, depth = pc + p;
                    float expected = i < m ? alpha * (transA ? a[depth * lda + i] : a[i * lda + depth]) : 0f;
                    long at = (long)pc * mPadded + (long)s * kc + p * mr + r;
                    Assert.True(expected == packed[at],
                        $"{path} transA={transA} m={m} k={k}: Ã[{at}] (row {i}, depth {depth}) = {packed[at]}, expected {expected}");
                }
            }
            for (long i = length; i < packed.Length; i++)
                Assert.True(float.IsNaN(packed[i]), $"{path} transA={transA} m={m} k={k}: float {i} past the packed length was written");
        }
    }

    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    public unsafe void AvxTwoColumnBlocksOfEitherWidthMatchReference(int columnBlock)
    {
        // The AVX2 driver's column block (Gemm256x6x16.NC) follows the L2 size: 256 columns on a 512 KiB L2, 512 on larger
        // ones. Force each and run products of several blocks, a partial last one and a depth past KC (two depth blocks).
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        using (Switches.Set(() => Avx2GemmTunables.ColumnBlock, columnBlock))
        {
            Assert.Equal(columnBlock, GemmDriver<Gemm256x6x16>.ColumnBlock(packedA: true, kc: 256));
            ulong seed = 90;
            foreach (var (m, n, k, threads) in new[] { (64, 1300, 256, 1), (70, 3136 / 4 + 5, 300, 2), (128, 784, 512, 2), (6, 529, 64, 1) })
            {
                var gen = new Generator(seed++);
                var a = Close.RandomArray(m * k, gen);
                var b = Close.RandomArray(k * n, gen);
                var expected = new float[m * n];
                var actual = Guarded.Nan(m * n);
                GemmReference.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
                var packed = Guarded.Zeros(Gemm.PackedALength(GemmPath.Vector256, m, k));
                fixed (float* pa = a, pp = packed.Span, pb = b, pc = actual.Span)
                {
                    Gemm.PackA(GemmPath.Vector256, false, m, k, 1f, pa, k, pp);
                    Gemm.Sgemm(GemmPath.Vector256, threads, pp, m, k, false, n, pb, n, 0f, pc, n);
                }
                packed.Check($"PackA m={m} k={k}");
                Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 8, $"NC={columnBlock} m={m} n={n} k={k} threads={threads}");
            }
        }
    }

    [Fact]
    public void AvxTwoColumnBlockFollowsTheL2Size()
    {
        long l2 = CpuCaches.L2Bytes;
        Assert.Equal(l2 is > 0 and <= 512 * 1024 ? 256 : 512, Avx2GemmTunables.ColumnBlock);
        // Where Linux reports the L2 of cpu0, CPUID must agree with it.
        const string sysfs = "/sys/devices/system/cpu/cpu0/cache/index2/size";
        Assert.SkipUnless(File.Exists(sysfs) && l2 > 0, "No L2 size from both CPUID and sysfs on this machine.");
        string text = File.ReadAllText(sysfs).Trim();
        Assert.SkipUnless(text.EndsWith('K'), $"sysfs reports the L2 as '{text}'.");
        Assert.Equal(long.Parse(text[..^1]) * 1024, l2);
    }

    [Fact]
    public void FewRowsAreRefusedBecauseThatPathReadsAUnpacked()
    {
        Assert.False(Gemm.UsesPackedA(GemmPath.Vector256, 4));
        Assert.True(Gemm.UsesPackedA(GemmPath.Vector256, 5));
    }
}
