using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// What a GEMM does to B's rows as it packs them, instead of a pass over B beforehand: op(B)[p, j] = act(B[p, j] ·
/// Scale[p] + Shift[p]), act = ReLU when <see cref="Relu"/>. A 1×1 convolution's input channels are B's rows, so an
/// eval-mode batch norm (→ ReLU) in front of it (DenseNet's norm → relu → conv) rides on the packing, and its result
/// is never written whole. Shapes: Scale, Shift [k] (the product's depth), or null for none.
/// </summary>
internal readonly unsafe struct GemmRowAffine(float* scale, float* shift, bool relu)
{
    public readonly float* Scale = scale, Shift = shift;
    public readonly bool Relu = relu;

    /// <summary>B is packed as it is.</summary>
    public bool IsEmpty => Scale == null;

    /// <summary>dst[0 .. count) = act(src[0 .. count) · Scale[row] + Shift[row]), as <see cref="ChannelAffine"/> computes it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Apply(float* src, float* dst, int count, int row) => ChannelAffine.Row(src, dst, count, Scale[row], Shift[row], Relu);
}
