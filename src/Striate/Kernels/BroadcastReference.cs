namespace Striate.Kernels;

/// <summary>
/// The plain spec of <see cref="Broadcast"/>: one output element at a time, its operands found by full index
/// arithmetic; reductions accumulate in double.
/// </summary>
public static class BroadcastReference
{
    /// <summary>z = x ∘ y with broadcasting (as <see cref="Broadcast.Binary"/>).</summary>
    public static void Binary(BinaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<int> xStrides, ReadOnlySpan<float> y, ReadOnlySpan<int> yStrides,
        ReadOnlySpan<int> outShape, Span<float> z)
    {
        for (int i = 0; i < z.Length; i++)
            z[i] = Broadcast.Apply(op, x[Offset(i, outShape, xStrides)], y[Offset(i, outShape, yStrides)]);
    }

    /// <summary>target += Σ grad over broadcast dimensions (as <see cref="Broadcast.SumTo"/>), in double.</summary>
    public static void SumTo(ReadOnlySpan<float> grad, ReadOnlySpan<int> outShape, Span<float> target, ReadOnlySpan<int> targetStrides)
    {
        var sums = new double[target.Length];
        for (int i = 0; i < grad.Length; i++) sums[Offset(i, outShape, targetStrides)] += grad[i];
        for (int j = 0; j < target.Length; j++) target[j] += (float)sums[j];
    }

    // Where output element `flat` reads the operand with these strides.
    private static int Offset(int flat, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
    {
        int offset = 0;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            offset += flat % shape[d] * strides[d];
            flat /= shape[d];
        }
        return offset;
    }
}
