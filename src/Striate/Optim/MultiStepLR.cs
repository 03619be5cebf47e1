namespace Striate.Optim;

/// <summary>
/// Decays the learning rate by <c>gamma</c> at each milestone epoch: lr = base·γ^(number of milestones ≤ epoch)
/// (torch MultiStepLR; a milestone listed twice decays twice).
/// </summary>
/// <remarks>Shapes: none.</remarks>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    /// <summary>Schedules <paramref name="optimizer"/> with decays at <paramref name="milestones"/> (epochs ≥ 1, any order).</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.Order().ToArray();
        if (_milestones.Length > 0 && _milestones[0] < 1)
            throw new ArgumentOutOfRangeException(nameof(milestones), $"MultiStepLR: milestones must be epochs ≥ 1, got {_milestones[0]}.");
        Schedules.CheckGamma(gamma, "MultiStepLR");
        Gamma = gamma;
        Apply();
    }

    /// <summary>The milestones, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>The decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double LearningRateAt(int epoch)
    {
        int passed = 0;
        while (passed < _milestones.Length && _milestones[passed] <= epoch) passed++;
        return BaseLearningRate * Math.Pow(Gamma, passed);
    }
}
