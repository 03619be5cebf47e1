using Striate.Kernels;

namespace Striate.Tests.TestSupport;

/// <summary>Theory rows (width, case) for the direct convolution kernels: every case on the AVX-512 tile, then on the AVX2 tile.</summary>
public static class DirectWidthCases
{
    /// <summary>(Vector512, 0..count−1), then (Vector256, 0..count−1): a case index is a named geometry or a random seed.</summary>
    public static TheoryData<int, int> Of(int count)
    {
        var data = new TheoryData<int, int>();
        foreach (int w in new[] { (int)GemmPath.Vector512, (int)GemmPath.Vector256 })
            for (int i = 0; i < count; i++) data.Add(w, i);
        return data;
    }
}
