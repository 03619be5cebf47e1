using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// y = act(x · scale[c] + shift[c]) over NCHW planes: eval-mode batch norm with its statistics folded into one
/// multiply-add per channel (s = γ/√(var + eps), t = β − mean·s), optionally followed by ReLU in the same pass over
/// each plane (DenseNet's norm → relu). <see cref="ChannelAffineReference"/> is the specification.
/// Shapes: x, y [N, C, S] (S = H·W); scale, shift [C]. y may be x (in place). <see cref="ForwardInto"/> writes the
/// result into a channel slice of a wider y (a concatenation: DenseNet normalizes the concatenated features).
/// </summary>
public static partial class ChannelAffine
{
    /// <summary>y[n, c, :] = act(x[n, c, :]·scale[c] + shift[c]), act = ReLU when <paramref name="relu"/>.</summary>
    public static void Forward(int n, int c, int s, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu, Span<float> y) =>
        ForwardInto(n, c, s, x, scale, shift, relu, y, c, 0);

    /// <summary>
    /// y[n, yChannelOffset + c, :] = act(x[n, c, :]·scale[c] + shift[c]): the same per-channel multiply-add, written
    /// into channels [yChannelOffset, yChannelOffset + C) of y [N, yChannels, S]; the other channels are untouched.
    /// Calling it once per input with consecutive offsets builds act(norm(concat(inputs))) without the concatenation.
    /// </summary>
    public static void ForwardInto(int n, int c, int s, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu,
        Span<float> y, int yChannels, int yChannelOffset)
    {
        CheckInto(n, c, s, x.Length, scale.Length, shift.Length, y.Length, yChannels, yChannelOffset);
        Run(n, c, s, x, scale, shift, relu, y, yChannels, yChannelOffset);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Run(int n, int c, int s, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu,
        Span<float> y, int yChannels, int yChannelOffset)
    {
        fixed (float* px = x, ps = scale, pt = shift, py = y)
        {
            var body = new Body { X = px, Scale = ps, Shift = pt, Y = py, C = c, S = s, Relu = relu, YChannels = yChannels, YOffset = yChannelOffset };
            Conv2dKernels.RunParallel(n * c, 2L * n * c * s, ref body);
        }
    }

    private unsafe struct Body : IParallelBody
    {
        public float* X, Scale, Shift, Y;
        public int C, S, YChannels, YOffset;
        public bool Relu;

        // AggressiveOptimization (here and on the other loops of this file): compiled optimized at once, so the first
        // runs of an inference session (a short-lived process) do not run tier-0 code while the JIT catches up.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int plane)
        {
            int sample = plane / C, channel = plane - sample * C;
            float a = Scale[channel], b = Shift[channel];
            float* x = X + (long)plane * S, y = Y + ((long)sample * YChannels + YOffset + channel) * S;
            Row(x, y, S, a, b, Relu);
        }
    }

    /// <summary>
    /// y[0 .. count) = act(x[0 .. count) · a + b): one channel's row, multiply then add (no fused rounding), so every
    /// caller — this op's planes, a GEMM packing normalized rows (<see cref="GemmRowAffine"/>) — gets the same values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Row(float* x, float* y, int count, float a, float b, bool relu)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b);
            for (; i <= count - 16; i += 16)
            {
                var v = Vector512.Load(x + i) * va + vb;
                (relu ? Vector512.Max(v, Vector512<float>.Zero) : v).Store(y + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b);
            for (; i <= count - 8; i += 8)
            {
                var v = Vector256.Load(x + i) * va + vb;
                (relu ? Vector256.Max(v, Vector256<float>.Zero) : v).Store(y + i);
            }
        }
        for (; i < count; i++)
        {
            float v = x[i] * a + b;
            y[i] = relu ? MathF.Max(v, 0f) : v;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CheckInto(int n, int c, int s, int xLength, int scaleLength, int shiftLength, int yLength, int yChannels, int yChannelOffset)
    {
        if (n < 0 || c < 0 || s < 0 || (long)n * c * s != xLength || scaleLength != c || shiftLength != c)
            throw new ArgumentException($"ChannelAffine: x has {xLength} elements (expected [{n}, {c}, {s}] = {(long)n * c * s}), scale {scaleLength} and shift {shiftLength} (expected {c}).");
        if (yChannelOffset < 0 || (long)yChannelOffset + c > yChannels || (long)n * yChannels * s != yLength)
            throw new ArgumentException($"ChannelAffine: y has {yLength} elements, expected [{n}, {yChannels}, {s}] = {(long)n * yChannels * s} with channels [{yChannelOffset}, {yChannelOffset + c}) inside its {yChannels}.");
    }
}
