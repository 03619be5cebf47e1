using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The register-blocked small products of the batched convolution path against their one-row-at-a-time twins, on
/// random shapes including odd sizes, partial 4-row/4-column blocks, and columns not a multiple of the vector width.
/// </summary>
public class SmallProductsKernelTests
{
    public static TheoryData<int> Seeds() => new(Enumerable.Range(0, 20));

    private static float[] Random(int length, Generator g)
    {
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = g.NextFloat() * 2f - 1f;
        return data;
    }

    [Theory, MemberData(nameof(Seeds))]
    public void RowCombinationsMatchesReference(int seed)
    {
        var g = new Generator(700 + (ulong)seed);
        int m = 1 + g.NextInt(SmallProducts.MaxRows), k = 1 + g.NextInt(160), n = 1 + g.NextInt(300);
        var a = Random(m * k, g);
        var b = Random(k * n, g);
        var expected = new float[m * n];
        var actual = Guarded.Of(Random(m * n, g)); // overwritten, not accumulated
        SmallProducts.RowCombinationsReference(m, k, n, a, b, expected);
        SmallProducts.RowCombinations(m, k, n, a, b, actual);
        Close.Assert(expected, actual, 1e-4f, 1e-4f, $"RowCombinations m={m} k={k} n={n}");
    }

    [Theory, MemberData(nameof(Seeds))]
    public void StridedRowCombinationsMatchesReferenceAndLeavesTheGapsAlone(int seed)
    {
        var g = new Generator(750 + (ulong)seed);
        int m = 1 + g.NextInt(SmallProducts.MaxRows), k = 1 + g.NextInt(160), n = 1 + g.NextInt(130);
        int ldb = n + g.NextInt(40), ldc = n + g.NextInt(40);
        var a = Random(m * k, g);
        var b = Random((k - 1) * ldb + n, g);
        var start = Random((m - 1) * ldc + n, g);
        var expected = (float[])start.Clone();
        var actual = Guarded.Of(start);
        SmallProducts.RowCombinationsReference(m, k, n, a, b, ldb, expected, ldc);
        SmallProducts.RowCombinations(m, k, n, a, b, ldb, actual, ldc);
        Close.Assert(expected, actual, 1e-4f, 1e-4f, $"RowCombinations m={m} k={k} n={n} ldb={ldb} ldc={ldc}");
    }

    [Theory, MemberData(nameof(Seeds))]
    public void RowDotsMatchesReference(int seed)
    {
        var g = new Generator(800 + (ulong)seed);
        int m = 1 + g.NextInt(17), k = 1 + g.NextInt(155), n = 1 + g.NextInt(700);
        bool accumulate = seed % 2 == 1;
        var a = Random(m * n, g);
        var b = Random(k * n, g);
        var start = Random(m * k, g);
        var expected = (float[])start.Clone();
        var actual = Guarded.Of(start);
        SmallProducts.RowDotsReference(m, k, n, a, b, expected, accumulate);
        SmallProducts.RowDots(m, k, n, a, b, actual, accumulate);
        Close.Assert(expected, actual, 1e-4f, 1e-4f, $"RowDots m={m} k={k} n={n} accumulate={accumulate}");
    }

    [Fact]
    public void LeNetShapesMatchReference()
    {
        var g = new Generator(5);
        foreach (var (m, k, n) in new[] { (6, 25, 2 * 784), (16, 150, 10 * 100), (16, 150, 100), (6, 25, 784 + 3), (3, 7, 15) })
        {
            var a = Random(m * k, g);
            var b = Random(k * n, g);
            var expected = new float[m * n];
            var actual = Guarded.Nan(m * n);
            if (m <= SmallProducts.MaxRows)
            {
                SmallProducts.RowCombinationsReference(m, k, n, a, b, expected);
                SmallProducts.RowCombinations(m, k, n, a, b, actual);
                Close.Assert(expected, actual, 1e-4f, 1e-4f, $"RowCombinations {m}x{k}x{n}");
            }
            var dy = Random(m * n, g);
            var dwExpected = new float[m * k];
            var dwActual = Guarded.Nan(m * k);
            SmallProducts.RowDotsReference(m, k, n, dy, b, dwExpected, false);
            SmallProducts.RowDots(m, k, n, dy, b, dwActual, false);
            Close.Assert(dwExpected, dwActual, 1e-4f, 1e-3f, $"RowDots {m}x{k}x{n}");
        }
    }
}
