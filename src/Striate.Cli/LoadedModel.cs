using Striate.Models;
using Striate.Nn;
using Striate.Training;

namespace Striate.Cli;

/// <summary>A model rebuilt from a checkpoint (or a plain weights file) with what is known about its training.</summary>
internal sealed record LoadedModel(ModelEntry Entry, Module Model, RunConfig? Config, IReadOnlyList<string> ClassNames,
    (int Channels, int Height, int Width) InputShape)
{
    /// <summary>
    /// Loads <paramref name="path"/>: a Striate checkpoint names its model and input; a plain state dict (e.g.
    /// torchvision weights saved as safetensors) needs <paramref name="modelName"/> unless its metadata says "model".
    /// </summary>
    public static LoadedModel Load(string path, string? modelName)
    {
        var checkpoint = Checkpoint.Load(path);
        string name = modelName ?? (checkpoint.ModelName.Length > 0 ? checkpoint.ModelName
            : throw new ArgumentException($"{path} does not say which model it holds; pass --model NAME ({string.Join(", ", ModelRegistry.Names)})."));
        var entry = ModelRegistry.Get(name);
        RunConfig? config = checkpoint.ConfigJson != "{}" ? RunConfig.FromJson(checkpoint.ConfigJson, path) : null;
        var shape = checkpoint.InputShape ?? (entry.DefaultChannels, entry.DefaultInput.H, entry.DefaultInput.W);
        int classes = checkpoint.ClassNames.Count > 0 ? checkpoint.ClassNames.Count : InferClasses(checkpoint, entry);
        var model = ModelFactory.Build(entry, shape, classes, config?.Width ?? 1.0);
        try
        {
            checkpoint.Restore(model);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{path} does not fit model '{entry.Name}' ({shape.Channels}×{shape.Height}×{shape.Width}, {classes} classes): {e.Message}");
        }
        var names = checkpoint.ClassNames.Count > 0 ? checkpoint.ClassNames
            : Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        return new LoadedModel(entry, model.Eval(), config, names, shape);
    }

    /// <summary>The class count of a plain weights file: the rows of its last 2-D weight (the classifier).</summary>
    private static int InferClasses(Checkpoint checkpoint, ModelEntry entry)
    {
        var last = checkpoint.ModelState.LastOrDefault(e => e.Key.EndsWith("weight", StringComparison.Ordinal) && e.Value.Rank == 2);
        return last.Value?.Size(0) ?? entry.DefaultClasses;
    }
}
