using Striate.Kernels;

namespace Striate.Tests.TestSupport;

/// <summary>
/// The cases the flat direct path's kernel tests share (<see cref="Conv2dFlat"/> and its fused ReLU and max-pool forms):
/// every vector width the path has, crossed with named geometries or random seeds, and random stride-1 geometries the
/// path takes.
/// </summary>
public static class FlatConvCases
{
    /// <summary>The flat path's vector widths, as ints (theory data).</summary>
    public static readonly int[] Widths = [(int)GemmPath.Vector512, (int)GemmPath.Vector256, (int)GemmPath.Vector128];

    /// <summary>(width, i) for every width and i in [0, <paramref name="count"/>): a named geometry's index or a seed.</summary>
    public static TheoryData<int, int> ByWidth(int count)
    {
        var data = new TheoryData<int, int>();
        foreach (int w in Widths) for (int i = 0; i < count; i++) data.Add(w, i);
        return data;
    }

    /// <summary>
    /// A random stride-1 geometry that <paramref name="taken"/> accepts: kernels up to 5×5, padding up to 2, each map side
    /// <paramref name="minExtra"/> + [0, <paramref name="extraRange"/>) above the least the kernel allows, batch up to 40,
    /// up to 7 input and 20 output channels.
    /// </summary>
    public static Conv2dGeometry RandomStride1(Generator r, int minExtra, int extraRange, Func<Conv2dGeometry, bool> taken)
    {
        Conv2dGeometry g;
        do
        {
            int kH = 1 + r.NextInt(5), kW = 1 + r.NextInt(5), pH = r.NextInt(3), pW = r.NextInt(3);
            int h = Conv2dGeometry.MinInputSize(kH, pH, 1) + minExtra + r.NextInt(extraRange);
            int w = Conv2dGeometry.MinInputSize(kW, pW, 1) + minExtra + r.NextInt(extraRange);
            g = new Conv2dGeometry(1 + r.NextInt(40), 1 + r.NextInt(7), h, w, 1 + r.NextInt(20), kH, kW, 1, 1, pH, pW);
        } while (!taken(g));
        return g;
    }
}
