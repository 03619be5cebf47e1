using System.CommandLine;
using System.Text.Json;
using Striate.Graph;
using Striate.Insight;

namespace Striate.Cli.Commands;

/// <summary><c>striate predict CHECKPOINT IMAGE... [--json]</c>: the top-5 classes of each image with their probabilities.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, a weights file (safetensors, PyTorch .pth), or an ONNX file." };
        var images = new Argument<string[]>("IMAGE") { Description = "PNG, PGM or PPM files.", Arity = ArgumentArity.OneOrMore };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var fit = new Option<bool>("--fit") { Description = "Resize and convert images to the model's input instead of rejecting them." };
        var json = new Option<bool>("--json") { Description = "Print one JSON document: per image, the top classes with index, name and probability." };
        var command = new Command("predict", "Classify images with a trained model.") { checkpoint, images, modelName, key, fit, json };
        command.SetAction(parse => CliErrors.Run(parse, "predict", () =>
        {
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(key));
            // Prepared once (batch norm folded, activations fused, buffers planned), then run per image.
            var paths = parse.GetValue(images)!;
            CliErrors.RequireFiles("predict", paths);
            var (c, h, w) = loaded.InputShape;
            // No warm-up runs: they make a later first call faster, but here the whole command is the figure that counts
            // (a one-shot ResNet-18 prediction: 0.70–0.73 s without them, 0.77–0.78 s with them; bench/RESULTS.md 2026-12-04).
            var session = loaded.Model.PrepareForInference([1, c, h, w], warmUp: false);
            int k = Math.Min(5, loaded.ClassNames.Count);
            var results = new List<(string Path, IReadOnlyList<Prediction> Top)>();
            foreach (var path in paths)
            {
                var (_, input) = loaded.LoadImage(path, parse.GetValue(fit));
                var top = Predictions.FromLogits(session.Run(input), k);
                if (parse.GetValue(json)) { results.Add((path, top)); continue; }
                Console.WriteLine(path);
                InsightInput.PrintTopK(loaded, top);
            }
            if (parse.GetValue(json)) WriteJson(results, loaded.ClassNames);
            return 0;
        }));
        return command;
    }

    private static void WriteJson(List<(string Path, IReadOnlyList<Prediction> Top)> results, IReadOnlyList<string> classNames)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartArray();
            foreach (var (path, top) in results)
            {
                w.WriteStartObject();
                w.WriteString("image", path);
                w.WriteStartArray("predictions");
                foreach (var p in top)
                {
                    w.WriteStartObject();
                    w.WriteNumber("class", p.ClassIndex);
                    w.WriteString("name", classNames[p.ClassIndex]);
                    w.WriteNumber("probability", Math.Round((double)p.Probability, 6));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        stdout.WriteByte((byte)'\n');
    }
}
