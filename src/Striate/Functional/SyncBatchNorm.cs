using Striate.Autograd;
using Striate.Distributed;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Training-mode batch normalization with the statistics of the whole batch spread over the processes of
    /// <paramref name="group"/>, as torch.nn.SyncBatchNorm: the per-channel sums (Σx, then Σ(x − mean)²) are summed
    /// across processes before normalizing, and in backward Σg and Σg·x̂ likewise, so that p processes with batch B
    /// compute what one process with batch p·B computes. The running statistics get the same update on every process
    /// (unbiased over all p·B·S elements). Weight and bias gradients are this process's share; data-parallel
    /// averaging completes them. Every process must call it for the same layers in the same order (it is collective).
    /// Shapes: input [N, C], [N, C, L] or [N, C, H, W] → same; runningMean, runningVar, weight, bias [C].
    /// </summary>
    public static Tensor SyncBatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        IProcessGroup group, float momentum = 0.1f, float eps = 1e-5f)
    {
        const string op = "SyncBatchNorm";
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(group);
        if (input.Rank < 2)
            throw new ArgumentException($"{op}: input must be [N, C], [N, C, L] or [N, C, H, W], got shape {Shape(input)}.", nameof(input));
        int n = input.Size(0), c = input.Size(1), s = n * c == 0 ? 0 : input.Numel / (n * c);
        CheckChannelVector(op, nameof(runningMean), runningMean, c, input);
        CheckChannelVector(op, nameof(runningVar), runningVar, c, input);
        CheckChannelVector(op, nameof(weight), weight, c, input);
        CheckChannelVector(op, nameof(bias), bias, c, input);
        if ((runningMean == null) != (runningVar == null))
            throw new ArgumentException($"{op}: runningMean and runningVar must both be given or both be null.", nameof(runningVar));
        if (!(eps > 0)) throw new ArgumentException($"{op}: eps must be positive, got {eps}.", nameof(eps));
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentException($"{op}: momentum must be in [0, 1], got {momentum}.", nameof(momentum));

        // [Σx per channel, elements per channel], summed over the processes.
        var stats = new double[c + 1];
        Kernels.BatchNorm.ChannelSums(n, c, s, input.ReadOnlySpan, stats.AsSpan(0, c));
        stats[c] = (double)n * s;
        group.AllReduce(stats);
        double count = stats[c];
        if (count <= 1)
            throw new ArgumentException($"{op}: expected more than 1 value per channel over the {group.WorldSize} processes when training, got {count} (this process's input has shape {Shape(input)}).", nameof(input));
        var mean = new float[c];
        for (int ch = 0; ch < c; ch++) mean[ch] = (float)(stats[ch] / count);
        // Two passes, as the single-process kernel: squared deviations from the global mean.
        var squares = new double[c];
        Kernels.BatchNorm.ChannelSquaredDeviations(n, c, s, input.ReadOnlySpan, mean, squares);
        group.AllReduce(squares);
        var variance = new float[c];
        for (int ch = 0; ch < c; ch++) variance[ch] = (float)(squares[ch] / count);
        var invStd = new float[c];
        Kernels.BatchNorm.InvStd(variance, eps, invStd);

        var output = Tensor.Allocate(input.Shape, clear: false);
        Kernels.BatchNorm.ForwardEval(n, c, s, input.ReadOnlySpan, weight == null ? ReadOnlySpan<float>.Empty : weight.ReadOnlySpan,
            bias == null ? ReadOnlySpan<float>.Empty : bias.ReadOnlySpan, mean, variance, eps, output.Span);
        if (runningMean != null)
            Kernels.BatchNorm.UpdateRunningStats(runningMean.Span, runningVar!.Span, mean, variance, momentum, (int)Math.Min(count, int.MaxValue));
        return new SyncBatchNormBackward(n, c, s, mean, invStd, count, group).Saving(input, weight).Record(output, input, weight, bias);
    }

    private sealed class SyncBatchNormBackward(int n, int c, int s, float[] mean, float[] invStd, double count, IProcessGroup group) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var input = Inputs[0]!;
            var weight = Inputs[1];
            // [Σg, Σg·(x − mean)] per channel: this process's, then (for the input gradient) everyone's.
            var sums = new double[2 * c];
            Kernels.BatchNorm.BackwardSums(n, c, s, input.ReadOnlySpan, gradOutput.ReadOnlySpan, mean, sums.AsSpan(0, c), sums.AsSpan(c, c));
            if (NeedsGrad(2))
            {
                var gradBias = Tensor.Allocate([c], clear: false);
                for (int ch = 0; ch < c; ch++) gradBias.Span[ch] = (float)sums[ch];
                Accumulate(2, gradBias);
            }
            if (NeedsGrad(1))
            {
                var gradWeight = Tensor.Allocate([c], clear: false);
                for (int ch = 0; ch < c; ch++) gradWeight.Span[ch] = (float)(sums[c + ch] * invStd[ch]);
                Accumulate(1, gradWeight);
            }
            if (!NeedsGrad(0)) return;
            group.AllReduce(sums);
            var gradInput = Tensor.Allocate(input.Shape, clear: false);
            Kernels.BatchNorm.BackwardInput(n, c, s, input.ReadOnlySpan, gradOutput.ReadOnlySpan,
                weight == null ? ReadOnlySpan<float>.Empty : weight.ReadOnlySpan, mean, invStd, sums.AsSpan(0, c), sums.AsSpan(c, c), count, gradInput.Span);
            Accumulate(0, gradInput);
        }
    }
}
