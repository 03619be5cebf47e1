using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Striate.Nn;
using Striate.Reports;
using Striate.Training;

namespace Striate.Insight;

/// <summary>
/// Writes a training run's report as one self-contained <c>report.html</c>: no external resources, PNGs inlined as
/// base64 <c>data:</c> URIs and SVGs inlined. Sections: run configuration, learning curves, confusion matrix,
/// per-class accuracy, first-layer filters, sample predictions (top-5 and a Grad-CAM overlay each) and the model
/// table.
/// </summary>
public static class ReportWriter
{
    public const string FileName = "report.html";

    /// <summary>Writes <c>runDir/report.html</c> and returns its path.</summary>
    public static string Write(string runDir, ReportContent content)
    {
        Directory.CreateDirectory(runDir);
        string path = Path.Combine(runDir, FileName);
        File.WriteAllText(path, Render(content));
        return path;
    }

    /// <summary>The report's HTML.</summary>
    public static string Render(ReportContent c)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        html.Append($"<title>{E(c.Title)}</title>\n<style>{Css}</style>\n</head><body>\n");
        html.Append($"<h1>{E(c.Title)}</h1>\n");
        html.Append($"<p class=\"lead\">{Headline(c)}</p>\n");
        foreach (var note in c.Notes) html.Append($"<p class=\"note\">{E(note)}</p>\n");

        Section(html, "Run configuration", ConfigTable(c));
        Section(html, "Learning curves", c.CurvesSvg != null ? InlineSvg(c.CurvesSvg)
            : c.History.Count > 0 ? InlineSvg(Charts.LearningCurves(c.History, $"{c.ModelName}{DatasetSuffix(c)}"))
            : Missing("no training history"));
        Section(html, "Confusion matrix", c.ConfusionSvg != null ? InlineSvg(c.ConfusionSvg)
            : c.Evaluation is { } ev ? InlineSvg(Charts.ConfusionMatrix(ev.Confusion, ev.ClassNames, $"{c.EvaluatedOn} accuracy {ev.Top1:P2}"))
            : Missing($"no {c.EvaluatedOn} evaluation"));
        Section(html, "Per-class accuracy", PerClass(c));
        Section(html, "First-layer filters", Filters(c));
        Section(html, $"Sample {c.EvaluatedOn} predictions", SamplesHtml(c));
        Section(html, "Model", ReportModelSummary.Html(c.Model, c.InputShape));
        html.Append($"<footer>Written by Striate on {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC.</footer>\n");
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static string Headline(ReportContent c)
    {
        var parts = new List<string> { $"<b>{E(c.ModelName)}</b>", $"{c.Model.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)} parameters",
            $"input {c.InputShape.Channels}×{c.InputShape.Height}×{c.InputShape.Width}", $"{c.ClassNames.Count} classes" };
        if (c.Config != null) parts.Add($"dataset <b>{E(c.Config.Dataset)}</b>");
        // Top-5 says something only with more than five classes (with five or fewer it is 100 % by construction).
        if (c.Evaluation is { } ev) parts.Add($"{c.EvaluatedOn} accuracy <b>{ev.Top1.ToString("P2", CultureInfo.InvariantCulture)}</b> (" +
            (ev.ClassNames.Count > 5 ? $"top-5 {ev.Top5.ToString("P2", CultureInfo.InvariantCulture)}, " : "") + $"{ev.Samples:N0} images)");
        else if (c.History.Count > 0 && double.IsFinite(c.History[^1].TestAccuracy)) parts.Add($"test accuracy <b>{c.History[^1].TestAccuracy.ToString("P2", CultureInfo.InvariantCulture)}</b>");
        else if (c.History.Count > 0 && double.IsFinite(c.History[^1].ValAccuracy)) parts.Add($"validation accuracy <b>{c.History[^1].ValAccuracy.ToString("P2", CultureInfo.InvariantCulture)}</b>");
        return string.Join(" · ", parts);
    }

