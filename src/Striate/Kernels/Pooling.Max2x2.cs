using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// 2×2 max pooling with stride 2 and no padding (LeNet's and VGG's), forward with argmax indices and backward,
/// vectorized along the output row: V outputs read 2V columns of each of the window's two input rows, which are split
/// into even and odd columns by narrowing the 64-bit column pairs (low half = even column, high half = odd column).
/// Each output then takes its four candidates in row-major scan order under PyTorch's rule (take when v &gt; max or v
/// is NaN), so values and indices are exactly those of <see cref="PoolingReference.MaxPool2dForward"/>. A row whose
/// width is not a multiple of V finishes with a last vector that overlaps the one before it (recomputing the same
/// outputs), so nothing is read or written outside the row; rows narrower than 4 outputs take the scalar loop.
/// </summary>
public static partial class Pooling
{
    /// <summary>Lanes of the widest vector path for 2×2 pooling here (16, 8, 4), or 1 when only the scalar loop runs.</summary>
    internal static int Max2x2BestLanes =>
        Max2x2Lanes512.IsSupported ? 16 : Max2x2Lanes256.IsSupported ? 8 : Max2x2Lanes128.IsSupported ? 4 : 1;

    /// <summary>
    /// Forward of planes [p0, p1) on vectors of at most <paramref name="maxLanes"/> lanes (16, 8, 4; 1 = scalar);
    /// tests force each width.
    /// </summary>
    internal static unsafe void MaxPlanes2x2Vector(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, Span<int> indices, int p0, int p1, int maxLanes)
    {
        int lanes = WidestLanes(g.OutW, Math.Min(maxLanes, Max2x2BestLanes));
        if (lanes == 1 || indices.IsEmpty)
        {
            MaxPlanes2x2(g, input, output, indices, p0, p1);
            return;
        }
        if ((long)p1 * g.InPlane > input.Length || (long)p1 * g.OutPlane > output.Length || (long)p1 * g.OutPlane > indices.Length)
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        fixed (float* pIn = input, pOut = output)
        fixed (int* pIdx = indices)
        {
            switch (lanes)
            {
                case 16: ForwardRows<Max2x2Lanes512>(g, pIn, pOut, pIdx, p0, p1); break;
                case 8: ForwardRows<Max2x2Lanes256>(g, pIn, pOut, pIdx, p0, p1); break;
                default: ForwardRows<Max2x2Lanes128>(g, pIn, pOut, pIdx, p0, p1); break;
            }
        }
    }

    private static unsafe void ForwardRows<TL>(in Pool2dGeometry g, float* input, float* output, int* indices, int p0, int p1) where TL : IMax2x2Lanes
    {
        int inW = g.InW, outW = g.OutW, v = TL.Length;
        for (int p = p0; p < p1; p++)
        for (int oh = 0; oh < g.OutH; oh++)
        {
            float* r0 = input + (long)p * g.InPlane + 2 * oh * inW;   // the window's top row; the bottom one is r0 + inW
            long o = (long)p * g.OutPlane + oh * outW;
            int rowBase = 2 * oh * inW;                               // index of r0[0] within its plane
            for (int ow = 0; ; ow += v)
            {
                if (ow > outW - v) ow = outW - v;                     // the last vector overlaps the one before it
                TL.Forward(r0 + 2 * ow, inW, rowBase + 2 * ow, output + o + ow, indices + o + ow);
                if (ow == outW - v) break;
            }
        }
    }

