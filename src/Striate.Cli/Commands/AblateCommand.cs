using System.CommandLine;
using Striate.Insight;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate ablate CHECKPOINT --dataset D [--layer NAME] [--limit N] [--out F.svg]</c>: test accuracy with each top-level
/// block (or each channel of --layer) zeroed, as a table and a bar chart SVG (default: ablation.svg next to the checkpoint).
/// </summary>
internal static class AblateCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset to evaluate on (default: the one it was trained on)." };
        var layer = new Option<string?>("--layer") { Description = "Ablate each output channel of this layer instead of each top-level block." };
        var limit = new Option<int?>("--limit") { Description = "Evaluate on the first N test images only.", DefaultValueFactory = _ => 1000 };
        var output = new Option<string?>("--out") { Description = "Bar chart SVG (default: ablation.svg next to the checkpoint)." };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var data = new Option<string?>("--data") { Description = "Folder holding the dataset files." };
        var command = new Command("ablate", "Measure how much accuracy each block or channel carries by zeroing it.")
            { checkpoint, dataset, layer, limit, output, modelName, key, data };
        command.SetAction(parse => CliErrors.Run(parse, "ablate", () =>
        {
            if (parse.GetValue(limit) is <= 0) throw new ArgumentException($"--limit must be positive, got {parse.GetValue(limit)}.");
            string path = parse.GetValue(checkpoint)!;
            var (loaded, loader, name) = InsightData.Open(path, parse.GetValue(modelName), parse.GetValue(dataset), parse.GetValue(data), parse.GetValue(limit), key: parse.GetValue(key));
            var results = Ablation.Run(loaded.Model, loader, parse.GetValue(layer));
            double baseline = results[0].Accuracy;
            int width = Math.Max(12, results.Max(r => r.Name.Length));
            Console.WriteLine($"{loaded.Entry.Name} on {name} ({loader.Dataset.Count:N0} images), top-1 with each {(parse.GetValue(layer) is { } l ? $"channel of {l}" : "block")} zeroed:");
            foreach (var (part, accuracy) in results)
                Console.WriteLine($"  {part.PadRight(width)}  {accuracy,8:P2}  {(part == "baseline" ? "" : $"{accuracy - baseline,+8:+0.00%;-0.00%;0.00%}")}");
            string svgPath = parse.GetValue(output) ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", "ablation.svg");
            var dir = Path.GetDirectoryName(Path.GetFullPath(svgPath));
            if (dir != null) Directory.CreateDirectory(dir);
            File.WriteAllText(svgPath, Ablation.BarChartSvg(results, $"{loaded.Entry.Name} on {name}: accuracy with each part zeroed"));
            Console.WriteLine($"wrote {svgPath}");
            return 0;
        }));
        return command;
    }
}
