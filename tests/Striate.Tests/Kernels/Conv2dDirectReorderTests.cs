using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// Conv2dDirect.ReorderWeights (V × V transposes for blocks of whole channels, a tap at a time for the transposed,
/// mirrored input-gradient weights, element by element for partial blocks) and ReorderPhaseWeights (the strided input
/// gradient's phase blocks) against their plain twins, on random channel counts (whole and
/// partial blocks), kernel sizes and both block widths (16: AVX-512, 8: AVX2; without the ISA the plain form runs).
/// </summary>
public unsafe class Conv2dDirectReorderTests
{
    public static TheoryData<int> Seeds() => new(Enumerable.Range(0, 30));

    [Theory, MemberData(nameof(Seeds))]
    public void ReorderWeightsMatchesReference(int seed)
    {
        var r = new Generator(6100 + (ulong)seed);
        int v = seed % 2 == 0 ? 16 : 8, k = 1 + r.NextInt(4);
        bool whole = seed % 3 != 0;
        int cin = whole ? v * (1 + r.NextInt(3)) : 1 + r.NextInt(3 * v), cout = whole ? v * (1 + r.NextInt(5)) : 1 + r.NextInt(5 * v);
        var g = new Conv2dGeometry(2, cin, 7 + r.NextInt(9), 7 + r.NextInt(9), cout, k, k, 1, 1, k / 2, k / 2);
        var plan = DirectPlan.For(g, v);
        var w = Close.RandomArray((int)g.WeightLength, r);
        foreach (bool flip in new[] { false, true })
        {
            // The flipped form reads w as the weights of the convolution whose input gradient g is: [Cin, Cout, k, k].
            var expected = new float[plan.WeightLength(g)];
            var actual = Guarded.Nan(plan.WeightLength(g));
            fixed (float* pw = w, pe = expected, pa = actual.Span)
            {
                Conv2dDirect.ReorderWeightsReference(g, plan, flip, pw, pe);
                Conv2dDirect.ReorderWeights(g, plan, flip, pw, pa);
            }
            Close.Assert(expected, actual, 0, 0, $"ReorderWeights {g} {plan} flip {flip}");
        }
    }

    [Theory, MemberData(nameof(Seeds))]
    public void ReorderPhaseWeightsMatchesReference(int seed)
    {
        var r = new Generator(6200 + (ulong)seed);
        int v = seed % 2 == 0 ? 16 : 8, k = 1 + r.NextInt(5), s = 2 + r.NextInt(2);
        bool whole = seed % 3 != 0;
        int cin = whole ? v * (1 + r.NextInt(4)) : 1 + r.NextInt(4 * v), cout = whole ? v * (1 + r.NextInt(4)) : 1 + r.NextInt(4 * v);
        var g = new Conv2dGeometry(2, cin, 9 + r.NextInt(9), 9 + r.NextInt(9), cout, k, k, s, s, k / 2, k / 2);
        var plan = new Conv2dDirect.PhasePlan(g, v);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var expected = new float[plan.WeightLength];
        var actual = Guarded.Nan(plan.WeightLength);
        expected.AsSpan().Fill(float.NaN);
        fixed (float* pw = w, pe = expected, pa = actual.Span)
        {
            Conv2dDirect.ReorderPhaseWeightsReference(g, plan, pw, pe);
            Conv2dDirect.ReorderPhaseWeights(g, plan, pw, pa);
        }
        // Both leave the same slots untouched (phases without taps): compare those as NaN == NaN.
        for (int i = 0; i < expected.Length; i++)
            if (float.IsNaN(expected[i])) { Assert.True(float.IsNaN(actual[i]), $"slot {i} written only by the fast form"); expected[i] = actual[i] = 0; }
        Close.Assert(expected, actual, 0, 0, $"ReorderPhaseWeights {g} phases {plan.Phases}, {plan.GroupBlocks} blocks");
    }
}
