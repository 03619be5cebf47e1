using System.Numerics;

namespace Striate.Kernels;

/// <summary>Element-wise arithmetic on spans (memory-bound; SpanMath picks the widest vectors).</summary>
public static class Elementwise
{
    /// <summary>y += x.</summary>
    public static void AddInPlace(Span<float> y, ReadOnlySpan<float> x)
    {
        CheckSameLength(y.Length, x.Length, nameof(AddInPlace));
        SpanMath.Add(y, x, y);
    }

    /// <summary>z = x + y.</summary>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
    {
        CheckSameLength(x.Length, y.Length, nameof(Add));
        CheckSameLength(x.Length, z.Length, nameof(Add));
        SpanMath.Add(x, y, z);
    }

    /// <summary>y = alpha · x.</summary>
    public static void Scale(ReadOnlySpan<float> x, float alpha, Span<float> y)
    {
        CheckSameLength(x.Length, y.Length, nameof(Scale));
        SpanMath.Multiply(x, alpha, y);
    }

    /// <summary>y += alpha · x.</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSameLength(y.Length, x.Length, nameof(Axpy));
        SpanMath.MultiplyAdd(x, alpha, y, y);
    }

    /// <summary>z = x · y (element-wise).</summary>
    public static void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
    {
        CheckSameLength(x.Length, y.Length, nameof(Multiply));
        CheckSameLength(x.Length, z.Length, nameof(Multiply));
        SpanMath.Multiply(x, y, z);
    }

    /// <summary>Σ x, accumulated in double over float blocks so long sums keep their precision.</summary>
    public static double Sum(ReadOnlySpan<float> x)
    {
        const int Block = 4096;
        double total = 0;
        for (int i = 0; i < x.Length; i += Block) total += SpanMath.Sum(x.Slice(i, Math.Min(Block, x.Length - i)));
        return total;
    }

    /// <summary>y = a · x + b with scalars a and b (one fused pass).</summary>
    public static void ScaleShift(ReadOnlySpan<float> x, float a, float b, Span<float> y)
    {
        CheckSameLength(x.Length, y.Length, nameof(ScaleShift));
        int i = 0;
        ref float px = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float py = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        var va = new Vector<float>(a);
        var vb = new Vector<float>(b);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            (Vector.LoadUnsafe(ref px, (nuint)i) * va + vb).StoreUnsafe(ref py, (nuint)i);
        for (; i < x.Length; i++) y[i] = a * x[i] + b;
    }

    internal static void CheckSameLength(int a, int b, string op)
    {
        if (a != b) throw new ArgumentException($"Elementwise.{op}: spans have {a} and {b} elements; they must match.");
    }
}
