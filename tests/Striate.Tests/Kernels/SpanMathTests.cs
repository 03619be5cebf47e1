using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// SpanMath in every vector width against the scalar definition of each function: bit for bit for arithmetic (fused
/// multiply-add included), within an ulp or two of a double-precision computation for the transcendental functions.
/// </summary>
public class SpanMathTests
{
    public static readonly TheoryData<int> Widths = new(512, 256, 128, 0);

    // Lengths that end in every combination of 16-, 8- and 4-wide steps and scalar elements.
    private static readonly int[] Lengths = [0, 1, 3, 4, 7, 8, 12, 15, 16, 17, 28, 31, 33, 49, 63, 64, 65, 100, 196, 1031];

    private static void SkipUnlessAccelerated(int bits) => VectorLanes.SkipUnlessAccelerated(bits / 32);

    /// <summary>Random values over a wide range, with NaN, infinities and signed zeros sprinkled in.</summary>
    private static float[] Values(int n, Generator g, float scale = 8f)
    {
        float[] specials = [0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1f, -1f];
        var x = Close.RandomArray(n, g);
        for (int i = 0; i < n; i++) x[i] = g.NextInt(8) == 0 ? specials[g.NextInt(specials.Length)] : x[i] * scale;
        return x;
    }

    /// <summary>The comparisons below on a guarded destination: nothing written around it, then the values.</summary>
    private static void AssertBitwise(float[] expected, Guarded<float> actual, string what)
    {
        actual.Check(what);
        AssertBitwise(expected, actual.ToArray(), what);
    }

