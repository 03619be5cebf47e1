using System.CommandLine;
using System.Globalization;
using Striate.Models;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate summary MODEL|WEIGHTS [--input CxHxW] [--classes K] [--width W] [--json]</c>: the layer table (output shapes,
/// parameters, MACs, receptive fields) and totals of a registry model or of the model a weights file holds, from one
/// forward pass on a zero image.
/// </summary>
internal static class SummaryCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = $"Model name ({string.Join(", ", ModelRegistry.Names)}), or a weights file (checkpoint, safetensors, PyTorch .pth), or an ONNX file." };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var input = new Option<string?>("--input") { Description = "Input size CxHxW (or C,H,W); default: the model's own, e.g. 1x28x28 for lenet." };
        var classes = new Option<int?>("--classes") { Description = "Number of classes (default: the model's)." };
        var width = new Option<double>("--width") { Description = "Channel width multiplier (models that have one).", DefaultValueFactory = _ => 1.0 };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON." };
        var command = new Command("summary", "Show a model's layers, output shapes, parameters, MACs and receptive fields.")
        {
            model, input, classes, width, json, modelName, key,
        };
        command.SetAction(parse => CliErrors.Run(parse, "summary", () =>
        {
            if (File.Exists(parse.GetValue(model)) && Striate.Onnx.OnnxModel.IsOnnxPath(parse.GetValue(model)!))
            {
                string path = parse.GetValue(model)!;
                if (parse.GetValue(input) != null || parse.GetValue(modelName) != null)
                    throw new ArgumentException($"{path} is an ONNX file, which fixes its model and input; --input and --model apply to registry models and weights files.");
                Console.WriteLine(OnnxSummary.Describe(path, Striate.Onnx.OnnxModel.Load(path), parse.GetValue(json)));
                return 0;
            }
            if (File.Exists(parse.GetValue(model)))
            {
                // A weights file: the model it holds, at its own input size unless --input says otherwise.
                var loaded = LoadedModel.Load(parse.GetValue(model)!, parse.GetValue(modelName), parse.GetValue(key));
                var fileSummary = loaded.Model.Summary(parse.GetValue(input) is { } size ? ParseInput(size) : loaded.InputShape) with { ModelName = loaded.Entry.Name };
                Console.WriteLine(parse.GetValue(json) ? fileSummary.ToJson() : fileSummary.ToString());
                return 0;
            }
            var entry = ModelRegistry.Get(parse.GetValue(model)!);
            (int Channels, int Height, int Width) shape = parse.GetValue(input) is { } text ? ParseInput(text)
                : (entry.DefaultChannels, entry.DefaultInput.H, entry.DefaultInput.W);
            int k = parse.GetValue(classes) ?? entry.DefaultClasses;
            var (c, h, w) = shape;
            if (h < entry.MinimumSize || w < entry.MinimumSize)
                throw new ArgumentException($"{entry.Name}: input {c}×{h}×{w} is too small; the smallest size it accepts is {c}×{entry.MinimumSize}×{entry.MinimumSize} (--input {c}x{entry.MinimumSize}x{entry.MinimumSize}).");
            if (entry.FixedInput && (h, w) != entry.DefaultInput)
                throw new ArgumentException($"{entry.Name}: input {c}×{h}×{w} does not fit; its fully connected layers need {c}×{entry.DefaultInput.H}×{entry.DefaultInput.W} (--input {c}x{entry.DefaultInput.H}x{entry.DefaultInput.W}).");
            var built = ModelFactory.Build(entry, shape, k, parse.GetValue(width), new Generator(0));
            Striate.Nn.ModelSummary summary;
            try
            {
                summary = built.Summary(shape);
            }
            catch (ArgumentException e)
            {
                string reason = e.Message.StartsWith(built.TypeName + ": ", StringComparison.Ordinal) ? e.Message[(built.TypeName.Length + 2)..] : e.Message;
                throw new ArgumentException($"{entry.Name}: {reason}; the smallest size {entry.Name} accepts is " +
                    $"{shape.Channels}×{entry.MinimumSize}×{entry.MinimumSize}" +
                    (entry.FixedInput ? $", and its fully connected layers need {entry.DefaultInput.H}×{entry.DefaultInput.W}." : "."), e);
            }
            summary = summary with { ModelName = entry.Name };
            Console.WriteLine(parse.GetValue(json) ? summary.ToJson() : summary.ToString());
            return 0;
        }));
        return command;
    }

    /// <summary>"3x224x224", "3×224×224" or "3,224,224" as (C, H, W).</summary>
    internal static (int Channels, int Height, int Width) ParseInput(string text)
    {
        var parts = text.Split(['x', 'X', '×', ','], StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0))
            throw new ArgumentException($"--input must be three positive sizes CxHxW (e.g. 3x224x224 or 3,224,224), got '{text}'.");
        var v = parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return (v[0], v[1], v[2]);
    }
}
