using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// A packed-A GEMM whose rows are stored in two places (<see cref="Gemm.SgemmSplitRows"/>: rows before the cut at C,
/// the rest at C2, as a merged Inception 1×1 stores branch 1 in its block of the concatenation) against the three-loop
/// twin with the bias and clamp in a loop, on every path this machine runs: cuts inside a register tile (the straddling
/// tile runs on a scratch tile) and on its edge, several depth blocks, one and two threads; nothing outside the two
/// outputs' rows and columns is written. Then the 1×1 convolution built on it (<see cref="Conv2dKernels.PointwiseForwardSplit"/>)
/// against <see cref="Conv2dReference"/> on random shapes.
/// </summary>
public sealed class GemmSplitRowsTests
{
    public static TheoryData<int> Paths() => new() { (int)GemmPath.Scalar, (int)GemmPath.Vector128, (int)GemmPath.Vector256, (int)GemmPath.Vector512 };

    [Theory, MemberData(nameof(Paths))]
    public unsafe void SplitRowsMatchTheReferenceAndWriteNothingElse(int pathIndex)
    {
        var path = (GemmPath)pathIndex;
        Assert.SkipUnless(Gemm.IsSupported(path), $"{path} is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        ulong seed = 60;
        // (m, n, k, cut): GoogLeNet's 3a (176 rows cut at 112: inside a 6-row tile, on a 14-row tile's edge ... ), cuts at
        // the first and last row, depths across two and four depth blocks, a plane of 49 columns.
        foreach (var (m, n, k, cut) in new[] { (176, 784, 192, 112), (29, 45, 300, 13), (64, 100, 513, 6), (30, 49, 832, 28),
                     (20, 17, 7, 1), (20, 17, 7, 19), (42, 200, 64, 14), (9, 81, 14, 5) })
        foreach (int threads in new[] { 1, 2 })
        foreach (bool relu in new[] { false, true })
        {
            if (!Gemm.UsesPackedA(path, m)) continue;
            var gen = new Generator(seed++);
            int ldc = n + 3, extraRows = 2;
            var a = Close.RandomArray(m * k, gen);
            var b = Close.RandomArray(k * n, gen);
            var bias = Close.RandomArray(m, gen);
            var expected = new float[m * ldc];
            GemmReference.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, ldc);
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float v = expected[i * ldc + j] + bias[i];
                expected[i * ldc + j] = relu ? MathF.Max(v, 0f) : v;
            }
            // C [cut, ldc] and C2 [m − cut, ldc], each with rows after it: NaN, so a skipped element fails and a stray store shows.
            var c = new float[(cut + extraRows) * ldc];
            var c2 = new float[(m - cut + extraRows) * ldc];
            Array.Fill(c, float.NaN);
            Array.Fill(c2, float.NaN);
            var packed = Guarded.Zeros(Gemm.PackedALength(path, m, k));
            fixed (float* pa = a, pp = packed.Span, pb = b, pc = c, pc2 = c2, pbias = bias)
            {
                Gemm.PackA(path, false, m, k, 1f, pa, k, pp);
                var e = new GemmEpilogue(pbias, null, 0, relu ? 0f : float.NegativeInfinity, float.PositiveInfinity);
                Gemm.SgemmSplitRows(path, threads, pp, m, k, n, pb, n, pc, pc2, cut, ldc, e);
            }
            string what = $"{path} m={m} n={n} k={k} cut={cut} threads={threads} relu={relu}";
            packed.Check($"PackA {what}");
            var actual = new float[m * ldc];
            for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                float v = i < cut ? c[i * ldc + j] : c2[(i - cut) * ldc + j];
                if (j < n) actual[i * ldc + j] = v;
                else Assert.True(float.IsNaN(v), $"{what}: padding column {j} of row {i} was written");
            }
            for (int i = cut * ldc; i < c.Length; i++) Assert.True(float.IsNaN(c[i]), $"{what}: C past its {cut} rows was written at {i}");
            for (int i = (m - cut) * ldc; i < c2.Length; i++) Assert.True(float.IsNaN(c2[i]), $"{what}: C2 past its {m - cut} rows was written at {i}");
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4, what);
        }
    }

    [Fact]
    public unsafe void RefusesACutOutsideTheRows()
    {
        Assert.SkipUnless(Gemm.IsSupported(Gemm.BestPath), "No accelerated GEMM path on this machine.");
        var packed = new float[Gemm.PackedALength(Gemm.BestPath, 12, 4)];
        var b = new float[4 * 8];
        var c = new float[12 * 8];
        foreach (int cut in new[] { 0, 12, -1 })
        {
            var ex = Assert.Throws<ArgumentException>(() =>
            {
                fixed (float* pp = packed, pb = b, pc = c) Gemm.SgemmSplitRows(Gemm.BestPath, 1, pp, 12, 4, 8, pb, 8, pc, pc, cut, 8, GemmEpilogue.None);
            });
            Assert.Contains("cut", ex.Message);
        }
    }

    public static TheoryData<int> Seeds() => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory, MemberData(nameof(Seeds))]
    public void PointwiseForwardSplitMatchesTheReferenceOnRandomShapes(int seed)
    {
        var r = new Random(seed);
        int cin = r.Next(1, 900), cout = r.Next(GemmSmallM.MaxM + 1, 200), cut = r.Next(1, cout);
        int h = r.Next(1, 30), w = r.Next(1, 30);
        var g = new Conv2dGeometry(1, cin, h, w, cout, 1, 1);
        Assert.SkipUnless(Conv2dKernels.TakesSplitPointwise(g), $"{g} runs on another 1×1 path on this machine ({Gemm.BestPath}).");
        var gen = new Generator((ulong)seed + 100);
        var x = Close.RandomArray((int)g.InputLength, gen);
        var weight = Close.RandomArray((int)g.WeightLength, gen);
        var bias = seed % 3 == 0 ? Array.Empty<float>() : Close.RandomArray(cout, gen);
        bool relu = seed % 2 == 0;
        int plane = h * w;
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, weight, bias, expected);
        if (relu) for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i], 0f);
        var first = Guarded.Nan(cut * plane);
        var second = Guarded.Nan((cout - cut) * plane);
        Conv2dKernels.PointwiseForwardSplit(g, x, weight, bias, new Conv2dEpilogue { Relu = relu }, first, second, cut, null);
        string what = $"{g} cut at channel {cut} relu={relu} bias={bias.Length > 0}";
        Close.Assert(expected.AsSpan(0, cut * plane), first, 1e-4, 1e-5 * Math.Sqrt(cin + 1) * 4, what + ": first channels");
        Close.Assert(expected.AsSpan(cut * plane), second, 1e-4, 1e-5 * Math.Sqrt(cin + 1) * 4, what + ": last channels");
    }
}
