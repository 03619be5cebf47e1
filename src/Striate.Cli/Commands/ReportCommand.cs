using System.CommandLine;
using System.Text.Json.Nodes;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Insight;
using Striate.Nn;
using Striate.Training;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate report RUN_DIR</c>: writes RUN_DIR/report.html from the run's checkpoint, metrics.json and plots, evaluating
/// the model on its test set again when that set can be found (per-class accuracy, sample predictions with Grad-CAM).
/// </summary>
internal static class ReportCommand
{
    public const int DefaultSamples = 8;

    public static Command Create()
    {
        var runDir = new Argument<string>("RUN_DIR") { Description = "A folder written by striate train (model.safetensors, metrics.json, ...)." };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var data = new Option<string?>("--data") { Description = "Folder holding the dataset files." };
        var samples = new Option<int>("--samples") { Description = "Test images to show with their predictions.", DefaultValueFactory = _ => DefaultSamples };
        var limit = new Option<int?>("--limit") { Description = "Evaluate on the first N test images only." };
        var command = new Command("report", "Write a self-contained HTML report of a training run.") { runDir, modelName, data, samples, limit };
        command.SetAction(parse => CliErrors.Run(parse, "report", () =>
        {
            string dir = parse.GetValue(runDir)!;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Run folder '{dir}' does not exist.");
            string checkpointPath = Path.Combine(dir, "model.safetensors");
            if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"{dir} holds no model.safetensors (is it a striate train output folder?).", checkpointPath);
            int n = parse.GetValue(samples);
            if (n < 0) throw new ArgumentException($"--samples must not be negative, got {n}.");
            if (parse.GetValue(limit) is int l && l <= 0) throw new ArgumentException($"--limit must be positive, got {l}.");

            var loaded = LoadedModel.Load(checkpointPath, parse.GetValue(modelName));
            var history = ReadHistory(dir, checkpointPath);
            var notes = new List<string>();
            IDataset? test = null;
            EvaluationResult? evaluation = null;
            ITransform? transform = null;
            string evaluatedOn = "test";
            if (loaded.Config is { } config)
            {
                try
                {
                    // The run's own held-out images: its test set, else its validation split (the same seed gives the same split).
                    var splits = TrainingData.Open(config with { LimitTest = parse.GetValue(limit) ?? config.LimitTest, LimitTrain = null }, parse.GetValue(data), loaded.InputShape.Channels);
                    test = splits.Test ?? splits.Validation
                        ?? throw new InvalidDataException($"the run held out no images ({splits.Description})");
                    if (splits.Test == null) evaluatedOn = "validation";
                    transform = config.BuildTransform(false, test.SampleShape);
                    Console.WriteLine($"Evaluating {loaded.Entry.Name} on {test.Count:N0} {evaluatedOn} images of {config.Dataset}...");
                    evaluation = Evaluator.Evaluate(loaded.Model, new DataLoader(test, Math.Max(config.BatchSize, 256), transform: transform, seed: config.Seed));
                }
                catch (Exception e) when (e is DatasetNotFoundException or DirectoryNotFoundException or FileNotFoundException or InvalidDataException or ArgumentException)
                {
                    notes.Add($"The {evaluatedOn} images ({config.Dataset}) could not be opened, so per-class accuracy and sample predictions are missing: {e.Message.Split('\n')[0]}");
                    test = null;
                }
            }
            else notes.Add("The checkpoint has no run configuration (a plain weights file?), so the test set is unknown.");

            string path = Write(dir, loaded.Entry.Name, loaded.Model, loaded.Config, history, loaded.ClassNames, loaded.InputShape,
                evaluation, test, transform, n, notes, evaluatedOn);
            Console.WriteLine($"Wrote {path}.");
            return 0;
        }));
        return command;
    }

    /// <summary>Builds the report's content (samples from <paramref name="test"/>, plots from the run folder if present) and writes report.html.</summary>
    public static string Write(string dir, string modelName, Module model, RunConfig? config, IReadOnlyList<EpochRecord> history,
        IReadOnlyList<string> classNames, (int Channels, int Height, int Width) inputShape, EvaluationResult? evaluation,
        IDataset? test, ITransform? transform, int samples = DefaultSamples, IReadOnlyList<string>? notes = null, string evaluatedOn = "test")
    {
        string? ReadIf(string file) => File.Exists(Path.Combine(dir, file)) ? File.ReadAllText(Path.Combine(dir, file)) : null;
        var content = new ReportContent
        {
            Title = config != null ? $"{modelName} on {config.Dataset}" : modelName,
            ModelName = modelName,
            Model = model,
            InputShape = inputShape,
            ClassNames = classNames,
            Config = config,
            History = history,
            Evaluation = evaluation,
            Samples = test != null && samples > 0 ? ReportSamples.Pick(model, test, transform, config, samples) : [],
            // The run's own plots; when missing, the report draws them from the history and the evaluation.
            CurvesSvg = ReadIf("curves.svg"),
            ConfusionSvg = evaluation == null ? ReadIf("confusion.svg") : null,
            Notes = notes ?? [],
            EvaluatedOn = evaluatedOn,
        };
        return ReportWriter.Write(dir, content);
    }

    /// <summary>The epochs of metrics.json, else of the checkpoint.</summary>
    private static IReadOnlyList<EpochRecord> ReadHistory(string dir, string checkpointPath)
    {
        string metrics = Path.Combine(dir, "metrics.json");
        if (File.Exists(metrics) && JsonNode.Parse(File.ReadAllText(metrics))?["epochs"] is JsonArray epochs)
            return MetricsFile.ParseHistory(epochs.ToJsonString());
        return MetricsFile.ParseHistory(Checkpoint.Load(checkpointPath).HistoryJson);
    }
}
