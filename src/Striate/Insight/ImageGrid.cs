using System.Globalization;

namespace Striate.Insight;

/// <summary>
/// One picture of a grid: a 2-D map (1 channel) or an RGB image/kernel (3 channels), CHW floats of any range.
/// Shapes: <see cref="Values"/> [Channels · Height · Width].
/// </summary>
public sealed record GridTile(float[] Values, int Channels, int Height, int Width, string? Label = null);

/// <summary>The tiles of a convolution's filters, the grid's column count (null: near-square) and the legend lines.</summary>
public sealed record FilterGrid(IReadOnlyList<GridTile> Tiles, int? Columns, IReadOnlyList<string> Legend);

/// <summary>
/// Renders sets of 2-D maps or RGB kernels as one grid picture: each tile normalized to [0, 1] by its own min/max
/// (an RGB tile by the min/max over its three channels, so its hues survive; a constant tile is mid-gray), magnified
/// by an integer nearest-neighbour factor to a readable size, 2 px white separators, and a legend drawn with
/// <see cref="BitmapFont"/> above the grid.
/// Shapes: conv weight [Cout, Cin, kH, kW]; feature maps [C, H, W] or [1, C, H, W].
/// </summary>
public static class ImageGrid
{
    public const int Separator = 2, Margin = 8;
    private static readonly (byte, byte, byte) White = (255, 255, 255), Ink = (20, 20, 20), LabelInk = (90, 90, 90);

    /// <summary>
    /// Lays out <paramref name="tiles"/> in rows of <paramref name="columns"/> (default: a near-square grid), each cell
    /// magnified so its longer side is about <paramref name="tileSize"/> pixels; legend lines go on top.
    /// </summary>
    public static RgbCanvas Render(IReadOnlyList<GridTile> tiles, IReadOnlyList<string> legend, int? columns = null, int tileSize = 48)
    {
        if (tiles.Count == 0) throw new ArgumentException("ImageGrid: nothing to draw (no tiles).", nameof(tiles));
        foreach (var t in tiles)
            if (t.Channels is not (1 or 3) || t.Height <= 0 || t.Width <= 0 || t.Values.Length < t.Channels * t.Height * t.Width)
                throw new ArgumentException($"ImageGrid: a tile must be 1 or 3 channels with positive size and enough values, got {t.Channels}×{t.Height}×{t.Width} with {t.Values.Length} values.", nameof(tiles));
        int cols = Math.Clamp(columns ?? (int)Math.Ceiling(Math.Sqrt(tiles.Count)), 1, tiles.Count);
        int rows = (tiles.Count + cols - 1) / cols;
        int th = tiles.Max(t => t.Height), tw = tiles.Max(t => t.Width);
        int scale = Math.Max(1, (int)Math.Round((double)tileSize / Math.Max(th, tw)));
        int cellW = tw * scale, cellH = th * scale;
        bool labels = tiles.Any(t => t.Label != null) && tiles.All(t => BitmapFont.MeasureWidth(t.Label ?? "") <= cellW + Separator);
        int labelH = labels ? BitmapFont.LineHeight : 0;
        int gridW = cols * cellW + (cols - 1) * Separator, gridH = rows * (cellH + labelH) + (rows - 1) * Separator;

        int legendW = legend.Count == 0 ? 0 : legend.Max(l => BitmapFont.MeasureWidth(l, 1));
        int legendScale = legend.Count > 0 && legendW * 2 <= Math.Max(gridW, 720) ? 2 : 1;
        int legendH = legend.Count * BitmapFont.LineHeight * legendScale + (legend.Count > 0 ? Margin : 0);
        int width = Math.Max(gridW, legendW * legendScale) + 2 * Margin, height = legendH + gridH + 2 * Margin;

        var canvas = new RgbCanvas(width, height, White);
        for (int i = 0; i < legend.Count; i++)
            canvas.DrawText(Margin, Margin + i * BitmapFont.LineHeight * legendScale, legend[i], legendScale, Ink);
        var rgb = new byte[th * tw * 3];
        for (int i = 0; i < tiles.Count; i++)
        {
            var t = tiles[i];
            int x = Margin + (i % cols) * (cellW + Separator), y = Margin + legendH + (i / cols) * (cellH + labelH + Separator);
            ToRgb(t, rgb);
            canvas.Blit(rgb, t.Width, t.Height, x, y, scale);
            if (labels && t.Label != null) canvas.DrawText(x, y + cellH + 2, t.Label, 1, LabelInk);
        }
        return canvas;
    }

    /// <summary>
    /// The filters of a convolution weight [Cout, Cin, kH, kW] as one picture with its legend drawn on top (for a PNG
    /// file on its own); see <see cref="ConvFilterTiles"/> for the layout.
    /// </summary>
    public static RgbCanvas ConvFilters(Tensor weight, string layerName, int maxFilters = 64, int maxInputs = 16, int tileSize = 64)
    {
        var grid = ConvFilterTiles(weight, layerName, maxFilters, maxInputs);
        return Render(grid.Tiles, grid.Legend, grid.Columns, Math.Max(tileSize, weight.Size(2)));
    }

