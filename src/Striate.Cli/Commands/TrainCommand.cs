using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Striate.Data;
using Striate.Distributed;
using Striate.IO;
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
        var limitTrain = new Option<int?>("--limit-train") { Description = "Train on N images only: sampled across classes (stratified, seeded) from an image folder; the first N of mnist, fashion-mnist and cifar10 (already mixed, and what PyTorch scripts slice)." };
        var limitTest = new Option<int?>("--limit-test") { Description = "Evaluate on N validation/test images only (chosen as --limit-train chooses)." };
        var valSplit = new Option<double?>("--val-split") { Description = "Hold out this share of every class of the training images for validation (stratified, seeded). Default: 0.1 for a flat image folder; none when the folder has val/ or the dataset a test split." };
        var width = new Option<double?>("--width") { Description = "Channel width multiplier (models that have one; default: the model's recipe)." };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing for the loss." };
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Keep raw [0, 1] pixels: no normalization with the dataset's mean and std (or ImageNet's, for torchvision's models and pretrained RGB weights)." };
        var data = new Option<string?>("--data") { Description = "Folder holding the dataset files." };
        var outDir = new Option<string?>("--out") { Description = "Output folder (default: runs/MODEL-DATASET)." };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUT/model.safetensors." };
        var report = new Option<bool>("--report") { Description = "Also write OUT/report.html (see striate report)." };
        var weights = new Option<string?>("--weights") { Description = "Start from pretrained weights (safetensors or PyTorch .pth): every tensor that fits is loaded, the classifier is replaced for this dataset's classes." };
        var key = LoadedModel.KeyOption();
        var freeze = new Option<string>("--freeze") { Description = "What does not train: none, backbone (all but the classifier) or module names, comma-separated (e.g. conv1,layer1).", DefaultValueFactory = _ => "none" };
        var headLr = new Option<double?>("--head-lr") { Description = "Learning rate of the classifier, when it should differ from --lr." };
        var distributed = new Option<bool>("--distributed") { Description = "Data-parallel training across the processes mpirun started (mpirun -np N striate train … --distributed); --batch-size is per process." };
        var syncBatchNorm = new Option<bool>("--sync-batchnorm") { Description = "With --distributed: batch norm normalizes with the statistics of the whole global batch (SyncBatchNorm)." };
        var force = new Option<bool>("--force") { Description = "Replace the run already in OUT (without it, training into a used folder needs --resume)." };

        var command = new Command("train", "Train a model and write metrics, weights and plots.")
        {
            model, dataset, epochs, batchSize, lr, optimizer, momentum, weightDecay, scheduler, resize, augment, seed, threads,
            limitTrain, limitTest, valSplit, width, labelSmoothing, noNormalize, data, outDir, resume, report, distributed, syncBatchNorm, weights, key, freeze, headLr, force,
        };
        command.SetAction(parse => DistributedLaunch.Finish(CliErrors.Run(parse, "train", () =>
        {
            var entry = ModelRegistry.Get(parse.GetValue(model)!);
            var recipe = entry.Recipe;
            string datasetName = parse.GetValue(dataset)!;
            string? weightsPath = parse.GetValue(weights);
            // Pretrained 3-channel weights (torchvision's) and torchvision's architectures take ImageNet-normalized RGB.
            var stats = parse.GetValue(noNormalize) ? null : RunConfig.DefaultStatistics(entry, datasetName, pretrained: weightsPath != null);
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
                ValSplit = parse.GetValue(valSplit),
                Width = parse.GetValue(width) ?? recipe.Width,
                LabelSmoothing = parse.GetValue(labelSmoothing),
                NormalizeMean = stats?.Mean ?? [],
                NormalizeStd = stats?.Std ?? [],
                Weights = weightsPath,
                WeightsKey = parse.GetValue(key),
                Freeze = parse.GetValue(freeze)!,
                HeadLr = parse.GetValue(headLr),
            };
            config.Validate();
            if (parse.GetValue(threads) is int t)
            {
                if (t <= 0) throw new ArgumentException($"--threads must be positive, got {t}.");
                Striate.Kernels.KernelThreads.Count = t;
            }
            string dir = parse.GetValue(outDir) ?? Path.Combine("runs", $"{entry.Name}-{datasetName.Replace(':', '_').Replace('/', '_')}");
            if (parse.GetValue(syncBatchNorm) && !parse.GetValue(distributed)) throw new ArgumentException("--sync-batchnorm needs --distributed (it synchronizes batch norm across processes).");
            // The single-process path never loads MPI.
            IProcessGroup? group = null;
            if (parse.GetValue(distributed)) group = DistributedLaunch.Join("train");
            else DistributedLaunch.RefuseUndistributedJob("train");
            return new TrainRun(config, dir, parse.GetValue(data), parse.GetValue(resume), parse.GetValue(report), group, parse.GetValue(syncBatchNorm),
                parse.GetValue(force)).Execute();
        })));
        return command;
    }
}

