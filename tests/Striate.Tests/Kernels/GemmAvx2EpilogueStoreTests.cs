using System.Runtime.InteropServices;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 6×16 tile's whole-tile epilogue store (<see cref="Avx2TileSwitches.WholeEpilogueStore"/>) against the three-loop
/// twin and against the row-by-row edge store it replaced, bit for bit, through the driver with a pre-packed A.
/// C lives in 64-byte-aligned memory (line-aligned rows: a 56×56 map's, and a shifted copy that is not), with NaN guards
/// after its last row and in its padding columns, which must come back untouched; the residual is apart or C itself
/// (a bottleneck's conv3 written over its residual, one depth block); bias, ReLU (no upper bound), ReLU6, none; beta 0
/// and 1; one and two threads; one depth block and several (only the last adds the epilogue); 7×7 and 14×14 maps (edge
/// columns beside whole tiles), rows past a block of A (MC), fewer rows than a strip (the 4-row tile).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class GemmAvx2EpilogueStoreTests
{
    // (m, n, k, ldc, offset floats from a line): a 56×56 conv3 cut down (rows line-aligned), ResNet-50's 512→2048 on 7×7
    // cut down (two depth blocks), 14×14 with three blocks and a partial strip, aligned rows of 16, unaligned rows, fewer
    // rows than a strip, a narrow last column tile.
    private static readonly (int M, int N, int K, int Ldc, int Offset)[] Shapes =
        [(64, 320, 64, 320, 0), (60, 49, 512, 49, 0), (40, 196, 600, 196, 0), (20, 48, 40, 64, 0), (31, 33, 70, 40, 4), (12, 49, 256, 52, 8), (150, 17, 9, 32, 0)];

    // The edge store first: the whole-tile store must equal its bits.
    private static readonly bool[] Arms = [false, true];

    [Fact]
    public unsafe void EveryArmMatchesReferenceBitForBitAndWritesOnlyC()
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 900;
        const int Guard = 64;
        foreach (var (m, n, k, ldc, offset) in Shapes)
        foreach (int threads in new[] { 1, 2 })
        foreach (var (beta, bias, residual, lo, hi) in new[]
                 {
                     (0f, true, Residual.InPlace, 0f, float.PositiveInfinity), (0f, true, Residual.Apart, 0f, float.PositiveInfinity),
                     (1f, true, Residual.Apart, 0f, 6f), (0f, true, Residual.None, float.NegativeInfinity, float.PositiveInfinity),
                     (0f, false, Residual.None, float.NegativeInfinity, float.PositiveInfinity), (1f, false, Residual.None, float.NegativeInfinity, float.PositiveInfinity),
                     (0f, false, Residual.InPlace, -1f, 1f),
                 })
        {
            // Written over its residual only in one depth block (the first block would overwrite it with a partial sum).
            if (residual == Residual.InPlace && k > Gemm256x6x16.KC) continue;
            if (!Gemm.UsesPackedA(GemmPath.Vector256, m)) continue;
            var gen = new Generator(seed++);
            var a = Close.RandomArray(m * k, gen);
            var b = Close.RandomArray(k * n, gen);
            var bv = bias ? Close.RandomArray(m, gen) : [];
            var rv = residual == Residual.Apart ? Close.RandomArray(m * ldc, gen) : [];
            // C's start values: NaN in the padding columns (never read or written), random inside.
            var c0 = new float[m * ldc];
            for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
                c0[i * ldc + j] = j < n ? (float)(gen.NextDouble() * 2 - 1) : float.NaN;
            var expected = (float[])c0.Clone();
            GemmReference.Sgemm(false, false, m, n, k, 1f, a, k, b, n, residual == Residual.InPlace ? 0f : beta, expected, ldc);
            GemmReference.Epilogue(m, n, expected, ldc, bv, residual == Residual.InPlace ? c0 : rv, ldc, lo, hi);
            var packed = new float[Gemm.PackedALength(GemmPath.Vector256, m, k)];
            string what = $"m={m} n={n} k={k} ldc={ldc} offset={offset} threads={threads} beta={beta} bias={bias} residual={residual} clamp=[{lo}, {hi}]";
            float[]? first = null;
            long floats = offset + (long)m * ldc + Guard;
            float* mem = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            try
            {
                foreach (var arm in Arms)
                {
                    var all = new Span<float>(mem, (int)floats);
                    all.Fill(float.NaN);
                    float* c = mem + offset;
                    c0.CopyTo(new Span<float>(c, m * ldc));
                    using (Switches.Set(() => Avx2TileSwitches.WholeEpilogueStore, arm))
                    fixed (float* pa = a, pp = packed, pb = b, pbias = bv, pr = rv)
                    {
                        Gemm.PackA(GemmPath.Vector256, false, m, k, 1f, pa, k, pp);
                        float* r = residual switch { Residual.InPlace => c, Residual.Apart => pr, _ => null };
                        var e = new GemmEpilogue(bias ? pbias : null, r, ldc, lo, hi);
                        Gemm.Sgemm(GemmPath.Vector256, threads, pp, m, k, false, n, pb, n, residual == Residual.InPlace ? 0f : beta, c, ldc, e);
                    }
                    for (int t = 0; t < offset; t++)
                        if (!float.IsNaN(mem[t])) Assert.Fail($"{what} whole store={arm}: the guard before C, float {t}, was written ({mem[t]}).");
                    for (int t = 0; t < Guard; t++)
                        if (!float.IsNaN(c[(long)m * ldc + t])) Assert.Fail($"{what} whole store={arm}: the guard after C, float {t}, was written ({c[(long)m * ldc + t]}).");
                    var actual = new Span<float>(c, m * ldc).ToArray();
                    for (int i = 0; i < m; i++)
                    for (int j = n; j < ldc; j++)
                        if (!float.IsNaN(actual[i * ldc + j])) Assert.Fail($"{what} whole store={arm}: padding C[{i}, {j}] was written ({actual[i * ldc + j]}).");
                    Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * (Math.Abs(beta) + 3), $"{what} whole store={arm}");
                    if (first == null) first = actual;
                    else Assert.True(first.AsSpan().SequenceEqual(actual), $"{what}: the whole-tile store is not bit-identical to the edge store.");
                }
            }
            finally
            {
                NativeMemory.AlignedFree(mem);
            }
        }
    }

    private enum Residual { None, Apart, InPlace }
}
