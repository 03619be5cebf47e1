using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Striate.Kernels;

/// <summary>
/// Local response normalization across channels (Krizhevsky et al. 2012, as torch.nn.LocalResponseNorm):
/// b_c = a_c / s_c^β with s_c = k + α/size · Σ_{c' = c − size/2}^{c + (size−1)/2} a_{c'}² (channels outside
/// [0, C) count as zero). Input [n, c, s] with s the spatial size; each channel plane is one vector operation,
/// and the window sum slides over channels (add the entering plane, subtract the leaving one).
/// </summary>
public static class LocalResponseNorm
{
    private static void ForwardSerial(int n, int c, int s, int size, float alpha, float beta, float k,
        ReadOnlySpan<float> input, Span<float> output, Span<float> scale)
    {
        // input, output, scale: [n, c, s]; window: [s] running Σ a²
        Check(n, c, s, size, input.Length, output.Length, scale.Length, nameof(Forward));
        float[] rented = ArrayPool<float>.Shared.Rent(s);
        var window = rented.AsSpan(0, s);
        int before = size / 2, after = (size - 1) / 2;
        float coef = alpha / size;
        for (int b = 0; b < n; b++)
        {
            var x = input.Slice(b * c * s, c * s);
            window.Clear();
            for (int ch = 0; ch <= Math.Min(after, c - 1); ch++) AddSquares(window, x.Slice(ch * s, s), 1f);
            for (int ch = 0; ch < c; ch++)
            {
                var sc = scale.Slice((b * c + ch) * s, s);
                Elementwise.ScaleShift(window, coef, k, sc);
                var y = output.Slice((b * c + ch) * s, s);
                PowNegative(sc, beta, y);
                SpanMath.Multiply(y, x.Slice(ch * s, s), y);
                int entering = ch + 1 + after, leaving = ch - before;
                if (entering < c) AddSquares(window, x.Slice(entering * s, s), 1f);
                if (leaving >= 0) AddSquares(window, x.Slice(leaving * s, s), -1f);
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    private static void BackwardSerial(int n, int c, int s, int size, float alpha, float beta,
        ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> scale, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        // input, output, scale, gradOutput, gradInput: [n, c, s]; t: [c, s] = g·b/s; window: [s]; power: [s]
        Check(n, c, s, size, input.Length, output.Length, scale.Length, nameof(Backward));
        if (gradOutput.Length != input.Length || gradInput.Length != input.Length)
            throw new ArgumentException($"LocalResponseNorm.Backward: gradients have {gradOutput.Length} and {gradInput.Length} elements, expected {input.Length}.");
        float[] rented = ArrayPool<float>.Shared.Rent(c * s + 2 * s);
        var t = rented.AsSpan(0, c * s);
        var window = rented.AsSpan(c * s, s);
        var power = rented.AsSpan(c * s + s, s);
        // Channel j's window reaches input channel i when i − (size−1)/2 ≤ j ≤ i + size/2.
        int before = (size - 1) / 2, after = size / 2;
        float coef = -2f * alpha * beta / size;
        for (int b = 0; b < n; b++)
        {
            int at = b * c * s;
            SpanMath.Multiply(gradOutput.Slice(at, c * s), output.Slice(at, c * s), t);
            SpanMath.Divide(t, scale.Slice(at, c * s), t);
            window.Clear();
            for (int ch = 0; ch <= Math.Min(after, c - 1); ch++) SpanMath.Add(window, t.Slice(ch * s, s), window);
            for (int ch = 0; ch < c; ch++)
            {
                int plane = at + ch * s;
                var gi = gradInput.Slice(plane, s);
                PowNegative(scale.Slice(plane, s), beta, power);
                SpanMath.Multiply(power, gradOutput.Slice(plane, s), power);
                // gi = coef·a·window + g·s^−β
                SpanMath.Multiply(input.Slice(plane, s), window, gi);
                SpanMath.MultiplyAdd(gi, coef, power, gi);
                int entering = ch + 1 + after, leaving = ch - before;
                if (entering < c) SpanMath.Add(window, t.Slice(entering * s, s), window);
                if (leaving >= 0) SpanMath.Subtract(window, t.Slice(leaving * s, s), window);
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>Writes <paramref name="output"/> and the denominators' base <paramref name="scale"/> = s_c (saved for backward); samples run in parallel.</summary>
    public static unsafe void Forward(int n, int c, int s, int size, float alpha, float beta, float k,
        ReadOnlySpan<float> input, Span<float> output, Span<float> scale)
    {
        Check(n, c, s, size, input.Length, output.Length, scale.Length, nameof(Forward));
        int sample = c * s;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        fixed (float* pScale = scale)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut, scaleAddr = (nint)pScale;
            PlaneParallel.For(n, 4L * n * sample, (b0, b1) =>
                ForwardSerial(b1 - b0, c, s, size, alpha, beta, k,
                    new ReadOnlySpan<float>((float*)inAddr + (long)b0 * sample, (b1 - b0) * sample),
                    new Span<float>((float*)outAddr + (long)b0 * sample, (b1 - b0) * sample),
                    new Span<float>((float*)scaleAddr + (long)b0 * sample, (b1 - b0) * sample)));
        }
    }

    /// <summary>∂L/∂a_i = g_i·s_i^−β − (2αβ/size)·a_i·Σ_{j : i ∈ window(j)} g_j·b_j/s_j; samples run in parallel.</summary>
    public static unsafe void Backward(int n, int c, int s, int size, float alpha, float beta,
        ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> scale, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        Check(n, c, s, size, input.Length, output.Length, scale.Length, nameof(Backward));
        if (gradOutput.Length != input.Length || gradInput.Length != input.Length)
            throw new ArgumentException($"LocalResponseNorm.Backward: gradients have {gradOutput.Length} and {gradInput.Length} elements, expected {input.Length}.");
        int sample = c * s;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        fixed (float* pScale = scale)
        fixed (float* pGo = gradOutput)
        fixed (float* pGi = gradInput)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut, scaleAddr = (nint)pScale, goAddr = (nint)pGo, giAddr = (nint)pGi;
            PlaneParallel.For(n, 6L * n * sample, (b0, b1) =>
            {
                long at = (long)b0 * sample;
                int len = (b1 - b0) * sample;
                BackwardSerial(b1 - b0, c, s, size, alpha, beta,
                    new ReadOnlySpan<float>((float*)inAddr + at, len), new ReadOnlySpan<float>((float*)outAddr + at, len),
                    new ReadOnlySpan<float>((float*)scaleAddr + at, len), new ReadOnlySpan<float>((float*)goAddr + at, len),
                    new Span<float>((float*)giAddr + at, len));
            });
        }
    }

    /// <summary>
    /// y = x^−β for x &gt; 0. The usual exponents (0.75 from AlexNet, 0.5) use square roots, several times faster
    /// than the general exp/log power.
    /// </summary>
    internal static void PowNegative(ReadOnlySpan<float> x, float beta, Span<float> y)
    {
        if (beta != 0.75f && beta != 0.5f)
        {
            SpanMath.Pow(x, -beta, y);
            return;
        }
        bool threeQuarters = beta == 0.75f;
        int i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var r = Vector.SquareRoot(Vector.LoadUnsafe(ref px, (nuint)i));
            if (threeQuarters) r *= Vector.SquareRoot(r); // x^0.5 · x^0.25
            (Vector<float>.One / r).StoreUnsafe(ref py, (nuint)i);
        }
        for (; i < x.Length; i++)
        {
            float r = MathF.Sqrt(x[i]);
            if (threeQuarters) r *= MathF.Sqrt(r);
            y[i] = 1f / r;
        }
    }

    // window += sign·x²
    private static void AddSquares(Span<float> window, ReadOnlySpan<float> x, float sign)
    {
        int i = 0;
        ref float pw = ref MemoryMarshal.GetReference(window);
        ref float px = ref MemoryMarshal.GetReference(x);
        var vs = new Vector<float>(sign);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var v = Vector.LoadUnsafe(ref px, (nuint)i);
            (Vector.LoadUnsafe(ref pw, (nuint)i) + vs * v * v).StoreUnsafe(ref pw, (nuint)i);
        }
        for (; i < x.Length; i++) window[i] += sign * x[i] * x[i];
    }

    private static void Check(int n, int c, int s, int size, int inputLength, int outputLength, int scaleLength, string op)
    {
        if (size < 1) throw new ArgumentException($"LocalResponseNorm.{op}: size must be at least 1, got {size}.");
        int total = n * c * s;
        if (inputLength != total || outputLength != total || scaleLength != total)
            throw new ArgumentException($"LocalResponseNorm.{op}: got {inputLength}, {outputLength}, {scaleLength} elements, expected {total} for [{n}, {c}, {s}].");
    }
}
