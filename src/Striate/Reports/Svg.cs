using System.Globalization;
using System.Net;
using System.Text;

namespace Striate.Reports;

/// <summary>A minimal SVG writer: enough for line charts, bar charts and heat maps that browsers render as-is.</summary>
internal sealed class Svg(int width, int height)
{
    private readonly StringBuilder _body = new();

    public int Width { get; } = width;
    public int Height { get; } = height;

    internal static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    internal static string Escape(string s) => WebUtility.HtmlEncode(s);

    public void Line(double x1, double y1, double x2, double y2, string stroke, double width = 1, string? dash = null) =>
        _body.Append($"<line x1=\"{N(x1)}\" y1=\"{N(y1)}\" x2=\"{N(x2)}\" y2=\"{N(y2)}\" stroke=\"{stroke}\" stroke-width=\"{N(width)}\"{(dash != null ? $" stroke-dasharray=\"{dash}\"" : "")}/>\n");

    public void Rect(double x, double y, double w, double h, string fill, string? title = null)
    {
        _body.Append($"<rect x=\"{N(x)}\" y=\"{N(y)}\" width=\"{N(w)}\" height=\"{N(h)}\" fill=\"{fill}\"");
        _body.Append(title == null ? "/>\n" : $"><title>{Escape(title)}</title></rect>\n");
    }

    public void Text(double x, double y, string text, int size = 12, string anchor = "start", string fill = "#222", double rotate = 0)
    {
        string transform = rotate != 0 ? $" transform=\"rotate({N(rotate)} {N(x)} {N(y)})\"" : "";
        _body.Append($"<text x=\"{N(x)}\" y=\"{N(y)}\" font-size=\"{size}\" text-anchor=\"{anchor}\" fill=\"{fill}\"{transform}>{Escape(text)}</text>\n");
    }

    public void Polyline(IEnumerable<(double X, double Y)> points, string stroke, double width = 2, string? dash = null)
    {
        var pts = string.Join(" ", points.Select(p => $"{N(p.X)},{N(p.Y)}"));
        if (pts.Length == 0) return;
        _body.Append($"<polyline points=\"{pts}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{N(width)}\"{(dash != null ? $" stroke-dasharray=\"{dash}\"" : "")}/>\n");
    }

    public void Circle(double x, double y, double r, string fill) =>
        _body.Append($"<circle cx=\"{N(x)}\" cy=\"{N(y)}\" r=\"{N(r)}\" fill=\"{fill}\"/>\n");

    public override string ToString() =>
        $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\">\n" +
        $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n{_body}</svg>\n";
}
