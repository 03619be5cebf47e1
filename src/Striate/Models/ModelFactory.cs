using Striate.Nn;

namespace Striate.Models;

/// <summary>Builds registry models for a given input, checking first that the model can take it.</summary>
public static class ModelFactory
{
    /// <summary>
    /// Builds <paramref name="entry"/> for inputs of <paramref name="inputShape"/> and <paramref name="numClasses"/> classes.
    /// Fails with the smallest size the model accepts when the input is too small, and with the expected
    /// size when a model with fixed fully connected layers (LeNet) gets another.
    /// </summary>
    /// <param name="entry">The registry entry (<see cref="ModelRegistry.Get"/>).</param>
    /// <param name="inputShape">Channels, height and width of one input image (NCHW without the batch).</param>
    /// <param name="numClasses">Outputs of the classifier.</param>
    /// <param name="width">Channel width multiplier (1 = the published model).</param>
    /// <param name="generator">Source of the initial weights; null draws from <c>Generator.Default</c>.</param>
    /// <param name="maxParameters">When the sizes come from an untrusted file: the most parameter values the model may
    /// have. A model that would need more is refused (ArgumentException) before its larger tensors are allocated.</param>
    public static Module Build(ModelEntry entry, (int Channels, int Height, int Width) inputShape, int numClasses, double width = 1.0,
        Generator? generator = null, long maxParameters = long.MaxValue)
    {
        var (c, h, w) = inputShape;
        if (c <= 0) throw new ArgumentException($"{entry.Name}: input must have at least one channel, got {c}.");
        if (numClasses <= 0) throw new ArgumentException($"{entry.Name}: the number of classes must be positive, got {numClasses}.");
        if (h < entry.MinimumSize || w < entry.MinimumSize)
            throw new ArgumentException($"{entry.Name}: input {c}×{h}×{w} is too small; the smallest size it accepts is {entry.MinimumSize}×{entry.MinimumSize} (use --resize).");
        if (entry.FixedInput && (h, w) != entry.DefaultInput)
            throw new ArgumentException($"{entry.Name}: input {c}×{h}×{w} does not fit; its fully connected layers need {entry.DefaultInput.H}×{entry.DefaultInput.W} (use --resize {entry.DefaultInput.H}).");
        if (maxParameters == long.MaxValue) return entry.Build(new ModelOptions(c, numClasses, width, generator));
        using var budget = ParameterBudget.Limit(maxParameters);
        try
        {
            return entry.Build(new ModelOptions(c, numClasses, width, generator));
        }
        catch (ParameterBudgetExceededException)
        {
            throw new ArgumentException($"{entry.Name} with {c} input channels, {numClasses} classes and width {width} has more than {maxParameters} parameter values; refusing to build it.");
        }
    }
}
