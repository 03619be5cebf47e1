using System.Numerics;
using System.Runtime.InteropServices;

namespace Striate.Kernels;

/// <summary>
/// Hardtanh, y = min(max(x, minVal), maxVal), and its gradient; ReLU6 (Howard et al. 2017, MobileNets;
/// Sandler et al. 2018, MobileNetV2) is hardtanh with minVal = 0, maxVal = 6. NaN propagates, as torch.clamp.
/// </summary>
public static class Hardtanh
{
    /// <summary>y = clamp(x, minVal, maxVal); NaN stays NaN.</summary>
    public static void Forward(ReadOnlySpan<float> x, float minVal, float maxVal, Span<float> y)
    {
        Check(x.Length, y.Length, nameof(Forward));
        int i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        var lo = new Vector<float>(minVal);
        var hi = new Vector<float>(maxVal);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = Vector.LoadUnsafe(ref px, (nuint)i);
            // NaN fails both comparisons, so it passes through unchanged.
            v = Vector.ConditionalSelect(Vector.LessThan(v, lo), lo, v);
            Vector.ConditionalSelect(Vector.GreaterThan(v, hi), hi, v).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            y[i] = v < minVal ? minVal : v > maxVal ? maxVal : v;
        }
    }

    /// <summary>
    /// dx = dy where minVal &lt; x &lt; maxVal, else 0 — PyTorch's hardtanh_backward: the gradient is zero at the
    /// boundaries themselves (x = minVal or x = maxVal), and passes through for NaN inputs.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, float minVal, float maxVal, Span<float> dx)
    {
        Check(x.Length, dy.Length, nameof(Backward));
        Check(x.Length, dx.Length, nameof(Backward));
        int i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pg = ref MemoryMarshal.GetReference(dy);
        ref float pd = ref MemoryMarshal.GetReference(dx);
        var lo = new Vector<float>(minVal);
        var hi = new Vector<float>(maxVal);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = Vector.LoadUnsafe(ref px, (nuint)i);
            var clipped = Vector.BitwiseOr(Vector.LessThanOrEqual(v, lo), Vector.GreaterThanOrEqual(v, hi));
            Vector.ConditionalSelect(clipped, Vector<float>.Zero, Vector.LoadUnsafe(ref pg, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            dx[i] = v <= minVal || v >= maxVal ? 0f : dy[i];
        }
    }

    private static void Check(int a, int b, string op)
    {
        if (a != b) throw new ArgumentException($"Hardtanh.{op}: spans have {a} and {b} elements; they must match.");
    }
}
