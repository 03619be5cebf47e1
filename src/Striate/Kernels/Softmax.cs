using System.Buffers;

namespace Striate.Kernels;

/// <summary>
/// Softmax and log-softmax along the middle dimension of an [outer, dim, inner] view (dim 1 of NCHW or
/// [N, C]). Numerically stable: the maximum along the dimension is subtracted before exponentiating. With
/// inner = 1 each row is contiguous and handled by whole-row vector operations; otherwise the work is done
/// plane by plane ([inner] vectors) with an [inner] running maximum and sum.
/// </summary>
public static class Softmax
{
    /// <summary>y = e^(x − max) / Σ e^(x − max).</summary>
    public static void Forward(int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y) => Run(outer, dim, inner, x, y, log: false);

    /// <summary>y = x − max − log Σ e^(x − max).</summary>
    public static void LogForward(int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y) => Run(outer, dim, inner, x, y, log: true);

    private static void Run(int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y, bool log)
    {
        // x, y: [outer, dim, inner]
        Check(outer, dim, inner, x.Length, y.Length, log ? nameof(LogForward) : nameof(Forward));
        if (dim == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var row = x.Slice(o * dim, dim);
                var dst = y.Slice(o * dim, dim);
                float max = SpanMath.Max(row);
                SpanMath.Subtract(row, max, dst);
                SpanMath.Exp(dst, dst);
                float sum = SpanMath.Sum(dst);
                if (log)
                {
                    // (x − max) − log Σ, recomputed from the input rather than taking the log of small probabilities;
                    // subtracting max first keeps large logits exact (max + log Σ would round at |x| ~ 1000).
                    SpanMath.Subtract(row, max, dst);
                    SpanMath.Subtract(dst, MathF.Log(sum), dst);
                }
                else SpanMath.Divide(dst, sum, dst);
            }
            return;
        }
        // max, sum: [inner]
        float[] rented = ArrayPool<float>.Shared.Rent(2 * inner);
        var maxPlane = rented.AsSpan(0, inner);
        var sumPlane = rented.AsSpan(inner, inner);
        for (int o = 0; o < outer; o++)
        {
            var xs = x.Slice(o * dim * inner, dim * inner);
            var ys = y.Slice(o * dim * inner, dim * inner);
            xs.Slice(0, inner).CopyTo(maxPlane);
            for (int c = 1; c < dim; c++) SpanMath.Max(maxPlane, xs.Slice(c * inner, inner), maxPlane);
            sumPlane.Clear();
            for (int c = 0; c < dim; c++)
            {
                var yc = ys.Slice(c * inner, inner);
                SpanMath.Subtract(xs.Slice(c * inner, inner), maxPlane, yc);
                if (log)
                {
                    // Keep x − max in y; accumulate e^(x − max) into the sum.
                    for (int i = 0; i < inner; i++) sumPlane[i] += MathF.Exp(yc[i]);
                }
                else
                {
                    SpanMath.Exp(yc, yc);
                    SpanMath.Add(sumPlane, yc, sumPlane);
                }
            }
            if (log)
            {
                SpanMath.Log(sumPlane, sumPlane);
                for (int c = 0; c < dim; c++) SpanMath.Subtract(ys.Slice(c * inner, inner), sumPlane, ys.Slice(c * inner, inner));
            }
            else
            {
                SpanMath.Reciprocal(sumPlane, sumPlane);
                for (int c = 0; c < dim; c++) SpanMath.Multiply(ys.Slice(c * inner, inner), sumPlane, ys.Slice(c * inner, inner));
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>Softmax backward from its output y: dx = y·(dy − Σ dy·y).</summary>
    public static void Backward(int outer, int dim, int inner, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        // y, dy, dx: [outer, dim, inner]; dot: [inner]
        Check(outer, dim, inner, y.Length, dx.Length, nameof(Backward));
        Check(outer, dim, inner, dy.Length, dx.Length, nameof(Backward));
        if (dim == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var yr = y.Slice(o * dim, dim);
                var gx = dx.Slice(o * dim, dim);
                float dot = SpanMath.Dot(dy.Slice(o * dim, dim), yr);
                SpanMath.Subtract(dy.Slice(o * dim, dim), dot, gx);
                SpanMath.Multiply(gx, yr, gx);
            }
            return;
        }
        float[] rented = ArrayPool<float>.Shared.Rent(inner);
        var dotPlane = rented.AsSpan(0, inner);
        for (int o = 0; o < outer; o++)
        {
            int at = o * dim * inner;
            dotPlane.Clear();
            for (int c = 0; c < dim; c++)
                SpanMath.MultiplyAdd(dy.Slice(at + c * inner, inner), y.Slice(at + c * inner, inner), dotPlane, dotPlane);
            for (int c = 0; c < dim; c++)
            {
                var gx = dx.Slice(at + c * inner, inner);
                SpanMath.Subtract(dy.Slice(at + c * inner, inner), dotPlane, gx);
                SpanMath.Multiply(gx, y.Slice(at + c * inner, inner), gx);
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>Log-softmax backward from its output y: dx = dy − e^y·Σ dy.</summary>
    public static void LogBackward(int outer, int dim, int inner, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        // y, dy, dx: [outer, dim, inner]; sum: [inner]
        Check(outer, dim, inner, y.Length, dx.Length, nameof(LogBackward));
        Check(outer, dim, inner, dy.Length, dx.Length, nameof(LogBackward));
        if (dim == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var gx = dx.Slice(o * dim, dim);
                var g = dy.Slice(o * dim, dim);
                float sum = SpanMath.Sum(g);
                SpanMath.Exp(y.Slice(o * dim, dim), gx);
                SpanMath.MultiplyAdd(gx, -sum, g, gx);
            }
            return;
        }
        float[] rented = ArrayPool<float>.Shared.Rent(inner);
        var sumPlane = rented.AsSpan(0, inner);
        for (int o = 0; o < outer; o++)
        {
            int at = o * dim * inner;
            dy.Slice(at, inner).CopyTo(sumPlane);
            for (int c = 1; c < dim; c++) SpanMath.Add(sumPlane, dy.Slice(at + c * inner, inner), sumPlane);
            for (int c = 0; c < dim; c++)
            {
                var gx = dx.Slice(at + c * inner, inner);
                SpanMath.Exp(y.Slice(at + c * inner, inner), gx);
                SpanMath.Multiply(gx, sumPlane, gx);
                SpanMath.Subtract(dy.Slice(at + c * inner, inner), gx, gx);
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    private static void Check(int outer, int dim, int inner, int xLength, int yLength, string op)
    {
        long total = (long)outer * dim * inner;
        if (xLength != total || yLength != total)
            throw new ArgumentException($"Softmax.{op}: spans have {xLength} and {yLength} elements, expected {total} for [{outer}, {dim}, {inner}].");
    }
}
