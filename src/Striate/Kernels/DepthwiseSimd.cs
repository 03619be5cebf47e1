using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The vector operations of the depthwise 3×3 kernels (<see cref="DepthwiseConv2d"/>), at one SIMD width; the
/// kernels are generic over it so that AVX-512 and AVX2 share one source. Beyond arithmetic: a lane-wise column
/// counter (which output column each lane holds, to zero the taps that would wrap into the next row) and the
/// even/odd split of a row that turns a stride-2 convolution into four stride-1 ones.
/// </summary>
internal unsafe interface IDepthwiseSimd<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Length { get; }
    static abstract bool IsSupported { get; }
    static abstract TV Load(float* p);
    static abstract void Store(TV value, float* p);
    static abstract TV Broadcast(float value);
    /// <summary>a · b + c, fused.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    static abstract TV Add(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);
    /// <summary>x where columns ≠ value, else 0.</summary>
    static abstract TV ZeroWhereEqual(TV columns, TV value, TV x);
    /// <summary>min(max(v, lo), hi), NaN passing through (as torch.clamp).</summary>
    static abstract TV Clamp(TV v, TV lo, TV hi);
    /// <summary>columns + step, less width where that reaches width (0 ≤ columns, step &lt; width).</summary>
    static abstract TV WrapAdd(TV columns, TV step, TV width);
    /// <summary>Sum of the lanes.</summary>
    static abstract float Sum(TV v);
    /// <summary>2·Length floats at src → the even-indexed ones at even, the odd-indexed ones at odd.</summary>
    static abstract void Deinterleave(float* src, float* even, float* odd);
    /// <summary>Length floats at even and at odd → 2·Length floats at dst, alternating (even first).</summary>
    static abstract void Interleave(float* even, float* odd, float* dst);
}

/// <summary>AVX-512: 16 lanes.</summary>
internal readonly unsafe struct DepthwiseSimd512 : IDepthwiseSimd<Vector512<float>>
{
    public static int Length => 16;
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, float* p) => Vector512.Store(value, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ZeroWhereEqual(Vector512<float> columns, Vector512<float> value, Vector512<float> x)
        => Vector512.ConditionalSelect(Vector512.Equals(columns, value), Vector512<float>.Zero, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Clamp(Vector512<float> v, Vector512<float> lo, Vector512<float> hi)
    {
        // Comparisons with NaN are false, so NaN is kept.
        v = Vector512.ConditionalSelect(Vector512.LessThan(v, lo), lo, v);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(v, hi), hi, v);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WrapAdd(Vector512<float> columns, Vector512<float> step, Vector512<float> width)
    {
        var c = columns + step;
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(c, width), c - width, c);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(float* src, float* even, float* odd)
    {
        var a = Vector512.Load(src);
        var b = Vector512.Load(src + 16);
        // Index vectors written as constants at each use, not kept in static readonly fields: the kernels calling
        // this are compiled fully optimized from the start (AggressiveOptimization), before the class's statics exist,
        // so a field would be loaded (behind an initialization check) on every call; a constant is one load from data.
        Vector512.Store(Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b), even);
        Vector512.Store(Avx512F.PermuteVar16x32x2(a, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b), odd);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Interleave(float* even, float* odd, float* dst)
    {
        var a = Vector512.Load(even);
        var b = Vector512.Load(odd);
        Vector512.Store(Avx512F.PermuteVar16x32x2(a, Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b), dst);
        Vector512.Store(Avx512F.PermuteVar16x32x2(a, Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b), dst + 16);
    }
}

/// <summary>AVX2 + FMA: 8 lanes.</summary>
internal readonly unsafe struct DepthwiseSimd256 : IDepthwiseSimd<Vector256<float>>
{
    public static int Length => 8;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, float* p) => Vector256.Store(value, p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZeroWhereEqual(Vector256<float> columns, Vector256<float> value, Vector256<float> x)
        => Vector256.AndNot(x, Vector256.Equals(columns, value));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Clamp(Vector256<float> v, Vector256<float> lo, Vector256<float> hi)
    {
        v = Vector256.ConditionalSelect(Vector256.LessThan(v, lo), lo, v);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(v, hi), hi, v);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WrapAdd(Vector256<float> columns, Vector256<float> step, Vector256<float> width)
    {
        var c = columns + step;
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(c, width), c - width, c);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Deinterleave(float* src, float* even, float* odd)
    {
        var a = Vector256.Load(src);     // a0 … a7
        var b = Vector256.Load(src + 8); // b0 … b7
        // Within 128-bit lanes: [a0 a2 b0 b2 | a4 a6 b4 b6] and [a1 a3 b1 b3 | a5 a7 b5 b7]; then put the 64-bit quarters in order 0 2 1 3.
        var e = Avx.Shuffle(a, b, 0b10_00_10_00);
        var o = Avx.Shuffle(a, b, 0b11_01_11_01);
        Vector256.Store(Avx2.Permute4x64(e.AsDouble(), 0b11_01_10_00).AsSingle(), even);
        Vector256.Store(Avx2.Permute4x64(o.AsDouble(), 0b11_01_10_00).AsSingle(), odd);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Interleave(float* even, float* odd, float* dst)
    {
        var a = Vector256.Load(even);
        var b = Vector256.Load(odd);
        var lo = Avx.UnpackLow(a, b);  // a0 b0 a1 b1 | a4 b4 a5 b5
        var hi = Avx.UnpackHigh(a, b); // a2 b2 a3 b3 | a6 b6 a7 b7
        Vector256.Store(Avx.Permute2x128(lo, hi, 0x20), dst);
        Vector256.Store(Avx.Permute2x128(lo, hi, 0x31), dst + 8);
    }
}
