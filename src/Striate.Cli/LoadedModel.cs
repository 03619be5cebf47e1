using System.CommandLine;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Models;
using Striate.Nn;
using Striate.Onnx;
using Striate.Training;

namespace Striate.Cli;

/// <summary>A model rebuilt from a checkpoint (or a plain weights file) with what is known about its training.</summary>
/// <remarks><see cref="HasClassNames"/> is false for a plain weights file without names (other than a 1,000-class torchvision
/// classifier, which gets ImageNet's): ClassNames then holds the indices as text.</remarks>
internal sealed record LoadedModel(ModelEntry Entry, Module Model, RunConfig? Config, IReadOnlyList<string> ClassNames,
    (int Channels, int Height, int Width) InputShape, bool HasClassNames = true)
{
    /// <summary>
    /// Loads <paramref name="path"/>: a Striate checkpoint names its model and input; a plain state dict (e.g.
    /// torchvision weights saved as safetensors, or a PyTorch .pth) needs <paramref name="modelName"/> unless its
    /// metadata says "model"; <paramref name="key"/> picks the state dict inside a PyTorch checkpoint holding several.
    /// </summary>
    public static LoadedModel Load(string path, string? modelName, string? key = null) =>
        OnnxModel.IsOnnxPath(path) ? FromOnnx(path, modelName, key) : FromCheckpoint(Checkpoint.Load(path, key), path, modelName);

    /// <summary>
    /// An ONNX file imported as a module (<see cref="OnnxModel.Load(string, int[])"/>): its input and classes from the
    /// graph, class names and normalization from its metadata. A file without Striate's metadata (e.g. written by
    /// torch.onnx) is treated as a plain weights file: ImageNet statistics for 3-channel input.
    /// </summary>
    public static LoadedModel FromOnnx(string path, string? modelName, string? key)
    {
        if (modelName != null || key != null)
            throw new ArgumentException($"{path} is an ONNX file, which holds its model; --model and --key apply to weights files.");
        var model = OnnxModel.Load(path);
        if (model.InputShape.Count != 4)
            throw new ArgumentException($"{path}: the model's input has shape {Tensor.FormatShape(model.InputShape.ToArray())}; striate's commands take images [N, C, H, W].");
        var output = model.Graph.Outputs[0].Shape;
        if (output.Count != 2)
            throw new ArgumentException($"{path}: the model's output has shape {Tensor.FormatShape(output.ToArray())}; striate's commands take classifiers with output [N, classes].");
        var (c, h, w) = (model.InputShape[1], model.InputShape[2], model.InputShape[3]);
        int classes = output[1];
        var names = model.Metadata.ClassNames is { } given && given.Count == classes ? given
            : Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var entry = new ModelEntry(model.Metadata.ModelName ?? Path.GetFileNameWithoutExtension(path), $"imported from {Path.GetFileName(path)}",
            c, classes, (h, w), Math.Min(h, w), _ => throw new InvalidOperationException($"{path}: an imported ONNX model is not built from the registry.")) { FixedInput = true };
        // Striate writes its metadata ("input" always, normalization when the model expects it); other producers do not.
        bool striateMetadata = model.Metadata.ModelName != null || model.Metadata.NormalizeMean != null;
        // An export of a file without class names writes the indices as names: those print once too.
        return new LoadedModel(entry, model.Eval(), null, names, (c, h, w), model.Metadata.ClassNames is { } named && named.Count == classes && !IsJustIndices(named))
        {
            FileNormalization = model.Metadata.NormalizeMean is { } mean ? (mean, model.Metadata.NormalizeStd!) : null,
            NormalizationFromFile = striateMetadata,
        };
    }

    private static bool IsJustIndices(IReadOnlyList<string> names) =>
        names.Select((n, i) => n == i.ToString(System.Globalization.CultureInfo.InvariantCulture)).All(same => same);

    /// <summary>The normalization a file states (ONNX metadata), when <see cref="NormalizationFromFile"/>.</summary>
    public (float[] Mean, float[] Std)? FileNormalization { get; init; }

    /// <summary>True when the file says how its input is normalized (null <see cref="FileNormalization"/>: raw pixels).</summary>
    public bool NormalizationFromFile { get; init; }

    /// <summary>The model <paramref name="checkpoint"/> (read from <paramref name="path"/>) holds, built and restored strictly.</summary>
    public static LoadedModel FromCheckpoint(Checkpoint checkpoint, string path, string? modelName)
    {
        string name = modelName ?? (checkpoint.ModelName.Length > 0 ? checkpoint.ModelName
            : throw new ArgumentException($"{path} does not say which model it holds; pass --model NAME ({string.Join(", ", ModelRegistry.Names)})."));
        // A name from the file's metadata that the registry does not know is the file's error: say which file and field.
        var entry = modelName != null || ModelRegistry.Names.Contains(name) ? ModelRegistry.Get(name)
            : throw new InvalidDataException($"{path}: its metadata field 'model' names '{name}', which is not a Striate model " +
                $"(expected one of {string.Join(", ", ModelRegistry.Names)}); pass --model NAME if the file holds one of them.");
        RunConfig? config = checkpoint.ConfigJson != "{}" ? RunConfig.FromJson(checkpoint.ConfigJson, path) : null;
        var shape = checkpoint.InputShape ?? (entry.DefaultChannels, entry.DefaultInput.H, entry.DefaultInput.W);
        int classes = checkpoint.ClassNames.Count > 0 ? checkpoint.ClassNames.Count : InferClasses(checkpoint, entry);
        CheckClassifier(checkpoint, path, classes);
        // The metadata (channels, classes, width) sizes the model, the tensors must then fill it exactly: so the model
        // may not have more values than the file holds, and a few bytes of metadata cannot ask for gigabytes.
        long stored = checkpoint.ModelState.Sum(e => e.Value.Numel);
        Module model;
        try
        {
            model = ModelFactory.Build(entry, shape, classes, config?.Width ?? 1.0, maxParameters: stored);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{path} does not fit model '{entry.Name}' as its metadata describes it ({shape.Channels}×{shape.Height}×{shape.Width}, {classes} classes, width {config?.Width ?? 1.0}), the file holds {stored} values: {e.Message}");
        }
        try
        {
            checkpoint.Restore(model);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{path} does not fit model '{entry.Name}' ({shape.Channels}×{shape.Height}×{shape.Width}, {classes} classes): {e.Message}");
        }
        // A plain weights file has no class names; a torchvision classifier with 1,000 outputs is ImageNet's.
        bool imageNet = checkpoint.ClassNames.Count == 0 && classes == ImageNetClasses.Count && entry.DefaultClasses == ImageNetClasses.Count;
        var names = checkpoint.ClassNames.Count > 0 ? checkpoint.ClassNames
            : imageNet ? ImageNetClasses.Names
            : Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        return new LoadedModel(entry, model.Eval(), config, names, shape, checkpoint.ClassNames.Count > 0 || imageNet);
    }

    /// <summary>--key, beside --model on every command that loads a weights file.</summary>
    public static Option<string?> KeyOption() =>
        new("--key") { Description = "For a PyTorch checkpoint holding several state dicts: the key of the one to load (e.g. model)." };

    /// <summary>ImageNet's per-channel statistics, which torchvision's pretrained weights expect.</summary>
    public static (float[] Mean, float[] Std) ImageNetStatistics => RunConfig.ImageNetStatistics;

    /// <summary>
    /// The normalization the model expects: its training run's, or for a plain 3-channel weights file (torchvision's)
    /// ImageNet's; null when it trained on raw [0, 1] pixels.
    /// </summary>
    public (float[] Mean, float[] Std)? Normalization =>
        NormalizationFromFile ? FileNormalization
        : Config is { NormalizeMean.Length: > 0 } c ? (c.NormalizeMean, c.NormalizeStd)
        : Config is null && InputShape.Channels == 3 ? ImageNetStatistics
        : null;

    /// <summary>
    /// An image file as CHW pixels in [0, 1] at the model's input size, and the model's input [1, C, H, W] normalized as
    /// in training. An image of another size or channel count is refused unless <paramref name="fit"/> (resize, convert).
    /// </summary>
    public (float[] Pixels, Tensor Input) LoadImage(string path, bool fit)
    {
        var (c, h, w) = InputShape;
        var image = ImageFolder.LoadImage(path);
        int channels = image.Channels == 4 ? 3 : image.Channels;
        if ((channels != c || image.Height != h || image.Width != w) && !fit)
            throw new ArgumentException($"{path} is {channels}×{image.Height}×{image.Width} (channels×height×width), but the model expects {c}×{h}×{w}; pass --fit to resize and convert it.");
        var sample = new ImageSample();
        ImageConversion.ToSample(image, sample, c);
        new Resize(h, w).Apply(sample, Generator.Default);
        var pixels = sample.Pixels.ToArray();
        if (Normalization is var (mean, std)) new Normalize(mean, std).Apply(sample, Generator.Default);
        return (pixels, Tensor.FromArray(sample.Pixels, 1, c, h, w));
    }

    /// <summary>Metadata 'classes' against the classifier: the rows of the last 2-D weight, when the model has one.</summary>
    private static void CheckClassifier(Checkpoint checkpoint, string path, int classes)
    {
        var last = checkpoint.ModelState.LastOrDefault(e => e.Key.EndsWith("weight", StringComparison.Ordinal) && e.Value.Rank == 2);
        if (last.Value is { } weight && weight.Size(0) != classes)
            throw new ArgumentException($"{path}: metadata 'classes' names {classes} classes, but the classifier weight '{last.Key}' has {weight.Size(0)} rows; expected one row per class.");
    }

    /// <summary>The class count of a plain weights file: the rows of its last 2-D weight (the classifier).</summary>
    private static int InferClasses(Checkpoint checkpoint, ModelEntry entry)
    {
        var last = checkpoint.ModelState.LastOrDefault(e => e.Key.EndsWith("weight", StringComparison.Ordinal) && e.Value.Rank == 2);
        return last.Value?.Size(0) ?? entry.DefaultClasses;
    }
}
