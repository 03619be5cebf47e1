using System.Globalization;
using System.Text.Json;
using Striate.IO;
using Striate.IO.Pth;
using Striate.Nn;
using Striate.Optim;

namespace Striate.Training;

/// <summary>
/// A training checkpoint in one safetensors file: the model's state dict under <c>model.</c>, the optimizer's state
/// under <c>optimizer.</c>, and as metadata the epoch, the run configuration (JSON), the scheduler state, the
/// default generator's state and the per-epoch history. Written atomically (temporary file, then rename), so a crash
/// mid-write leaves the previous checkpoint intact.
/// </summary>
public sealed class Checkpoint
{
    public const string Format = "striate-checkpoint-1";

    /// <summary>The registry name of the model (e.g. "lenet-relu").</summary>
    public required string ModelName { get; init; }

    /// <summary>Epochs completed.</summary>
    public required int Epoch { get; init; }

    /// <summary>Model parameters and buffers by dotted name.</summary>
    public required IReadOnlyList<KeyValuePair<string, Tensor>> ModelState { get; init; }

    /// <summary>Names in <see cref="ModelState"/> that are integer counters (their tensors are <see cref="Tensor.IsInteger"/>, saved as int64).</summary>
    public IReadOnlyCollection<string> IntegerKeys { get; init; } = [];

    /// <summary>Optimizer state (empty for weights-only files).</summary>
    public IReadOnlyDictionary<string, Tensor> OptimizerState { get; init; } = new Dictionary<string, Tensor>();

    /// <summary>Scheduler state (empty when there is no scheduler).</summary>
    public IReadOnlyDictionary<string, double> SchedulerState { get; init; } = new Dictionary<string, double>();

    /// <summary>The run's configuration as JSON (what the command line or the C# caller asked for).</summary>
    public string ConfigJson { get; init; } = "{}";

    /// <summary>The per-epoch history as JSON.</summary>
    public string HistoryJson { get; init; } = "[]";

    /// <summary>The state of <see cref="Generator.Default"/> when the checkpoint was taken (dropout draws from it).</summary>
    public ulong[]? GeneratorState { get; init; }

    /// <summary>Class names of the training data, so predictions can be named.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    /// <summary>The input shape the model was trained on: C, H, W.</summary>
    public (int Channels, int Height, int Width)? InputShape { get; init; }

    /// <summary>The file this checkpoint was read from (null when captured in memory); errors of <see cref="Restore"/> name it.</summary>
    public string? SourcePath { get; init; }

    /// <summary>The most values per image metadata 'input_shape' may describe (C·H·W), so a few bytes of metadata
    /// cannot make a reader allocate gigabytes of input; 16× an ImageNet image at 1024×1024.</summary>
    public const long MaxInputValues = 3L * 1024 * 1024 * 16;

    /// <summary>Takes a snapshot of a training run.</summary>
    public static Checkpoint Capture(string modelName, int epoch, Module model, Optimizer? optimizer, LRScheduler? scheduler,
        string configJson, string historyJson, IReadOnlyList<string> classNames, (int, int, int)? inputShape) => new()
    {
        ModelName = modelName,
        Epoch = epoch,
        ModelState = model.StateDict(),
        IntegerKeys = model.IntegerBufferNames().ToHashSet(),
        OptimizerState = optimizer?.StateDict() ?? new Dictionary<string, Tensor>(),
        SchedulerState = scheduler?.StateDict() ?? new Dictionary<string, double>(),
        ConfigJson = configJson,
        HistoryJson = historyJson,
        GeneratorState = Generator.Default.GetState(),
        ClassNames = classNames,
        InputShape = inputShape,
    };

    /// <summary>Writes the checkpoint atomically to <paramref name="path"/>.</summary>
    public void Save(string path)
    {
        var builder = new SafetensorsBuilder();
        builder.AddMetadata("format", Format);
        builder.AddMetadata("model", ModelName);
        builder.AddMetadata("epoch", Epoch.ToString(CultureInfo.InvariantCulture));
        builder.AddMetadata("config", ConfigJson);
        builder.AddMetadata("history", HistoryJson);
        builder.AddMetadata("scheduler", JsonSerializer.Serialize(SchedulerState));
        builder.AddMetadata("classes", JsonSerializer.Serialize(ClassNames));
        if (GeneratorState != null) builder.AddMetadata("generator", string.Join(",", GeneratorState));
        if (InputShape is var (c, h, w)) builder.AddMetadata("input_shape", $"{c},{h},{w}");
        // Integer buffers (num_batches_tracked) go out as I64 by the same rule as SafetensorsWriter's: Tensor.IsInteger.
        foreach (var (name, tensor) in ModelState) builder.Add("model." + name, tensor);
        foreach (var (name, tensor) in OptimizerState) builder.AddFloat("optimizer." + name, tensor);
        builder.Save(path);
    }

