namespace Striate.Kernels;

/// <summary>
/// Plain reference twins of <see cref="Pooling"/>: every window tap is visited, and taps in the padding are
/// skipped one by one. The spec the fast kernels are tested against.
/// </summary>
public static class PoolingReference
{
    public static void MaxPool2dForward(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, Span<int> indices)
    {
        for (int p = 0; p < g.Planes; p++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    float max = float.NegativeInfinity;
                    int best = -1;
                    for (int kh = 0; kh < g.KernelH; kh++)
                        for (int kw = 0; kw < g.KernelW; kw++)
                        {
                            int h = oh * g.StrideH - g.PadH + kh, w = ow * g.StrideW - g.PadW + kw;
                            if (h < 0 || h >= g.InH || w < 0 || w >= g.InW) continue;
                            float v = input[p * g.InPlane + h * g.InW + w];
                            if (best < 0 || v > max || float.IsNaN(v)) { max = v; best = h * g.InW + w; }
                        }
                    int o = p * g.OutPlane + oh * g.OutW + ow;
                    output[o] = max;
                    indices[o] = best;
                }
    }

    public static void MaxPool2dBackward(int planes, int inPlane, int outPlane, ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> indices, Span<float> gradInput)
    {
        gradInput.Clear();
        for (int p = 0; p < planes; p++)
            for (int o = 0; o < outPlane; o++)
                gradInput[p * inPlane + indices[p * outPlane + o]] += gradOutput[p * outPlane + o];
    }

    public static void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> input, Span<float> output)
    {
        for (int p = 0; p < g.Planes; p++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    float sum = 0;
                    int divisor = Divisor(g, oh, ow, countIncludePad, divisorOverride);
                    for (int kh = 0; kh < g.KernelH; kh++)
                        for (int kw = 0; kw < g.KernelW; kw++)
                        {
                            int h = oh * g.StrideH - g.PadH + kh, w = ow * g.StrideW - g.PadW + kw;
                            if (h < 0 || h >= g.InH || w < 0 || w >= g.InW) continue;
                            sum += input[p * g.InPlane + h * g.InW + w];
                        }
                    output[p * g.OutPlane + oh * g.OutW + ow] = sum / divisor;
                }
    }

    public static void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, int divisorOverride, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        gradInput.Clear();
        for (int p = 0; p < g.Planes; p++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    float share = gradOutput[p * g.OutPlane + oh * g.OutW + ow] / Divisor(g, oh, ow, countIncludePad, divisorOverride);
                    for (int kh = 0; kh < g.KernelH; kh++)
                        for (int kw = 0; kw < g.KernelW; kw++)
                        {
                            int h = oh * g.StrideH - g.PadH + kh, w = ow * g.StrideW - g.PadW + kw;
                            if (h < 0 || h >= g.InH || w < 0 || w >= g.InW) continue;
                            gradInput[p * g.InPlane + h * g.InW + w] += share;
                        }
                }
    }

    // Count the taps one by one: in the padded input (taps at index < InH + PadH) or in the input itself.
    private static int Divisor(in Pool2dGeometry g, int oh, int ow, bool countIncludePad, int divisorOverride)
    {
        if (divisorOverride != 0) return divisorOverride;
        int count = 0;
        for (int kh = 0; kh < g.KernelH; kh++)
            for (int kw = 0; kw < g.KernelW; kw++)
            {
                int h = oh * g.StrideH - g.PadH + kh, w = ow * g.StrideW - g.PadW + kw;
                bool inPadded = h < g.InH + g.PadH && w < g.InW + g.PadW;
                bool inInput = h >= 0 && h < g.InH && w >= 0 && w < g.InW;
                if (countIncludePad ? inPadded : inInput) count++;
            }
        return count;
    }
}