    private static void AssertWithinUlps(double[] exact, Guarded<float> actual, int ulps, string what)
    {
        actual.Check(what);
        AssertWithinUlps(exact, actual.ToArray(), ulps, what);
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"{what}: element {i} of {expected.Length} is {actual[i]:R}, expected {expected[i]:R}");
    }

    private static void AssertWithinUlps(double[] exact, float[] actual, int ulps, string what)
    {
        for (int i = 0; i < exact.Length; i++)
        {
            float expected = (float)exact[i];
            if (float.IsNaN(expected)) { Assert.True(float.IsNaN(actual[i]), $"{what}: element {i} is {actual[i]:R}, expected NaN"); continue; }
            if (float.IsInfinity(expected) || expected == 0) { Assert.True(expected == actual[i], $"{what}: element {i} is {actual[i]:R}, expected {expected:R}"); continue; }
            float tolerance = ulps * (MathF.BitIncrement(MathF.Abs(expected)) - MathF.Abs(expected));
            Assert.True(MathF.Abs(actual[i] - expected) <= tolerance, $"{what}: element {i} is {actual[i]:R}, expected {expected:R} (exact {exact[i]:R}) within {ulps} ulps");
        }
    }

    [Theory, MemberData(nameof(Widths))]
    public void ArithmeticMatchesTheScalarDefinitionBitForBit(int bits)
    {
        SkipUnlessAccelerated(bits);
        var g = new Generator(71);
        foreach (int n in Lengths)
        {
            var x = Values(n, g);
            var y = Values(n, g);
            float s = g.NextFloat() * 4 - 2;
            var d = Guarded.Zeros(n);
            void Check(Func<float, float, float> f, Guarded<float> actual, string op, bool scalarRight = false, bool scalarLeft = false)
                => AssertBitwise(Enumerable.Range(0, n).Select(i => f(scalarLeft ? s : x[i], scalarRight ? s : scalarLeft ? x[i] : y[i])).ToArray(), actual, $"{op} n={n} width {bits}");

            SpanMath.Binary<SpanMath.AddOp>(x, y, d, bits); Check((a, b) => a + b, d, "add");
            SpanMath.Binary<SpanMath.SubtractOp>(x, y, d, bits); Check((a, b) => a - b, d, "subtract");
            SpanMath.Binary<SpanMath.MultiplyOp>(x, y, d, bits); Check((a, b) => a * b, d, "multiply");
            SpanMath.Binary<SpanMath.DivideOp>(x, y, d, bits); Check((a, b) => a / b, d, "divide");
            SpanMath.Binary<SpanMath.MaxOp>(x, y, d, bits); Check(MathF.Max, d, "max");
            SpanMath.Binary<SpanMath.MinOp>(x, y, d, bits); Check(MathF.Min, d, "min");
            SpanMath.BinaryScalar<SpanMath.SubtractOp>(x, s, d, bits); Check((a, b) => a - b, d, "x - s", scalarRight: true);
            SpanMath.BinaryScalar<SpanMath.MaxOp>(x, 0f, d, bits);
            AssertBitwise(x.Select(v => MathF.Max(v, 0f)).ToArray(), d, $"relu n={n} width {bits}");
            SpanMath.ScalarBinary<SpanMath.DivideOp>(s, x, d, bits); Check((a, b) => a / b, d, "s / x", scalarLeft: true);
            SpanMath.Unary<SpanMath.NegateOp>(x, d, bits);
            AssertBitwise(x.Select(v => -v).ToArray(), d, $"negate n={n} width {bits}");
            SpanMath.Unary<SpanMath.ReciprocalOp>(x, d, bits);
            AssertBitwise(x.Select(v => 1f / v).ToArray(), d, $"reciprocal n={n} width {bits}");
        }
    }

    [Theory, MemberData(nameof(Widths))]
    public void MultiplyAddIsFusedInEveryWidth(int bits)
    {
        SkipUnlessAccelerated(bits);
        var g = new Generator(72);
        foreach (int n in Lengths)
        {
            var x = Values(n, g);
            var y = Values(n, g);
            var a = Values(n, g);
            float s = g.NextFloat() * 4 - 2;
            var d = Guarded.Zeros(n);
            SpanMath.FusedMultiplyAdd(x, y, a, d, bits);
            AssertBitwise(Enumerable.Range(0, n).Select(i => MathF.FusedMultiplyAdd(x[i], y[i], a[i])).ToArray(), d, $"fma n={n} width {bits}");
            SpanMath.FusedMultiplyAdd(x, s, a, d, bits);
            AssertBitwise(Enumerable.Range(0, n).Select(i => MathF.FusedMultiplyAdd(x[i], s, a[i])).ToArray(), d, $"fma scalar n={n} width {bits}");
        }
        // 1 + 2⁻¹² times 1 − 2⁻¹² is 1 − 2⁻²⁴: one rounding keeps −2⁻²⁴ after adding −1, two roundings give 0.
        var ones = Enumerable.Repeat(1f + 1f / 4096, 20).ToArray();
        var result = new float[20];
        SpanMath.FusedMultiplyAdd(ones, Enumerable.Repeat(1f - 1f / 4096, 20).ToArray(), Enumerable.Repeat(-1f, 20).ToArray(), result, bits);
        Assert.All(result, v => Assert.Equal(-1f / (1 << 24), v));
    }

    [Theory, MemberData(nameof(Widths))]
    public void MaxAndMinPropagateNaNAndOrderSignedZeros(int bits)
    {
        SkipUnlessAccelerated(bits);
        // 21 elements: the 16-wide body, a 4-wide step and the scalar tail each meet every case.
        float[] x = [float.NaN, 1f, -0f, 0f, 2f, -0f, float.NaN, 3f, -0f, 0f, 1f, 1f, 1f, 1f, 1f, 1f, float.NaN, -0f, 0f, 1f, -0f];
        float[] y = [1f, float.NaN, 0f, -0f, 2f, -0f, float.NaN, 1f, 0f, -0f, 1f, 1f, 1f, 1f, 1f, 1f, 1f, 0f, -0f, float.NaN, 0f];
        var max = new float[x.Length];
        var min = new float[x.Length];
        SpanMath.Binary<SpanMath.MaxOp>(x, y, max, bits);
        SpanMath.Binary<SpanMath.MinOp>(x, y, min, bits);
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i]) || float.IsNaN(y[i])) { Assert.True(float.IsNaN(max[i]) && float.IsNaN(min[i]), $"element {i}: NaN did not propagate"); continue; }
            if (x[i] == 0 && y[i] == 0)
            {
                bool anyPositive = float.IsPositive(x[i]) || float.IsPositive(y[i]), anyNegative = float.IsNegative(x[i]) || float.IsNegative(y[i]);
                Assert.True(float.IsPositive(max[i]) == anyPositive && float.IsNegative(min[i]) == anyNegative, $"element {i}: max({x[i]:R}, {y[i]:R}) = {max[i]:R}, min = {min[i]:R}");
            }
        }
        var relu = new float[x.Length];
        SpanMath.BinaryScalar<SpanMath.MaxOp>(x, 0f, relu, bits);
        for (int i = 0; i < x.Length; i++) Assert.True(float.IsNaN(x[i]) ? float.IsNaN(relu[i]) : BitConverter.SingleToInt32Bits(relu[i]) == BitConverter.SingleToInt32Bits(MathF.Max(x[i], 0f)), $"relu element {i} is {relu[i]:R}");
    }

    [Theory, MemberData(nameof(Widths))]
    public void ExpLogSigmoidTanhAndPowAreWithinUlpsOfDoublePrecision(int bits)
    {
        SkipUnlessAccelerated(bits);
        var g = new Generator(73);
        foreach (int n in Lengths)
        {
            var x = Values(n, g, scale: 40f);
            var d = Guarded.Zeros(n);
            SpanMath.Unary<SpanMath.ExpOp>(x, d, bits);
            AssertWithinUlps(x.Select(v => Math.Exp(v)).ToArray(), d, 2, $"exp n={n} width {bits}");
            SpanMath.Unary<SpanMath.SigmoidOp>(x, d, bits);
            AssertWithinUlps(x.Select(v => 1 / (1 + Math.Exp(-(double)v))).ToArray(), d, 1, $"sigmoid n={n} width {bits}");
            SpanMath.Unary<SpanMath.TanhOp>(x, d, bits);
            AssertWithinUlps(x.Select(v => Math.Tanh(v)).ToArray(), d, 1, $"tanh n={n} width {bits}");

            var positive = x.Select(v => MathF.Abs(v) * 3).ToArray();
            SpanMath.Unary<SpanMath.LogOp>(positive, d, bits);
            AssertWithinUlps(positive.Select(v => Math.Log(v)).ToArray(), d, 2, $"log n={n} width {bits}");
            foreach (float exponent in new[] { -0.75f, 0.3f, 2f, -1.5f })
            {
                SpanMath.PowScalarExponent(positive, exponent, d, bits);
                AssertWithinUlps(positive.Select(v => Math.Pow(v, exponent)).ToArray(), d, 1, $"pow ^{exponent} n={n} width {bits}");
            }
            // A negative base has a real power only for an integer exponent; those lanes go through MathF.Pow.
            SpanMath.PowScalarExponent(x, 3f, d, bits);
            AssertWithinUlps(x.Select(v => Math.Pow(v, 3)).ToArray(), d, 1, $"pow ^3 of signed values n={n} width {bits}");
            SpanMath.PowScalarExponent(x, 0f, d, bits);
            d.Check($"pow ^0 n={n} width {bits}");
            Assert.All(d.ToArray(), v => Assert.Equal(1f, v));
        }
        // Tiny arguments: tanh x rounds to x, sigmoid to one half; large ones saturate without NaN.
        float[] edges = [1e-30f, -1e-30f, 1e-5f, -3e-4f, 9f, -9f, 88f, -88f, 100f, -100f, -104f, 1e-45f, 0f, -0f, float.NaN, 20f, -20f];
        var e = Guarded.Zeros(edges.Length);
        SpanMath.Unary<SpanMath.TanhOp>(edges, e, bits);
        AssertWithinUlps(edges.Select(v => Math.Tanh(v)).ToArray(), e, 1, $"tanh edges width {bits}");
        Assert.True(float.IsNegative(e[13]), "tanh(−0) lost its sign");
        SpanMath.Unary<SpanMath.SigmoidOp>(edges, e, bits);
        AssertWithinUlps(edges.Select(v => 1 / (1 + Math.Exp(-(double)v))).ToArray(), e, 1, $"sigmoid edges width {bits}");
        SpanMath.Unary<SpanMath.ExpOp>(edges, e, bits);
        AssertWithinUlps(edges.Select(v => Math.Exp(v)).ToArray(), e, 2, $"exp edges width {bits}");
    }

    [Theory, MemberData(nameof(Widths))]
    public void SumDotAndMaxReduceLikeADoublePrecisionLoop(int bits)
    {
        SkipUnlessAccelerated(bits);
        var g = new Generator(74);
        foreach (int n in Lengths.Append(4099))
        {
            var x = Close.RandomArray(n, g);
            var y = Close.RandomArray(n, g);
            double sum = 0, dot = 0, magnitude = 0, dotMagnitude = 0;
            for (int i = 0; i < n; i++) { sum += x[i]; dot += (double)x[i] * y[i]; magnitude += Math.Abs(x[i]); dotMagnitude += Math.Abs((double)x[i] * y[i]); }
            // Float accumulation error is at most about n·ε times the sum of magnitudes; the bound is loose by design.
            double eps = 6e-8 * Math.Max(n, 1);
            Assert.True(Math.Abs(SpanMath.Sum(x, bits) - sum) <= eps * magnitude + 1e-30, $"sum n={n} width {bits}: {SpanMath.Sum(x, bits)} vs {sum}");
            Assert.True(Math.Abs(SpanMath.Dot(x, y, bits) - dot) <= eps * dotMagnitude + 1e-30, $"dot n={n} width {bits}: {SpanMath.Dot(x, y, bits)} vs {dot}");
            if (n > 0)
            {
                int at = g.NextInt(n);
                x[at] = 50f;
                Assert.Equal(50f, SpanMath.Max(x, bits));
                x[g.NextInt(n)] = float.NaN;
                Assert.True(float.IsNaN(SpanMath.Max(x, bits)), $"max n={n} width {bits} dropped a NaN");
            }
        }
        Assert.Equal(0f, SpanMath.Sum([], bits));
        Assert.Throws<ArgumentException>(() => SpanMath.Max([], bits));
    }

    [Fact]
    public void InPlaceWorksAndShiftedOverlapsOrShortDestinationsAreRejected()
    {
        var x = Enumerable.Range(0, 40).Select(i => (float)i).ToArray();
        SpanMath.Add(x, x, x);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => 2f * i), x);
        SpanMath.MultiplyAdd(x, 0.5f, x, x);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => 3f * i), x);

        var shifted = Assert.Throws<ArgumentException>(() => SpanMath.Add(x.AsSpan(0, 30), x.AsSpan(0, 30), x.AsSpan(1, 30)));
        Assert.Contains("overlaps", shifted.Message);
        var shortDestination = Assert.Throws<ArgumentException>(() => SpanMath.Exp(x, new float[39]));
        Assert.Contains("39", shortDestination.Message);
        var mismatched = Assert.Throws<ArgumentException>(() => SpanMath.Dot(x, new float[39]));
        Assert.Contains("40 and 39", mismatched.Message);
    }
}
