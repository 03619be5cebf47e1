using Striate.Nn;

namespace Striate.Models;

/// <summary>What a registry entry is built for: channels and classes of the data, and a width multiplier where the model has one.</summary>
public sealed record ModelOptions(int InChannels, int NumClasses, double Width = 1.0, Generator? Generator = null);

/// <summary>
/// The default training recipe of a model (what <c>striate train MODEL</c> uses when no option overrides it);
/// <see cref="Width"/> is the channel multiplier for models that have one (the d2l book trains VGG at 0.25).
/// </summary>
public sealed record TrainingRecipe(int Epochs = 10, int BatchSize = 128, double LearningRate = 0.1, string Optimizer = "sgd",
    double Momentum = 0, double WeightDecay = 0, string Scheduler = "none", int? Resize = null, double Width = 1.0);

/// <summary>
/// One model the <c>striate</c> command can build by name, with the input it expects by default
/// (<see cref="DefaultInput"/>, C×H×W) and the smallest spatial size it accepts.
/// </summary>
public sealed record ModelEntry(string Name, string Description, int DefaultChannels, int DefaultClasses,
    (int H, int W) DefaultInput, int MinimumSize, Func<ModelOptions, Module> Build)
{
    /// <summary>The recipe <c>striate train</c> follows by default.</summary>
    public TrainingRecipe Recipe { get; init; } = new();

    /// <summary>True when the model only takes <see cref="DefaultInput"/> (fully connected layers sized for it, as LeNet).</summary>
    public bool FixedInput { get; init; }

    /// <summary>
    /// True for torchvision's architectures, whose pretrained weights (and reference training scripts) take RGB input
    /// normalized with ImageNet's mean and std; <c>striate train</c> normalizes a dataset without statistics of its
    /// own (an image folder) that way for them.
    /// </summary>
    public bool ImageNetInput { get; init; }
}

/// <summary>The models known by name (<c>striate train lenet ...</c>); later model families add themselves here.</summary>
public static partial class ModelRegistry
{
    private static readonly Dictionary<string, ModelEntry> Entries = new(StringComparer.OrdinalIgnoreCase);

    static ModelRegistry()
    {
        // The book's recipe: batch 256, plain SGD at lr 0.9, 10 epochs (d2l §7.6).
        Register(new ModelEntry("lenet", "LeNet-5 as in d2l: sigmoid and average pooling (61,706 parameters)", 1, 10, (28, 28), 28,
            o => LeNet.Create(o.InChannels, o.NumClasses, o.Generator))
        { Recipe = new TrainingRecipe(Epochs: 10, BatchSize: 256, LearningRate: 0.9), FixedInput = true });
        Register(new ModelEntry("lenet-relu", "LeNet-5 with ReLU and max pooling (61,706 parameters)", 1, 10, (28, 28), 28,
            o => LeNet.CreateRelu(o.InChannels, o.NumClasses, o.Generator))
        { Recipe = new TrainingRecipe(Epochs: 3, BatchSize: 64, LearningRate: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Scheduler: "onecycle"), FixedInput = true });
        RegisterBookModels();
        RegisterTorchvisionModels();
    }

    /// <summary>The d2l book's variants (ModelRegistry.Book.cs).</summary>
    static partial void RegisterBookModels();

    /// <summary>torchvision's architectures (ModelRegistry.Torchvision.cs).</summary>
    static partial void RegisterTorchvisionModels();

    /// <summary>Adds an entry (names are case-insensitive and unique).</summary>
    public static void Register(ModelEntry entry)
    {
        if (!Entries.TryAdd(entry.Name, entry))
            throw new ArgumentException($"ModelRegistry: a model named '{entry.Name}' is already registered.", nameof(entry));
    }

    /// <summary>Registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => Entries.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>The entry for <paramref name="name"/>, or an error listing the known names.</summary>
    public static ModelEntry Get(string name) =>
        Entries.TryGetValue(name, out var entry) ? entry
            : throw new ArgumentException($"Unknown model '{name}'. Known models: {string.Join(", ", Names)}.", nameof(name));

    /// <summary>Builds <paramref name="name"/> for the given data.</summary>
    public static Module Create(string name, ModelOptions options) => Get(name).Build(options);
}
