namespace Striate.Kernels;

/// <summary>
/// Concatenation along one dimension of row-major tensors, seen as [outer, block]: part k's block of
/// <c>partBlock</c> elements lands at <c>offset</c> within each <c>totalBlock</c>-element block of the result
/// (for NCHW channel concat: outer = N, partBlock = C_k·H·W, totalBlock = ΣC·H·W).
/// </summary>
public static class Concat
{
    /// <summary>Copies <paramref name="part"/> [outer, partBlock] into <paramref name="whole"/> [outer, totalBlock] at <paramref name="offset"/>.</summary>
    public static void Insert(int outer, int partBlock, int totalBlock, int offset, ReadOnlySpan<float> part, Span<float> whole)
    {
        Check(outer, partBlock, totalBlock, offset, part.Length, whole.Length, nameof(Insert));
        for (int o = 0; o < outer; o++) part.Slice(o * partBlock, partBlock).CopyTo(whole.Slice(o * totalBlock + offset, partBlock));
    }

    /// <summary>The inverse of <see cref="Insert"/> (splits a gradient back into its parts).</summary>
    public static void Extract(int outer, int partBlock, int totalBlock, int offset, ReadOnlySpan<float> whole, Span<float> part)
    {
        Check(outer, partBlock, totalBlock, offset, part.Length, whole.Length, nameof(Extract));
        for (int o = 0; o < outer; o++) whole.Slice(o * totalBlock + offset, partBlock).CopyTo(part.Slice(o * partBlock, partBlock));
    }

    private static void Check(int outer, int partBlock, int totalBlock, int offset, int partLength, int wholeLength, string op)
    {
        if (offset < 0 || offset + partBlock > totalBlock || partLength != outer * partBlock || wholeLength != outer * totalBlock)
            throw new ArgumentException($"Concat.{op}: part of {partLength} elements ([{outer}, {partBlock}]) at offset {offset} does not fit a whole of {wholeLength} elements ([{outer}, {totalBlock}]).");
    }
}
