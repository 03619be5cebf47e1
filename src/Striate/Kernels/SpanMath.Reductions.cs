using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

// Reductions keep four vector accumulators in the widest width so that consecutive adds do not wait on each other
// (an add's latency is four cycles); the narrower widths and the scalar tail add into the result after.
internal static partial class SpanMath
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Sum(ReadOnlySpan<float> x, int maxBits)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        float total = 0;
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 64; i += 64)
            {
                a0 += Vector512.LoadUnsafe(ref px, (nuint)i);
                a1 += Vector512.LoadUnsafe(ref px, (nuint)(i + 16));
                a2 += Vector512.LoadUnsafe(ref px, (nuint)(i + 32));
                a3 += Vector512.LoadUnsafe(ref px, (nuint)(i + 48));
            }
            for (; i <= n - 16; i += 16) a0 += Vector512.LoadUnsafe(ref px, (nuint)i);
            total = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 32; i += 32)
            {
                a0 += Vector256.LoadUnsafe(ref px, (nuint)i);
                a1 += Vector256.LoadUnsafe(ref px, (nuint)(i + 8));
                a2 += Vector256.LoadUnsafe(ref px, (nuint)(i + 16));
                a3 += Vector256.LoadUnsafe(ref px, (nuint)(i + 24));
            }
            for (; i <= n - 8; i += 8) a0 += Vector256.LoadUnsafe(ref px, (nuint)i);
            total += Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<float> a0 = default, a1 = default;
            for (; i <= n - 8; i += 8)
            {
                a0 += Vector128.LoadUnsafe(ref px, (nuint)i);
                a1 += Vector128.LoadUnsafe(ref px, (nuint)(i + 4));
            }
            for (; i <= n - 4; i += 4) a0 += Vector128.LoadUnsafe(ref px, (nuint)i);
            total += Vector128.Sum(a0 + a1);
        }
        for (; i < n; i++) total += Unsafe.Add(ref px, i);
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int maxBits)
    {
        if (x.Length != y.Length) throw new ArgumentException($"SpanMath.Dot: the inputs have {x.Length} and {y.Length} elements; they must match.");
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        float total = 0;
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 64; i += 64)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)(i + 16)), Vector512.LoadUnsafe(ref py, (nuint)(i + 16)), a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)(i + 32)), Vector512.LoadUnsafe(ref py, (nuint)(i + 32)), a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)(i + 48)), Vector512.LoadUnsafe(ref py, (nuint)(i + 48)), a3);
            }
            for (; i <= n - 16; i += 16) a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i), a0);
            total = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 32; i += 32)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)(i + 8)), Vector256.LoadUnsafe(ref py, (nuint)(i + 8)), a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)(i + 16)), Vector256.LoadUnsafe(ref py, (nuint)(i + 16)), a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)(i + 24)), Vector256.LoadUnsafe(ref py, (nuint)(i + 24)), a3);
            }
            for (; i <= n - 8; i += 8) a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i), a0);
            total += Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            Vector128<float> a0 = default;
            for (; i <= n - 4; i += 4) a0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref px, (nuint)i), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
            total += Vector128.Sum(a0);
        }
        for (; i < n; i++) total = MathF.FusedMultiplyAdd(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i), total);
        return total;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Max(ReadOnlySpan<float> x, int maxBits)
    {
        if (x.IsEmpty) throw new ArgumentException("SpanMath.Max: the span is empty; a maximum needs at least one element.");
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        float result = x[0];
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated && n >= 16)
        {
            var m = Vector512.LoadUnsafe(ref px);
            for (i = 16; i <= n - 16; i += 16) m = Vector512.Max(m, Vector512.LoadUnsafe(ref px, (nuint)i));
            result = MaxAcross(m.GetLower().GetLower(), m.GetLower().GetUpper(), m.GetUpper().GetLower(), m.GetUpper().GetUpper());
        }
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated && n - i >= 8)
        {
            var m = Vector256.LoadUnsafe(ref px, (nuint)i);
            for (i += 8; i <= n - 8; i += 8) m = Vector256.Max(m, Vector256.LoadUnsafe(ref px, (nuint)i));
            result = MathF.Max(result, MaxAcross(m.GetLower(), m.GetUpper(), m.GetLower(), m.GetUpper()));
        }
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated && n - i >= 4)
        {
            var m = Vector128.LoadUnsafe(ref px, (nuint)i);
            for (i += 4; i <= n - 4; i += 4) m = Vector128.Max(m, Vector128.LoadUnsafe(ref px, (nuint)i));
            result = MathF.Max(result, MaxAcross(m, m, m, m));
        }
        for (; i < n; i++) result = MathF.Max(result, Unsafe.Add(ref px, i));
        return result;
    }

    private static float MaxAcross(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        var m = Vector128.Max(Vector128.Max(a, b), Vector128.Max(c, d));
        return MathF.Max(MathF.Max(m.GetElement(0), m.GetElement(1)), MathF.Max(m.GetElement(2), m.GetElement(3)));
    }
}
