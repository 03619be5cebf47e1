namespace Striate.Tests.TestSupport;

/// <summary>Element-wise comparison with PyTorch's allclose rule |a − e| ≤ atol + rtol·|e|, reporting the worst element.</summary>
public static class Close
{
    public static void Assert(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, double atol, string what)
    {
        if (expected.Length != actual.Length)
            throw new Xunit.Sdk.XunitException($"{what}: expected {expected.Length} elements, got {actual.Length}.");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            double excess = Math.Abs(a - e) - (atol + rtol * Math.Abs(e));
            if (double.IsNaN(a) || double.IsNaN(e)) excess = double.PositiveInfinity;
            if (excess > worstExcess) { worstExcess = excess; worst = i; }
        }
        if (worst >= 0)
            throw new Xunit.Sdk.XunitException(
                $"{what}: element {worst} is {actual[worst]:G9}, expected {expected[worst]:G9} (rtol {rtol}, atol {atol}; {expected.Length} elements).");
    }

    /// <summary>
    /// The comparison above on a guarded output: first that the kernel wrote nothing in the bands around it
    /// (<see cref="Guarded{T}.Check"/>), then the values.
    /// </summary>
    public static void Assert(ReadOnlySpan<float> expected, Guarded<float> actual, double rtol, double atol, string what)
    {
        actual.Check(what);
        Assert(expected, actual.Span, rtol, atol, what);
    }

    public static void Assert(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        if (!expected.Shape.SequenceEqual(actual.Shape))
            throw new Xunit.Sdk.XunitException($"{what}: expected shape {Tensor.FormatShape(expected.Shape)}, got {Tensor.FormatShape(actual.Shape)}.");
        Assert(expected.ReadOnlySpan, actual.ReadOnlySpan, rtol, atol, what);
    }

    /// <summary>Uniform values in [-1, 1) from a seeded generator, for kernel-versus-twin tests.</summary>
    public static float[] RandomArray(int length, Generator generator)
    {
        var data = new float[length];
        for (int i = 0; i < data.Length; i++) data[i] = generator.NextFloat() * 2 - 1;
        return data;
    }
}
