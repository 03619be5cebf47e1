namespace Striate.Optim;

/// <summary>
/// The 1cycle policy (Smith &amp; Topin 2018) with torch OneCycleLR's (1.13) schedule: the learning rate rises
/// from maxLr / divFactor to maxLr over the first pctStart of the steps, then anneals to
/// maxLr / (divFactor · finalDivFactor); with <c>threePhase</c> it first returns symmetrically to the initial rate
/// and only then anneals to the minimum. Momentum (SGD's momentum, Adam's β1) cycles inversely between
/// maxMomentum and baseMomentum. Step once per batch (its <see cref="LRScheduler.Interval"/> is
/// <see cref="StepInterval.Batch"/>).
/// </summary>
/// <remarks>Shapes: none. The optimizer's own learning rate is ignored, as in PyTorch.</remarks>
public sealed class OneCycleLR : LRScheduler
{
    private readonly record struct Phase(double EndStep, double StartLr, double EndLr, double StartMomentum, double EndMomentum);

    private readonly Phase[] _phases;
    private readonly bool _linear;

    /// <summary>Schedules <paramref name="optimizer"/> over <paramref name="totalSteps"/> batches; arguments mean what they mean in torch.</summary>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, string annealStrategy = "cos",
        double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false, bool cycleMomentum = true,
        double baseMomentum = 0.85, double maxMomentum = 0.95)
        : base(optimizer)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"OneCycleLR: totalSteps must be ≥ 1, got {totalSteps}.");
        if (!(pctStart >= 0 && pctStart <= 1)) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, $"OneCycleLR: pctStart must be in [0, 1], got {pctStart}.");
        if (annealStrategy != "cos" && annealStrategy != "linear")
            throw new ArgumentException($"OneCycleLR: annealStrategy must be \"cos\" or \"linear\", got \"{annealStrategy}\".", nameof(annealStrategy));
        if (!(maxLr > 0) || double.IsInfinity(maxLr)) throw new ArgumentOutOfRangeException(nameof(maxLr), maxLr, $"OneCycleLR: maxLr must be a finite number > 0, got {maxLr}.");
        if (!(divFactor > 0)) throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, $"OneCycleLR: divFactor must be > 0, got {divFactor}.");
        if (!(finalDivFactor > 0)) throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor, $"OneCycleLR: finalDivFactor must be > 0, got {finalDivFactor}.");
        if (cycleMomentum)
        {
            if (optimizer is not (Sgd or Adam))
                throw new ArgumentException($"OneCycleLR: optimizer {optimizer.GetType().Name} has no momentum to cycle; pass cycleMomentum: false.", nameof(cycleMomentum));
            if (!(baseMomentum >= 0 && baseMomentum < 1) || !(maxMomentum >= 0 && maxMomentum < 1))
                throw new ArgumentOutOfRangeException(nameof(baseMomentum), $"OneCycleLR: baseMomentum and maxMomentum must be in [0, 1), got {baseMomentum} and {maxMomentum}.");
        }

        Interval = StepInterval.Batch;
        TotalSteps = totalSteps;
        CycleMomentum = cycleMomentum;
        _linear = annealStrategy == "linear";
        double initialLr = maxLr / divFactor;
        double minLr = initialLr / finalDivFactor;
        // Phase boundaries in double exactly as PyTorch computes them (pct_start · total_steps − 1, …).
        _phases = threePhase
            ?
            [
                new(pctStart * totalSteps - 1, initialLr, maxLr, maxMomentum, baseMomentum),
                new(2 * pctStart * totalSteps - 2, maxLr, initialLr, baseMomentum, maxMomentum),
                new(totalSteps - 1, initialLr, minLr, maxMomentum, maxMomentum),
            ]
            :
            [
                new(pctStart * totalSteps - 1, initialLr, maxLr, maxMomentum, baseMomentum),
                new(totalSteps - 1, maxLr, minLr, baseMomentum, maxMomentum),
            ];
        Apply();
    }

    /// <summary>The number of steps in the cycle (PyTorch allows stepping until LastEpoch == TotalSteps).</summary>
    public int TotalSteps { get; }

    /// <summary>Whether momentum is cycled.</summary>
    public bool CycleMomentum { get; }

    /// <summary>The momentum (or β1) most recently applied; NaN when momentum is not cycled.</summary>
    public double LastMomentum { get; private set; } = double.NaN;

    /// <inheritdoc/>
    protected override void CheckEpoch(int epoch)
    {
        if (epoch > TotalSteps)
            throw new InvalidOperationException($"OneCycleLR: tried to step {epoch + 1} times; the specified number of total steps is {TotalSteps}.");
    }

    /// <inheritdoc/>
    protected override double LearningRateAt(int epoch) => Evaluate(epoch).Lr;

    /// <inheritdoc/>
    protected override void Apply()
    {
        base.Apply();
        if (!CycleMomentum) return;
        LastMomentum = Evaluate(LastEpoch).Momentum;
        switch (Optimizer)
        {
            case Sgd sgd: sgd.Momentum = (float)LastMomentum; break;
            case Adam adam: adam.Beta1 = (float)LastMomentum; break;
        }
    }

    private (double Lr, double Momentum) Evaluate(int step)
    {
        double startStep = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            var phase = _phases[i];
            if (step <= phase.EndStep || i == _phases.Length - 1)
            {
                double pct = (step - startStep) / (phase.EndStep - startStep);
                return (Anneal(phase.StartLr, phase.EndLr, pct), Anneal(phase.StartMomentum, phase.EndMomentum, pct));
            }
            startStep = phase.EndStep;
        }
        throw new InvalidOperationException("OneCycleLR: unreachable.");
    }

    private double Anneal(double start, double end, double pct) => _linear
        ? (end - start) * pct + start
        : end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1);
}