    /// <summary>
    /// Backward of planes [p0, p1) of a 2×2/2 pooling whose indices came from its forward: every input element lies in
    /// at most one window, so each is written once (the gradient where it won its window, else 0) with no clearing pass
    /// and no scatter; the right column and bottom row outside every window (odd sizes) are zeroed.
    /// </summary>
    internal static unsafe void MaxBackwardPlanes2x2(in Pool2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> indices, Span<float> gradInput,
        int p0, int p1, int maxLanes)
    {
        int lanes = WidestLanes(g.OutW, Math.Min(maxLanes, Max2x2BestLanes));
        if (lanes == 1)
        {
            MaxBackwardPlanes(g.InPlane, g.OutPlane, gradOutput, indices, gradInput, p0, p1);
            return;
        }
        if ((long)p1 * g.InPlane > gradInput.Length || (long)p1 * g.OutPlane > gradOutput.Length || (long)p1 * g.OutPlane > indices.Length)
            throw new ArgumentException("Pooling.MaxPool2dBackward: span too short.");
        fixed (float* pGo = gradOutput, pGi = gradInput)
        fixed (int* pIdx = indices)
        {
            switch (lanes)
            {
                case 16: BackwardRows<Max2x2Lanes512>(g, pGo, pIdx, pGi, p0, p1); break;
                case 8: BackwardRows<Max2x2Lanes256>(g, pGo, pIdx, pGi, p0, p1); break;
                default: BackwardRows<Max2x2Lanes128>(g, pGo, pIdx, pGi, p0, p1); break;
            }
        }
    }

    private static unsafe void BackwardRows<TL>(in Pool2dGeometry g, float* gradOutput, int* indices, float* gradInput, int p0, int p1) where TL : IMax2x2Lanes
    {
        int inW = g.InW, outW = g.OutW, v = TL.Length, used = 2 * outW;
        for (int p = p0; p < p1; p++)
        {
            float* plane = gradInput + (long)p * g.InPlane;
            for (int oh = 0; oh < g.OutH; oh++)
            {
                float* r0 = plane + 2 * oh * inW;
                long o = (long)p * g.OutPlane + oh * outW;
                int rowBase = 2 * oh * inW;
                for (int ow = 0; ; ow += v)
                {
                    if (ow > outW - v) ow = outW - v;
                    TL.Backward(gradOutput + o + ow, indices + o + ow, rowBase + 2 * ow, inW, r0 + 2 * ow);
                    if (ow == outW - v) break;
                }
                if (used < inW)
                {
                    new Span<float>(r0 + used, inW - used).Clear();
                    new Span<float>(r0 + inW + used, inW - used).Clear();
                }
            }
            if (2 * g.OutH < g.InH) new Span<float>(plane + 2 * g.OutH * inW, (g.InH - 2 * g.OutH) * inW).Clear();
        }
    }

    /// <summary>One vector width of the 2×2/2 max pooling: V outputs of one window row.</summary>
    private unsafe interface IMax2x2Lanes
    {
        static abstract int Length { get; }
        static abstract bool IsSupported { get; }

        /// <summary>
        /// o[i], oi[i] = max and argmax of the window at top-left r0 + 2i (rows r0 and r0 + inW) for i &lt; V;
        /// <paramref name="at"/> is the plane index of r0[0].
        /// </summary>
        static abstract void Forward(float* r0, int inW, int at, float* o, int* oi);

        /// <summary>
        /// Writes the 2V·2 gradients of V windows: r0[2i + c] and r0[inW + 2i + c] get dy[i] where idx[i] names that
        /// element (<paramref name="at"/> = plane index of r0[0]), else 0.
        /// </summary>
        static abstract void Backward(float* dy, int* idx, int at, int inW, float* r0);
    }

