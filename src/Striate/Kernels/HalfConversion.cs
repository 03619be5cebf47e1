using System.Numerics;
using System.Runtime.InteropServices;

namespace Striate.Kernels;

/// <summary>
/// Bulk conversions between float32 and the 16-bit float formats stored in checkpoints: IEEE 754 binary16
/// (<c>F16</c>, <see cref="System.Half"/>) and bfloat16 (<c>BF16</c>, the upper half of a float32).
/// Both narrowing conversions round to nearest, ties to even, like PyTorch's <c>.half()</c> / <c>.bfloat16()</c>.
/// </summary>
/// <remarks>
/// Shapes: every method maps element i of the source to element i of the destination; the destination must
/// be at least as long as the source. The 16-bit values travel as raw <see cref="ushort"/> bit patterns.
/// Each fast method has a scalar <c>…Reference</c> twin that the tests compare it against.
/// </remarks>
public static class HalfConversion
{
    // ---- F16 ------------------------------------------------------------------------------------

    /// <summary>binary16 bit patterns → float32 (exact: every half is representable as a float).</summary>
    public static void HalfToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(HalfToSingle));
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int step = Vector<ushort>.Count; // one ushort vector widens into two uint vectors
            for (; i <= source.Length - step; i += step)
            {
                Vector.Widen(new Vector<ushort>(source[i..]), out Vector<uint> low, out Vector<uint> high);
                HalfBitsToSingleBits(low).CopyTo(bits[i..]);
                HalfBitsToSingleBits(high).CopyTo(bits[(i + Vector<uint>.Count)..]);
            }
        }
        for (; i < source.Length; i++) destination[i] = (float)BitConverter.UInt16BitsToHalf(source[i]);
    }

    // Normal halves move their exponent from bias 15 to bias 127 (add 112 << 23 after shifting into place); infinities
    // and NaNs (exponent 31) go to exponent 255 with their payload, NaNs made quiet as .NET's conversion does; subnormals are mantissa · 2⁻²⁴, exact in float.
    private static Vector<uint> HalfBitsToSingleBits(Vector<uint> h)
    {
        var sign = (h & new Vector<uint>(0x8000)) << 16;
        var magnitude = h & new Vector<uint>(0x7FFF);
        var normal = (magnitude << 13) + new Vector<uint>(112u << 23);
        var special = normal + new Vector<uint>(112u << 23) | (Vector.GreaterThan(magnitude, new Vector<uint>(0x7C00)) & new Vector<uint>(0x0040_0000));
        var subnormal = Vector.AsVectorUInt32(Vector.ConvertToSingle(Vector.AsVectorInt32(magnitude)) * new Vector<float>(1f / (1 << 24)));
        var result = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(magnitude, new Vector<uint>(0x7C00)), special, normal);
        result = Vector.ConditionalSelect(Vector.LessThan(magnitude, new Vector<uint>(0x0400)), subnormal, result);
        return result | sign;
    }

    /// <summary>float32 → binary16 bit patterns, round to nearest even; overflow gives ±infinity, NaN stays NaN.</summary>
    public static void SingleToHalf(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(SingleToHalf));
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int step = Vector<ushort>.Count; // two uint vectors narrow into one ushort vector
            for (; i <= source.Length - step; i += step)
            {
                var low = SingleBitsToHalfBits(new Vector<uint>(bits[i..]));
                var high = SingleBitsToHalfBits(new Vector<uint>(bits[(i + Vector<uint>.Count)..]));
                Vector.Narrow(low, high).CopyTo(destination[i..]);
            }
        }
        for (; i < source.Length; i++) destination[i] = BitConverter.HalfToUInt16Bits((Half)source[i]);
    }

    // Round to nearest even on the bits (after F. Giesen's float_to_half_fast3_rtne): normal results rebias the exponent
    // and add 0xFFF plus the kept lowest bit before dropping 13 mantissa bits, which carries into the exponent (up to
    // infinity) exactly when rounding should; results below 2⁻¹⁴ come from a float addition of 0.5, which rounds the
    // mantissa to units of 2⁻²⁴ in hardware; magnitudes from 65520 up become infinity; NaN keeps its upper payload, quiet.
    private static Vector<uint> SingleBitsToHalfBits(Vector<uint> u)
    {
        var sign = (u >> 16) & new Vector<uint>(0x8000);
        var a = u & new Vector<uint>(0x7FFF_FFFF);
        var normal = (a - new Vector<uint>(112u << 23) + new Vector<uint>(0xFFF) + ((a >> 13) & Vector<uint>.One)) >> 13;
        var half = new Vector<float>(0.5f);
        var subnormal = Vector.AsVectorUInt32(Vector.AsVectorSingle(a) + half) - Vector.AsVectorUInt32(half);
        var nan = new Vector<uint>(0x7E00) | ((a >> 13) & new Vector<uint>(0x3FF));
        var result = Vector.ConditionalSelect(Vector.LessThan(a, new Vector<uint>(113u << 23)), subnormal, normal);
        result = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(a, new Vector<uint>(0x477F_F000)), new Vector<uint>(0x7C00), result);
        result = Vector.ConditionalSelect(Vector.GreaterThan(a, new Vector<uint>(0x7F80_0000)), nan, result);
        return result | sign;
    }

    /// <summary>Scalar twin of <see cref="HalfToSingle"/>.</summary>
    public static void HalfToSingleReference(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(HalfToSingleReference));
        for (int i = 0; i < source.Length; i++) destination[i] = (float)BitConverter.UInt16BitsToHalf(source[i]);
    }

    /// <summary>Scalar twin of <see cref="SingleToHalf"/>.</summary>
    public static void SingleToHalfReference(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(SingleToHalfReference));
        for (int i = 0; i < source.Length; i++) destination[i] = BitConverter.HalfToUInt16Bits((Half)source[i]);
    }

    // ---- BF16 -----------------------------------------------------------------------------------

    /// <summary>bfloat16 bit patterns → float32 (exact: the pattern becomes the float's upper 16 bits).</summary>
    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(BFloat16ToSingle));
        // dst viewed as raw bits: [n] uint
        Span<uint> bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int step = Vector<ushort>.Count; // one ushort vector widens into two uint vectors
            var src = MemoryMarshal.Cast<ushort, Vector<ushort>>(source[..(source.Length / step * step)]);
            for (int v = 0; v < src.Length; v++, i += step)
            {
                Vector.Widen(src[v], out Vector<uint> low, out Vector<uint> high);
                (low << 16).CopyTo(bits[i..]);
                (high << 16).CopyTo(bits[(i + Vector<uint>.Count)..]);
            }
        }
        for (; i < source.Length; i++) bits[i] = (uint)source[i] << 16;
    }

    /// <summary>
    /// float32 → bfloat16 bit patterns, round to nearest even (add 0x7FFF plus the kept lowest bit, then
    /// truncate); NaN stays a quiet NaN instead of rounding into infinity.
    /// </summary>
    public static void SingleToBFloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(SingleToBFloat16));
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(source);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int step = Vector<ushort>.Count; // two uint vectors narrow into one ushort vector
            int half = Vector<uint>.Count;
            var one = Vector<uint>.One;
            var bias = new Vector<uint>(0x7FFF);
            var absMask = new Vector<uint>(0x7FFF_FFFF);
            var infinity = new Vector<uint>(0x7F80_0000);
            var quiet = new Vector<uint>(0x0040_0000);
            for (; i <= source.Length - step; i += step)
            {
                var lo = Round(new Vector<uint>(bits[i..]));
                var hi = Round(new Vector<uint>(bits[(i + half)..]));
                Vector.Narrow(lo, hi).CopyTo(destination[i..]);
            }

            Vector<uint> Round(Vector<uint> u)
            {
                var rounded = (u + bias + ((u >> 16) & one)) >> 16;
                var nan = Vector.GreaterThan(u & absMask, infinity);
                return Vector.ConditionalSelect(nan, (u | quiet) >> 16, rounded);
            }
        }
        for (; i < source.Length; i++) destination[i] = RoundToBFloat16(bits[i]);
    }

    /// <summary>Scalar twin of <see cref="BFloat16ToSingle"/>.</summary>
    public static void BFloat16ToSingleReference(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(BFloat16ToSingleReference));
        for (int i = 0; i < source.Length; i++) destination[i] = BitConverter.UInt32BitsToSingle((uint)source[i] << 16);
    }

    /// <summary>Scalar twin of <see cref="SingleToBFloat16"/>.</summary>
    public static void SingleToBFloat16Reference(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        CheckLengths(source.Length, destination.Length, nameof(SingleToBFloat16Reference));
        for (int i = 0; i < source.Length; i++) destination[i] = RoundToBFloat16(BitConverter.SingleToUInt32Bits(source[i]));
    }

    private static ushort RoundToBFloat16(uint u)
    {
        if ((u & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((u | 0x0040_0000) >> 16); // NaN: keep sign, force quiet bit
        return (ushort)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
    }

    private static void CheckLengths(int source, int destination, string op)
    {
        if (destination < source)
            throw new ArgumentException($"HalfConversion.{op}: destination has {destination} elements, source has {source}; destination must be at least as long.");
    }
}
