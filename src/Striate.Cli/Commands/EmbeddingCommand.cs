using System.CommandLine;
using Striate.Data;
using Striate.Insight;
using Striate.Training;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate visualize embedding CHECKPOINT --dataset D [--layer NAME] [--limit N] --out F.svg</c>: the features a layer
/// (default: the input of the last Linear) gives the test images, projected on two principal components and drawn as a
/// scatter plot coloured by class, with the between/within-class scatter ratio printed. A subcommand of
/// <c>visualize</c>: <see cref="Create"/> returns the <c>embedding</c> command for VisualizeCommand to add.
/// </summary>
internal static class EmbeddingCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset whose test images to embed (default: the one it was trained on)." };
        var layer = new Option<string?>("--layer") { Description = "Layer whose output to use (default: the input of the last Linear layer)." };
        var limit = new Option<int>("--limit") { Description = "Number of test images.", DefaultValueFactory = _ => 1000 };
        var output = new Option<string>("--out") { Description = "Output SVG.", Required = true };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var data = new Option<string?>("--data") { Description = "Folder holding the dataset files." };
        var command = new Command("embedding", "Plot the learned embedding of test images (PCA to 2-D), coloured by class.")
            { checkpoint, dataset, layer, limit, output, modelName, key, data };
        command.SetAction(parse => CliErrors.Run(parse, "visualize embedding", () =>
        {
            if (parse.GetValue(limit) <= 0) throw new ArgumentException($"--limit must be positive, got {parse.GetValue(limit)}.");
            var (loaded, loader, name) = InsightData.Open(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(dataset),
                parse.GetValue(data), parse.GetValue(limit), key: parse.GetValue(key));
            var (features, dim, labels) = Embedding.Extract(loaded.Model, loader, parse.GetValue(layer), parse.GetValue(limit));
            int n = labels.Length;
            var points = Embedding.Pca2(features, n, dim);
            double full = Embedding.SeparationScore(features, n, dim, labels), flat = Embedding.SeparationScore(points, n, 2, labels);
            string where = parse.GetValue(layer) ?? "the input of the last Linear layer";
            string path = parse.GetValue(output)!;
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir != null) Directory.CreateDirectory(dir);
            File.WriteAllText(path, Embedding.ScatterSvg(points, labels, loader.Dataset.ClassNames,
                $"{loaded.Entry.Name} on {name}: {where} ({dim}-D → PCA 2-D, {n} images)"));
            Console.WriteLine($"{n} images of {name}, {dim} features from {where}");
            Console.WriteLine($"class separation (between/within-class scatter): {full:F3} in {dim}-D, {flat:F3} in the 2-D projection");
            Console.WriteLine($"wrote {path}");
            return 0;
        }));
        return command;
    }
}

/// <summary>Opening a checkpoint with its test images the way striate eval does (shared by embedding, ablate and eval).</summary>
internal static class InsightData
{
    /// <summary>The checkpoint, a loader over the images to look at (<see cref="EvaluationImages"/>; printed), and the dataset's name.</summary>
    public static (LoadedModel Loaded, DataLoader Loader, string Dataset) Open(string checkpoint, string? modelName, string? dataset,
        string? dataPath, int? limit, int batchSize = 256, string? key = null)
    {
        var loaded = LoadedModel.Load(checkpoint, modelName, key);
        string name = dataset ?? loaded.Config?.Dataset
            ?? throw new ArgumentException("--dataset is required: the weights file does not say what it was trained on.");
        var (test, description) = EvaluationImages.Open(loaded, name, dataPath, limit);
        Console.WriteLine($"Using {description}.");
        var config = Config(loaded, name);
        var loader = new DataLoader(test, batchSize, transform: config.BuildTransform(false, test.SampleShape));
        EvalCommand.CheckShape(loader.SampleShape, loaded.InputShape);
        return (loaded, loader, name);
    }

    /// <summary>
    /// The preprocessing of <paramref name="loaded"/>: its run's, else a configuration with the normalization predict
    /// uses for the file (an ONNX file's metadata; ImageNet's for a 3-channel weights file; none otherwise).
    /// </summary>
    public static RunConfig Config(LoadedModel loaded, string dataset) => loaded.Config ?? new RunConfig
    {
        Model = loaded.Entry.Name,
        Dataset = dataset,
        NormalizeMean = loaded.Normalization?.Mean ?? [],
        NormalizeStd = loaded.Normalization?.Std ?? [],
    };
}