    private static string DatasetSuffix(ReportContent c) => c.Config != null ? $" on {c.Config.Dataset}" : "";

    private static void Section(StringBuilder html, string title, string body) =>
        html.Append($"<section id=\"{title.ToLowerInvariant().Replace(' ', '-')}\"><h2>{E(title)}</h2>\n{body}</section>\n");

    private static string Missing(string why) => $"<p class=\"note\">Not shown: {E(why)}.</p>\n";

    private static string ConfigTable(ReportContent c)
    {
        if (c.Config == null) return Missing("the checkpoint carries no run configuration");
        var sb = new StringBuilder("<table class=\"kv\">\n");
        if (JsonNode.Parse(c.Config.ToJson()) is JsonObject obj)
            foreach (var (key, value) in obj)
            {
                if (!Applies(c.Config, key)) continue;
                string text = value switch
                {
                    null => "—",
                    JsonArray a when a.Count == 0 => key.StartsWith("normalize", StringComparison.Ordinal) ? "none" : "—",
                    JsonArray a => string.Join(", ", a.Select(v => v?.ToJsonString() ?? "null")),
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    _ => value.ToJsonString(),
                };
                // AdamW's weight decay of 0 means its default (see RunConfig.BuildOptimizer): show what ran.
                if (key == "weight_decay" && c.Config.Optimizer == "adamw" && c.Config.WeightDecay == 0) text = "0.01 (AdamW's default)";
                sb.Append($"<tr><th>{E(key)}</th><td>{E(text)}</td></tr>\n");
            }
        if (c.History.Count > 0)
        {
            var last = c.History[^1];
            sb.Append($"<tr><th>epochs run</th><td>{last.Epoch}</td></tr>\n");
            sb.Append($"<tr><th>training time</th><td>{c.History.Sum(r => r.Seconds).ToString("F1", CultureInfo.InvariantCulture)} s</td></tr>\n");
            if (double.IsFinite(last.ImagesPerSecond))
                sb.Append($"<tr><th>images/s (last epoch)</th><td>{last.ImagesPerSecond.ToString("N0", CultureInfo.InvariantCulture)}</td></tr>\n");
        }
        return sb.Append("</table>\n").ToString();
    }

    /// <summary>
    /// False for a setting the run did not use: momentum belongs to SGD (Adam and AdamW have betas instead), a
    /// normalization std only matters beside a mean.
    /// </summary>
    internal static bool Applies(RunConfig config, string key) => key switch
    {
        "momentum" => config.Optimizer == "sgd",
        "normalize_std" => config.NormalizeMean.Length > 0,
        _ => true,
    };

    private static string PerClass(ReportContent c)
    {
        if (c.Evaluation is not { } ev) return Missing("no test evaluation");
        var acc = ev.PerClassAccuracy();
        var sb = new StringBuilder("<table class=\"num\"><tr><th>class</th><th>images</th><th>accuracy</th><th></th></tr>\n");
        for (int k = 0; k < acc.Length; k++)
        {
            long total = 0;
            for (int p = 0; p < acc.Length; p++) total += ev.Confusion[k, p];
            string name = k < ev.ClassNames.Count ? ev.ClassNames[k] : k.ToString(CultureInfo.InvariantCulture);
            string pct = double.IsNaN(acc[k]) ? "—" : acc[k].ToString("P1", CultureInfo.InvariantCulture);
            double width = double.IsNaN(acc[k]) ? 0 : acc[k] * 200;
            sb.Append($"<tr><td>{E(name)}</td><td>{total.ToString("N0", CultureInfo.InvariantCulture)}</td><td>{pct}</td>" +
                      $"<td><div class=\"bar\" style=\"width:{width.ToString("F0", CultureInfo.InvariantCulture)}px\"></div></td></tr>\n");
        }
        return sb.Append("</table>\n").ToString();
    }

