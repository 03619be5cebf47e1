using System.Numerics.Tensors;

namespace Striate.Kernels;

/// <summary>Element-wise arithmetic on spans (memory-bound; TensorPrimitives picks the widest vectors).</summary>
public static class Elementwise
{
    /// <summary>y += x.</summary>
    public static void AddInPlace(Span<float> y, ReadOnlySpan<float> x)
    {
        CheckSameLength(y.Length, x.Length, nameof(AddInPlace));
        TensorPrimitives.Add(y, x, y);
    }

    /// <summary>z = x + y.</summary>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
    {
        CheckSameLength(x.Length, y.Length, nameof(Add));
        CheckSameLength(x.Length, z.Length, nameof(Add));
        TensorPrimitives.Add(x, y, z);
    }

    /// <summary>y = alpha · x.</summary>
    public static void Scale(ReadOnlySpan<float> x, float alpha, Span<float> y)
    {
        CheckSameLength(x.Length, y.Length, nameof(Scale));
        TensorPrimitives.Multiply(x, alpha, y);
    }

    /// <summary>y += alpha · x.</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSameLength(y.Length, x.Length, nameof(Axpy));
        TensorPrimitives.MultiplyAdd(x, alpha, y, y);
    }

    internal static void CheckSameLength(int a, int b, string op)
    {
        if (a != b) throw new ArgumentException($"Elementwise.{op}: spans have {a} and {b} elements; they must match.");
    }
}
