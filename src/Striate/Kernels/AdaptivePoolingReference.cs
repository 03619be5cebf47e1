namespace Striate.Kernels;

/// <summary>
/// Plain twins of <see cref="AdaptivePooling"/>: each output cell's bounds are computed with floating-point
/// floor/ceil, independently of the integer arithmetic the fast kernel uses.
/// </summary>
public static class AdaptivePoolingReference
{
    private static int Start(int i, int input, int output) => (int)Math.Floor((double)i * input / output);
    private static int End(int i, int input, int output) => (int)Math.Ceiling((double)(i + 1) * input / output);

    public static void AvgForward(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> input, Span<float> output)
    {
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                {
                    double sum = 0;
                    int count = 0;
                    for (int h = Start(oh, inH, outH); h < End(oh, inH, outH); h++)
                        for (int w = Start(ow, inW, outW); w < End(ow, inW, outW); w++) { sum += input[(p * inH + h) * inW + w]; count++; }
                    output[(p * outH + oh) * outW + ow] = (float)(sum / count);
                }
    }

    public static void AvgBackward(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        gradInput.Clear();
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                {
                    int h0 = Start(oh, inH, outH), h1 = End(oh, inH, outH), w0 = Start(ow, inW, outW), w1 = End(ow, inW, outW);
                    float share = gradOutput[(p * outH + oh) * outW + ow] / ((h1 - h0) * (w1 - w0));
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++) gradInput[(p * inH + h) * inW + w] += share;
                }
    }

    public static void MaxForward(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<float> input, Span<float> output, Span<int> indices)
    {
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                {
                    float max = 0;
                    int best = -1;
                    for (int h = Start(oh, inH, outH); h < End(oh, inH, outH); h++)
                        for (int w = Start(ow, inW, outW); w < End(ow, inW, outW); w++)
                        {
                            float v = input[(p * inH + h) * inW + w];
                            if (best < 0 || v > max || float.IsNaN(v)) { max = v; best = h * inW + w; }
                        }
                    output[(p * outH + oh) * outW + ow] = max;
                    indices[(p * outH + oh) * outW + ow] = best;
                }
    }
}
