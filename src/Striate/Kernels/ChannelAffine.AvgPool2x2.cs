using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// y = avgpool2×2/2(act(x · scale[c] + shift[c])) in one pass: DenseNet's transition (norm → ReLU → 1×1 → 2×2 average
/// pool) runs as norm → ReLU → pool → 1×1 at inference (<c>InferencePasses.PoolBeforePointwise</c>: the average and
/// the 1×1 are both linear, so they commute), and this writes the pooled, normalized input straight from the
/// concatenation without the full-size normalized map. Each value is exactly that of <see cref="Forward"/> followed by
/// <see cref="Pooling.AvgPool2dForward"/> (same multiply, add, ReLU, the window summed in row-major order and divided
/// by 4); <see cref="ChannelAffineReference.ForwardAvgPool2x2"/> is the plain twin.
/// Shapes: x [N, C, H, W]; y [N, C, H/2, W/2] (floor: an odd last row or column is in no window); scale, shift [C].
/// </summary>
public static partial class ChannelAffine
{
    /// <summary>y[n, c] = avgpool2×2/2(act(x[n, c]·scale[c] + shift[c])), act = ReLU when <paramref name="relu"/>.</summary>
    public static void ForwardAvgPool2x2(int n, int c, int h, int w, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu,
        Span<float> y) => ForwardAvgPool2x2(n, c, h, w, x, scale, shift, relu, y, AvgPool2x2BestLanes);

    /// <summary>Lanes of the widest vector path here (16, 8, 4), or 1 when only the scalar loop runs.</summary>
    internal static int AvgPool2x2BestLanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;

