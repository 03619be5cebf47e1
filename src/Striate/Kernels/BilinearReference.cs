namespace Striate.Kernels;

/// <summary>Plain twin of <see cref="Bilinear"/>: the source coordinate of every output pixel computed on the spot, in double.</summary>
public static class BilinearReference
{
    private static (int I0, int I1, double W1) Source(int d, float scale, int input)
    {
        double src = Math.Max(0.0, scale * (d + 0.5) - 0.5);
        int i0 = Math.Min((int)Math.Floor(src), input - 1);
        return (i0, Math.Min(i0 + 1, input - 1), Math.Clamp(src - i0, 0.0, 1.0));
    }

    public static void Forward(int planes, int inH, int inW, int outH, int outW, float scaleH, float scaleW, ReadOnlySpan<float> input, Span<float> output)
    {
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                {
                    var (h0, h1, lh) = Source(oh, scaleH, inH);
                    var (w0, w1, lw) = Source(ow, scaleW, inW);
                    double v = (1 - lh) * ((1 - lw) * input[(p * inH + h0) * inW + w0] + lw * input[(p * inH + h0) * inW + w1])
                             + lh * ((1 - lw) * input[(p * inH + h1) * inW + w0] + lw * input[(p * inH + h1) * inW + w1]);
                    output[(p * outH + oh) * outW + ow] = (float)v;
                }
    }

    public static void Backward(int planes, int inH, int inW, int outH, int outW, float scaleH, float scaleW, ReadOnlySpan<float> gradOutput, Span<float> gradInput)
    {
        gradInput.Clear();
        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                {
                    var (h0, h1, lh) = Source(oh, scaleH, inH);
                    var (w0, w1, lw) = Source(ow, scaleW, inW);
                    double g = gradOutput[(p * outH + oh) * outW + ow];
                    gradInput[(p * inH + h0) * inW + w0] += (float)((1 - lh) * (1 - lw) * g);
                    gradInput[(p * inH + h0) * inW + w1] += (float)((1 - lh) * lw * g);
                    gradInput[(p * inH + h1) * inW + w0] += (float)(lh * (1 - lw) * g);
                    gradInput[(p * inH + h1) * inW + w1] += (float)(lh * lw * g);
                }
    }
}
