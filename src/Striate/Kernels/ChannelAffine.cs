using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// y = act(x · scale[c] + shift[c]) over NCHW planes: eval-mode batch norm with its statistics folded into one
/// multiply-add per channel (s = γ/√(var + eps), t = β − mean·s), optionally followed by ReLU in the same pass over
/// each plane (DenseNet's norm → relu). <see cref="ChannelAffineReference"/> is the specification.
/// Shapes: x, y [N, C, S] (S = H·W); scale, shift [C]. y may be x (in place).
/// </summary>
public static class ChannelAffine
{
    /// <summary>y[n, c, :] = act(x[n, c, :]·scale[c] + shift[c]), act = ReLU when <paramref name="relu"/>.</summary>
    public static unsafe void Forward(int n, int c, int s, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu, Span<float> y)
    {
        Check(n, c, s, x.Length, scale.Length, shift.Length, y.Length);
        fixed (float* px = x, ps = scale, pt = shift, py = y)
        {
            var body = new Body { X = px, Scale = ps, Shift = pt, Y = py, C = c, S = s, Relu = relu };
            Conv2dKernels.RunParallel(n * c, 2L * n * c * s, ref body);
        }
    }

    private unsafe struct Body : IParallelBody
    {
        public float* X, Scale, Shift, Y;
        public int C, S;
        public bool Relu;

        // AggressiveOptimization (here and on the other loops of this file): compiled optimized at once, so the first
        // runs of an inference session (a short-lived process) do not run tier-0 code while the JIT catches up.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int plane)
        {
            float a = Scale[plane % C], b = Shift[plane % C];
            float* x = X + (long)plane * S, y = Y + (long)plane * S;
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b);
                for (; i <= S - 16; i += 16)
                {
                    var v = Vector512.Load(x + i) * va + vb;
                    (Relu ? Vector512.Max(v, Vector512<float>.Zero) : v).Store(y + i);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b);
                for (; i <= S - 8; i += 8)
                {
                    var v = Vector256.Load(x + i) * va + vb;
                    (Relu ? Vector256.Max(v, Vector256<float>.Zero) : v).Store(y + i);
                }
            }
            for (; i < S; i++)
            {
                float v = x[i] * a + b;
                y[i] = Relu ? MathF.Max(v, 0f) : v;
            }
        }
    }

    internal static void Check(int n, int c, int s, int xLength, int scaleLength, int shiftLength, int yLength)
    {
        if (n < 0 || c < 0 || s < 0 || (long)n * c * s != xLength || yLength != xLength || scaleLength != c || shiftLength != c)
            throw new ArgumentException($"ChannelAffine: x has {xLength} elements and y {yLength} (expected [{n}, {c}, {s}] = {(long)n * c * s}), scale {scaleLength} and shift {shiftLength} (expected {c}).");
    }
}
