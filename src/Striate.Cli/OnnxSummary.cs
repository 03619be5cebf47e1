using System.Globalization;
using System.Text;
using System.Text.Json;
using Striate.Graph;
using Striate.Onnx;

namespace Striate.Cli;

/// <summary>
/// <c>striate summary model.onnx</c>: the imported graph node by node (name in the file, Striate op, output shape,
/// parameters first read there) and totals. An imported model has no layer modules to hook, so this reads the graph.
/// </summary>
internal static class OnnxSummary
{
    public static string Describe(string path, OnnxModule model, bool json)
    {
        var graph = model.Graph;
        var seen = new HashSet<Value>(ReferenceEqualityComparer.Instance);
        var rows = graph.Nodes.Select(n =>
        {
            long parameters = n.Inputs.Where(v => v is { Kind: ValueKind.Parameter } && seen.Add(v)).Sum(v => (long)v!.Shape.Aggregate(1, (p, d) => p * d));
            return (Name: n.ModulePath, Op: n.Op.ToString(), Shape: Tensor.FormatShape(n.Output.ShapeArray), Parameters: parameters);
        }).ToList();
        long total = model.Parameters().Sum(p => (long)p.Numel);
        long buffers = model.NamedBuffers().Sum(p => (long)p.Value.Numel);
        var input = graph.Inputs[0];
        if (json)
            return JsonSerializer.Serialize(new
            {
                file = Path.GetFileName(path),
                opset = model.Opset,
                producer = model.Producer,
                model = model.Metadata.ModelName,
                input = model.InputShape,
                symbolic_batch = model.SymbolicBatch,
                output = graph.Outputs[0].Shape,
                nodes = rows.Select(r => new { name = r.Name, op = r.Op, output = r.Shape, parameters = r.Parameters }),
                total_parameters = total,
                buffer_values = buffers,
            }, new JsonSerializerOptions { WriteIndented = true });

        var sb = new StringBuilder();
        sb.AppendLine($"{Path.GetFileName(path)}: ONNX opset {model.Opset}{(model.Producer.Length > 0 ? $", written by {model.Producer}" : "")}" +
            (model.Metadata.ModelName != null ? $", model {model.Metadata.ModelName}" : ""));
        sb.AppendLine($"input '{input.Name}' {Tensor.FormatShape(input.ShapeArray)}{(model.SymbolicBatch ? " (any batch size)" : "")} → {Tensor.FormatShape(graph.Outputs[0].ShapeArray)}");
        int nameWidth = Math.Clamp(rows.Count == 0 ? 4 : rows.Max(r => r.Name.Length), 4, 48);
        int opWidth = Math.Clamp(rows.Count == 0 ? 2 : rows.Max(r => r.Op.Length), 2, 56);
        sb.AppendLine($"{"Node".PadRight(nameWidth)}  {"Op".PadRight(opWidth)}  {"Output shape",-18}  {"Param #",12}");
        sb.AppendLine(new string('─', nameWidth + opWidth + 36));
        foreach (var r in rows)
            sb.AppendLine($"{Clip(r.Name, nameWidth).PadRight(nameWidth)}  {Clip(r.Op, opWidth).PadRight(opWidth)}  {r.Shape,-18}  {r.Parameters.ToString("N0", CultureInfo.InvariantCulture),12}");
        sb.AppendLine(new string('─', nameWidth + opWidth + 36));
        sb.AppendLine($"Nodes: {rows.Count}");
        sb.AppendLine($"Total parameters: {total.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.Append($"Buffer values: {buffers.ToString("N0", CultureInfo.InvariantCulture)}");
        return sb.ToString();
    }

    private static string Clip(string s, int width) => s.Length <= width ? s : "…" + s[^(width - 1)..];
}
