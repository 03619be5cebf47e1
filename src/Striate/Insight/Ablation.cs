using Striate.Autograd;
using Striate.Data;
using Striate.Nn;
using Striate.Reports;

namespace Striate.Insight;

/// <summary>
/// Ablation: how much a model's accuracy depends on each part of it. Each part's output is zeroed (in place, by a
/// forward hook) while the model runs over the data, as in the lesion studies of Zeiler and Fergus 2014 and
/// Morcos et al. 2018 ("On the importance of single directions for generalization").
/// </summary>
public static class Ablation
{
    /// <summary>
    /// Top-1 accuracy over <paramref name="loader"/> (eval mode, no graph): first the intact model ("baseline"), then
    /// with the output of each top-level child zeroed (named by its dotted name and type), or — when
    /// <paramref name="layer"/> is given — with each output channel of that layer zeroed in turn ("layer[c]").
    /// </summary>
    public static IReadOnlyList<(string Name, double Accuracy)> Run(Module model, DataLoader loader, string? layer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        var results = new List<(string, double)> { ("baseline", Accuracy(model, loader)) };
        if (layer == null)
        {
            foreach (var (name, child) in model.NamedChildren())
                results.Add(($"{name} ({child.TypeName})", Accuracy(model, loader, child, -1)));
            if (results.Count == 1)
                throw new ArgumentException($"Ablation.Run: the model has no child modules to ablate; name a layer to ablate its channels.");
            return results;
        }
        var target = LayerLookup.Find(model, layer);
        int channels = ChannelCount(model, loader, target, layer);
        for (int c = 0; c < channels; c++)
            results.Add(($"{layer}[{c}]", Accuracy(model, loader, target, c)));
        return results;
    }

    /// <summary>Runs one batch to see how many channels (dimension 1) the layer's output has.</summary>
    private static int ChannelCount(Module model, DataLoader loader, Module target, string layer)
    {
        int channels = -1;
        using var hook = target.RegisterForwardHook((_, _, output) => channels = output.Rank >= 2 ? output.Size(1) : 0);
        using var run = InsightRun.Begin(model);
        using var noGrad = GradMode.NoGrad();
        foreach (var batch in loader.Epoch(0))
        {
            using var scope = TensorScope.Begin();
            model.Call(batch.Images);
            break;
        }
        if (channels < 0) throw new ArgumentException($"Ablation.Run: layer '{layer}' ({target.TypeName}) was not used in the forward pass.");
        if (channels == 0) throw new ArgumentException($"Ablation.Run: layer '{layer}' ({target.TypeName}) has no channel dimension to ablate.");
        return channels;
    }

    /// <summary>Accuracy with <paramref name="target"/>'s output zeroed (all of it when channel &lt; 0, else that channel).</summary>
    private static double Accuracy(Module model, DataLoader loader, Module? target = null, int channel = -1)
    {
        using var hook = target?.RegisterForwardHook((_, _, output) => Zero(output, channel));
        using var run = InsightRun.Begin(model);
        using var noGrad = GradMode.NoGrad();
        long correct = 0, total = 0;
        foreach (var batch in loader.Epoch(0))
        {
            using var scope = TensorScope.Begin();
            var logits = model.Call(batch.Images);
            int classes = logits.Numel / batch.Count;
            var l = logits.ReadOnlySpan;
            for (int i = 0; i < batch.Count; i++)
                if (InsightRun.ArgMax(l.Slice(i * classes, classes)) == batch.Labels[i]) correct++;
            total += batch.Count;
        }
        return total == 0 ? double.NaN : (double)correct / total;
    }

    private static void Zero(Tensor output, int channel)
    {
        if (channel < 0) { output.Fill(0f); return; }
        int n = output.Size(0), c = output.Size(1), inner = output.Numel / Math.Max(n * c, 1);
        var s = output.Span;
        for (int i = 0; i < n; i++) s.Slice((i * c + channel) * inner, inner).Clear();
    }

    /// <summary>The results as a horizontal bar chart (SVG), the baseline drawn in grey as a reference line.</summary>
    public static string BarChartSvg(IReadOnlyList<(string Name, double Accuracy)> results, string title)
    {
        ArgumentNullException.ThrowIfNull(results);
        const int left = 220, barWidth = 420, row = 20, top = 50;
        var svg = new Svg(left + barWidth + 80, top + results.Count * row + 40);
        svg.Text((left + barWidth) / 2.0 + 40, 28, title, 16, "middle");
        double baseline = results.Count > 0 ? results[0].Accuracy : double.NaN;
        for (int i = 0; i < results.Count; i++)
        {
            var (name, accuracy) = results[i];
            double y = top + i * row;
            double w = double.IsFinite(accuracy) ? Math.Clamp(accuracy, 0, 1) * barWidth : 0;
            svg.Text(left - 8, y + 14, name, 11, "end");
            svg.Rect(left, y + 3, w, row - 6, i == 0 ? "#7f7f7f" : "#1f77b4", $"{name}: {accuracy:P2}");
            svg.Text(left + w + 6, y + 14, double.IsFinite(accuracy) ? accuracy.ToString("P1", System.Globalization.CultureInfo.InvariantCulture) : "n/a", 10);
        }
        if (double.IsFinite(baseline))
            svg.Line(left + baseline * barWidth, top, left + baseline * barWidth, top + results.Count * row, "#d62728", 1, "4 3");
        for (int t = 0; t <= 4; t++)
            svg.Text(left + barWidth * t / 4.0, top + results.Count * row + 16, (t / 4.0).ToString("P0", System.Globalization.CultureInfo.InvariantCulture), 10, "middle");
        return svg.ToString();
    }
}
