using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// dst[0 .. count) = act(src[0 .. count) · Scale[row] + Shift[row]), multiply then add as <see cref="ChannelAffine"/>
    /// rounds it, so the fused product reads the very values the separate pass would have written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(float* src, float* dst, int count, int row)
    {
        float a = Scale[row], b = Shift[row];
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b);
            for (; j <= count - 16; j += 16)
            {
                var v = Vector512.Load(src + j) * va + vb;
                (Relu ? Vector512.Max(v, Vector512<float>.Zero) : v).Store(dst + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b);
            for (; j <= count - 8; j += 8)
            {
                var v = Vector256.Load(src + j) * va + vb;
                (Relu ? Vector256.Max(v, Vector256<float>.Zero) : v).Store(dst + j);
            }
        }
        for (; j < count; j++)
        {
            float v = src[j] * a + b;
            dst[j] = Relu ? MathF.Max(v, 0f) : v;
        }
    }
}
