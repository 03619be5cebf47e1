using Striate.Reports;

namespace Striate.Insight;

public static partial class Embedding
{
    /// <summary>Ten well-separated colours (the "tab10" palette); classes beyond ten reuse them.</summary>
    internal static readonly string[] Palette =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    /// <summary>
    /// A scatter plot of 2-D points [N, 2] coloured by label, with a legend of <paramref name="classNames"/> and a
    /// tooltip naming each point's class. Axes are scaled to the data (equal scale on both, so distances read true).
    /// </summary>
    public static string ScatterSvg(float[] points2d, int[] labels, IReadOnlyList<string> classNames, string title)
    {
        CheckMatrix(points2d, labels.Length, 2, "Embedding.ScatterSvg");
        int n = labels.Length;
        const int plot = 520, left = 40, top = 50, legendWidth = 170;
        var svg = new Svg(left + plot + 30 + legendWidth, top + plot + 40);
        svg.Text((left + plot) / 2.0, 28, title, 16, "middle");
        svg.Rect(left, top, plot, plot, "#fafafa");

        double minX = double.MaxValue, maxX = double.MinValue, minY = double.MaxValue, maxY = double.MinValue;
        for (int i = 0; i < n; i++)
        {
            double x = points2d[2 * i], y = points2d[2 * i + 1];
            if (!double.IsFinite(x) || !double.IsFinite(y)) continue;
            (minX, maxX, minY, maxY) = (Math.Min(minX, x), Math.Max(maxX, x), Math.Min(minY, y), Math.Max(maxY, y));
        }
        if (minX > maxX) (minX, maxX, minY, maxY) = (-1, 1, -1, 1);
        double span = Math.Max(Math.Max(maxX - minX, maxY - minY), 1e-12) * 1.08;
        double cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
        double Px(double x) => left + plot / 2.0 + (x - cx) / span * plot;
        double Py(double y) => top + plot / 2.0 - (y - cy) / span * plot;

        for (int i = 0; i < n; i++)
        {
            double x = points2d[2 * i], y = points2d[2 * i + 1];
            if (!double.IsFinite(x) || !double.IsFinite(y)) continue;
            svg.Circle(Px(x), Py(y), 2.5, Palette[Math.Abs(labels[i]) % Palette.Length]);
        }
        svg.Text(left + plot / 2.0, top + plot + 24, "principal component 1", 11, "middle");
        svg.Text(left - 12, top + plot / 2.0, "principal component 2", 11, "middle", rotate: -90);

        var present = labels.Distinct().Order().ToList();
        for (int r = 0; r < present.Count; r++)
        {
            int c = present[r];
            double y = top + 10 + r * 18;
            svg.Circle(left + plot + 40, y - 4, 5, Palette[Math.Abs(c) % Palette.Length]);
            string name = c >= 0 && c < classNames.Count ? classNames[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture);
            svg.Text(left + plot + 52, y, $"{name} ({labels.Count(l => l == c)})", 11);
        }
        return svg.ToString();
    }
}