    /// <summary>
    /// The tiles of a convolution weight [Cout, Cin, kH, kW]: one colour tile per filter when Cin = 3 (labelled by its
    /// index), otherwise one gray tile per (output, input) slice, rows being output channels and columns input channels.
    /// At most <paramref name="maxFilters"/> output and <paramref name="maxInputs"/> input channels. The legend says what
    /// is shown in words, for a page to set as text beside the picture.
    /// </summary>
    public static FilterGrid ConvFilterTiles(Tensor weight, string layerName, int maxFilters = 64, int maxInputs = 16)
    {
        if (weight.Rank != 4)
            throw new ArgumentException($"ImageGrid: a convolution weight is [Cout, Cin, kH, kW], got shape {Tensor.FormatShape(weight.Shape)}.", nameof(weight));
        int cout = weight.Size(0), cin = weight.Size(1), kh = weight.Size(2), kw = weight.Size(3);
        var w = weight.ReadOnlySpan;
        int nOut = Math.Min(cout, maxFilters), nIn = Math.Min(cin, maxInputs);
        var tiles = new List<GridTile>();
        int? columns;
        if (cin == 3)
        {
            for (int o = 0; o < nOut; o++)
                tiles.Add(new GridTile(w.Slice(o * 3 * kh * kw, 3 * kh * kw).ToArray(), 3, kh, kw, o.ToString(CultureInfo.InvariantCulture)));
            columns = null;
        }
        else
        {
            for (int o = 0; o < nOut; o++)
                for (int i = 0; i < nIn; i++)
                    tiles.Add(new GridTile(w.Slice((o * cin + i) * kh * kw, kh * kw).ToArray(), 1, kh, kw));
            columns = nIn == 1 ? null : nIn;
        }
        var legend = new List<string>
        {
            $"{layerName}  weight {Tensor.FormatShape(weight.Shape)}",
            $"values {Range(w)}; each tile scaled to its own min/max",
        };
        if (cin != 3 && nIn > 1) legend.Add("rows: output channels, columns: input channels");
        if (nOut < cout || nIn < cin) legend.Add($"showing {nOut} of {cout} filters" + (nIn < cin ? $", {nIn} of {cin} inputs" : ""));
        return new FilterGrid(tiles, columns, legend);
    }

    /// <summary>The channels of an activation [C, H, W] (or [1, C, H, W]) as gray tiles labelled by channel, at most <paramref name="maxMaps"/>.</summary>
    public static RgbCanvas FeatureMaps(Tensor maps, string layerName, int maxMaps = 64, int tileSize = 96)
    {
        var shape = maps.ShapeArray;
        if (maps.Rank == 4 && shape[0] == 1) shape = shape[1..];
        if (shape.Length != 3)
            throw new ArgumentException($"ImageGrid: feature maps must be [C, H, W] or [1, C, H, W], got shape {Tensor.FormatShape(maps.Shape)}.", nameof(maps));
        int c = shape[0], h = shape[1], w = shape[2], n = Math.Min(c, maxMaps);
        var v = maps.ReadOnlySpan;
        var tiles = new List<GridTile>(n);
        for (int i = 0; i < n; i++) tiles.Add(new GridTile(v.Slice(i * h * w, h * w).ToArray(), 1, h, w, i.ToString(CultureInfo.InvariantCulture)));
        var legend = new List<string>
        {
            $"{layerName}  output {Tensor.FormatShape(maps.Shape)}",
            $"values {Range(v)}; each map scaled to its own min/max" + (n < c ? $"; first {n} of {c} channels" : ""),
        };
        return Render(tiles, legend, null, Math.Max(tileSize, Math.Max(h, w)));
    }

    /// <summary>"min to max" of the values, three significant digits.</summary>
    public static string Range(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return "(empty)";
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (float x in values) { if (x < lo) lo = x; if (x > hi) hi = x; }
        return $"{lo.ToString("G3", CultureInfo.InvariantCulture)} to {hi.ToString("G3", CultureInfo.InvariantCulture)}";
    }

    /// <summary>A tile as interleaved RGB bytes after min/max normalization.</summary>
    internal static void ToRgb(GridTile t, Span<byte> rgb)
    {
        int plane = t.Height * t.Width, n = plane * t.Channels;
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            float x = t.Values[i];
            if (float.IsFinite(x)) { if (x < lo) lo = x; if (x > hi) hi = x; }
        }
        float range = hi - lo, inv = range > 0 ? 1f / range : 0f;
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
            {
                float x = t.Values[(t.Channels == 3 ? c * plane : 0) + p];
                float u = range > 0 && float.IsFinite(x) ? (x - lo) * inv : 0.5f;
                rgb[p * 3 + c] = (byte)Math.Clamp((int)MathF.Round(u * 255f), 0, 255);
            }
    }
}
