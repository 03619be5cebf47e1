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

        /// <summary>dst[0..n) += src[0..n) (n a multiple of <typeparamref name="TS"/>'s length).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AddInto<TS, TV>(float* src, float* dst, int n) where TS : ISimdFloat<TV> where TV : struct
        {
            for (int i = 0; i < n; i += TS.Length) TS.Store(TS.Add(TS.Load(dst + i), TS.Load(src + i)), dst + i);
        }
    }
}