    /// <summary>
    /// Reads a checkpoint written by <see cref="Save"/>, or a plain weights file — a state dict saved with safetensors
    /// (names without prefix), or a PyTorch <c>.pth</c> written by <c>torch.save</c> (recognized by its first bytes,
    /// whatever the extension; see <see cref="PthFile"/>) — in which case only <see cref="ModelState"/> is filled and
    /// <see cref="ModelName"/> comes from the file's "model" metadata when present (a .pth never says).
    /// <paramref name="pthKey"/> picks the state dict inside a PyTorch checkpoint that holds several (e.g. "model").
    /// </summary>
    public static Checkpoint Load(string path, string? pthKey = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint file '{path}' does not exist.", path);
        if (PthFile.IsPthFile(path)) return FromPth(PthFile.Load(path, pthKey), path);
        if (pthKey != null)
            throw new ArgumentException($"{path} is not a PyTorch .pth file; a key (--key {pthKey}) picks a state dict inside a PyTorch checkpoint only.");
        var file = SafetensorsFile.Load(path);
        var meta = file.Metadata;
        bool isCheckpoint = meta.TryGetValue("format", out var format) && format == Format;
        var model = new List<KeyValuePair<string, Tensor>>();
        var optimizer = new Dictionary<string, Tensor>();
        var integers = new HashSet<string>();
        foreach (var name in file.Names)
        {
            if (name.StartsWith("__", StringComparison.Ordinal)) continue; // reference files carry __input__ and __logits__
            string key = name;
            if (isCheckpoint)
            {
                if (name.StartsWith("optimizer.", StringComparison.Ordinal)) { optimizer[name["optimizer.".Length..]] = file.GetTensor(name); continue; }
                if (!name.StartsWith("model.", StringComparison.Ordinal))
                    throw new InvalidDataException($"Checkpoint file '{path}': tensor '{name}' belongs to neither 'model.' nor 'optimizer.'; a {Format} file holds only those.");
                key = name["model.".Length..];
            }
            if (file.GetDtype(name) == SafetensorsDtype.I64) integers.Add(key);
            model.Add(new(key, file.GetTensor(name)));
        }
        // Every metadata field is checked here, where the file's name is known, so that a damaged checkpoint fails
        // on loading with the file, the field and what was expected, and never half way through a restore.
        string configJson = meta.TryGetValue("config", out var config) ? config : "{}";
        if (configJson != "{}") RunConfig.FromJson(configJson, path);
        string historyJson = meta.TryGetValue("history", out var history) ? history : "[]";
        MetricsFile.ParseHistory(historyJson, path);
        var classNames = meta.TryGetValue("classes", out var classes) ? ParseJson<List<string?>>(path, "classes", classes, "a JSON list of class names") : [];
        if (classNames.Any(c => c is null))
            throw BadMetadata(path, "classes", classes!, "a JSON list of class names (strings, not null)");
        return new Checkpoint
        {
            ModelName = meta.TryGetValue("model", out var m) ? m : "",
            Epoch = isCheckpoint ? ParseEpoch(path, meta) : 0,
            ModelState = model,
            IntegerKeys = integers,
            OptimizerState = optimizer,
            SchedulerState = meta.TryGetValue("scheduler", out var s)
                ? ParseJson<Dictionary<string, double>>(path, "scheduler", s, "a JSON object of numbers (last_epoch, base_lr)") : new Dictionary<string, double>(),
            ConfigJson = configJson,
            HistoryJson = historyJson,
            GeneratorState = meta.TryGetValue("generator", out var g) ? ParseGenerator(path, g) : null,
            ClassNames = classNames!,
            InputShape = meta.TryGetValue("input_shape", out var shape) ? ParseShape(path, shape) : null,
            SourcePath = path,
        };
    }

