using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The GEMM's store epilogue (per-row bias, residual, clamp) against the three-loop twin followed by
/// <see cref="GemmReference.Epilogue"/>, on every path this machine runs: whole and edge tiles (masked stores),
/// several depth blocks (only the last may add the epilogue), beta, threads, and C's padding columns left alone.
/// </summary>
public class GemmEpilogueTests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    private static unsafe void Check(GemmPath path, int threads, bool transB, int m, int n, int k, float beta, bool bias, bool residual,
        float lo, float hi, ulong seed)
    {
        var gen = new Generator(seed);
        int lda = k, ldb = (transB ? k : n) + 1, ldc = n + 3, ldr = n + 2;
        // beta = 0 must not read C: NaN there would show.
        var ops = GemmOperands.Draw(gen, transA: false, transB, m, n, k, lda, ldb, ldc, nanC: beta == 0);
        var (a, b, c0) = (ops.A, ops.B, ops.C);
        var bv = bias ? Close.RandomArray(m, gen) : [];
        var rv = residual ? Close.RandomArray(m * ldr, gen) : [];
        var expected = ops.CopyOfC();
        var actual = ops.GuardedC();
        GemmReference.Sgemm(false, transB, m, n, k, 1f, a, lda, b, ldb, beta, expected, ldc);
        GemmReference.Epilogue(m, n, expected, ldc, bv, rv, ldr, lo, hi);
        var packed = Guarded.Zeros(Gemm.PackedALength(path, m, k));
        fixed (float* pa = a, pp = packed.Span, pb = b, pc = actual.Span, pbias = bv, pres = rv)
        {
            Gemm.PackA(path, false, m, k, 1f, pa, lda, pp);
            Gemm.Sgemm(path, threads, pp, m, k, transB, n, pb, ldb, beta, pc, ldc, new GemmEpilogue(pbias, pres, ldr, lo, hi));
        }
        string what = $"{path} threads={threads} transB={transB} m={m} n={n} k={k} beta={beta} bias={bias} residual={residual} clamp=[{lo}, {hi}]";
        packed.Check($"PackA {what}");
        // The 3 padding columns of each row of C must be untouched (NaN or the random start values).
        for (int i = 0; i < m; i++)
        for (int j = n; j < ldc; j++)
        {
            float e = c0[i * ldc + j], got = actual[i * ldc + j];
            if (!(float.IsNaN(e) ? float.IsNaN(got) : got == e)) Assert.Fail($"{what}: padding C[{i}, {j}] was written ({got}).");
        }
        Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * (Math.Abs(beta) + 3), what);
    }

    [Theory, MemberData(nameof(Paths))]
    public void BiasResidualAndClampMatchReferenceOnEveryTileEdge(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        // Rows around MR (4, 6, 14) and MC; columns around NR (4, 8, 16, 32) and a 7×7 plane (49); depths around KC (256).
        int[] ms = { 5, 6, 7, 13, 14, 15, 29, 96, 145 };
        int[] ns = { 1, 3, 8, 9, 15, 16, 17, 31, 32, 33, 49, 65 };
        int[] ks = { 1, 16, 64, 255, 257, 513 };
        var (lo6, hi6) = (0f, 6f);
        var gen = new Generator(5);
        for (int t = 0; t < 48; t++)
        {
            int m = ms[gen.NextInt(ms.Length)], n = ns[gen.NextInt(ns.Length)], k = ks[gen.NextInt(ks.Length)];
            var (lo, hi) = (t % 4) switch
            {
                0 => (float.NegativeInfinity, float.PositiveInfinity),
                1 => (0f, float.PositiveInfinity),
                2 => (lo6, hi6 / 16), // a narrow ReLU6-like band, so both bounds bite on random data
                _ => (-0.5f, 0.25f),
            };
            Check(path, 1 + t % 2, gen.NextInt(4) == 0, m, n, k, t % 5 == 0 ? 0.5f : 0f, gen.NextInt(4) != 0, gen.NextInt(2) == 0, lo, hi, 900 + (ulong)t);
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void ALoneLastColumnMatchesReferenceAtEveryDepth(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        // n = 16·q + 1 leaves AVX2 one column, run as a matrix-vector product (GemmEdgeColumns.cs): depths 1 … 9 cover
        // its four-way unrolled loop, the single depths after it and the masked last depth; 257 two depth blocks. Rows
        // of whole strips (6, 96) and of a short last strip (29 = 4 · 6 + 5, 16 = 2 · 6 + 4 on the 4-row tile).
        int[] ms = { 6, 16, 29, 96 };
        int[] ks = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 257 };
        ulong seed = 1300;
        foreach (int n in new[] { 1, 17, 49 })
        foreach (int k in ks)
        {
            int m = ms[(int)(seed % (ulong)ms.Length)];
            bool withEpilogue = seed % 2 == 0;
            Check(path, 1 + (int)(seed % 3 == 0 ? 1 : 0), seed % 5 == 0, m, n, k, seed % 3 == 1 ? 0.5f : 0f, withEpilogue, withEpilogue,
                withEpilogue ? -0.5f : float.NegativeInfinity, withEpilogue ? 0.25f : float.PositiveInfinity, seed);
            seed++;
        }
    }

    [Theory, MemberData(nameof(Paths))]
    public void LargeThreadedProductsAddTheEpilogueOnceAfterTheLastDepthBlock(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        // ResNet-50's layer-4 bottleneck end (512 → 2048 at 7×7 plus the shortcut, ReLU) and a 1×1 at 56×56 with a clamp.
        Check(path, 2, false, 2048 / 8, 49, 512, 0f, true, true, 0f, float.PositiveInfinity, 31);
        Check(path, 2, false, 96, 3136 / 4, 24, 0f, true, false, 0f, 6f / 16, 32);
        Check(path, 3, false, 450, 300, 600, 1f, true, true, -1f, 1f, 33);
    }
}
