using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>Inputs for the vector max-pool kernels' tests against <see cref="PoolingReference"/>.</summary>
internal static class MaxPoolInputs
{
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
