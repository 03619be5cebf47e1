namespace Striate.Kernels;

/// <summary>Plain twin of <see cref="Concat"/>: element by element.</summary>
public static class ConcatReference
{
    public static void Insert(int outer, int partBlock, int totalBlock, int offset, ReadOnlySpan<float> part, Span<float> whole)
    {
        for (int o = 0; o < outer; o++) for (int i = 0; i < partBlock; i++) whole[o * totalBlock + offset + i] = part[o * partBlock + i];
    }

    public static void Extract(int outer, int partBlock, int totalBlock, int offset, ReadOnlySpan<float> whole, Span<float> part)
    {
        for (int o = 0; o < outer; o++) for (int i = 0; i < partBlock; i++) part[o * partBlock + i] = whole[o * totalBlock + offset + i];
    }
}
