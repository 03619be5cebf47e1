using System.Text.Json;
using System.Text.Json.Serialization;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;

namespace Striate.Training;

/// <summary>
/// Everything that defines a training run, as the command line or a C# caller gives it. Saved as JSON in every
/// checkpoint, so evaluation and prediction apply the same preprocessing, and a resumed run the same recipe.
/// </summary>
public sealed record RunConfig
{
    public required string Model { get; init; }
    public required string Dataset { get; init; }
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.1;
    public string Optimizer { get; init; } = "sgd";
    public double Momentum { get; init; }
    public double WeightDecay { get; init; }
    public string Scheduler { get; init; } = "none";
    /// <summary>Square size images are resized to (bilinear), or null to keep the dataset's size.</summary>
    public int? Resize { get; init; }
    public bool Augment { get; init; }
    public ulong Seed { get; init; }
    public int? LimitTrain { get; init; }
    public int? LimitTest { get; init; }
    /// <summary>
    /// Share of the training images held out for validation (stratified, seeded); null: the dataset's default (10% of a
    /// flat image folder, none where a val/ folder or a test split exists). See <see cref="Data.DatasetSplits.Open"/>.
    /// </summary>
    public double? ValSplit { get; init; }
    public double Width { get; init; } = 1.0;
    public double LabelSmoothing { get; init; }
    /// <summary>Pretrained weights to start from (safetensors or PyTorch .pth): every tensor that fits is loaded, the classifier is new.</summary>
    public string? Weights { get; init; }
    /// <summary>For a PyTorch checkpoint holding several state dicts: the key of the one in <see cref="Weights"/>.</summary>
    public string? WeightsKey { get; init; }
    /// <summary>What does not train: "none", "backbone" (everything but the classifier) or module names, comma-separated.</summary>
    public string Freeze { get; init; } = "none";
    /// <summary>The classifier's learning rate when it differs from <see cref="LearningRate"/> (a second parameter group).</summary>
    public double? HeadLr { get; init; }
    /// <summary>Per-channel mean and std for Normalize (empty: no normalization).</summary>
    public float[] NormalizeMean { get; init; } = [];
    public float[] NormalizeStd { get; init; } = [];

