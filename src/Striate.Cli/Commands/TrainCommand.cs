using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Striate.Data;
using Striate.Models;
using Striate.Nn;
using Striate.Reports;
using Striate.Training;

namespace Striate.Cli.Commands;

/// <summary><c>striate train MODEL --dataset D [...]</c>: trains and writes metrics.json, model.safetensors, curves.svg and confusion.svg.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = $"Model name ({string.Join(", ", ModelRegistry.Names)})." };
        var dataset = new Option<string>("--dataset") { Description = "mnist, fashion-mnist, cifar10 or folder:PATH.", DefaultValueFactory = _ => "mnist" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default: the model's recipe)." };
        var batchSize = new Option<int?>("--batch-size") { Description = "Mini-batch size." };
        var lr = new Option<double?>("--lr") { Description = "Learning rate." };
        var optimizer = new Option<string?>("--optimizer") { Description = "sgd, adam or adamw." };
        var momentum = new Option<double?>("--momentum") { Description = "SGD momentum." };
        var weightDecay = new Option<double?>("--weight-decay") { Description = "Weight decay (L2 for sgd/adam, decoupled for adamw)." };
        var scheduler = new Option<string?>("--scheduler") { Description = "none, step, multistep, cosine or onecycle." };
        var resize = new Option<int?>("--resize") { Description = "Resize images to this square size." };
        var augment = new Option<bool>("--augment") { Description = "Random crops, flips and colour jitter while training." };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => 0 };
        var threads = new Option<int?>("--threads") { Description = "Kernel threads (default: all cores)." };
        var limitTrain = new Option<int?>("--limit-train") { Description = "Train on the first N images only." };
        var limitTest = new Option<int?>("--limit-test") { Description = "Evaluate on the first N test images only." };
        var width = new Option<double?>("--width") { Description = "Channel width multiplier (models that have one; default: the model's recipe)." };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing for the loss." };
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Do not normalize with the dataset's mean and std." };
        var data = new Option<string?>("--data") { Description = "Folder holding the dataset files." };
        var outDir = new Option<string?>("--out") { Description = "Output folder (default: runs/MODEL-DATASET)." };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/model.safetensors." };
        var report = new Option<bool>("--report") { Description = "Also write OUT/report.html (see striate report)." };

        var command = new Command("train", "Train a model and write metrics, weights and plots.")
        {
            model, dataset, epochs, batchSize, lr, optimizer, momentum, weightDecay, scheduler, resize, augment, seed, threads,
            limitTrain, limitTest, width, labelSmoothing, noNormalize, data, outDir, resume, report,
        };
        command.SetAction(parse => CliErrors.Run(parse, "train", () =>
        {
            var entry = ModelRegistry.Get(parse.GetValue(model)!);
            var recipe = entry.Recipe;
            string datasetName = parse.GetValue(dataset)!;
            var stats = parse.GetValue(noNormalize) ? null : RunConfig.DatasetStatistics(datasetName);
            var config = new RunConfig
            {
                Model = entry.Name,
                Dataset = datasetName,
                Epochs = parse.GetValue(epochs) ?? recipe.Epochs,
                BatchSize = parse.GetValue(batchSize) ?? recipe.BatchSize,
                LearningRate = parse.GetValue(lr) ?? recipe.LearningRate,
                Optimizer = parse.GetValue(optimizer) ?? recipe.Optimizer,
                Momentum = parse.GetValue(momentum) ?? recipe.Momentum,
                WeightDecay = parse.GetValue(weightDecay) ?? recipe.WeightDecay,
                Scheduler = parse.GetValue(scheduler) ?? recipe.Scheduler,
                Resize = parse.GetValue(resize) ?? recipe.Resize,
                Augment = parse.GetValue(augment),
                Seed = parse.GetValue(seed),
                LimitTrain = parse.GetValue(limitTrain),
                LimitTest = parse.GetValue(limitTest),
                Width = parse.GetValue(width) ?? recipe.Width,
                LabelSmoothing = parse.GetValue(labelSmoothing),
                NormalizeMean = stats?.Mean ?? [],
                NormalizeStd = stats?.Std ?? [],
            };
            config.Validate();
            if (parse.GetValue(threads) is int t)
            {
                if (t <= 0) throw new ArgumentException($"--threads must be positive, got {t}.");
                Striate.Kernels.KernelThreads.Count = t;
            }
            string dir = parse.GetValue(outDir) ?? Path.Combine("runs", $"{entry.Name}-{datasetName.Replace(':', '_').Replace('/', '_')}");
            return new TrainRun(config, dir, parse.GetValue(data), parse.GetValue(resume), parse.GetValue(report)).Execute();
        }));
        return command;
    }
}

