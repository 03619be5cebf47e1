using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// One SIMD width for kernels written once and compiled per width: the JIT specializes a generic method for each
/// struct implementing this, inlines the static members and keeps <typeparamref name="TV"/> values in registers.
/// </summary>
internal unsafe interface ISimdFloat<TV> where TV : struct
{
    /// <summary>Floats per vector (16 for AVX-512, 8 for AVX2).</summary>
    static abstract int Length { get; }
    static abstract bool IsSupported { get; }
    static abstract TV Zero { get; }
    static abstract TV Load(float* p);
    static abstract TV Broadcast(float* p);
    static abstract TV Broadcast(float value);
    /// <summary>a · b + c, fused.</summary>
    static abstract TV Fma(TV a, TV b, TV c);
    static abstract TV Add(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    static abstract void Store(TV value, float* p);
}

/// <summary>512-bit vectors (AVX-512): 16 floats, 32 registers.</summary>
internal readonly unsafe struct Simd512 : ISimdFloat<Vector512<float>>
{
    public static int Length => 16;
    public static bool IsSupported => Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float* p) => Vector512.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> value, float* p) => Vector512.Store(value, p);
}

/// <summary>256-bit vectors (AVX2 + FMA): 8 floats, 16 registers.</summary>
internal readonly unsafe struct Simd256 : ISimdFloat<Vector256<float>>
{
    public static int Length => 8;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float* p) => Vector256.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> value, float* p) => Vector256.Store(value, p);
}

/// <summary>128-bit vectors (SSE or NEON): 4 floats; multiply-add is fused where the hardware has it.</summary>
internal readonly unsafe struct Simd128 : ISimdFloat<Vector128<float>>
{
    public static int Length => 4;
    public static bool IsSupported => Vector128.IsHardwareAccelerated;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float* p) => Vector128.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Fma(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> value, float* p) => Vector128.Store(value, p);
}

/// <summary>A compile-time integer for generic kernels (tile sizes, strides): the JIT folds <c>T.Value</c> to a constant.</summary>
internal interface IConstant
{
    static abstract int Value { get; }
}

internal readonly struct C1 : IConstant { public static int Value => 1; }
internal readonly struct C2 : IConstant { public static int Value => 2; }
internal readonly struct C3 : IConstant { public static int Value => 3; }
internal readonly struct C4 : IConstant { public static int Value => 4; }
internal readonly struct C5 : IConstant { public static int Value => 5; }
internal readonly struct C6 : IConstant { public static int Value => 6; }
internal readonly struct C7 : IConstant { public static int Value => 7; }
internal readonly struct C8 : IConstant { public static int Value => 8; }
internal readonly struct C9 : IConstant { public static int Value => 9; }
internal readonly struct C10 : IConstant { public static int Value => 10; }
internal readonly struct C11 : IConstant { public static int Value => 11; }
internal readonly struct C12 : IConstant { public static int Value => 12; }
internal readonly struct C13 : IConstant { public static int Value => 13; }
internal readonly struct C14 : IConstant { public static int Value => 14; }
