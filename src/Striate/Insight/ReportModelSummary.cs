using System.Globalization;
using System.Net;
using System.Text;
using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// The model table of the report, from <c>Module.Summary</c>: every leaf layer with its type,
/// output shape, parameters, multiply-accumulates and receptive field, then the totals.
/// </summary>
public static class ReportModelSummary
{
    /// <summary>The model section's HTML for <paramref name="model"/> on inputs of <paramref name="input"/> (C, H, W).</summary>
    public static string Html(Module model, (int Channels, int Height, int Width) input)
    {
        ModelSummary summary;
        try
        {
            summary = model.Summary(input);
        }
        catch (ArgumentException e)
        {
            return $"<p class=\"note\">Not shown: the summary failed ({E(e.Message)}).</p>\n";
        }
        var sb = new StringBuilder();
        sb.Append("<table class=\"num\"><tr><th>layer</th><th>type</th><th>output</th><th>parameters</th><th>MACs</th><th>receptive field</th><th>jump</th></tr>\n");
        foreach (var l in summary.Layers)
            sb.Append($"<tr><td><code>{E(l.Name.Length == 0 ? "(model)" : l.Name)}</code></td><td>{E(l.TypeName)}</td><td>{E(l.FormatShape())}</td>" +
                      $"<td>{N(l.Parameters)}</td><td>{N(l.Macs)}</td><td>{E(l.ReceptiveField.Size.ToString())}</td><td>{E(l.ReceptiveField.Jump.ToString())}</td></tr>\n");
        sb.Append($"<tr class=\"total\"><td colspan=\"3\">total (input [1, {input.Channels}, {input.Height}, {input.Width}])</td>" +
                  $"<td>{N(summary.TotalParameters)}</td><td>{N(summary.TotalMacs)}</td><td colspan=\"2\"></td></tr>\n</table>\n");
        return sb.ToString();
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    private static string E(string s) => WebUtility.HtmlEncode(s);
}
