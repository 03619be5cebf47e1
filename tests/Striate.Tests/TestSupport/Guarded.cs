using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Striate.Tests.TestSupport;

/// <summary>
/// A buffer a kernel writes through (its output, indices, or scratch the caller sizes, such as a packed operand) as a
/// slice of a larger array with guard bands before and after it, each element holding a sentinel bit pattern
/// (0x7FC5A5A5: as a float a quiet NaN with its own payload, compared by bits, so neither a computed NaN nor a value
/// copied from an input looks like it). After the call, <see cref="Guarded{T}.Check"/> fails if any band element
/// changed, naming the kernel and shape it is given and the first changed offset. Value-comparing twin tests miss a
/// store past the output (a heap overrun that once showed only as a CLI test's segfault); the bands catch it.
/// Band = 64 elements each side: more than two AVX-512 vectors, so a store that spills a vector past either end lands in it.
/// Shapes: Span [length]; Array [Band + length + Band], the slice at Offset = Band.
/// </summary>
public static class Guarded
{
    public const int Band = 64;
    public const uint SentinelBits = 0x7FC5A5A5;

    /// <summary>A guarded float slice, all NaN, so an element the kernel skips fails the comparison.</summary>
    public static Guarded<float> Nan(long length)
    {
        var g = new Guarded<float>(length);
        g.Span.Fill(float.NaN);
        return g;
    }

    /// <summary>A guarded float slice of zeros (for kernels that accumulate, or scratch).</summary>
    public static Guarded<float> Zeros(long length) => new(length);

    /// <summary>A guarded int slice filled with <paramref name="fill"/> (indices a kernel writes).</summary>
    public static Guarded<int> Ints(long length, int fill = -1)
    {
        var g = new Guarded<int>(length);
        g.Span.Fill(fill);
        return g;
    }

    /// <summary>A guarded copy of <paramref name="values"/> (an output the kernel reads first, or updates in place).</summary>
    public static Guarded<T> Of<T>(T[] values) where T : unmanaged => Of((ReadOnlySpan<T>)values);

    public static Guarded<T> Of<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var g = new Guarded<T>(values.Length);
        values.CopyTo(g.Span);
        return g;
    }

    /// <summary>Checks every buffer (a kernel's output and its scratch, say); the message numbers them in order.</summary>
    public static void CheckAll(string what, params IGuarded[] buffers)
    {
        for (int i = 0; i < buffers.Length; i++) buffers[i].Check(buffers.Length == 1 ? what : $"{what} (buffer {i})");
    }
}

public interface IGuarded
{
    void Check(string what);
}

/// <summary>See <see cref="Guarded"/>: one guarded slice of 4-byte elements (float or int).</summary>
public sealed class Guarded<T> : IGuarded where T : unmanaged
{
    internal Guarded(long length)
    {
        if (Unsafe.SizeOf<T>() != 4) throw new ArgumentException($"Guarded takes 4-byte elements, not {typeof(T).Name}.");
        Length = checked((int)length);
        Array = new T[Guarded.Band + Length + Guarded.Band];
        var bits = MemoryMarshal.Cast<T, uint>(Array.AsSpan());
        bits[..Guarded.Band].Fill(Guarded.SentinelBits);
        bits[(Guarded.Band + Length)..].Fill(Guarded.SentinelBits);
    }

    /// <summary>The whole array, bands included (for kernels that take an array and an offset: pass Array, Offset).</summary>
    public T[] Array { get; }

    /// <summary>Where the slice starts in <see cref="Array"/>.</summary>
    public int Offset => Guarded.Band;

    public int Length { get; }

    /// <summary>The slice the kernel may write: Array[Band .. Band + Length].</summary>
    public Span<T> Span => Array.AsSpan(Guarded.Band, Length);

    public T this[int index]
    {
        get => Span[index];
        set => Span[index] = value;
    }

    /// <summary>The slice's values, copied out.</summary>
    public T[] ToArray() => Span.ToArray();

    /// <summary>Fails if anything was written in either band: names <paramref name="what"/> (the kernel and shape) and the first changed offset.</summary>
    public void Check(string what)
    {
        var bits = MemoryMarshal.Cast<T, uint>(Array.AsSpan());
        int before = FirstChanged(bits[..Guarded.Band]);
        if (before >= 0)
            throw new Xunit.Sdk.XunitException(
                $"{what}: wrote before its {Length}-element output, at offset {before - Guarded.Band} ({Describe(bits[before])}).");
        int after = FirstChanged(bits[(Guarded.Band + Length)..]);
        if (after >= 0)
            throw new Xunit.Sdk.XunitException(
                $"{what}: wrote past its {Length}-element output, at offset {Length + after}, {after} past the end ({Describe(bits[Guarded.Band + Length + after])}).");
    }

    private static int FirstChanged(ReadOnlySpan<uint> band)
    {
        for (int i = 0; i < band.Length; i++)
            if (band[i] != Guarded.SentinelBits) return i;
        return -1;
    }

    private static string Describe(uint bits) =>
        typeof(T) == typeof(float) ? $"{BitConverter.UInt32BitsToSingle(bits):G9}, bits 0x{bits:X8}" : $"{(int)bits}, bits 0x{bits:X8}";

    public static implicit operator Span<T>(Guarded<T> g) => g.Span;

    public static implicit operator ReadOnlySpan<T>(Guarded<T> g) => g.Span;
}
