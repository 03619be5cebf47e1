using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Striate.Nn;

/// <summary>
/// What <see cref="Module.Summary(int[])"/> reports: one row per leaf-layer call and the totals.
/// <list type="bullet">
/// <item><see cref="TotalMacs"/>: conv + linear multiply-accumulates for one image (see <see cref="MacCounter"/>).</item>
/// <item><see cref="InferenceActivationBytes"/>: the largest input + output of any single layer (float32, one image):
/// what a layer-by-layer executor needs at least. Models with branches (residual sums, concatenations) hold the
/// branch tensors too, so this is a lower bound for them.</item>
/// <item><see cref="TrainingActivationBytes"/>: the input plus every layer output (views and pass-through outputs
/// counted once), all kept for backward. Tensors made by functional ops inside a parent's Forward (F.Add of a
/// residual, F.Concat) are not seen by layer hooks and are not included.</item>
/// </list>
/// Shapes: <see cref="InputShape"/> is one image without the batch dimension (e.g. [1, 28, 28]).
/// </summary>
public sealed record ModelSummary(string ModelName, int[] InputShape, IReadOnlyList<LayerSummary> Layers,
    long TotalParameters, long TrainableParameters, long TotalMacs, long InferenceActivationBytes, long TrainingActivationBytes)
{
    /// <summary>The output shape of the whole model for one image.</summary>
    public int[] OutputShape { get; init; } = [];

    /// <summary>Total MACs in billions (torchvision's "GFLOPS" column).</summary>
    public double GigaMacs => TotalMacs / 1e9;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The table: fixed-width columns, numbers right-aligned, then the totals.</summary>
    public override string ToString()
    {
        string[] header = ["Layer", "Type", "Output", "Params", "MACs", "RF", "Jump", "Start"];
        bool[] right = [false, false, false, true, true, true, true, true];
        var rows = Layers.Select(l => new[]
        {
            l.Name.Length == 0 ? "(model)" : l.Name, l.TypeName, l.FormatShape(),
            l.Parameters.ToString("N0", Inv), l.Ran ? l.Macs.ToString("N0", Inv) : "—",
            l.Ran ? l.ReceptiveField.Size.ToString() : "—", l.Ran ? l.ReceptiveField.Jump.ToString() : "—",
            l.Ran ? l.ReceptiveField.Start.ToString() + (l.InputInferred ? "*" : "") : "—",
        }).ToList();
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();

        var sb = new StringBuilder();
        sb.Append(ModelName).Append(", input ").AppendLine(string.Join("×", InputShape));
        void Line(string[] cells)
        {
            var parts = cells.Select((c, i) => right[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]));
            sb.AppendLine(string.Join("  ", parts).TrimEnd());
        }
        Line(header);
        sb.AppendLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        foreach (var r in rows) Line(r);
        sb.AppendLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        if (Layers.Any(l => l.InputInferred))
            sb.AppendLine("* input made by a functional op (add, concat, flatten): field taken from the widest known map of the same size");
        sb.AppendLine($"Output: {string.Join("×", OutputShape)}");
        sb.AppendLine($"Total parameters: {TotalParameters.ToString("N0", Inv)}");
        sb.AppendLine($"Trainable parameters: {TrainableParameters.ToString("N0", Inv)}");
        sb.AppendLine($"Total MACs: {TotalMacs.ToString("N0", Inv)} ({GigaMacs.ToString("G3", Inv)} G)");
        sb.AppendLine($"Activation memory per image: inference {FormatBytes(InferenceActivationBytes)} (largest layer input + output), " +
                      $"training {FormatBytes(TrainingActivationBytes)} (all layer outputs kept for backward)");
        sb.Append($"Parameter memory: {FormatBytes(TotalParameters * 4)}");
        return sb.ToString();
    }

    /// <summary>Bytes as B, KiB, MiB or GiB with two decimals.</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : $"{v.ToString("0.00", Inv)} {units[u]}";
    }

    /// <summary>
    /// The summary as JSON: {"model", "input", "output", "layers": [{"name", "type", "output", "parameters", "macs",
    /// "ran", "receptive_field": {"h","w"}, "jump": {...}, "start": {...}, "input_inferred"}], "total_parameters",
    /// "trainable_parameters", "total_macs", "gmacs", "inference_activation_bytes", "training_activation_bytes"}.
    /// </summary>
    public string ToJson(bool indented = true)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            w.WriteString("model", ModelName);
            WriteInts(w, "input", InputShape);
            WriteInts(w, "output", OutputShape);
            w.WriteStartArray("layers");
            foreach (var l in Layers)
            {
                w.WriteStartObject();
                w.WriteString("name", l.Name);
                w.WriteString("type", l.TypeName);
                WriteInts(w, "output", l.OutputShape);
                w.WriteNumber("parameters", l.Parameters);
                w.WriteNumber("macs", l.Macs);
                w.WriteBoolean("ran", l.Ran);
                if (l.Ran)
                {
                    WriteExtent(w, "receptive_field", l.ReceptiveField.Size);
                    WriteExtent(w, "jump", l.ReceptiveField.Jump);
                    WriteExtent(w, "start", l.ReceptiveField.Start);
                    w.WriteBoolean("input_inferred", l.InputInferred);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("total_parameters", TotalParameters);
            w.WriteNumber("trainable_parameters", TrainableParameters);
            w.WriteNumber("total_macs", TotalMacs);
            w.WriteNumber("gmacs", Math.Round(GigaMacs, 6));
            w.WriteNumber("inference_activation_bytes", InferenceActivationBytes);
            w.WriteNumber("training_activation_bytes", TrainingActivationBytes);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteInts(Utf8JsonWriter w, string name, int[] values)
    {
        w.WriteStartArray(name);
        foreach (int v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void WriteExtent(Utf8JsonWriter w, string name, Extent2 e)
    {
        w.WriteStartObject(name);
        w.WriteNumber("h", e.H);
        w.WriteNumber("w", e.W);
        w.WriteEndObject();
    }
}
