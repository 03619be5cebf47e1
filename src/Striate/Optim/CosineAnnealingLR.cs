namespace Striate.Optim;

/// <summary>
/// Cosine annealing (Loshchilov &amp; Hutter 2017, SGDR without restarts) in closed form:
/// lr = η_min + (base − η_min)·(1 + cos(π·epoch / T_max)) / 2. Past T_max the cosine keeps going (rising
/// again), as torch CosineAnnealingLR does.
/// </summary>
/// <remarks>Shapes: none.</remarks>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Schedules <paramref name="optimizer"/> over half a cosine period of <paramref name="tMax"/> epochs.</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        if (tMax < 1) throw new ArgumentOutOfRangeException(nameof(tMax), tMax, $"CosineAnnealingLR: tMax must be ≥ 1, got {tMax}.");
        if (!(etaMin >= 0) || double.IsInfinity(etaMin))
            throw new ArgumentOutOfRangeException(nameof(etaMin), etaMin, $"CosineAnnealingLR: etaMin must be a finite number ≥ 0, got {etaMin}.");
        TMax = tMax;
        EtaMin = etaMin;
        Apply();
    }

    /// <summary>Epochs from the base learning rate down to <see cref="EtaMin"/>.</summary>
    public int TMax { get; }

    /// <summary>The lowest learning rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    protected override double LearningRateAt(int epoch) =>
        EtaMin + (BaseLearningRate - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
}
