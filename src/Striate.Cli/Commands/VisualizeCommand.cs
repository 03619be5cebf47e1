using System.CommandLine;
using Striate.Autograd;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Insight;
using Striate.Nn;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate visualize filters|features|embedding</c>: pictures of what a trained CNN has learned.
/// <list type="bullet">
/// <item><c>filters CHECKPOINT [--layer NAME] --out F.png</c>: a convolution's weights (default: the first Conv2d); colour
/// tiles when it has 3 input channels, else one gray tile per input-channel slice.</item>
/// <item><c>features CHECKPOINT IMAGE [--layer NAME ...] --out DIR</c>: the activations of an image, captured with forward
/// hooks, one grid PNG per layer named after it. Default layers: the model's direct children, with a child that is a
/// Sequential replaced by its own children (so VGG's <c>features</c> shows each layer and ResNet's <c>layerN</c> each
/// block); only 4-D outputs [1, C, H, W] are drawn.</item>
/// </list>
/// </summary>
internal static class VisualizeCommand
{
    public static Command Create()
    {
        var command = new Command("visualize", "Draw a model's filters, feature maps or embeddings.");
        command.Subcommands.Add(Filters());
        command.Subcommands.Add(Features());
        command.Subcommands.Add(EmbeddingCommand.Create());
        return command;
    }

    private static Command Filters()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var layer = new Option<string?>("--layer") { Description = "Conv2d layer name (default: the first Conv2d)." };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var maxFilters = new Option<int>("--max-filters") { Description = "Draw at most this many output channels.", DefaultValueFactory = _ => 64 };
        var output = new Option<string>("--out") { Description = "Output PNG.", Required = true };
        var command = new Command("filters", "Draw a convolution layer's filters as a grid PNG.") { checkpoint, layer, modelName, key, maxFilters, output };
        command.SetAction(parse => CliErrors.Run(parse, "visualize filters", () =>
        {
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(key));
            string? name = parse.GetValue(layer);
            Conv2d conv;
            if (name == null)
            {
                var first = loaded.Model.NamedModules().FirstOrDefault(p => p.Value is Conv2d);
                conv = first.Value as Conv2d ?? throw new ArgumentException($"Model '{loaded.Entry.Name}' has no Conv2d layer.");
                name = first.Key;
            }
            else
            {
                var module = LayerLookup.Find(loaded.Model, name);
                conv = module as Conv2d ?? throw new ArgumentException($"Layer '{name}' is a {module.TypeName}, not a Conv2d; pass a convolution layer.");
            }
            int max = parse.GetValue(maxFilters);
            if (max <= 0) throw new ArgumentException($"--max-filters must be positive, got {max}.");
            string path = parse.GetValue(output)!;
            ImageGrid.ConvFilters(conv.Weight, name, max).SavePng(path);
            Console.WriteLine($"Wrote {path}: {name} weight {Tensor.FormatShape(conv.Weight.Shape)}, values {ImageGrid.Range(conv.Weight.ReadOnlySpan)}.");
            return 0;
        }));
        return command;
    }

    private static Command Features()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var image = new Argument<string>("IMAGE") { Description = "PNG, PGM or PPM file." };
        var layers = new Option<string[]>("--layer") { Description = "Layer to capture (repeatable; default: each top-level block).", AllowMultipleArgumentsPerToken = false };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var fit = new Option<bool>("--fit") { Description = "Resize and convert the image to the model's input instead of rejecting it." };
        var maxMaps = new Option<int>("--max-maps") { Description = "Draw at most this many channels per layer.", DefaultValueFactory = _ => 64 };
        var output = new Option<string>("--out") { Description = "Output folder.", Required = true };
        var command = new Command("features", "Draw the feature maps an image produces, one grid PNG per layer.") { checkpoint, image, layers, modelName, key, fit, maxMaps, output };
        command.SetAction(parse => CliErrors.Run(parse, "visualize features", () =>
        {
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(key));
            var input = loaded.LoadImage(parse.GetValue(image)!, parse.GetValue(fit)).Input;
            int max = parse.GetValue(maxMaps);
            if (max <= 0) throw new ArgumentException($"--max-maps must be positive, got {max}.");
            var requested = parse.GetValue(layers) ?? [];
            var chosen = requested.Length > 0
                ? requested.Select(n => (Name: n, Module: LayerLookup.Find(loaded.Model, n))).ToList()
                : DefaultLayers(loaded.Model);

            var captured = new List<(string Name, Tensor Output)>();
            var hooks = chosen.Select(l => l.Module.RegisterForwardHook((_, _, o) => captured.Add((l.Name, o.Clone())))).ToList();
            try
            {
                using var noGrad = GradMode.NoGrad();
                loaded.Model.Call(input);
            }
            finally
            {
                foreach (var h in hooks) h.Dispose();
            }

            string dir = parse.GetValue(output)!;
            CliErrors.RequireOutputFolder(dir);
            int written = 0;
            foreach (var (name, o) in captured)
            {
                if (o.Rank != 4)
                {
                    if (requested.Length > 0) Console.WriteLine($"  {name}: output {Tensor.FormatShape(o.Shape)} is not a feature map [1, C, H, W]; skipped.");
                    continue;
                }
                string file = Path.Combine(dir, SafeFileName(name) + ".png");
                ImageGrid.FeatureMaps(o, name, max).SavePng(file);
                Console.WriteLine($"  {file}  {Tensor.FormatShape(o.Shape)}  values {ImageGrid.Range(o.ReadOnlySpan)}");
                written++;
            }
            if (written == 0) throw new ArgumentException("None of the chosen layers produced a 4-D feature map; pass --layer with a convolutional layer.");
            Console.WriteLine($"Wrote {written} feature-map grid{(written == 1 ? "" : "s")} to {dir}.");
            return 0;
        }));
        return command;
    }

    /// <summary>The model's direct children, a Sequential child replaced by its own children.</summary>
    internal static List<(string Name, Module Module)> DefaultLayers(Module model)
    {
        var result = new List<(string, Module)>();
        foreach (var (name, child) in model.NamedChildren())
        {
            if (child is Sequential && child.NamedChildren().Any())
                foreach (var (sub, grandchild) in child.NamedChildren()) result.Add(($"{name}.{sub}", grandchild));
            else
                result.Add((name, child));
        }
        if (result.Count == 0) result.Add(("output", model));
        return result;
    }

    private static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return new string(name.Select(ch => invalid.Contains(ch) ? '_' : ch).ToArray());
    }

}
