using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Batch normalization (Ioffe and Szegedy 2015), as torch.nn.functional.batch_norm, over channel dimension 1.
    /// Training normalizes with the batch mean and biased variance and, when running statistics are given, updates
    /// them in place: running ← (1 − momentum)·running + momentum·batch, using the unbiased batch variance.
    /// Eval normalizes with the running statistics. <paramref name="weight"/> and <paramref name="bias"/> are
    /// optional (scale 1, shift 0); gradients flow to input, weight and bias in both modes, never to the running
    /// statistics.
    /// Shapes: input [N, C], [N, C, L] or [N, C, H, W] → same; runningMean, runningVar, weight, bias [C].
    /// </summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, float momentum = 0.1f, float eps = 1e-5f)
    {
        const string op = "BatchNorm";
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2)
            throw new ArgumentException($"{op}: input must be [N, C], [N, C, L] or [N, C, H, W], got shape {Shape(input)}.", nameof(input));
        int n = input.Size(0), c = input.Size(1), s = input.Numel / Math.Max(n * c, 1);
        if (n * c == 0) s = 0;
        CheckChannelVector(op, nameof(runningMean), runningMean, c, input);
        CheckChannelVector(op, nameof(runningVar), runningVar, c, input);
        CheckChannelVector(op, nameof(weight), weight, c, input);
        CheckChannelVector(op, nameof(bias), bias, c, input);
        if ((runningMean == null) != (runningVar == null))
            throw new ArgumentException($"{op}: runningMean and runningVar must both be given or both be null, got {(runningMean == null ? "only runningVar" : "only runningMean")}.", nameof(runningVar));
        if (!(eps > 0)) throw new ArgumentException($"{op}: eps must be positive, got {eps}.", nameof(eps));
        if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentException($"{op}: momentum must be in [0, 1], got {momentum}.", nameof(momentum));
        var output = Tensor.Allocate(input.Shape, clear: false);
        var w = weight == null ? ReadOnlySpan<float>.Empty : weight.ReadOnlySpan;
        var b = bias == null ? ReadOnlySpan<float>.Empty : bias.ReadOnlySpan;
        var mean = new float[c];
        var invStd = new float[c];
        if (training)
        {
            if (n * s <= 1)
                throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got input of shape {Shape(input)}.", nameof(input));
            var variance = new float[c];
            Kernels.BatchNorm.ForwardTraining(n, c, s, input.ReadOnlySpan, w, b, eps, output.Span, mean, variance, invStd);
            if (runningMean != null)
                Kernels.BatchNorm.UpdateRunningStats(runningMean.Span, runningVar!.Span, mean, variance, momentum, n * s);
        }
        else
        {
            if (runningMean == null)
                throw new ArgumentException($"{op}: eval mode (training = false) needs runningMean and runningVar, got null.", nameof(runningMean));
            Kernels.BatchNorm.ForwardEval(n, c, s, input.ReadOnlySpan, w, b, runningMean.ReadOnlySpan, runningVar!.ReadOnlySpan, eps, output.Span);
            // Snapshot the statistics used, so a later in-place running update cannot change this step's gradient.
            runningMean.ReadOnlySpan.CopyTo(mean);
            Kernels.BatchNorm.InvStd(runningVar.ReadOnlySpan, eps, invStd);
        }
        GraphTracer.Current?.Record(new BatchNormOp(eps, momentum, training), output, input, runningMean, runningVar, weight, bias);
        return new BatchNormBackward(n, c, s, training, mean, invStd).Saving(input, weight).Record(output, input, weight, bias);
    }

    private static void CheckChannelVector(string op, string argument, Tensor? t, int channels, Tensor input)
    {
        if (t != null && (t.Rank != 1 || t.Size(0) != channels))
            throw new ArgumentException($"{op}: {argument} has shape {Shape(t)}, expected [{channels}] for input of shape {Shape(input)}.", argument);
    }

    private sealed class BatchNormBackward(int n, int c, int s, bool training, float[] mean, float[] invStd) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var input = Inputs[0]!;
            var weight = Inputs[1];
            Tensor? gradInput = NeedsGrad(0) ? Tensor.Allocate(input.Shape, clear: false) : null;
            Tensor? gradWeight = NeedsGrad(1) ? Tensor.Allocate([c], clear: false) : null;
            Tensor? gradBias = NeedsGrad(2) ? Tensor.Allocate([c], clear: false) : null;
            Kernels.BatchNorm.Backward(n, c, s, training, input.ReadOnlySpan, gradOutput.ReadOnlySpan,
                weight == null ? ReadOnlySpan<float>.Empty : weight.ReadOnlySpan, mean, invStd,
                gradInput == null ? Span<float>.Empty : gradInput.Span,
                gradWeight == null ? Span<float>.Empty : gradWeight.Span,
                gradBias == null ? Span<float>.Empty : gradBias.Span);
            if (gradInput != null) Accumulate(0, gradInput);
            if (gradWeight != null) Accumulate(1, gradWeight);
            if (gradBias != null) Accumulate(2, gradBias);
        }
    }
}