    /// <summary>
    /// The state dict of a PyTorch file: float32 tensors, integer dtypes (e.g. <c>num_batches_tracked</c>) marked as
    /// integer buffers, and the key renames torchvision applies to old checkpoints (<see cref="StateDictKeys"/>).
    /// </summary>
    public static Checkpoint FromPth(PthFile pth, string? path = null)
    {
        var names = StateDictKeys.Normalize(pth.Names, out _);
        var state = new List<KeyValuePair<string, Tensor>>(names.Count);
        var integers = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
        {
            state.Add(new(names[i], pth.Tensors[i].Value));
            if (pth.Tensors[i].IsInteger) integers.Add(names[i]);
        }
        return new Checkpoint { ModelName = "", Epoch = 0, ModelState = state, IntegerKeys = integers, SourcePath = path };
    }

    /// <summary>
    /// Restores the model (strictly: names and shapes must match) and, when given, optimizer and scheduler. Every part
    /// is checked before any is applied, so a bad optimizer section leaves the model as it was; errors name the file.
    /// </summary>
    public void Restore(Module model, Optimizer? optimizer = null, LRScheduler? scheduler = null)
    {
        bool restoreOptimizer = optimizer != null && OptimizerState.Count > 0;
        bool restoreScheduler = scheduler != null && SchedulerState.Count > 0;
        try
        {
            model.ValidateStateDict(ModelState);
            if (restoreOptimizer) optimizer!.ValidateStateDict(OptimizerState);
            if (restoreScheduler) scheduler!.ValidateStateDict(SchedulerState);
            if (GeneratorState != null) Generator.ValidateState(GeneratorState);
        }
        catch (ArgumentException e) when (SourcePath != null)
        {
            throw new ArgumentException($"Checkpoint file '{SourcePath}': {e.Message}", e);
        }
        model.LoadStateDict(ModelState);
        if (restoreOptimizer) optimizer!.LoadStateDict(OptimizerState);
        if (restoreScheduler) scheduler!.LoadStateDict(SchedulerState);
        if (GeneratorState != null) Generator.Default.SetState(GeneratorState);
    }

    private static InvalidDataException BadMetadata(string path, string field, string value, string expected) =>
        new($"Checkpoint file '{path}': metadata '{field}' is '{(value.Length <= 80 ? value : value[..77] + "...")}'; expected {expected}.");

    private static int ParseEpoch(string path, IReadOnlyDictionary<string, string> meta)
    {
        const string expected = "the number of epochs completed, a whole number ≥ 0";
        if (!meta.TryGetValue("epoch", out var value))
            throw new InvalidDataException($"Checkpoint file '{path}': metadata 'epoch' is missing from this {Format} file; expected {expected}.");
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw BadMetadata(path, "epoch", value, expected);
    }

    private static T ParseJson<T>(string path, string field, string json, string expected)
    {
        try { return JsonSerializer.Deserialize<T>(json) ?? throw new JsonException("it is null"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new InvalidDataException($"Checkpoint file '{path}': metadata '{field}' is not {expected} ({e.Message}).", e); }
    }

    private static ulong[] ParseGenerator(string path, string value)
    {
        var parts = value.Split(',');
        var state = new ulong[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!ulong.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out state[i]))
                throw BadMetadata(path, "generator", value, "six comma-separated unsigned integers (the generator's state)");
        try { Generator.ValidateState(state); }
        catch (ArgumentException e) { throw BadMetadata(path, "generator", value, $"a valid generator state ({e.Message})"); }
        return state;
    }

    private static (int, int, int) ParseShape(string path, string value)
    {
        const string expected = "C,H,W: three positive integers";
        var p = value.Split(',');
        if (p.Length != 3 || !int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int c)
            || !int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            || !int.TryParse(p[2], NumberStyles.None, CultureInfo.InvariantCulture, out int w) || c <= 0 || h <= 0 || w <= 0)
            throw BadMetadata(path, "input_shape", value, expected);
        if ((long)c * h * w > MaxInputValues)
            throw BadMetadata(path, "input_shape", value, $"{expected} describing at most {MaxInputValues} values per image");
        return (c, h, w);
    }
}