    public static readonly string[] Optimizers = ["sgd", "adam", "adamw"];
    public static readonly string[] Schedulers = ["none", "step", "multistep", "cosine", "onecycle"];

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>
    /// Reads a configuration saved by <see cref="ToJson"/> in checkpoint <paramref name="source"/>; throws
    /// <see cref="InvalidDataException"/> naming the file, the field and what was expected.
    /// </summary>
    public static RunConfig FromJson(string json, string source)
    {
        RunConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<RunConfig>(json, Json);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            string field = e is JsonException { Path: { Length: > 1 } at } ? $" at {at}" : "";
            // A JSON string may escape a lone UTF-16 surrogate, which System.Text.Json reports as InvalidOperationException.
            throw new InvalidDataException($"Checkpoint file '{source}': metadata 'config' is not a run configuration{field}: expected the JSON object RunConfig.ToJson writes ({e.Message}).", e);
        }
        if (config is null)
            throw new InvalidDataException($"Checkpoint file '{source}': metadata 'config' is null; expected the JSON object RunConfig.ToJson writes.");
        // The fields that loading a model relies on (the rest are checked when a run starts from them).
        if (!(config.Width > 0) || double.IsInfinity(config.Width))
            throw new InvalidDataException($"Checkpoint file '{source}': metadata 'config' field 'width' is {config.Width}; expected a finite number > 0.");
        if (config.NormalizeMean.Length != config.NormalizeStd.Length || config.NormalizeStd.Any(v => !(v > 0) || float.IsInfinity(v))
            || config.NormalizeMean.Any(v => !float.IsFinite(v)))
            throw new InvalidDataException($"Checkpoint file '{source}': metadata 'config' fields 'normalize_mean' and 'normalize_std' are [{string.Join(", ", config.NormalizeMean)}] and [{string.Join(", ", config.NormalizeStd)}]; expected finite lists of the same length, std > 0.");
        return config;
    }

    /// <summary>
    /// The fields in which <paramref name="other"/> differs from this configuration, as "name: this → other" in JSON
    /// names (e.g. "epochs: 1 → 2"); empty when they are the same recipe.
    /// </summary>
    public IReadOnlyList<string> Differences(RunConfig other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var mine = System.Text.Json.Nodes.JsonNode.Parse(ToJson())!.AsObject();
        var theirs = System.Text.Json.Nodes.JsonNode.Parse(other.ToJson())!.AsObject();
        var differences = new List<string>();
        foreach (var name in mine.Select(p => p.Key).Union(theirs.Select(p => p.Key)))
        {
            string a = mine[name]?.ToJsonString() ?? "(none)", b = theirs[name]?.ToJsonString() ?? "(none)";
            if (a != b) differences.Add($"{name}: {a} → {b}");
        }
        return differences;
    }

    /// <summary>Checks every field, naming the first bad one and what it accepts.</summary>
    public void Validate()
    {
        ModelRegistry.Get(Model);
        if (Epochs <= 0) throw new ArgumentException($"--epochs must be positive, got {Epochs}.");
        if (BatchSize <= 0) throw new ArgumentException($"--batch-size must be positive, got {BatchSize}.");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"--lr must be a positive number, got {LearningRate}.");
        if (!Optimizers.Contains(Optimizer)) throw new ArgumentException($"--optimizer must be one of {string.Join(", ", Optimizers)}, got '{Optimizer}'.");
        if (!Schedulers.Contains(Scheduler)) throw new ArgumentException($"--scheduler must be one of {string.Join(", ", Schedulers)}, got '{Scheduler}'.");
        if (Momentum < 0 || Momentum >= 1) throw new ArgumentException($"--momentum must be in [0, 1), got {Momentum}.");
        if (WeightDecay < 0) throw new ArgumentException($"--weight-decay must be non-negative, got {WeightDecay}.");
        if (Resize is <= 0) throw new ArgumentException($"--resize must be positive, got {Resize}.");
        if (LimitTrain is <= 0) throw new ArgumentException($"--limit-train must be positive, got {LimitTrain}.");
        if (LimitTest is <= 0) throw new ArgumentException($"--limit-test must be positive, got {LimitTest}.");
        if (ValSplit is double v && !(v >= 0 && v < 1)) throw new ArgumentException($"--val-split must be in [0, 1), got {v}.");
        if (HeadLr is double h && (!(h > 0) || double.IsInfinity(h))) throw new ArgumentException($"--head-lr must be a positive number, got {h}.");
        if (string.IsNullOrWhiteSpace(Freeze)) throw new ArgumentException("--freeze must be none, backbone or module names (e.g. layer1,layer2).");
        if (!(Width > 0)) throw new ArgumentException($"--width must be positive, got {Width}.");
        if (LabelSmoothing < 0 || LabelSmoothing >= 1) throw new ArgumentException($"--label-smoothing must be in [0, 1), got {LabelSmoothing}.");
    }

    /// <summary>Input sizes from this up get the ImageNet-style recipe with --augment; smaller ones the CIFAR-style one.</summary>
    public const int PhotoRecipeMinSize = 64;

    /// <summary>
    /// Per-sample transforms: resize, augmentation (when asked), normalization. With --augment the recipe follows the
    /// model's input size S (--resize, else the dataset's): for S ≥ <see cref="PhotoRecipeMinSize"/> torchvision's
    /// classification presets — training RandomResizedCrop(S) + RandomHorizontalFlip, evaluation Resize(S·256/224,
    /// shorter side) + CenterCrop(S); below it the CIFAR recipe — Resize(S, S), RandomCrop(S, padding S/8),
    /// RandomHorizontalFlip, ColorJitter(0.2, 0.2, 0.2) for colour images, and Resize(S, S) for evaluation.
    /// </summary>
    public ITransform? BuildTransform(bool train, (int Channels, int Height, int Width)? sampleShape)
    {
        var list = new List<ITransform>();
        int? inputSize = Resize ?? sampleShape?.Height;
        if (Augment && inputSize is int s && s >= PhotoRecipeMinSize && (Resize != null || sampleShape?.Height == sampleShape?.Width))
        {
            if (train)
            {
                list.Add(new RandomResizedCrop(s));
                list.Add(new RandomHorizontalFlip());
            }
            else
            {
                list.Add(new Resize((int)Math.Round(s * 256.0 / 224.0)));
                list.Add(new CenterCrop(s));
            }
        }
        else
        {
            if (Resize is int size) list.Add(new Resize(size, size));
            if (train && Augment)
            {
                int h = Resize ?? sampleShape?.Height ?? 0, w = Resize ?? sampleShape?.Width ?? 0;
                if (h > 0) list.Add(new RandomCrop((h, w), padding: Math.Max(1, h / 8)));
                list.Add(new RandomHorizontalFlip());
                if ((sampleShape?.Channels ?? 3) == 3) list.Add(new ColorJitter(0.2, 0.2, 0.2));
            }
        }
        if (NormalizeMean.Length > 0) list.Add(new Normalize(NormalizeMean, NormalizeStd));
        return list.Count == 0 ? null : new Compose(list.ToArray());
    }

    /// <summary>
    /// Freezes what <see cref="Freeze"/> names in <paramref name="model"/> ("backbone": all but the classifier) and
    /// returns the frozen parameters' names.
    /// </summary>
    public IReadOnlyList<string> ApplyFreeze(Module model)
    {
        if (Freeze == "none") return [];
        if (Freeze == "backbone")
        {
            string head = model.ClassifierName() ?? throw new ArgumentException($"--freeze backbone: {Model} has no classifier layer to leave trainable.");
            var frozen = model.Freeze();
            model.Unfreeze(head);
            return frozen.Where(n => !n.StartsWith(head + ".", StringComparison.Ordinal)).ToList();
        }
        return Freeze.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).SelectMany(p => model.Freeze(p)).Distinct().ToList();
    }

    /// <summary>
    /// The optimizer the config names, over <paramref name="model"/>'s trainable parameters; with <see cref="HeadLr"/>,
    /// the classifier's parameters form a second group at that learning rate.
    /// </summary>
    public Optimizer BuildOptimizer(Module model)
    {
        var trainable = model.NamedParameters().Where(p => p.Value.RequiresGrad).ToList();
        if (trainable.Count == 0) throw new ArgumentException($"--freeze {Freeze} leaves no parameter of {Model} to train.");
        var groups = new List<ParamGroup>();
        if (HeadLr is double headLr)
        {
            string head = (model.ClassifierName() ?? throw new ArgumentException($"--head-lr: {Model} has no classifier layer.")) + ".";
            var body = trainable.Where(p => !p.Key.StartsWith(head, StringComparison.Ordinal)).Select(p => p.Value).ToList();
            var headParams = trainable.Where(p => p.Key.StartsWith(head, StringComparison.Ordinal)).Select(p => p.Value).ToList();
            if (body.Count > 0) groups.Add(new ParamGroup(body));
            if (headParams.Count > 0) groups.Add(new ParamGroup(headParams, (float)headLr));
        }
        else groups.Add(new ParamGroup(trainable.Select(p => p.Value).ToList()));
        return Optimizer switch
        {
            "sgd" => new Sgd(groups, (float)LearningRate, momentum: (float)Momentum, weightDecay: (float)WeightDecay),
            "adam" => new Adam(groups, (float)LearningRate, weightDecay: (float)WeightDecay),
            "adamw" => new AdamW(groups, (float)LearningRate, weightDecay: (float)(WeightDecay == 0 ? 1e-2 : WeightDecay)),
            _ => throw new ArgumentException($"--optimizer must be one of {string.Join(", ", Optimizers)}, got '{Optimizer}'."),
        };
    }

    /// <summary>The scheduler the config names (null for "none"); OneCycle counts batches, the others epochs.</summary>
    public LRScheduler? BuildScheduler(Optimizer optimizer, int batchesPerEpoch) => Scheduler switch
    {
        "none" => null,
        "step" => new StepLR(optimizer, Math.Max(1, Epochs / 3), 0.1),
        "multistep" => new MultiStepLR(optimizer, [Math.Max(1, Epochs / 2), Math.Max(2, Epochs * 3 / 4)], 0.1),
        "cosine" => new CosineAnnealingLR(optimizer, Epochs),
        "onecycle" => new OneCycleLR(optimizer, LearningRate, Epochs * batchesPerEpoch),
        _ => throw new ArgumentException($"--scheduler must be one of {string.Join(", ", Schedulers)}, got '{Scheduler}'."),
    };

    /// <summary>ImageNet's per-channel statistics (RGB), which torchvision's pretrained weights expect.</summary>
    public static readonly (float[] Mean, float[] Std) ImageNetStatistics = ([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>
    /// The normalization <c>striate train</c> uses for <paramref name="model"/> on <paramref name="dataset"/>: ImageNet's
    /// statistics for pretrained 3-channel weights on colour data (what they were trained with); else the
    /// dataset's own (<see cref="DatasetStatistics"/>); else, for torchvision's architectures
    /// (<see cref="ModelEntry.ImageNetInput"/>), ImageNet's, as torchvision's training scripts use; else none.
    /// </summary>
    public static (float[] Mean, float[] Std)? DefaultStatistics(ModelEntry model, string dataset, bool pretrained)
    {
        ArgumentNullException.ThrowIfNull(model);
        var own = DatasetStatistics(dataset);
        // Gray datasets (MNIST) keep their own: a 3-channel mean would not fit their images.
        if (pretrained && model.DefaultChannels == 3 && (own == null || own.Value.Mean.Length == 3)) return ImageNetStatistics;
        return own ?? (model.ImageNetInput ? ImageNetStatistics : null);
    }

    /// <summary>True when this run normalizes with <see cref="ImageNetStatistics"/>.</summary>
    [JsonIgnore]
    public bool UsesImageNetStatistics => NormalizeMean.SequenceEqual(ImageNetStatistics.Mean) && NormalizeStd.SequenceEqual(ImageNetStatistics.Std);

    /// <summary>Known per-dataset normalization statistics (training-set mean and std per channel).</summary>
    public static (float[] Mean, float[] Std)? DatasetStatistics(string dataset) => dataset.ToLowerInvariant() switch
    {
        "mnist" => ([0.1307f], [0.3081f]),
        "fashion-mnist" or "fashion_mnist" => ([0.2860f], [0.3530f]),
        "cifar10" or "cifar-10" => ([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]),
        _ => null,
    };
}
