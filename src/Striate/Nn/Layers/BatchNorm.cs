using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// Batch normalization (Ioffe and Szegedy 2015): in training, normalizes with the batch's mean and biased variance and
/// updates running_mean/running_var (unbiased) with <see cref="Momentum"/>; in eval, uses the running statistics.
/// Parameter and buffer names are PyTorch's: weight, bias, running_mean, running_var, num_batches_tracked.
/// </summary>
public abstract class BatchNormBase : Module
{
    public int NumFeatures { get; }
    public double Eps { get; }
    public double Momentum { get; }
    public bool Affine { get; }

    /// <summary>γ [numFeatures] (null when not affine).</summary>
    public Tensor? Weight { get; }
    /// <summary>β [numFeatures] (null when not affine).</summary>
    public Tensor? Bias { get; }
    /// <summary>Running mean [numFeatures].</summary>
    public Tensor RunningMean { get; }
    /// <summary>Running (unbiased) variance [numFeatures].</summary>
    public Tensor RunningVar { get; }
    /// <summary>How many training batches have updated the running statistics (a scalar, int64 in files).</summary>
    public Tensor NumBatchesTracked { get; }

    protected BatchNormBase(int numFeatures, double eps, double momentum, bool affine)
    {
        if (numFeatures <= 0) throw new ArgumentException($"{TypeName}: numFeatures must be positive, got {numFeatures}.", nameof(numFeatures));
        if (eps <= 0) throw new ArgumentException($"{TypeName}: eps must be positive, got {eps}.", nameof(eps));
        if (momentum < 0 || momentum > 1) throw new ArgumentException($"{TypeName}: momentum must be in [0, 1], got {momentum}.", nameof(momentum));
        (NumFeatures, Eps, Momentum, Affine) = (numFeatures, eps, momentum, affine);
        if (affine)
        {
            Weight = RegisterParameter("weight", NewParameterTensor(numFeatures));
            Weight.Fill(1f);
            Bias = RegisterParameter("bias", NewParameterTensor(numFeatures));
        }
        RunningMean = RegisterBuffer("running_mean", Tensor.AllocatePersistent([numFeatures]));
        RunningVar = RegisterBuffer("running_var", Tensor.AllocatePersistent([numFeatures]));
        RunningVar.Fill(1f);
        NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.AllocatePersistent([]), isInteger: true);
    }

    /// <summary>
    /// When set (and of more than one process), training normalizes with the statistics of the whole batch across these
    /// processes, as torch.nn.SyncBatchNorm (see <see cref="SyncBatchNorm.Convert"/> and <see cref="F.SyncBatchNorm"/>).
    /// </summary>
    public Distributed.IProcessGroup? ProcessGroup { get; set; }

    /// <summary>Frozen batch norm keeps normalizing with the running statistics it came with.</summary>
    protected override bool StaysInEvalWhenFrozen => true;

    /// <summary>Checks the input's rank and channel count for this variant.</summary>
    protected abstract void CheckInput(Tensor input);

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        CheckInput(input);
        if (input.Size(1) != NumFeatures)
            throw new ArgumentException($"{TypeName}: input has {input.Size(1)} channels (shape {Tensor.FormatShape(input.Shape)}), expected {NumFeatures}.", nameof(input));
        if (Training) NumBatchesTracked.Span[0] += 1;
        if (Training && ProcessGroup is { WorldSize: > 1 } group)
            return F.SyncBatchNorm(input, RunningMean, RunningVar, Weight, Bias, group, (float)Momentum, (float)Eps);
        return F.BatchNorm(input, RunningMean, RunningVar, Weight, Bias, Training, (float)Momentum, (float)Eps);
    }

    public override string ToString() => $"{TypeName}({NumFeatures}, eps={Eps}, momentum={Momentum}, affine={(Affine ? "True" : "False")})";
}

/// <summary>Batch norm over [N, C] or [N, C, L] inputs, as torch.nn.BatchNorm1d. Shapes: unchanged.</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true)
    : BatchNormBase(numFeatures, eps, momentum, affine)
{
    protected override void CheckInput(Tensor input)
    {
        if (input.Rank is not (2 or 3))
            throw new ArgumentException($"BatchNorm1d: input must be 2-D [N, C] or 3-D [N, C, L], got shape {Tensor.FormatShape(input.Shape)}.", nameof(input));
    }
}

/// <summary>Batch norm over [N, C, H, W] inputs, per channel, as torch.nn.BatchNorm2d. Shapes: unchanged.</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true)
    : BatchNormBase(numFeatures, eps, momentum, affine)
{
    protected override void CheckInput(Tensor input)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"BatchNorm2d: input must be 4-D [N, C, H, W], got shape {Tensor.FormatShape(input.Shape)}.", nameof(input));
    }
}
