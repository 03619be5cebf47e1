using Striate.Autograd;
using Striate.Functional;

namespace Striate.Insight;

/// <summary>
/// Draws a coarse saliency map (Grad-CAM, an activation) over the image it explains: the map is upsampled bilinearly
/// to the image size, normalized to [0, 1] by its min/max, coloured with a turbo-like colormap (dark blue → cyan →
/// green → yellow → red) and alpha-blended over the image (gray images shown as gray RGB).
/// Shapes: image CHW [channels · h · w] with values in [0, 1] (un-normalize first); map [mh, mw] → RGB bytes [h · w · 3].
/// </summary>
public static class HeatMapRendering
{
    // Colormap stops (value, R, G, B): chosen by eye to run dark blue → blue → cyan → green → yellow → orange → dark
    // red with rising lightness in the middle, in the spirit of turbo/jet without their exact tables.
    private static readonly (float At, float R, float G, float B)[] Stops =
    [
        (0.00f, 48, 18, 80), (0.15f, 60, 100, 230), (0.32f, 30, 200, 220), (0.50f, 90, 240, 110),
        (0.68f, 225, 225, 45), (0.84f, 245, 120, 30), (1.00f, 150, 10, 10),
    ];

    /// <summary>The colormap at <paramref name="value"/> (clamped to [0, 1]).</summary>
    public static (byte R, byte G, byte B) Colormap(float value)
    {
        float v = float.IsFinite(value) ? Math.Clamp(value, 0f, 1f) : 0f;
        int i = 1;
        while (i < Stops.Length - 1 && v > Stops[i].At) i++;
        var (a, b) = (Stops[i - 1], Stops[i]);
        float t = (v - a.At) / (b.At - a.At);
        return ((byte)MathF.Round(a.R + (b.R - a.R) * t), (byte)MathF.Round(a.G + (b.G - a.G) * t), (byte)MathF.Round(a.B + (b.B - a.B) * t));
    }

    /// <summary>
    /// The heat map over the image: out = (1 − α)·image + α·colormap(normalized map). <paramref name="alpha"/> = 1 shows
    /// the colormap alone, 0 the image alone. A constant map is drawn as the coldest colour.
    /// </summary>
    public static byte[] Overlay(ReadOnlySpan<float> imageChw, int channels, int h, int w, Tensor map, double alpha = 0.5)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"HeatMapRendering: image must have 1 or 3 channels, got {channels}.", nameof(channels));
        if (h <= 0 || w <= 0 || imageChw.Length < channels * h * w)
            throw new ArgumentException($"HeatMapRendering: image of {imageChw.Length} values cannot be {channels}×{h}×{w}.", nameof(imageChw));
        if (map.Rank != 2) throw new ArgumentException($"HeatMapRendering: map must be 2-D [mh, mw], got shape {Tensor.FormatShape(map.Shape)}.", nameof(map));
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentException($"HeatMapRendering: alpha must be in [0, 1], got {alpha}.", nameof(alpha));

        float[] up;
        using (GradMode.NoGrad())
            up = F.InterpolateBilinear(map.Detach().Reshape(1, 1, map.Size(0), map.Size(1)), h, w).ToArray();
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (float x in up) if (float.IsFinite(x)) { if (x < lo) lo = x; if (x > hi) hi = x; }
        float inv = hi > lo ? 1f / (hi - lo) : 0f;

        int plane = h * w;
        var rgb = new byte[plane * 3];
        float a = (float)alpha;
        for (int p = 0; p < plane; p++)
        {
            var colour = Colormap(float.IsFinite(up[p]) ? (up[p] - lo) * inv : 0f);
            for (int c = 0; c < 3; c++)
            {
                float pixel = Math.Clamp(imageChw[(channels == 3 ? c * plane : 0) + p], 0f, 1f) * 255f;
                float heat = c == 0 ? colour.R : c == 1 ? colour.G : colour.B;
                rgb[p * 3 + c] = (byte)Math.Clamp((int)MathF.Round((1 - a) * pixel + a * heat), 0, 255);
            }
        }
        return rgb;
    }
}
