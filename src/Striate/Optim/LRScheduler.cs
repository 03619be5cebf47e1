using System.Globalization;

namespace Striate.Optim;

/// <summary>
/// Sets an optimizer's learning rate from a schedule, as torch.optim.lr_scheduler: construction applies the
/// value for epoch 0, and every <see cref="Step"/> advances <see cref="LastEpoch"/> by one and applies its value.
/// <see cref="Interval"/> says when a training loop calls <see cref="Step"/>: once per epoch after the optimizer's
/// steps (the default), or once per batch (<see cref="OneCycleLR"/>'s default).
/// </summary>
/// <remarks>Shapes: none (scalars only).</remarks>
public abstract class LRScheduler
{
    /// <summary>Captures the optimizer's current learning rate as the base (PyTorch's <c>initial_lr</c>).</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        BaseLearningRate = optimizer.LearningRate;
    }

    /// <summary>
    /// When a training loop steps this schedule: after every epoch or after every batch. A schedule whose steps are
    /// counted in batches (a cosine annealing over all the batches of a run) sets <see cref="StepInterval.Batch"/>.
    /// </summary>
    public StepInterval Interval { get; set; } = StepInterval.Epoch;

    /// <summary>The optimizer whose learning rate this schedule sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The learning rate the schedule starts from (the optimizer's when the scheduler was made).</summary>
    public double BaseLearningRate { get; private set; }

    /// <summary>The number of <see cref="Step"/> calls so far (0 right after construction).</summary>
    public int LastEpoch { get; private set; }

    /// <summary>The learning rate most recently applied (PyTorch's <c>get_last_lr()[0]</c>).</summary>
    public float LastLearningRate { get; private set; }

    /// <summary>The learning rate in double precision, as PyTorch keeps it.</summary>
    public double LastLearningRateExact { get; private set; }

    /// <summary>Advances one epoch (or batch) and applies the new learning rate.</summary>
    public void Step()
    {
        CheckEpoch(LastEpoch + 1);
        LastEpoch++;
        Apply();
    }

    /// <summary>The schedule: the learning rate at <paramref name="epoch"/>.</summary>
    protected abstract double LearningRateAt(int epoch);

    /// <summary>Throws if the schedule is not defined at <paramref name="epoch"/>.</summary>
    protected virtual void CheckEpoch(int epoch) { }

    /// <summary>Applies the value for <see cref="LastEpoch"/>; derived constructors call it last.</summary>
    protected virtual void Apply()
    {
        double lr = LearningRateAt(LastEpoch);
        Optimizer.SetScheduledLearningRate(lr);
        LastLearningRateExact = lr;
        LastLearningRate = (float)lr;
    }

    /// <summary>The scheduler's position: <c>last_epoch</c> and <c>base_lr</c>.</summary>
    public IReadOnlyDictionary<string, double> StateDict() => new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["last_epoch"] = LastEpoch,
        ["base_lr"] = BaseLearningRate,
    };

    /// <summary>
    /// Restores a position saved by <see cref="StateDict"/> (exactly the keys <c>last_epoch</c> and <c>base_lr</c>)
    /// and applies that epoch's learning rate to the optimizer.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, double> stateDict)
    {
        var (epoch, baseLr) = Check(stateDict);
        LastEpoch = epoch;
        BaseLearningRate = baseLr;
        Apply();
    }

    /// <summary>Throws (naming the key) if <see cref="LoadStateDict"/> would refuse <paramref name="stateDict"/>; changes nothing.</summary>
    public void ValidateStateDict(IReadOnlyDictionary<string, double> stateDict) => Check(stateDict);

    private (int Epoch, double BaseLearningRate) Check(IReadOnlyDictionary<string, double> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        string op = $"{GetType().Name}.LoadStateDict";
        foreach (var key in stateDict.Keys)
            if (key != "last_epoch" && key != "base_lr")
                throw new ArgumentException($"{op}: unexpected key '{key}'; expected 'last_epoch' and 'base_lr'.", nameof(stateDict));
        if (!stateDict.TryGetValue("last_epoch", out double epoch)) throw new ArgumentException($"{op}: missing key 'last_epoch'.", nameof(stateDict));
        if (!stateDict.TryGetValue("base_lr", out double baseLr)) throw new ArgumentException($"{op}: missing key 'base_lr'.", nameof(stateDict));
        if (!(epoch >= 0 && epoch <= int.MaxValue) || epoch != Math.Floor(epoch))
            throw new ArgumentException($"{op}: key 'last_epoch' holds {epoch.ToString(CultureInfo.InvariantCulture)}; expected a whole number ≥ 0.", nameof(stateDict));
        if (!(baseLr >= 0) || double.IsInfinity(baseLr))
            throw new ArgumentException($"{op}: key 'base_lr' holds {baseLr.ToString(CultureInfo.InvariantCulture)}; expected a finite number ≥ 0.", nameof(stateDict));
        CheckEpoch((int)epoch);
        return ((int)epoch, baseLr);
    }
}

/// <summary>When a training loop steps an <see cref="LRScheduler"/>.</summary>
public enum StepInterval
{
    /// <summary>Once per epoch, after the epoch's last optimizer step (PyTorch's usual placement).</summary>
    Epoch,

    /// <summary>Once per batch, after each optimizer step.</summary>
    Batch,
}

internal static class Schedules
{
    internal static void CheckGamma(double gamma, string op)
    {
        if (!(gamma >= 0) || double.IsInfinity(gamma))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"{op}: gamma must be a finite number ≥ 0, got {gamma}.");
    }
}