    private static string Filters(ReportContent c)
    {
        var first = c.Model.NamedModules().FirstOrDefault(p => p.Value is Conv2d);
        if (first.Value is not Conv2d conv) return Missing("the model has no Conv2d layer");
        // The picture carries pixels only; what it shows is said in HTML text beside it, in the page's own font.
        var grid = ImageGrid.ConvFilterTiles(conv.Weight, first.Key);
        var tiles = grid.Tiles.Select(t => t with { Label = null }).ToList();
        var png = ImageGrid.Render(tiles, [], grid.Columns, Math.Max(64, conv.Weight.Size(2))).ToPng();
        var sb = new StringBuilder("<div class=\"filters\">\n");
        sb.Append($"<img class=\"grid\" alt=\"filters of {E(first.Key)}\" src=\"{PngDataUri(png)}\">\n<div class=\"legend\">");
        sb.Append($"<p>The weights of <code>{E(first.Key)}</code> ({E(conv.ToString())}), each filter scaled to its own min/max" +
                  (conv.InChannels == 3 ? " and shown in colour, in reading order from filter 0." : "; one gray tile per input channel.") + "</p>\n<ul>");
        foreach (var line in grid.Legend.Skip(1)) sb.Append($"<li>{E(line)}</li>");
        return sb.Append("</ul></div>\n</div>\n").ToString();
    }

    private static string SamplesHtml(ReportContent c)
    {
        if (c.Samples.Count == 0) return Missing($"no {c.EvaluatedOn} images");
        string? layer = c.GradCamLayer;
        string? camProblem = null;
        if (layer == null)
        {
            try { layer = GradCam.DefaultLayer(c.Model); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { camProblem = e.Message; }
        }
        int k = Math.Min(5, c.ClassNames.Count), wrong = 0;
        var figures = new StringBuilder("<div class=\"samples\">\n");
        bool wasTraining = c.Model.Training;
        c.Model.Eval();
        try
        {
            foreach (var s in c.Samples)
            {
                var input = Tensor.FromArray(s.Input, 1, s.Channels, s.Height, s.Width);
                var top = Predictions.TopK(c.Model, input, k).ToList();
                bool correct = top.Count > 0 && top[0].ClassIndex == s.Label;
                if (!correct) wrong++;
                figures.Append($"<figure class=\"{(correct ? "right" : "wrong")}\">\n<div class=\"pics\">");
                figures.Append($"<img alt=\"test image\" src=\"{PngDataUri(ImagePng(s))}\">");
                if (layer != null)
                {
                    string cam;
                    try
                    {
                        var map = GradCam.Compute(c.Model, input, layer, top.Count > 0 ? top[0].ClassIndex : null);
                        var rgb = HeatMapRendering.Overlay(s.Display, s.Channels, s.Height, s.Width, map, 0.5);
                        cam = $"<img alt=\"Grad-CAM\" src=\"{PngDataUri(Striate.Data.PngCodec.Encode(rgb, s.Width, s.Height, 3))}\">";
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                    {
                        cam = $"<span class=\"note\">Grad-CAM failed: {E(e.Message)}</span>";
                    }
                    figures.Append(cam);
                }
                figures.Append("</div>\n<figcaption>");
                figures.Append($"true: <b>{E(Name(c, s.Label))}</b>");
                if (!correct && top.Count > 0) figures.Append($" · <span class=\"miss\">predicted {E(Name(c, top[0].ClassIndex))}</span>");
                figures.Append("<ol>");
                foreach (var p in top)
                    figures.Append($"<li{(p.ClassIndex == s.Label ? " class=\"hit\"" : "")}><span class=\"p\">{p.Probability.ToString("P1", CultureInfo.InvariantCulture)}</span> {E(Name(c, p.ClassIndex))}" +
                                   $"<div class=\"bar\" style=\"width:{(p.Probability * 100).ToString("F0", CultureInfo.InvariantCulture)}px\"></div></li>");
                figures.Append("</ol></figcaption></figure>\n");
            }
        }
        finally
        {
            c.Model.Train(wasTraining);
        }
        figures.Append("</div>\n");

        int classes = c.Samples.Select(s => s.Label).Distinct().Count();
        string what = $"Top-{k} classes of {c.Samples.Count} {c.EvaluatedOn} images from {classes} {(classes == 1 ? "class" : "classes")}, " +
                      (wrong == 0 ? "all classified correctly" : $"{wrong} misclassified (red)");
        string intro = layer != null
            ? $"<p>{what}, with Grad-CAM (Selvaraju et al. 2017) at <code>{E(layer)}</code> for the predicted class: red marks the pixels that raised its score most.</p>\n"
            : $"<p>{what}.</p>\n<p class=\"note\">No Grad-CAM: {E(camProblem ?? "no layer")}</p>\n";
        return intro + figures;
    }

