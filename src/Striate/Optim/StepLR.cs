namespace Striate.Optim;

/// <summary>Decays the learning rate by <c>gamma</c> every <c>stepSize</c> epochs: lr = base·γ^⌊epoch / stepSize⌋ (torch StepLR).</summary>
/// <remarks>Shapes: none.</remarks>
public sealed class StepLR : LRScheduler
{
    /// <summary>Schedules <paramref name="optimizer"/>; <paramref name="stepSize"/> ≥ 1.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"StepLR: stepSize must be ≥ 1, got {stepSize}.");
        Schedules.CheckGamma(gamma, "StepLR");
        StepSize = stepSize;
        Gamma = gamma;
        Apply();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>The decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double LearningRateAt(int epoch) => BaseLearningRate * Math.Pow(Gamma, epoch / StepSize);
}
