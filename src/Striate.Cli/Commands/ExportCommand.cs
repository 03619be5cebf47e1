using System.CommandLine;
using System.Globalization;
using Striate.Models;
using Striate.Nn;
using Striate.Onnx;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate export CHECKPOINT|MODEL --out model.onnx [--input CxHxW] [--opset 17] [--dynamic-batch]</c>: a trained
/// model (a Striate checkpoint, safetensors or PyTorch .pth weights) or a freshly initialized registry model written as
/// an ONNX file, with its class names and input normalization in <c>metadata_props</c>. The file is written atomically.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("CHECKPOINT|MODEL")
        {
            Description = $"A weights file (checkpoint, safetensors, PyTorch .pth), or a registry model name ({string.Join(", ", ModelRegistry.Names)}) to export with fresh weights.",
        };
        var output = new Option<string>("--out") { Description = "The ONNX file to write (atomically).", Required = true };
        var input = new Option<string?>("--input") { Description = "Input size CxHxW (or C,H,W); default: the model's own (the checkpoint's, or the registry default)." };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX operator set, {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}.",
            DefaultValueFactory = _ => 17,
        };
        var dynamicBatch = new Option<bool>("--dynamic-batch") { Description = "Make the batch dimension symbolic, so the file runs on any batch size." };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var classes = new Option<int?>("--classes") { Description = "Number of classes of a registry model exported with fresh weights (default: the model's)." };
        var width = new Option<double>("--width") { Description = "Channel width multiplier of a registry model exported with fresh weights.", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the fresh weights of a registry model.", DefaultValueFactory = _ => 0UL };
        var command = new Command("export", "Write a model as an ONNX file (for ONNX Runtime and other runtimes).")
        {
            source, output, input, opset, dynamicBatch, modelName, key, classes, width, seed,
        };
        command.SetAction(parse => CliErrors.Run(parse, "export", () =>
        {
            string what = parse.GetValue(source)!, target = parse.GetValue(output)!;
            int version = parse.GetValue(opset);
            if (version < OnnxExportOptions.MinOpset || version > OnnxExportOptions.MaxOpset)
                throw new ArgumentException($"--opset {version} is not supported; choose {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}.");
            string folder = Path.GetDirectoryName(Path.GetFullPath(target))!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"--out: the folder {folder} does not exist.");
            var requested = parse.GetValue(input) is { } text ? SummaryCommand.ParseInput(text) : ((int, int, int)?)null;

            Module model;
            (int Channels, int Height, int Width) shape;
            OnnxMetadata metadata;
            if (File.Exists(what))
            {
                var loaded = LoadedModel.Load(what, parse.GetValue(modelName), parse.GetValue(key));
                model = loaded.Model;
                shape = requested ?? loaded.InputShape;
                if (shape.Channels != loaded.InputShape.Channels)
                    throw new ArgumentException($"--input {shape.Channels}×{shape.Height}×{shape.Width}: {what} holds a model with {loaded.InputShape.Channels} input channels.");
                CheckSize(loaded.Entry, shape);
                metadata = new OnnxMetadata
                {
                    ModelName = loaded.Entry.Name,
                    ClassNames = loaded.ClassNames,
                    NormalizeMean = loaded.Normalization?.Mean,
                    NormalizeStd = loaded.Normalization?.Std,
                };
            }
            else if (ModelRegistry.Names.Contains(what))
            {
                var entry = ModelRegistry.Get(what);
                shape = requested ?? (entry.DefaultChannels, entry.DefaultInput.H, entry.DefaultInput.W);
                CheckSize(entry, shape);
                int k = parse.GetValue(classes) ?? entry.DefaultClasses;
                model = ModelFactory.Build(entry, shape, k, parse.GetValue(width), new Generator(parse.GetValue(seed)));
                metadata = new OnnxMetadata
                {
                    ModelName = entry.Name,
                    ClassNames = Enumerable.Range(0, k).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList(),
                };
            }
            else
                throw new FileNotFoundException($"{what} is neither a file nor a registry model ({string.Join(", ", ModelRegistry.Names)}).", what);

            OnnxExport.Save(model.Eval(), target, shape, new OnnxExportOptions
            {
                Opset = version,
                DynamicBatch = parse.GetValue(dynamicBatch),
                Metadata = metadata,
            });
            Console.WriteLine($"{target}: {metadata.ModelName} {shape.Channels}×{shape.Height}×{shape.Width}, opset {version}" +
                $"{(parse.GetValue(dynamicBatch) ? ", dynamic batch" : ", batch 1")}, {new FileInfo(target).Length / 1e6:F1} MB");
            return 0;
        }));
        return command;
    }

    private static void CheckSize(ModelEntry entry, (int Channels, int Height, int Width) shape)
    {
        var (c, h, w) = shape;
        if (h < entry.MinimumSize || w < entry.MinimumSize)
            throw new ArgumentException($"{entry.Name}: input {c}×{h}×{w} is too small; the smallest size it accepts is {c}×{entry.MinimumSize}×{entry.MinimumSize}.");
        if (entry.FixedInput && (h, w) != entry.DefaultInput)
            throw new ArgumentException($"{entry.Name}: input {c}×{h}×{w} does not fit; its fully connected layers need {c}×{entry.DefaultInput.H}×{entry.DefaultInput.W}.");
    }
}