/// <summary>
/// One training run of the command line: data, model, loop, files. With a process group of several processes, each
/// trains on its shard (a <see cref="DistributedSampler"/> of the single-process order) with the model wrapped in
/// <see cref="DistributedDataParallel"/>; evaluation is sharded and its figures reduced; only rank 0 writes files;
/// a resumed run starts every process from rank 0's checkpoint.
/// </summary>
internal sealed class TrainRun(RunConfig config, string outDir, string? dataPath, bool resume, bool report = false, IProcessGroup? group = null,
    bool syncBatchNorm = false, bool force = false)
{
    private bool Distributed => group is { WorldSize: > 1 };
    private bool WritesFiles => group == null || group.Rank == 0;

    public int Execute()
    {
        // Only the process that writes the files (rank 0 of a distributed run) looks at the folder: --out must name a
        // folder; then the lock, taken first so a second run on the same folder stops before reading or writing
        // anything in it; then, holding it, whether the folder's earlier run may be replaced (--force) or continued.
        if (WritesFiles) CliErrors.RequireOutputFolder(outDir);
        using var folderLock = WritesFiles ? RunFolderLock.Acquire(outDir, $"striate train {config.Model} --dataset {config.Dataset}") : null;
        if (folderLock is { DeletedTemporaries.Count: > 0 })
            Console.WriteLine($"Deleted {folderLock.DeletedTemporaries.Count} temporary file(s) an interrupted run left in {outDir}.");
        if (WritesFiles) RunFolderReuse.Check(outDir, resume, force);
        Generator.Manual(config.Seed);
        var entry = ModelRegistry.Get(config.Model);
        var splits = TrainingData.Open(config, dataPath, entry.DefaultChannels);
        IDataset train = splits.Train;
        IDataset? evaluation = splits.PerEpoch;
        DatasetNotes.Print(train, entry.Name, entry.DefaultChannels);

        int processes = group?.WorldSize ?? 1, rank = group?.Rank ?? 0;
        // Distributed: each process a shard of the permutation one process would take, so step k of all processes
        // together covers the samples of one process's step k at batch p × B.
        var trainLoader = Distributed
            ? new DataLoader(train, config.BatchSize, transform: config.BuildTransform(true, train.SampleShape), seed: config.Seed,
                sampler: new DistributedSampler(train.Count, processes, rank, shuffle: true, seed: config.Seed))
            : new DataLoader(train, config.BatchSize, shuffle: true, transform: config.BuildTransform(true, train.SampleShape), seed: config.Seed);
        DataLoader? EvalLoader(IDataset? d) => d == null ? null : new DataLoader(d, Math.Max(config.BatchSize, 256), transform: config.BuildTransform(false, d.SampleShape), seed: config.Seed,
            sampler: Distributed ? DistributedSampler.ForEvaluation(d.Count, processes, rank) : null);
        var evalLoader = EvalLoader(evaluation);
        var shape = trainLoader.SampleShape;
        var classes = train.ClassNames;
        var model = ModelFactory.Build(entry, shape, classes.Count, config.Width, new Generator(config.Seed));
        if (resume) CheckSameFineTuning();
        if (config.Weights != null && !resume) Pretrained.Load(model, config, classes.Count);
        var frozen = config.ApplyFreeze(model);
        if (frozen.Count > 0)
            Console.WriteLine($"Frozen (--freeze {config.Freeze}): {frozen.Count} parameter tensors; training {model.TrainableParameters().Sum(p => (long)p.Numel):N0} of {model.ParameterCount():N0} parameters.");
        int synchronized = syncBatchNorm && group != null ? Striate.Nn.SyncBatchNorm.Convert(model, group) : 0;
        var optimizer = config.BuildOptimizer(model);
        var scheduler = config.BuildScheduler(optimizer, trainLoader.BatchCount);
        var trainer = new Trainer(model, optimizer, new CrossEntropyLoss(config.LabelSmoothing), scheduler, processGroup: group) { EvaluationSplit = splits.PerEpochName };

        string checkpointPath = Path.Combine(outDir, "model.safetensors");
        string bestPath = Path.Combine(outDir, BestCheckpointName);
        int? savedEpoch = null, currentEpoch = null;
        if (resume)
        {
            if (WritesFiles && !File.Exists(checkpointPath)) throw new FileNotFoundException($"--resume: no checkpoint at {checkpointPath}.", checkpointPath);
            // Every process resumes from rank 0's file, which need not be on the others' disks.
            using var shared = group != null ? DistributedLaunch.ShareFromRank0(group, checkpointPath) : null;
            var checkpoint = Checkpoint.Load(shared?.Path ?? checkpointPath);
            if (!string.Equals(checkpoint.ModelName, entry.Name, StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--resume: {checkpointPath} holds model '{checkpoint.ModelName}', not '{entry.Name}'.");
            if (WritesFiles) WarnIfTheRecipeChanged(checkpoint, checkpointPath);
            checkpoint.Restore(model, optimizer, scheduler);
            savedEpoch = checkpoint.Epoch;
            trainer.RestoreHistory(MetricsFile.ParseHistory(checkpoint.HistoryJson));
            Console.WriteLine($"Resuming {entry.Name} after epoch {checkpoint.Epoch} from {checkpointPath}.");
        }

        string batch = Distributed ? $"global batch {config.BatchSize * processes} ({processes} processes × {config.BatchSize})" : $"batch {config.BatchSize}";
        Console.WriteLine($"Training {entry.Name} ({model.ParameterCount():N0} parameters) on {config.Dataset}: {train.Count:N0} training images of {shape.Channels}×{shape.Height}×{shape.Width}{ImageNetNote}, " +
                          $"{config.Epochs} epochs, {batch}, {config.Optimizer} lr {config.LearningRate}, {Striate.Kernels.KernelThreads.Count} threads{(Distributed ? " per process" : "")}.");
        Console.WriteLine(splits.Description);
        if (group != null)
            Console.WriteLine($"Distributed: {group.Description}; gradients averaged in buckets during backward; " +
                              (synchronized > 0 ? $"{synchronized} batch-norm layers synchronized across processes." : "batch-norm running statistics of rank 0 evaluated and saved."));

        // After resuming: DDP starts by copying rank 0's parameters and buffers to every process.
        using var ddp = group != null ? new DistributedDataParallel(model, group) : null;

        // The best epoch by validation accuracy is kept beside the last; test images never choose an epoch.
        var best = trainer.History.Where(r => double.IsFinite(r.ValAccuracy)).MaxBy(r => r.ValAccuracy);
        trainer.EpochEnded += record =>
        {
            if (!WritesFiles)
            {
                DistributedLaunch.StopNote = $" Rank 0's last checkpoint in {outDir} continues the run with --resume.";
                return;
            }
            var snapshot = Checkpoint.Capture(entry.Name, record.Epoch, model, optimizer, scheduler, config.ToJson(), MetricsFile.HistoryJson(trainer.History),
                classes, shape);
            snapshot.Save(checkpointPath);
            DistributedLaunch.StopNote = $" {checkpointPath} (epoch {record.Epoch}) continues the run with --resume.";
            if (double.IsFinite(record.ValAccuracy) && (best == null || record.ValAccuracy > best.ValAccuracy))
            {
                best = record;
                snapshot.Save(bestPath);
            }
            savedEpoch = record.Epoch;
            MetricsFile.Write(Path.Combine(outDir, "metrics.json"), config, trainer.History, best?.Epoch, splits.Description);
            AtomicFile.WriteAllText(Path.Combine(outDir, "curves.svg"), Charts.LearningCurves(trainer.History, $"{entry.Name} on {config.Dataset}"));
        };

        trainer.BatchEnded += p => currentEpoch = p.Epoch;
        var display = TrainingDisplay.Create(plain: group != null, batchNote: Distributed ? batch : null);
        // Single-process runs only: under mpirun one rank stopping alone would leave the others waiting in a collective.
        using (var interrupt = group is null ? new TrainingInterrupt(trainer) : null)
        {
            try
            {
                display.Run(trainer, () => trainer.Fit(trainLoader, evalLoader, config.Epochs));
            }
            catch (TrainingInterrupt.InterruptedException)
            {
                ddp?.Dispose();
                return TrainingInterrupt.Report(checkpointPath, savedEpoch, currentEpoch ?? (savedEpoch ?? 0) + 1);
            }
        }
        // Detached before anything else runs backward (the report's saliency maps), which would otherwise wait for the other processes.
        ddp?.Dispose();

        // The final figure: the test images when there are any, else the validation images (last epoch's model).
        var finalSet = splits.Test ?? splits.Validation;
        string finalName = splits.Test != null ? "Test" : "Validation";
        if (finalSet == null)
        {
            if (WritesFiles)
                Console.WriteLine($"No held-out images, so no accuracy to report (training accuracy {trainer.History[^1].TrainAccuracy:P2} is not one). Wrote {outDir}/metrics.json, model.safetensors, curves.svg.");
            if (WritesFiles) SkippedImages.PrintSummary();
            return 0;
        }
        var finalLoader = ReferenceEquals(finalSet, evaluation) ? evalLoader! : EvalLoader(finalSet)!;
        var final = Evaluator.Evaluate(model, finalLoader, group: group);
        if (!WritesFiles) return 0;
        AtomicFile.WriteAllText(Path.Combine(outDir, "confusion.svg"), Charts.ConfusionMatrix(final.Confusion, final.ClassNames,
            $"{entry.Name} on {config.Dataset}: {finalName.ToLowerInvariant()} accuracy {final.Top1:P2}"));
        string bestNote = best != null ? $" Best validation accuracy {best.ValAccuracy:P2} at epoch {best.Epoch}, kept in {BestCheckpointName}." : "";
        Console.WriteLine($"{finalName} accuracy {final.Top1:P2}{(final.ClassNames.Count > 5 ? $" (top-5 {final.Top5:P2})" : "")}, loss {final.Loss:F4} on {finalSet.Count:N0} images.{bestNote} Wrote {outDir}/metrics.json, model.safetensors, curves.svg, confusion.svg.");
        SkippedImages.PrintSummary();
        if (report)
            Console.WriteLine($"Wrote {ReportCommand.Write(outDir, entry.Name, model, config, trainer.History, classes, shape, final, finalSet, config.BuildTransform(false, finalSet.SampleShape), evaluatedOn: splits.Test != null ? "test" : "validation")}.");
        return 0;
    }

    /// <summary>
    /// A resumed run follows the command line, which may not be the recipe the checkpoint was trained with (e.g. more
    /// epochs re-size a OneCycle schedule): say so, field by field, rather than change the recipe silently.
    /// </summary>
    private void WarnIfTheRecipeChanged(Checkpoint checkpoint, string checkpointPath)
    {
        if (checkpoint.ConfigJson == "{}") return;
        var saved = RunConfig.FromJson(checkpoint.ConfigJson, checkpointPath);
        var differences = saved.Differences(config);
        if (differences.Count == 0) return;
        string note = config.Scheduler == saved.Scheduler && config.Scheduler != "none" && config.Epochs != saved.Epochs
            ? $" The {config.Scheduler} schedule is re-sized to the new number of epochs." : "";
        Console.Error.WriteLine($"striate train: warning: resuming with a configuration that differs from the checkpoint's ({string.Join("; ", differences)}).{note}");
    }

    /// <summary>A resumed run must freeze and group its parameters as before, or the optimizer state would not line up.</summary>
    private void CheckSameFineTuning()
    {
        string path = Path.Combine(outDir, "model.safetensors");
        if (!File.Exists(path)) return; // the resume itself reports the missing checkpoint
        var saved = RunConfig.FromJson(Checkpoint.Load(path).ConfigJson, path);
        if (saved.Freeze != config.Freeze || saved.HeadLr != config.HeadLr)
            throw new ArgumentException($"--resume: {path} was trained with --freeze {saved.Freeze}{(saved.HeadLr is double h ? $" --head-lr {h}" : "")}; pass the same options to continue it.");
    }

    private string ImageNetNote => config.UsesImageNetStatistics
        ? $" ({(config.Weights != null ? "the pretrained weights'" : "torchvision's")} input: RGB normalized with ImageNet's mean and std; --no-normalize for raw pixels)" : "";

    /// <summary>The checkpoint of the epoch with the best validation accuracy, beside model.safetensors.</summary>
    public const string BestCheckpointName = "model.best.safetensors";
}