    private static string Name(ReportContent c, int k) => k >= 0 && k < c.ClassNames.Count ? c.ClassNames[k] : k.ToString(CultureInfo.InvariantCulture);

    /// <summary>The display copy of a sample as an 8-bit PNG (gray or RGB).</summary>
    private static byte[] ImagePng(ReportSample s)
    {
        int plane = s.Height * s.Width, ch = s.Channels == 3 ? 3 : 1;
        var bytes = new byte[plane * ch];
        for (int p = 0; p < plane; p++)
            for (int k = 0; k < ch; k++)
                bytes[p * ch + k] = (byte)Math.Clamp((int)MathF.Round(s.Display[k * plane + p] * 255f), 0, 255);
        return Striate.Data.PngCodec.Encode(bytes, s.Width, s.Height, ch);
    }

    /// <summary>A PNG as a <c>data:</c> URI.</summary>
    public static string PngDataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    /// <summary>An SVG document ready to sit inside HTML: any XML declaration or doctype removed.</summary>
    public static string InlineSvg(string svg)
    {
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return "<div class=\"svg\">" + (start > 0 ? svg[start..] : svg) + "</div>\n";
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private const string Css = """
        body { font-family: sans-serif; margin: 24px auto; max-width: 1100px; color: #222; background: #fff; }
        h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 19px; border-bottom: 2px solid #1f77b4; padding-bottom: 3px; margin-top: 28px; }
        .lead { font-size: 15px; } .note { color: #8a5a00; background: #fff6e0; padding: 4px 8px; }
        table { border-collapse: collapse; font-size: 13px; } th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: left; }
        table.num td:nth-child(n+2) { text-align: right; } table.num td:has(.bar) { text-align: left; } tr.total td { font-weight: bold; border-top: 2px solid #999; }
        table.kv th { color: #555; font-weight: normal; }
        .bar { display: inline-block; height: 10px; background: #1f77b4; vertical-align: middle; }
        .svg svg { max-width: 100%; height: auto; }
        img { image-rendering: pixelated; } img.grid { max-width: 70%; border: 1px solid #ddd; }
        .filters { display: flex; gap: 16px; align-items: flex-start; } .legend { font-size: 13px; } .legend p { margin-top: 0; }
        .samples { display: flex; flex-wrap: wrap; gap: 12px; }
        figure { margin: 0; padding: 8px; width: 250px; border: 2px solid #ccc; border-radius: 6px; }
        figure.right { border-color: #2ca02c; } figure.wrong { border-color: #d62728; background: #fff4f4; }
        .pics img { width: 112px; height: 112px; margin-right: 6px; }
        figcaption { font-size: 12px; } .miss { color: #d62728; } ol { margin: 4px 0; padding-left: 18px; } li.hit { font-weight: bold; }
        li .bar { margin-left: 6px; height: 7px; } .p { display: inline-block; width: 54px; white-space: nowrap; }
        footer { margin-top: 30px; color: #888; font-size: 12px; }
        """;
}
