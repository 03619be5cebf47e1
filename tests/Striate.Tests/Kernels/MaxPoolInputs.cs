using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>A max-pool forward with indices into the outputs given (the kernel under test, its geometry and input bound).</summary>
internal delegate void MaxPoolWithIndices(Span<float> output, Span<int> indices);

/// <summary>Inputs for the vector max-pool kernels' tests against <see cref="PoolingReference"/>, and their forward check.</summary>
internal static class MaxPoolInputs
{
    /// <summary>
    /// Runs <paramref name="kernel"/> into guarded outputs that start as NaN and −7 (an element it skips cannot pass) and
    /// asserts its values (exactly) and indices equal <see cref="PoolingReference.MaxPool2dForward"/>'s. Returns the
    /// kernel's indices and the reference's, for a backward check.
    /// </summary>
    public static (Guarded<int> Indices, int[] Reference) CheckForward(Pool2dGeometry g, float[] x, string what, MaxPoolWithIndices kernel)
        => CheckForward(g, x, what, kernel, out _);

    /// <inheritdoc cref="CheckForward(Pool2dGeometry, float[], string, MaxPoolWithIndices)"/>
    /// <param name="referenceValues">The reference's outputs, for the caller's further checks (the forward without indices).</param>
    public static (Guarded<int> Indices, int[] Reference) CheckForward(Pool2dGeometry g, float[] x, string what, MaxPoolWithIndices kernel,
        out float[] referenceValues)
    {
        int outLen = g.Planes * g.OutPlane;
        var (y, yRef) = (Guarded.Nan(outLen), new float[outLen]);
        referenceValues = yRef;
        var (idx, idxRef) = (Guarded.Ints(outLen, fill: -7), new int[outLen]);
        PoolingReference.MaxPool2dForward(g, x, yRef, idxRef);
        kernel(y, idx);
        Close.Assert(yRef, y, 0, 0, what);
        idx.Check($"indices {what}");
        Assert.Equal(idxRef, idx.ToArray());
        return (idx, idxRef);
    }

    /// <summary>
    /// Random planes of <paramref name="g"/>: two trials in three ReLU-like (many equal zeros, every fifth one −0, so ties
    /// and signed zeros decide), every third with a NaN every 11 elements (the kernels redo those planes with PyTorch's rule).
    /// </summary>
    public static float[] Random(Pool2dGeometry g, int trial, Generator gen)
    {
        var x = Close.RandomArray(g.Planes * g.InPlane, gen);
        if (trial % 3 != 0) for (int i = 0; i < x.Length; i++) x[i] = x[i] > 0 ? x[i] : i % 5 == 0 ? -0f : 0f;
        if (trial % 3 == 2) for (int i = 3; i < x.Length; i += 11) x[i] = float.NaN;
        return x;
    }
}
