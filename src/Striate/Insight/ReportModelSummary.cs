using System.Globalization;
using System.Net;
using System.Text;
using Striate.Autograd;
using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// The model table of the report: every leaf module with its type, output shape (from one forward pass of zeros with
/// forward hooks) and parameter count. Kept separate so it can be swapped for the library's model summary once that
/// exists (<see cref="Renderer"/>).
/// </summary>
public static class ReportModelSummary
{
    /// <summary>Replaceable: renders the model section's HTML from the model and its input (channels, height, width).</summary>
    public static Func<Module, (int Channels, int Height, int Width), string> Renderer { get; set; } = DefaultHtml;

    /// <summary>One row per leaf module: name, type, output shape (empty if it did not run), own parameter count.</summary>
    public static IReadOnlyList<(string Name, string Type, string OutputShape, long Parameters)> Rows(Module model, (int Channels, int Height, int Width) input)
    {
        var leaves = model.NamedModules().Where(p => !p.Value.NamedChildren().Any()).ToList();
        var shapes = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        var hooks = leaves.Select(p => p.Value.RegisterForwardHook((m, _, output) => shapes[m] = Tensor.FormatShape(output.Shape))).ToList();
        bool wasTraining = model.Training;
        try
        {
            model.Eval();
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            model.Call(Tensor.Zeros(1, input.Channels, input.Height, input.Width));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Shapes stay empty for layers that did not run; the table still lists every layer.
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            model.Train(wasTraining);
        }
        return leaves.Select(p => (p.Key.Length == 0 ? "(model)" : p.Key, p.Value.TypeName, shapes.GetValueOrDefault(p.Value, ""),
            p.Value.ParameterCount())).ToList();
    }

    private static string DefaultHtml(Module model, (int Channels, int Height, int Width) input)
    {
        var sb = new StringBuilder();
        sb.Append("<table class=\"num\"><tr><th>layer</th><th>type</th><th>output</th><th>parameters</th></tr>\n");
        foreach (var (name, type, shape, count) in Rows(model, input))
            sb.Append($"<tr><td><code>{E(name)}</code></td><td>{E(type)}</td><td>{E(shape)}</td><td>{count.ToString("N0", CultureInfo.InvariantCulture)}</td></tr>\n");
        sb.Append($"<tr class=\"total\"><td colspan=\"3\">total (input [1, {input.Channels}, {input.Height}, {input.Width}])</td><td>{model.ParameterCount().ToString("N0", CultureInfo.InvariantCulture)}</td></tr>\n</table>\n");
        return sb.ToString();
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
