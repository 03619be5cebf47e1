namespace Striate.Data.Transforms;

/// <summary>
/// Antialiased bilinear resampling of a box of a CHW image, as PIL's Image.resize(BILINEAR) and torchvision's
/// F.resize(antialias=True): a triangle filter widened by the scale when shrinking (support = max(in/out, 1)),
/// weights normalised per output pixel, pixel centres at +0.5 (align_corners = false), samples outside the box not used
/// (PIL crops first). Separable: rows, then columns. Upscaling uses the plain triangle, i.e. ordinary bilinear.
/// Shapes: source [C, H, W], box [top, left, boxH, boxW] inside it → destination [C, outH, outW].
/// </summary>
internal static class Resampling
{
    [ThreadStatic] private static float[]? _rows; // [C, boxH, outW] between the two passes

    public static void Bilinear(ReadOnlySpan<float> src, int channels, int height, int width, int top, int left, int boxH, int boxW,
        Span<float> dst, int outH, int outW)
    {
        if (top < 0 || left < 0 || boxH <= 0 || boxW <= 0 || top + boxH > height || left + boxW > width)
            throw new ArgumentException($"Resampling: box {boxH}×{boxW} at ({top}, {left}) is not inside the {height}×{width} image.");
        var (xStart, xCount, xWeights, xTaps) = Coefficients(boxW, outW);
        var (yStart, yCount, yWeights, yTaps) = Coefficients(boxH, outH);
        int tmpLength = channels * boxH * outW;
        if (_rows is null || _rows.Length < tmpLength) _rows = new float[tmpLength];
        var tmp = _rows.AsSpan(0, tmpLength);
        // Rows: tmp[c, y, x'] = Σ_k w_x'[k] · src[c, top + y, left + xStart[x'] + k]
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < boxH; y++)
            {
                var row = src.Slice((c * height + top + y) * width + left, boxW);
                var outRow = tmp.Slice((c * boxH + y) * outW, outW);
                for (int x = 0; x < outW; x++)
                {
                    float sum = 0;
                    var w = xWeights.AsSpan(x * xTaps, xCount[x]);
                    var s = row.Slice(xStart[x], xCount[x]);
                    for (int k = 0; k < w.Length; k++) sum += w[k] * s[k];
                    outRow[x] = sum;
                }
            }
        // Columns: dst[c, y', x] = Σ_k w_y'[k] · tmp[c, yStart[y'] + k, x]
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < outH; y++)
            {
                var outRow = dst.Slice((c * outH + y) * outW, outW);
                outRow.Clear();
                for (int k = 0; k < yCount[y]; k++)
                {
                    float w = yWeights[y * yTaps + k];
                    var s = tmp.Slice((c * boxH + yStart[y] + k) * outW, outW);
                    for (int x = 0; x < outW; x++) outRow[x] += w * s[x];
                }
            }
    }

    /// <summary>For each output index: the first input index, the tap count and the normalised triangle weights (PIL's precompute_coeffs).</summary>
    private static (int[] Start, int[] Count, float[] Weights, int Taps) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filterScale; // the triangle's support is 1, widened by the scale when shrinking
        int taps = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new float[outSize * taps];
        Span<double> w = stackalloc double[taps];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int lo = Math.Max((int)(center - support + 0.5), 0);
            int hi = Math.Min((int)(center + support + 0.5), inSize);
            int n = Math.Min(hi - lo, taps);
            double total = 0;
            for (int k = 0; k < n; k++)
            {
                double t = Math.Abs((k + lo - center + 0.5) / filterScale);
                w[k] = t < 1 ? 1 - t : 0;
                total += w[k];
            }
            for (int k = 0; k < n; k++) weights[i * taps + k] = (float)(total == 0 ? 0 : w[k] / total);
            (start[i], count[i]) = (lo, n);
        }
        return (start, count, weights, taps);
    }
}
