namespace Striate.Kernels;

/// <summary>Integer helpers the blocking code shares.</summary>
internal static class IntMath
{
    /// <summary><paramref name="x"/> rounded up to a multiple of <paramref name="multiple"/> (x ≥ 0, multiple &gt; 0).</summary>
    public static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}
