using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 driver reading a block's last strip of 1–4 columns from B in place (<see cref="Gemm256x6x16.RunFewColumnsInPlace"/>,
/// switch <see cref="Avx2GemmTunables.EdgeColumnsInPlace"/>) against the three-loop twin, with the switch both ways: A
/// packed beforehand (a 1×1 convolution's weights) with bias, residual and clamp, beta 0 and 1, and A packed per call;
/// rows stored in two places (the straddling tile); m, n and k not multiples of the tile (edges of 1–4 columns and of 5–15,
/// short last row strips, several depth blocks); B's row stride wider than n; one to three threads, and every part run on
/// one thread from inside a parallel loop. Outputs and B are guarded (sentinel bands around them).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class GemmEdgeColumnsInPlaceTests
{
    // (m, n, k, ldb): GoogLeNet's 480→64 and 832→128 1×1s (edges of 4 and 1 columns), 2- and 3-column edges with short
    // last row strips and depths across blocks, a product narrower than one tile, an edge of 9 (left to the packed path),
    // odd depths (1 and 2 depths after the paired loop).
    private static readonly (int M, int N, int K, int Ldb)[] Shapes =
        [(64, 196, 480, 196), (128, 49, 832, 49), (20, 34, 300, 40), (13, 19, 9, 19), (9, 3, 17, 5), (30, 25, 64, 25),
         (7, 4, 1, 4), (11, 36, 2, 36), (6, 1, 3, 1)];

    public static TheoryData<int> Seeds() => new(Enumerable.Range(0, 3));

    [Theory, MemberData(nameof(Seeds))]
    public unsafe void PackedAMatchesTheReferenceEitherWay(int seed)
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(900 + (ulong)seed);
        foreach (var (m, n, k, ldb) in Shapes)
        foreach (int threads in new[] { 1, 2, 3, 0 })
        foreach (var (beta, withEpilogue) in new[] { (0f, true), (1f, true), (0f, false) })
        {
            if (!Gemm.UsesPackedA(GemmPath.Vector256, m)) continue;
            int ldc = n + 3;
            var a = Close.RandomArray(m * k, gen);
            var b = Guarded.Of(Close.RandomArray((k - 1) * ldb + n, gen));
            var bias = Close.RandomArray(m, gen);
            var residual = Close.RandomArray(m * ldc, gen);
            var c0 = Close.RandomArray(m * ldc, gen);
            var expected = (float[])c0.Clone();
            GemmReference.Sgemm(false, false, m, n, k, 1f, a, k, b.ToArray(), ldb, beta, expected, ldc);
            if (withEpilogue)
                for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    expected[i * ldc + j] = Math.Clamp(expected[i * ldc + j] + bias[i] + residual[i * ldc + j], -0.5f, 2f);
            var packed = Guarded.Zeros(Gemm.PackedALength(GemmPath.Vector256, m, k));
            foreach (bool inPlace in new[] { true, false })
            {
                var actual = Guarded.Of(c0);
                using (Switches.Set(() => Avx2GemmTunables.EdgeColumnsInPlace, inPlace))
                {
                    void Call()
                    {
                        fixed (float* pa = a, pp = packed.Span, pb = b.Span, pc = actual.Span, pbias = bias, pr = residual)
                        {
                            Gemm.PackA(GemmPath.Vector256, false, m, k, 1f, pa, k, pp);
                            var e = withEpilogue ? new GemmEpilogue(pbias, pr, ldc, -0.5f, 2f) : GemmEpilogue.None;
                            Gemm.Sgemm(GemmPath.Vector256, Math.Max(1, threads), pp, m, k, false, n, pb, ldb, beta, pc, ldc, e);
                        }
                    }
                    // threads 0: two threads asked for from inside a parallel loop, so one runs every part.
                    if (threads == 0) NestedCall.Run(Call);
                    else Call();
                }
                string what = $"in place={inPlace} m={m} n={n} k={k} ldb={ldb} threads={threads} beta={beta} epilogue={withEpilogue}";
                Guarded.CheckAll(what, actual, packed, b);
                Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 8, what);
            }
        }
    }

    [Theory, MemberData(nameof(Seeds))]
    public unsafe void SplitRowsAndPlainAMatchTheReferenceEitherWay(int seed)
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        var gen = new Generator(950 + (ulong)seed);
        foreach (var (m, n, k, ldb) in Shapes)
        foreach (int threads in new[] { 1, 2, 3 })
        foreach (bool inPlace in new[] { true, false })
        {
            int ldc = n + 1;
            var a = Close.RandomArray(m * k, gen);
            var b = Guarded.Of(Close.RandomArray((k - 1) * ldb + n, gen));
            var bias = Close.RandomArray(m, gen);
            var expected = new float[m * ldc];
            GemmReference.Sgemm(false, false, m, n, k, 1f, a, k, b.ToArray(), ldb, 0f, expected, ldc);
            using var on = Switches.Set(() => Avx2GemmTunables.EdgeColumnsInPlace, inPlace);
            string what = $"in place={inPlace} m={m} n={n} k={k} ldb={ldb} threads={threads}";

            // A packed per call (alpha 1, beta 0): the public entry.
            var plain = Guarded.Zeros(m * ldc);
            Gemm.Sgemm(GemmPath.Vector256, threads, false, false, m, n, k, 1f, a, k, b.Span, ldb, 0f, plain.Span, ldc);
            Guarded.CheckAll($"plain A {what}", plain, b);
            Close.Assert(expected, plain, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 8, $"plain A {what}");

            // Rows from the cut on stored in a second buffer, cut inside a 6-row tile (the straddling tile), bias + ReLU.
            if (!Gemm.UsesPackedA(GemmPath.Vector256, m) || m < 2) continue;
            int cut = m / 2 + 1 == m ? m / 2 : m / 2 + 1;
            var packed = Guarded.Zeros(Gemm.PackedALength(GemmPath.Vector256, m, k));
            var c1 = Guarded.Zeros(cut * ldc);
            var c2 = Guarded.Zeros((m - cut) * ldc);
            fixed (float* pa = a, pp = packed.Span, pb = b.Span, pc1 = c1.Span, pc2 = c2.Span, pbias = bias)
            {
                Gemm.PackA(GemmPath.Vector256, false, m, k, 1f, pa, k, pp);
                var e = new GemmEpilogue(pbias, null, 0, 0f, float.PositiveInfinity);
                Gemm.SgemmSplitRows(GemmPath.Vector256, threads, pp, m, k, n, pb, ldb, pc1, pc2, cut, ldc, e);
            }
            Guarded.CheckAll($"split rows cut={cut} {what}", c1, c2, packed, b);
            var split = new float[m * ldc];
            c1.Span.CopyTo(split);
            c2.Span.CopyTo(split.AsSpan(cut * ldc));
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                expected[i * ldc + j] = MathF.Max(0f, expected[i * ldc + j] + bias[i]);
            for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                expected[i * ldc + j] = 0f; // the gap columns past n: never written, still zero
            Close.Assert(expected, split, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 8, $"split rows cut={cut} {what}");
        }
    }
}