    private readonly unsafe struct Max2x2Lanes512 : IMax2x2Lanes
    {
        public static int Length => 16;
        public static bool IsSupported => Vector512.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Forward(float* r0, int inW, int at, float* o, int* oi)
        {
            var (e0, o0) = Split(Vector512.Load(r0), Vector512.Load(r0 + 16));
            var (e1, o1) = Split(Vector512.Load(r0 + inW), Vector512.Load(r0 + inW + 16));
            var idx = Vector512.Create(at) + Vector512.CreateSequence(0, 2);
            var max = e0;
            var best = idx;
            Take(ref max, ref best, o0, idx + Vector512<int>.One);
            Take(ref max, ref best, e1, idx + Vector512.Create(inW));
            Take(ref max, ref best, o1, idx + Vector512.Create(inW + 1));
            max.Store(o);
            best.Store(oi);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Backward(float* dy, int* idx, int at, int inW, float* r0)
        {
            var g = Vector512.Load(dy);
            var rel = Vector512.Load(idx) - (Vector512.Create(at) + Vector512.CreateSequence(0, 2)); // 0, 1, inW or inW + 1
            var zero = Vector512<float>.Zero;
            Zip(Vector512.ConditionalSelect(Vector512.Equals(rel, Vector512<int>.Zero).AsSingle(), g, zero),
                Vector512.ConditionalSelect(Vector512.Equals(rel, Vector512<int>.One).AsSingle(), g, zero), r0);
            Zip(Vector512.ConditionalSelect(Vector512.Equals(rel, Vector512.Create(inW)).AsSingle(), g, zero),
                Vector512.ConditionalSelect(Vector512.Equals(rel, Vector512.Create(inW + 1)).AsSingle(), g, zero), r0 + inW);
        }

        // (even columns, odd columns) of the 32 floats a ‖ b: the low and high halves of each 64-bit pair.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector512<float> Even, Vector512<float> Odd) Split(Vector512<float> a, Vector512<float> b) =>
            (Vector512.Narrow(a.AsUInt64(), b.AsUInt64()).AsSingle(),
             Vector512.Narrow(Vector512.ShiftRightLogical(a.AsUInt64(), 32), Vector512.ShiftRightLogical(b.AsUInt64(), 32)).AsSingle());

        // Stores even[0], odd[0], even[1], odd[1], … (32 floats) at p.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Zip(Vector512<float> even, Vector512<float> odd, float* p)
        {
            var (e0, e1) = Vector512.Widen(even.AsUInt32());
            var (o0, o1) = Vector512.Widen(odd.AsUInt32());
            (e0 | Vector512.ShiftLeft(o0, 32)).AsSingle().Store(p);
            (e1 | Vector512.ShiftLeft(o1, 32)).AsSingle().Store(p + 16);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Take(ref Vector512<float> max, ref Vector512<int> best, Vector512<float> v, Vector512<int> at)
        {
            var take = Vector512.GreaterThan(v, max) | Vector512.IsNaN(v);
            max = Vector512.ConditionalSelect(take, v, max);
            best = Vector512.ConditionalSelect(take.AsInt32(), at, best);
        }
    }

    private readonly unsafe struct Max2x2Lanes256 : IMax2x2Lanes
    {
        public static int Length => 8;
        public static bool IsSupported => Vector256.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Forward(float* r0, int inW, int at, float* o, int* oi)
        {
            var (e0, o0) = Split(Vector256.Load(r0), Vector256.Load(r0 + 8));
            var (e1, o1) = Split(Vector256.Load(r0 + inW), Vector256.Load(r0 + inW + 8));
            var idx = Vector256.Create(at) + Vector256.CreateSequence(0, 2);
            var max = e0;
            var best = idx;
            Take(ref max, ref best, o0, idx + Vector256<int>.One);
            Take(ref max, ref best, e1, idx + Vector256.Create(inW));
            Take(ref max, ref best, o1, idx + Vector256.Create(inW + 1));
            max.Store(o);
            best.Store(oi);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Backward(float* dy, int* idx, int at, int inW, float* r0)
        {
            var g = Vector256.Load(dy);
            var rel = Vector256.Load(idx) - (Vector256.Create(at) + Vector256.CreateSequence(0, 2));
            var zero = Vector256<float>.Zero;
            Zip(Vector256.ConditionalSelect(Vector256.Equals(rel, Vector256<int>.Zero).AsSingle(), g, zero),
                Vector256.ConditionalSelect(Vector256.Equals(rel, Vector256<int>.One).AsSingle(), g, zero), r0);
            Zip(Vector256.ConditionalSelect(Vector256.Equals(rel, Vector256.Create(inW)).AsSingle(), g, zero),
                Vector256.ConditionalSelect(Vector256.Equals(rel, Vector256.Create(inW + 1)).AsSingle(), g, zero), r0 + inW);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector256<float> Even, Vector256<float> Odd) Split(Vector256<float> a, Vector256<float> b) =>
            (Vector256.Narrow(a.AsUInt64(), b.AsUInt64()).AsSingle(),
             Vector256.Narrow(Vector256.ShiftRightLogical(a.AsUInt64(), 32), Vector256.ShiftRightLogical(b.AsUInt64(), 32)).AsSingle());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Zip(Vector256<float> even, Vector256<float> odd, float* p)
        {
            var (e0, e1) = Vector256.Widen(even.AsUInt32());
            var (o0, o1) = Vector256.Widen(odd.AsUInt32());
            (e0 | Vector256.ShiftLeft(o0, 32)).AsSingle().Store(p);
            (e1 | Vector256.ShiftLeft(o1, 32)).AsSingle().Store(p + 8);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Take(ref Vector256<float> max, ref Vector256<int> best, Vector256<float> v, Vector256<int> at)
        {
            var take = Vector256.GreaterThan(v, max) | Vector256.IsNaN(v);
            max = Vector256.ConditionalSelect(take, v, max);
            best = Vector256.ConditionalSelect(take.AsInt32(), at, best);
        }
    }

    private readonly unsafe struct Max2x2Lanes128 : IMax2x2Lanes
    {
        public static int Length => 4;
        public static bool IsSupported => Vector128.IsHardwareAccelerated;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Forward(float* r0, int inW, int at, float* o, int* oi)
        {
            var (e0, o0) = Split(Vector128.Load(r0), Vector128.Load(r0 + 4));
            var (e1, o1) = Split(Vector128.Load(r0 + inW), Vector128.Load(r0 + inW + 4));
            var idx = Vector128.Create(at) + Vector128.CreateSequence(0, 2);
            var max = e0;
            var best = idx;
            Take(ref max, ref best, o0, idx + Vector128<int>.One);
            Take(ref max, ref best, e1, idx + Vector128.Create(inW));
            Take(ref max, ref best, o1, idx + Vector128.Create(inW + 1));
            max.Store(o);
            best.Store(oi);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Backward(float* dy, int* idx, int at, int inW, float* r0)
        {
            var g = Vector128.Load(dy);
            var rel = Vector128.Load(idx) - (Vector128.Create(at) + Vector128.CreateSequence(0, 2));
            var zero = Vector128<float>.Zero;
            Zip(Vector128.ConditionalSelect(Vector128.Equals(rel, Vector128<int>.Zero).AsSingle(), g, zero),
                Vector128.ConditionalSelect(Vector128.Equals(rel, Vector128<int>.One).AsSingle(), g, zero), r0);
            Zip(Vector128.ConditionalSelect(Vector128.Equals(rel, Vector128.Create(inW)).AsSingle(), g, zero),
                Vector128.ConditionalSelect(Vector128.Equals(rel, Vector128.Create(inW + 1)).AsSingle(), g, zero), r0 + inW);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static (Vector128<float> Even, Vector128<float> Odd) Split(Vector128<float> a, Vector128<float> b) =>
            (Vector128.Narrow(a.AsUInt64(), b.AsUInt64()).AsSingle(),
             Vector128.Narrow(Vector128.ShiftRightLogical(a.AsUInt64(), 32), Vector128.ShiftRightLogical(b.AsUInt64(), 32)).AsSingle());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Zip(Vector128<float> even, Vector128<float> odd, float* p)
        {
            var (e0, e1) = Vector128.Widen(even.AsUInt32());
            var (o0, o1) = Vector128.Widen(odd.AsUInt32());
            (e0 | Vector128.ShiftLeft(o0, 32)).AsSingle().Store(p);
            (e1 | Vector128.ShiftLeft(o1, 32)).AsSingle().Store(p + 4);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Take(ref Vector128<float> max, ref Vector128<int> best, Vector128<float> v, Vector128<int> at)
        {
            var take = Vector128.GreaterThan(v, max) | Vector128.IsNaN(v);
            max = Vector128.ConditionalSelect(take, v, max);
            best = Vector128.ConditionalSelect(take.AsInt32(), at, best);
        }
    }
}
