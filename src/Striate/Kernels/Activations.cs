using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Element-wise activations and their gradients. Forwards use SpanMath; backwards are hand-written
/// Vector&lt;float&gt; loops so each is one pass with no scratch buffer.
/// </summary>
public static class Activations
{
    /// <summary>y = max(x, 0). NaN stays NaN, as torch.relu.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x.Length, y.Length, nameof(Relu));
        // SpanMath.Max follows IEEE 754-2019 maximum: NaN propagates, and max(−0, +0) = +0.
        SpanMath.Max(x, 0f, y);
    }

    /// <summary>dx = dy where y &gt; 0, else 0 (PyTorch's threshold_backward on the output).</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) => LeakyReluBackward(y, dy, 0f, dx);

    /// <summary>y = x for x &gt; 0, else slope·x.</summary>
    public static void LeakyRelu(ReadOnlySpan<float> x, float negativeSlope, Span<float> y)
    {
        Check(x.Length, y.Length, nameof(LeakyRelu));
        int i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        var slope = new Vector<float>(negativeSlope);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = Vector.LoadUnsafe(ref px, (nuint)i);
            // NaN fails "> 0" and NaN·slope is NaN, so NaN propagates.
            Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, v * slope).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < x.Length; i++) { float v = x[i]; y[i] = v > 0 ? v : v * negativeSlope; }
    }

    /// <summary>
    /// dx = dy where the forward's input (or output: same sign) &gt; 0, else slope·dy.
    /// </summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, float negativeSlope, Span<float> dx)
    {
        Check(x.Length, dy.Length, nameof(LeakyReluBackward));
        Check(x.Length, dx.Length, nameof(LeakyReluBackward));
        int i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pg = ref MemoryMarshal.GetReference(dy);
        ref float pd = ref MemoryMarshal.GetReference(dx);
        var slope = new Vector<float>(negativeSlope);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var g = Vector.LoadUnsafe(ref pg, (nuint)i);
            Vector.ConditionalSelect(Vector.GreaterThan(Vector.LoadUnsafe(ref px, (nuint)i), Vector<float>.Zero), g, g * slope).StoreUnsafe(ref pd, (nuint)i);
        }
        for (; i < x.Length; i++) dx[i] = x[i] > 0 ? dy[i] : dy[i] * negativeSlope;
    }

    /// <summary>y = 1/(1 + e^−x).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x.Length, y.Length, nameof(Sigmoid));
        SpanMath.Sigmoid(x, y);
    }

    /// <summary>dx = dy·y·(1 − y) from the forward's output y.</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Check(y.Length, dy.Length, nameof(SigmoidBackward));
        Check(y.Length, dx.Length, nameof(SigmoidBackward));
        int i = 0;
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pg = ref MemoryMarshal.GetReference(dy);
        ref float pd = ref MemoryMarshal.GetReference(dx);
        for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = Vector.LoadUnsafe(ref py, (nuint)i);
            (Vector.LoadUnsafe(ref pg, (nuint)i) * v * (Vector<float>.One - v)).StoreUnsafe(ref pd, (nuint)i);
        }
        for (; i < y.Length; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
    }

    /// <summary>y = tanh(x).</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        Check(x.Length, y.Length, nameof(Tanh));
        SpanMath.Tanh(x, y);
    }

    /// <summary>dx = dy·(1 − y²) from the forward's output y.</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Check(y.Length, dy.Length, nameof(TanhBackward));
        Check(y.Length, dx.Length, nameof(TanhBackward));
        int i = 0;
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pg = ref MemoryMarshal.GetReference(dy);
        ref float pd = ref MemoryMarshal.GetReference(dx);
        for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = Vector.LoadUnsafe(ref py, (nuint)i);
            (Vector.LoadUnsafe(ref pg, (nuint)i) * (Vector<float>.One - v * v)).StoreUnsafe(ref pd, (nuint)i);
        }
        for (; i < y.Length; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Check(int a, int b, string op)
    {
        if (a != b) throw new ArgumentException($"Activations.{op}: spans have {a} and {b} elements; they must match.");
    }
}
