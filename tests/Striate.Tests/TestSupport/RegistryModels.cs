using Striate.Models;
using Striate.Nn;

namespace Striate.Tests.TestSupport;

/// <summary>Every registry model built at a small input, with random batch-norm statistics, for whole-model tests.</summary>
public static class RegistryModels
{
    /// <summary>Every registered name.</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in ModelRegistry.Names) data.Add(name);
        return data;
    }

    /// <summary>
    /// The smallest convenient input: the model's own for fixed-input models (LeNet, the book's AlexNet and VGG), else
    /// 32×32 or the model's minimum when that is larger.
    /// </summary>
    public static (int Channels, int Height, int Width) SmallInput(ModelEntry entry)
    {
        if (entry.FixedInput) return (entry.DefaultChannels, entry.DefaultInput.H, entry.DefaultInput.W);
        int size = Math.Max(32, entry.MinimumSize);
        return (entry.DefaultChannels, size, size);
    }

    /// <summary>
    /// <paramref name="name"/> at <see cref="SmallInput"/> with the recipe's width, in eval mode, with batch-norm running
    /// statistics drawn at random (so eval-mode batch norm is not the identity).
    /// </summary>
    public static (Module Model, (int Channels, int Height, int Width) Input) Build(string name, int seed = 1)
    {
        var entry = ModelRegistry.Get(name);
        var input = SmallInput(entry);
        var g = new Generator((ulong)seed);
        var model = ModelFactory.Build(entry, input, entry.DefaultClasses, entry.Recipe.Width, g);
        RandomizeStatistics(model, g);
        model.Eval();
        return (model, input);
    }

    /// <summary>Running means in [−0.5, 0.5), running variances in [0.5, 1.5) and affine parameters near (1, 0).</summary>
    public static void RandomizeStatistics(Module model, Generator g)
    {
        foreach (var (_, m) in model.NamedModules())
        {
            if (m is not BatchNormBase bn) continue;
            foreach (ref float v in bn.RunningMean.Span) v = g.NextFloat() - 0.5f;
            foreach (ref float v in bn.RunningVar.Span) v = g.NextFloat() + 0.5f;
            if (bn.Weight != null) foreach (ref float v in bn.Weight.Span) v = 0.75f + 0.5f * g.NextFloat();
            if (bn.Bias != null) foreach (ref float v in bn.Bias.Span) v = 0.2f * (g.NextFloat() - 0.5f);
        }
    }
}
