using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dFlat
{
    /// <summary>
    /// Copies and adds on the short rows of small maps (10–32 floats), where a span call's fixed cost is as large as
    /// the copy: 256-bit vectors with an overlapping last vector, a plain loop below 8 floats or without SIMD.
    /// </summary>
    private static class RowMath
    {
        /// <summary>dst[0..n) = src[0..n); the two rows must not overlap.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Copy(float* src, float* dst, int n)
        {
            if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                int i = 0;
                for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
                if (i < n) Vector256.Store(Vector256.Load(src + n - 8), dst + n - 8);
                return;
            }
            for (int i = 0; i < n; i++) dst[i] = src[i];
        }

        /// <summary>dst[0..n) = src[0..n) + b; the two rows must not overlap.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AddScalar(float* src, float b, float* dst, int n)
        {
            if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                var vb = Vector256.Create(b);
                int i = 0;
                for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Load(src + i) + vb, dst + i);
                if (i < n) Vector256.Store(Vector256.Load(src + n - 8) + vb, dst + n - 8);
                return;
            }
            for (int i = 0; i < n; i++) dst[i] = src[i] + b;
        }

        /// <summary>
        /// dst[0..n) = max(src[0..n) + b, 0), the bias and a ReLU in the copy-out. Vector256.Max is IEEE 754-2019
        /// maximum, as SpanMath.Max (the unfused ReLU): NaN propagates and max(−0, +0) = +0.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AddScalarRelu(float* src, float b, float* dst, int n)
        {
            if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                var vb = Vector256.Create(b);
                int i = 0;
                for (; i <= n - 8; i += 8) Vector256.Store(Vector256.Max(Vector256.Load(src + i) + vb, Vector256<float>.Zero), dst + i);
                if (i < n) Vector256.Store(Vector256.Max(Vector256.Load(src + n - 8) + vb, Vector256<float>.Zero), dst + n - 8);
                return;
            }
            for (int i = 0; i < n; i++) dst[i] = MathF.Max(src[i] + b, 0f);
        }

        /// <summary>
        /// dst[0..n) = y &gt; 0 ? dy : dy·0 — ReLU's backward from its output y (Activations.ReluBackward, the same
        /// arithmetic, so a fused gradient is bit-identical to the unfused one); the rows must not overlap dst.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void CopyMasked(float* dy, float* y, float* dst, int n)
        {
            if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                int i = 0;
                for (; i <= n - 8; i += 8) Vector256.Store(Masked(Vector256.Load(dy + i), Vector256.Load(y + i)), dst + i);
                if (i < n) Vector256.Store(Masked(Vector256.Load(dy + n - 8), Vector256.Load(y + n - 8)), dst + n - 8);
                return;
            }
            for (int i = 0; i < n; i++) dst[i] = y[i] > 0 ? dy[i] : dy[i] * 0f;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Masked(Vector256<float> g, Vector256<float> y) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), g, g * Vector256<float>.Zero);

        /// <summary>dst[0..n) += src[0..n) (n a multiple of <typeparamref name="TS"/>'s length).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AddInto<TS, TV>(float* src, float* dst, int n) where TS : ISimdFloat<TV> where TV : struct
        {
            for (int i = 0; i < n; i += TS.Length) TS.Store(TS.Add(TS.Load(dst + i), TS.Load(src + i)), dst + i);
        }
    }
}
