using System.CommandLine;
using Striate.Data;
using Striate.Training;

namespace Striate.Cli.Commands;

/// <summary><c>striate eval CHECKPOINT [--dataset D]</c>: loss, top-1, top-5 and per-class accuracy on a test set.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset to evaluate on (default: the one it was trained on)." };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var data = new Option<string?>("--data") { Description = "Folder holding the dataset files." };
        var batchSize = new Option<int>("--batch-size") { Description = "Batch size.", DefaultValueFactory = _ => 256 };
        var limit = new Option<int?>("--limit") { Description = "Evaluate on the first N test images only." };
        var command = new Command("eval", "Evaluate a trained model on a test set.") { checkpoint, dataset, modelName, data, batchSize, limit };
        command.SetAction(parse => CliErrors.Run(parse, "eval", () =>
        {
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName));
            string name = parse.GetValue(dataset) ?? loaded.Config?.Dataset
                ?? throw new ArgumentException("--dataset is required: the weights file does not say what it was trained on.");
            if (parse.GetValue(batchSize) <= 0) throw new ArgumentException($"--batch-size must be positive, got {parse.GetValue(batchSize)}.");
            IDataset test = Datasets.Open(name, train: false, parse.GetValue(data), channels: loaded.InputShape.Channels);
            if (parse.GetValue(limit) is int n) test = new Subset(test, Math.Min(n, test.Count));
            var config = loaded.Config ?? new RunConfig { Model = loaded.Entry.Name, Dataset = name };
            var loader = new DataLoader(test, parse.GetValue(batchSize), transform: config.BuildTransform(false, test.SampleShape));
            CheckShape(loader.SampleShape, loaded.InputShape);
            var result = Evaluator.Evaluate(loaded.Model, loader);
            Console.WriteLine($"{loaded.Entry.Name} on {name} ({result.Samples:N0} images): loss {result.Loss:F4}, top-1 {result.Top1:P2}, top-5 {result.Top5:P2}");
            var perClass = result.PerClassAccuracy();
            for (int c = 0; c < perClass.Length; c++)
                Console.WriteLine($"  {result.ClassNames[c],-14} {perClass[c]:P2}");
            return 0;
        }));
        return command;
    }

    internal static void CheckShape((int C, int H, int W) data, (int C, int H, int W) model)
    {
        if (data != model)
            throw new ArgumentException($"the data gives {data.C}×{data.H}×{data.W} images, but the model was trained on {model.C}×{model.H}×{model.W}.");
    }
}
