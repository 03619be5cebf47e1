namespace Striate.Kernels;

/// <summary>The element-wise binary operations that broadcast (PyTorch's add, sub, mul, div).</summary>
public enum BinaryOp { Add, Subtract, Multiply, Divide }

/// <summary>
/// Element-wise binary ops with NumPy/PyTorch broadcasting on contiguous row-major data, and the reduction that takes a
/// gradient back to a broadcast operand's shape. An operand is described by its strides within the output shape
/// (0 along a dimension it is broadcast over; see <see cref="StridesWithin"/>). Dimensions are first coalesced
/// (size-1 dimensions dropped, neighbours that are contiguous in both operands merged), so the common cases —
/// same shapes, a per-channel [C, 1, 1] against [N, C, H, W], a scalar — become one long inner run handled by
/// SpanMath. The plain twin is <see cref="BroadcastReference"/>.
/// </summary>
public static class Broadcast
{
    /// <summary>
    /// The strides of a contiguous operand of <paramref name="shape"/> when it is broadcast to <paramref name="outShape"/>
    /// (shapes aligned at the right; 0 where the operand has size 1 or lacks the dimension). The shapes must be
    /// compatible (the caller checks and names them).
    /// </summary>
    public static int[] StridesWithin(ReadOnlySpan<int> shape, ReadOnlySpan<int> outShape)
    {
        var strides = new int[outShape.Length];
        int stride = 1, lead = outShape.Length - shape.Length;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[lead + d] = shape[d] == 1 ? 0 : stride;
            stride *= shape[d];
        }
        return strides;
    }

    /// <summary>z = x ∘ y with broadcasting. z: [outShape] contiguous; x, y read through their strides within outShape.</summary>
    public static void Binary(BinaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<int> xStrides, ReadOnlySpan<float> y, ReadOnlySpan<int> yStrides,
        ReadOnlySpan<int> outShape, Span<float> z)
    {
        int rank = outShape.Length;
        Span<int> dims = stackalloc int[Math.Max(rank, 1)], sx = stackalloc int[Math.Max(rank, 1)], sy = stackalloc int[Math.Max(rank, 1)];
        int n = Coalesce(outShape, xStrides, yStrides, dims, sx, sy);
        int inner = dims[n - 1];
        long total = (long)z.Length;
        if (total == 0) return;
        Span<int> index = stackalloc int[n];
        index.Clear();
        int ox = 0, oy = 0;
        for (int oz = 0; oz < total; oz += inner)
        {
            Run(op, x, ox, sx[n - 1], y, oy, sy[n - 1], z.Slice(oz, inner));
            for (int k = n - 2; k >= 0; k--)
            {
                ox += sx[k]; oy += sy[k];
                if (++index[k] < dims[k]) break;
                ox -= sx[k] * dims[k]; oy -= sy[k] * dims[k]; index[k] = 0;
            }
        }
    }

    /// <summary>
    /// target += Σ grad over the dimensions the target was broadcast along. grad: [outShape] contiguous; target read and
    /// written through <paramref name="targetStrides"/> (its strides within outShape). Sums in float per run, then adds.
    /// </summary>
    public static void SumTo(ReadOnlySpan<float> grad, ReadOnlySpan<int> outShape, Span<float> target, ReadOnlySpan<int> targetStrides)
    {
        int rank = outShape.Length;
        var contiguous = StridesWithin(outShape, outShape);
        Span<int> dims = stackalloc int[Math.Max(rank, 1)], sg = stackalloc int[Math.Max(rank, 1)], st = stackalloc int[Math.Max(rank, 1)];
        int n = Coalesce(outShape, contiguous, targetStrides, dims, sg, st);
        int inner = dims[n - 1];
        if (grad.Length == 0) return;
        Span<int> index = stackalloc int[n];
        index.Clear();
        int ot = 0;
        for (int og = 0; og < grad.Length; og += inner)
        {
            var run = grad.Slice(og, inner);
            if (st[n - 1] == 0) target[ot] += SpanMath.Sum(run);
            else SpanMath.Add(target.Slice(ot, inner), run, target.Slice(ot, inner));
            for (int k = n - 2; k >= 0; k--)
            {
                ot += st[k];
                if (++index[k] < dims[k]) break;
                ot -= st[k] * dims[k]; index[k] = 0;
            }
        }
    }

    // One inner run: each operand's stride there is 1 (contiguous) or 0 (one value repeated).
    private static void Run(BinaryOp op, ReadOnlySpan<float> x, int ox, int sx, ReadOnlySpan<float> y, int oy, int sy, Span<float> z)
    {
        int n = z.Length;
        if (sx != 0 && sy != 0)
        {
            var xs = x.Slice(ox, n); var ys = y.Slice(oy, n);
            switch (op)
            {
                case BinaryOp.Add: SpanMath.Add(xs, ys, z); break;
                case BinaryOp.Subtract: SpanMath.Subtract(xs, ys, z); break;
                case BinaryOp.Multiply: SpanMath.Multiply(xs, ys, z); break;
                default: SpanMath.Divide(xs, ys, z); break;
            }
        }
        else if (sx != 0)
        {
            var xs = x.Slice(ox, n); float b = y[oy];
            switch (op)
            {
                case BinaryOp.Add: SpanMath.Add(xs, b, z); break;
                case BinaryOp.Subtract: SpanMath.Subtract(xs, b, z); break;
                case BinaryOp.Multiply: SpanMath.Multiply(xs, b, z); break;
                default: SpanMath.Divide(xs, b, z); break;
            }
        }
        else if (sy != 0)
        {
            float a = x[ox]; var ys = y.Slice(oy, n);
            switch (op)
            {
                case BinaryOp.Add: SpanMath.Add(ys, a, z); break;
                case BinaryOp.Subtract: SpanMath.Subtract(a, ys, z); break;
                case BinaryOp.Multiply: SpanMath.Multiply(ys, a, z); break;
                default: SpanMath.Divide(a, ys, z); break;
            }
        }
        else z.Fill(Apply(op, x[ox], y[oy]));
    }

    internal static float Apply(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Subtract => a - b,
        BinaryOp.Multiply => a * b,
        _ => a / b,
    };

    /// <summary>
    /// Drops size-1 dimensions and merges a dimension into the one before it when both operands step through them as
    /// one (outer stride = inner stride · inner size, which also merges runs where both are broadcast). Returns the
    /// number of dimensions left (at least 1).
    /// </summary>
    private static int Coalesce(ReadOnlySpan<int> shape, ReadOnlySpan<int> sa, ReadOnlySpan<int> sb, Span<int> dims, Span<int> ca, Span<int> cb)
    {
        int n = 0;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (n > 0 && ca[n - 1] == sa[i] * shape[i] && cb[n - 1] == sb[i] * shape[i])
            {
                dims[n - 1] *= shape[i]; ca[n - 1] = sa[i]; cb[n - 1] = sb[i];
            }
            else { dims[n] = shape[i]; ca[n] = sa[i]; cb[n] = sb[i]; n++; }
        }
        if (n == 0) { dims[0] = 1; ca[0] = 0; cb[0] = 0; n = 1; }
        return n;
    }
}
