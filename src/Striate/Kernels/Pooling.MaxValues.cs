using System.Buffers;
using System.Numerics;

namespace Striate.Kernels;

public static partial class Pooling
{
    /// <summary>
    /// Max pooling when no indices are wanted (inference): the separable scan of <see cref="MaxPlanes"/> without
    /// tracking which row or column won, so both passes are plain vector maxima — over the window's rows for all
    /// columns at once, then, for stride 1, over the window's columns for a vector of outputs at once (the 3×3/1
    /// pools of GoogLeNet's inception branches). The result is PyTorch's: the maximum, or NaN when the window holds one.
    /// </summary>
    private static unsafe void MaxPlanesValues(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, int p0, int p1)
    {
        int inW = g.InW, outW = g.OutW, kW = g.KernelW, sW = g.StrideW, pW = g.PadW, inPlane = g.InPlane, outPlane = g.OutPlane;
        if ((long)p1 * inPlane > input.Length || (long)p1 * outPlane > output.Length)
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        int n = Vector<float>.Count;
        // Outputs whose whole window lies inside the row (no clamping), for the vectorized stride-1 pass.
        int owLo = Math.Min(outW, (pW + sW - 1) / sW), owHi = Math.Max(owLo, Math.Min(outW, (inW + pW - kW) / sW + 1));
        float[] rented = ArrayPool<float>.Shared.Rent(inW);
        fixed (float* pIn = input, pOut = output, col = rented)
        {
            for (int p = p0; p < p1; p++)
            {
                float* plane = pIn + (long)p * inPlane;
                float* o = pOut + (long)p * outPlane;
                for (int oh = 0; oh < g.OutH; oh++, o += outW)
                {
                    int h0 = oh * g.StrideH - g.PadH;
                    int h1 = Math.Min(h0 + g.KernelH, g.InH);
                    h0 = Math.Max(h0, 0);
                    // col[w] = max over the window's rows of plane[h, w]
                    new ReadOnlySpan<float>(plane + (long)h0 * inW, inW).CopyTo(new Span<float>(col, inW));
                    for (int h = h0 + 1; h < h1; h++)
                    {
                        float* row = plane + (long)h * inW;
                        int w = 0;
                        for (; w <= inW - n; w += n) Vector.Store(MaxOrNaN(Vector.Load(row + w), Vector.Load(col + w)), col + w);
                        for (; w < inW; w++) col[w] = MaxOrNaN(row[w], col[w]);
                    }
                    int ow = 0;
                    if (sW == 1)
                    {
                        for (; ow < owLo; ow++) o[ow] = WindowMax(col, ow, sW, pW, kW, inW);
                        for (; ow <= owHi - n; ow += n)
                        {
                            float* c = col + ow - pW;
                            var m = Vector.Load(c);
                            for (int j = 1; j < kW; j++) m = MaxOrNaN(Vector.Load(c + j), m);
                            Vector.Store(m, o + ow);
                        }
                    }
                    for (; ow < outW; ow++) o[ow] = WindowMax(col, ow, sW, pW, kW, inW);
                }
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>The maximum of col over output ow's window (clamped to the row), NaN when it holds one.</summary>
    private static unsafe float WindowMax(float* col, int ow, int sW, int pW, int kW, int inW)
    {
        int w0 = ow * sW - pW, w1 = Math.Min(w0 + kW, inW);
        w0 = Math.Max(w0, 0);
        float m = col[w0];
        for (int w = w0 + 1; w < w1; w++) m = MaxOrNaN(col[w], m);
        return m;
    }

    /// <summary>PyTorch's rule, take v when v &gt; max or v is NaN: so NaN, once taken, stays.</summary>
    private static float MaxOrNaN(float v, float max) => v > max || float.IsNaN(v) ? v : max;

    private static Vector<float> MaxOrNaN(Vector<float> v, Vector<float> max) =>
        Vector.ConditionalSelect(Vector.GreaterThan(v, max) | ~Vector.Equals(v, v), v, max);
}