/// <summary>One training run of the command line: data, model, loop, files.</summary>
internal sealed class TrainRun(RunConfig config, string outDir, string? dataPath, bool resume, bool report = false)
{
    public int Execute()
    {
        Generator.Manual(config.Seed);
        var entry = ModelRegistry.Get(config.Model);
        IDataset train = Datasets.Open(config.Dataset, train: true, dataPath, channels: entry.DefaultChannels);
        IDataset test = Datasets.Open(config.Dataset, train: false, dataPath, channels: entry.DefaultChannels);
        if (config.LimitTrain is int limit) train = new Subset(train, Math.Min(limit, train.Count));
        if (config.LimitTest is int limitTest) test = new Subset(test, Math.Min(limitTest, test.Count));

        var trainLoader = new DataLoader(train, config.BatchSize, shuffle: true, transform: config.BuildTransform(true, train.SampleShape), seed: config.Seed);
        var testLoader = new DataLoader(test, Math.Max(config.BatchSize, 256), transform: config.BuildTransform(false, test.SampleShape), seed: config.Seed);
        var shape = trainLoader.SampleShape;
        var classes = train.ClassNames;
        var model = ModelFactory.Build(entry, shape, classes.Count, config.Width, new Generator(config.Seed));
        var optimizer = config.BuildOptimizer(model);
        var scheduler = config.BuildScheduler(optimizer, trainLoader.BatchCount);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(config.LabelSmoothing), scheduler);

        Directory.CreateDirectory(outDir);
        string checkpointPath = Path.Combine(outDir, "model.safetensors");
        if (resume)
        {
            if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"--resume: no checkpoint at {checkpointPath}.", checkpointPath);
            var checkpoint = Checkpoint.Load(checkpointPath);
            if (!string.Equals(checkpoint.ModelName, entry.Name, StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--resume: {checkpointPath} holds model '{checkpoint.ModelName}', not '{entry.Name}'.");
            checkpoint.Restore(model, optimizer, scheduler);
            trainer.RestoreHistory(MetricsFile.ParseHistory(checkpoint.HistoryJson));
            Console.WriteLine($"Resuming {entry.Name} after epoch {checkpoint.Epoch} from {checkpointPath}.");
        }

        Console.WriteLine($"Training {entry.Name} ({model.ParameterCount():N0} parameters) on {config.Dataset}: {train.Count:N0} training and {test.Count:N0} test images of {shape.Channels}×{shape.Height}×{shape.Width}, " +
                          $"{config.Epochs} epochs, batch {config.BatchSize}, {config.Optimizer} lr {config.LearningRate}, {Striate.Kernels.KernelThreads.Count} threads.");

        trainer.EpochEnded += record =>
        {
            Checkpoint.Capture(entry.Name, record.Epoch, model, optimizer, scheduler, config.ToJson(), MetricsFile.HistoryJson(trainer.History),
                classes, shape).Save(checkpointPath);
            MetricsFile.Write(Path.Combine(outDir, "metrics.json"), config, trainer.History);
            File.WriteAllText(Path.Combine(outDir, "curves.svg"), Charts.LearningCurves(trainer.History, $"{entry.Name} on {config.Dataset}"));
        };

        var display = TrainingDisplay.Create();
        display.Run(trainer, () => trainer.Fit(trainLoader, testLoader, config.Epochs));

        var final = Evaluator.Evaluate(model, testLoader);
        File.WriteAllText(Path.Combine(outDir, "confusion.svg"), Charts.ConfusionMatrix(final.Confusion, final.ClassNames,
            $"{entry.Name} on {config.Dataset}: test accuracy {final.Top1:P2}"));
        Console.WriteLine($"Test accuracy {final.Top1:P2} (top-5 {final.Top5:P2}), loss {final.Loss:F4}. Wrote {outDir}/metrics.json, model.safetensors, curves.svg, confusion.svg.");
        if (report)
            Console.WriteLine($"Wrote {ReportCommand.Write(outDir, entry.Name, model, config, trainer.History, classes, shape, final, test, config.BuildTransform(false, test.SampleShape))}.");
        return 0;
    }
}
