using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// Square float transposes in registers, the core of the NCHW ↔ channel-blocked conversions: 16×16 with AVX-512
/// (unpack 32-bit, unpack 64-bit, then two rounds of 128-bit lane shuffles: 64 shuffles for 256 floats) and 8×8
/// with AVX. Row i of the source starts at src + i·srcStride; row j of the result at dst + j·dstStride.
/// </summary>
internal static unsafe class Transpose
{
    /// <summary>dst[j, i] = src[i, j] for i, j &lt; 16. Requires AVX-512F.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static void Block16(float* src, nint srcStride, float* dst, nint dstStride)
    {
        var r0 = Vector512.Load(src); var r1 = Vector512.Load(src + srcStride);
        var r2 = Vector512.Load(src + 2 * srcStride); var r3 = Vector512.Load(src + 3 * srcStride);
        var r4 = Vector512.Load(src + 4 * srcStride); var r5 = Vector512.Load(src + 5 * srcStride);
        var r6 = Vector512.Load(src + 6 * srcStride); var r7 = Vector512.Load(src + 7 * srcStride);
        var r8 = Vector512.Load(src + 8 * srcStride); var r9 = Vector512.Load(src + 9 * srcStride);
        var rA = Vector512.Load(src + 10 * srcStride); var rB = Vector512.Load(src + 11 * srcStride);
        var rC = Vector512.Load(src + 12 * srcStride); var rD = Vector512.Load(src + 13 * srcStride);
        var rE = Vector512.Load(src + 14 * srcStride); var rF = Vector512.Load(src + 15 * srcStride);
        // Pairs of rows interleaved: t(2k) = [a0 b0 a1 b1 | a4 b4 a5 b5 | ...], t(2k+1) the high halves of each lane.
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var tA = Avx512F.UnpackLow(rA, rB); var tB = Avx512F.UnpackHigh(rA, rB);
        var tC = Avx512F.UnpackLow(rC, rD); var tD = Avx512F.UnpackHigh(rC, rD);
        var tE = Avx512F.UnpackLow(rE, rF); var tF = Avx512F.UnpackHigh(rE, rF);
        // Quads: lane L of u(4q + k) holds column 4L + k of rows 4q .. 4q + 3.
        var u0 = Lo64(t0, t2); var u1 = Hi64(t0, t2); var u2 = Lo64(t1, t3); var u3 = Hi64(t1, t3);
        var u4 = Lo64(t4, t6); var u5 = Hi64(t4, t6); var u6 = Lo64(t5, t7); var u7 = Hi64(t5, t7);
        var u8 = Lo64(t8, tA); var u9 = Hi64(t8, tA); var uA = Lo64(t9, tB); var uB = Hi64(t9, tB);
        var uC = Lo64(tC, tE); var uD = Hi64(tC, tE); var uE = Lo64(tD, tF); var uF = Hi64(tD, tF);
        Lanes(u0, u4, u8, uC, dst, dstStride);                  // columns 0, 4, 8, 12
        Lanes(u1, u5, u9, uD, dst + dstStride, dstStride);      // columns 1, 5, 9, 13
        Lanes(u2, u6, uA, uE, dst + 2 * dstStride, dstStride);  // columns 2, 6, 10, 14
        Lanes(u3, u7, uB, uF, dst + 3 * dstStride, dstStride);  // columns 3, 7, 11, 15
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lo64(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Hi64(Vector512<float> a, Vector512<float> b) => Avx512F.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle();

    /// <summary>Columns k, k+4, k+8, k+12 (at dst, +4, +8, +12 strides) from the four row quads' lanes 0..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Lanes(Vector512<float> q0, Vector512<float> q1, Vector512<float> q2, Vector512<float> q3, float* dst, nint dstStride)
    {
        var v = Avx512F.Shuffle4x128(q0, q1, 0x44);  // [q0 L0, q0 L1, q1 L0, q1 L1]
        var v2 = Avx512F.Shuffle4x128(q0, q1, 0xEE); // [q0 L2, q0 L3, q1 L2, q1 L3]
        var w = Avx512F.Shuffle4x128(q2, q3, 0x44);
        var w2 = Avx512F.Shuffle4x128(q2, q3, 0xEE);
        Vector512.Store(Avx512F.Shuffle4x128(v, w, 0x88), dst);                 // lanes 0 of q0..q3
        Vector512.Store(Avx512F.Shuffle4x128(v, w, 0xDD), dst + 4 * dstStride);  // lanes 1
        Vector512.Store(Avx512F.Shuffle4x128(v2, w2, 0x88), dst + 8 * dstStride); // lanes 2
        Vector512.Store(Avx512F.Shuffle4x128(v2, w2, 0xDD), dst + 12 * dstStride); // lanes 3
    }

    /// <summary>dst[j, i] = src[i, j] for i, j &lt; 8. Requires AVX.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        Block8Vectors(src, srcStride, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
        Avx.Store(dst, c0);
        Avx.Store(dst + dstStride, c1);
        Avx.Store(dst + 2 * dstStride, c2);
        Avx.Store(dst + 3 * dstStride, c3);
        Avx.Store(dst + 4 * dstStride, c4);
        Avx.Store(dst + 5 * dstStride, c5);
        Avx.Store(dst + 6 * dstStride, c6);
        Avx.Store(dst + 7 * dstStride, c7);
    }

    /// <summary>
    /// The 8×8 transpose of <see cref="Block8"/> kept in registers: column j of the source (src[i, j] for i &lt; 8) in
    /// <paramref name="c0"/> .. <paramref name="c7"/>, for a caller that works on the columns before it stores them
    /// (<see cref="ChannelBlocked"/>'s unblocking applies its epilogue on the way). Requires AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Block8Vectors(float* src, nint srcStride, out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2,
        out Vector256<float> c3, out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride); var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride); var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride); var r7 = Avx.LoadVector256(src + 7 * srcStride);
        Registers8(r0, r1, r2, r3, r4, r5, r6, r7, out c0, out c1, out c2, out c3, out c4, out c5, out c6, out c7);
    }

    /// <summary>
    /// The 8×8 transpose of eight rows already in registers: c<i>j</i> holds lane j of <paramref name="r0"/> .. <paramref name="r7"/>
    /// (row i in lane i) — unpack 32-bit, unpack 64-bit, then the 128-bit lanes. For
    /// callers whose rows are not at a fixed stride (<see cref="Conv2dDirect"/>'s strided input gradient). Requires AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Registers8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        c0 = Avx.Permute2x128(u0, u4, 0x20); c1 = Avx.Permute2x128(u1, u5, 0x20);
        c2 = Avx.Permute2x128(u2, u6, 0x20); c3 = Avx.Permute2x128(u3, u7, 0x20);
        c4 = Avx.Permute2x128(u0, u4, 0x31); c5 = Avx.Permute2x128(u1, u5, 0x31);
        c6 = Avx.Permute2x128(u2, u6, 0x31); c7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>The square block of <paramref name="v"/> (16: AVX-512, 8: AVX) if the hardware has it; false when the caller must copy element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryBlock(int v, float* src, nint srcStride, float* dst, nint dstStride)
    {
        if (v == 16 && Avx512F.IsSupported) { Block16(src, srcStride, dst, dstStride); return true; }
        if (v == 8 && Avx.IsSupported) { Block8(src, srcStride, dst, dstStride); return true; }
        return false;
    }
}
