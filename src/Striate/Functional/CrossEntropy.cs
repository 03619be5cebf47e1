using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Mean cross-entropy of logits against class indices, fused with log-softmax, as
    /// torch.nn.functional.cross_entropy(reduction="mean", label_smoothing=ε): per sample
    /// (1 − ε)·(−log p_target) + ε·mean_k(−log p_k). The gradient is (softmax − smoothed one-hot)/N.
    /// Shapes: logits [N, C], targets [N] with values in [0, C) → [] (a scalar).
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, float labelSmoothing = 0f)
    {
        const string op = "CrossEntropy";
        GraphTracer.Current?.Unsupported(op, "its integer targets are not a tensor of the graph; trace the model and apply the loss outside it");
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        ExpectRank(logits, 2, op, nameof(logits), "[N, C]");
        int n = logits.Size(0), c = logits.Size(1);
        if (targets.Length != n)
            throw new ArgumentException($"{op}: targets has {targets.Length} entries, expected one per sample ({n}) for logits of shape {Shape(logits)}.", nameof(targets));
        if (n == 0) throw new ArgumentException($"{op}: logits of shape {Shape(logits)} hold no samples; the mean over zero samples is undefined.", nameof(logits));
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)c)
                throw new ArgumentOutOfRangeException(nameof(targets), $"{op}: targets[{i}] = {targets[i]} is out of range; expected a class index in [0, {c}) for logits of shape {Shape(logits)}.");
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new ArgumentException($"{op}: labelSmoothing must be in [0, 1], got {labelSmoothing}.", nameof(labelSmoothing));
        bool record = GradFn.ShouldRecord(logits);
        var probabilities = record ? Tensor.Allocate(logits.Shape, clear: false) : null;
        float loss = Kernels.CrossEntropy.Forward(n, c, logits.ReadOnlySpan, targets, labelSmoothing,
            probabilities == null ? Span<float>.Empty : probabilities.Span);
        var output = RankZero(loss);
        if (!record) return output;
        return new CrossEntropyBackward(n, c, (int[])targets.Clone(), labelSmoothing, probabilities!).Record(output, logits);
    }

    private sealed class CrossEntropyBackward(int n, int c, int[] targets, float labelSmoothing, Tensor probabilities) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate([n, c], clear: false);
            Kernels.CrossEntropy.Backward(n, c, probabilities.ReadOnlySpan, targets, labelSmoothing, gradOutput.Item(), grad.Span);
            Accumulate(0, grad);
        }
    }
}