    /// <summary>The same on vectors of at most <paramref name="maxLanes"/> lanes (16, 8, 4; 1 = scalar); tests force each width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void ForwardAvgPool2x2(int n, int c, int h, int w, ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, bool relu,
        Span<float> y, int maxLanes)
    {
        if (n < 0 || c < 0 || h < 0 || w < 0 || (long)n * c * h * w != x.Length || scale.Length != c || shift.Length != c || (long)n * c * (h / 2) * (w / 2) != y.Length)
            throw new ArgumentException($"ChannelAffine.ForwardAvgPool2x2: x has {x.Length} elements (expected [{n}, {c}, {h}, {w}] = {(long)n * c * h * w}), " +
                $"y {y.Length} (expected [{n}, {c}, {h / 2}, {w / 2}] = {(long)n * c * (h / 2) * (w / 2)}), scale {scale.Length} and shift {shift.Length} (expected {c}).");
        int outW = w / 2;
        int lanes = 1;
        foreach (int l in (ReadOnlySpan<int>)[16, 8, 4])
            if (l <= maxLanes && l <= AvgPool2x2BestLanes && l <= outW) { lanes = l; break; }
        fixed (float* px = x, ps = scale, pt = shift, py = y)
        {
            var body = new PoolBody { X = px, Scale = ps, Shift = pt, Y = py, C = c, H = h, W = w, Relu = relu, Lanes = lanes };
            Conv2dKernels.RunParallel(n * c, 2L * n * c * h * w, ref body);
        }
    }

    private unsafe struct PoolBody : IParallelBody
    {
        public float* X, Scale, Shift, Y;
        public int C, H, W, Lanes;
        public bool Relu;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int plane)
        {
            int channel = plane % C, outH = H / 2, outW = W / 2;
            float a = Scale[channel], b = Shift[channel];
            float* x = X + (long)plane * H * W, y = Y + (long)plane * outH * outW;
            switch (Lanes)
            {
                case 16: PoolPlane<Pool2x2Lanes512>(x, y, H, W, a, b, Relu); break;
                case 8: PoolPlane<Pool2x2Lanes256>(x, y, H, W, a, b, Relu); break;
                case 4: PoolPlane<Pool2x2Lanes128>(x, y, H, W, a, b, Relu); break;
                default: PoolPlaneScalar(x, y, H, W, a, b, Relu); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PoolPlane<TL>(float* x, float* y, int h, int w, float a, float b, bool relu) where TL : IPool2x2Lanes
    {
        int outH = h / 2, outW = w / 2, v = TL.Length;
        for (int oh = 0; oh < outH; oh++, y += outW)
        {
            float* r0 = x + 2L * oh * w;
            for (int ow = 0; ; ow += v)
            {
                if (ow > outW - v) ow = outW - v; // the last vector overlaps the one before it (same values written twice)
                TL.Window(r0 + 2 * ow, w, a, b, relu, y + ow);
                if (ow == outW - v) break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PoolPlaneScalar(float* x, float* y, int h, int w, float a, float b, bool relu)
    {
        int outH = h / 2, outW = w / 2;
        for (int oh = 0; oh < outH; oh++)
        {
            float* r0 = x + 2L * oh * w, r1 = r0 + w;
            for (int ow = 0; ow < outW; ow++)
            {
                float sum = 0;
                sum += Act(r0[2 * ow], a, b, relu);
                sum += Act(r0[2 * ow + 1], a, b, relu);
                sum += Act(r1[2 * ow], a, b, relu);
                sum += Act(r1[2 * ow + 1], a, b, relu);
                y[oh * outW + ow] = sum / 4;
            }
        }
    }

    // As Row's scalar tail: multiply, then add, then ReLU.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Act(float x, float a, float b, bool relu)
    {
        float v = x * a + b;
        return relu ? MathF.Max(v, 0f) : v;
    }

    /// <summary>One vector width: V outputs of one output row.</summary>
    private unsafe interface IPool2x2Lanes
    {
        static abstract int Length { get; }

        /// <summary>o[i] = mean of act over the window at top-left r0 + 2i (rows r0 and r0 + w), i &lt; V.</summary>
        static abstract void Window(float* r0, int w, float a, float b, bool relu, float* o);
    }

    // Each width: the window's two rows as 2V columns each, act applied as Row applies it (multiply, add, max with 0),
    // split into even and odd columns by narrowing the 64-bit column pairs (low half = even column), then summed in the
    // reference's order (top-left, top-right, bottom-left, bottom-right) and multiplied by 1/4 (exact, as ÷ 4).
    private readonly unsafe struct Pool2x2Lanes512 : IPool2x2Lanes
    {
        public static int Length => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Window(float* r0, int w, float a, float b, bool relu, float* o)
        {
            Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b);
            var (e0, o0) = Split(Act(Vector512.Load(r0), va, vb, relu), Act(Vector512.Load(r0 + 16), va, vb, relu));
            var (e1, o1) = Split(Act(Vector512.Load(r0 + w), va, vb, relu), Act(Vector512.Load(r0 + w + 16), va, vb, relu));
            (((e0 + o0) + e1 + o1) * Vector512.Create(0.25f)).Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Act(Vector512<float> x, Vector512<float> a, Vector512<float> b, bool relu)
        {
            var v = x * a + b;
            return relu ? Vector512.Max(v, Vector512<float>.Zero) : v;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector512<float> Even, Vector512<float> Odd) Split(Vector512<float> p, Vector512<float> q) =>
            (Vector512.Narrow(p.AsUInt64(), q.AsUInt64()).AsSingle(),
             Vector512.Narrow(Vector512.ShiftRightLogical(p.AsUInt64(), 32), Vector512.ShiftRightLogical(q.AsUInt64(), 32)).AsSingle());
    }

    private readonly unsafe struct Pool2x2Lanes256 : IPool2x2Lanes
    {
        public static int Length => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Window(float* r0, int w, float a, float b, bool relu, float* o)
        {
            Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b);
            var (e0, o0) = Split(Act(Vector256.Load(r0), va, vb, relu), Act(Vector256.Load(r0 + 8), va, vb, relu));
            var (e1, o1) = Split(Act(Vector256.Load(r0 + w), va, vb, relu), Act(Vector256.Load(r0 + w + 8), va, vb, relu));
            (((e0 + o0) + e1 + o1) * Vector256.Create(0.25f)).Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Act(Vector256<float> x, Vector256<float> a, Vector256<float> b, bool relu)
        {
            var v = x * a + b;
            return relu ? Vector256.Max(v, Vector256<float>.Zero) : v;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector256<float> Even, Vector256<float> Odd) Split(Vector256<float> p, Vector256<float> q) =>
            (Vector256.Narrow(p.AsUInt64(), q.AsUInt64()).AsSingle(),
             Vector256.Narrow(Vector256.ShiftRightLogical(p.AsUInt64(), 32), Vector256.ShiftRightLogical(q.AsUInt64(), 32)).AsSingle());
    }

    private readonly unsafe struct Pool2x2Lanes128 : IPool2x2Lanes
    {
        public static int Length => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Window(float* r0, int w, float a, float b, bool relu, float* o)
        {
            Vector128<float> va = Vector128.Create(a), vb = Vector128.Create(b);
            var (e0, o0) = Split(Act(Vector128.Load(r0), va, vb, relu), Act(Vector128.Load(r0 + 4), va, vb, relu));
            var (e1, o1) = Split(Act(Vector128.Load(r0 + w), va, vb, relu), Act(Vector128.Load(r0 + w + 4), va, vb, relu));
            (((e0 + o0) + e1 + o1) * Vector128.Create(0.25f)).Store(o);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<float> Act(Vector128<float> x, Vector128<float> a, Vector128<float> b, bool relu)
        {
            var v = x * a + b;
            return relu ? Vector128.Max(v, Vector128<float>.Zero) : v;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector128<float> Even, Vector128<float> Odd) Split(Vector128<float> p, Vector128<float> q) =>
            (Vector128.Narrow(p.AsUInt64(), q.AsUInt64()).AsSingle(),
             Vector128.Narrow(Vector128.ShiftRightLogical(p.AsUInt64(), 32), Vector128.ShiftRightLogical(q.AsUInt64(), 32)).AsSingle());
    }
}
