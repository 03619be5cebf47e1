using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// relu(batch_norm(cat(inputs, dim=1))) with the running statistics (eval mode): DenseNet's norm1 → relu1 over a
    /// layer's concatenated features. Without a graph to record (grad mode off, or nothing requires grad, and no trace)
    /// each input is normalized straight into its channel slice of the output — one pass instead of a concatenation, a
    /// batch norm and a ReLU, and no concatenated copy. Otherwise it is exactly that composition (same graph, same
    /// gradients). Shapes: inputs [N, C_k, H, W] → [N, ΣC_k, H, W]; runningMean, runningVar, weight, bias [ΣC_k].
    /// </summary>
    public static Tensor ConcatBatchNormRelu(IReadOnlyList<Tensor> inputs, Tensor runningMean, Tensor runningVar,
        Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f)
    {
        const string op = "ConcatBatchNormRelu";
        if (inputs == null || inputs.Count == 0)
            throw new ArgumentException($"{op}: inputs must hold at least one tensor, got none.", nameof(inputs));
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        if (!CanFuseWithoutGraph(inputs, weight, bias))
        {
            var joined = inputs.Count == 1 ? inputs[0] : Concat(inputs, dim: 1);
            return ReluInPlace(BatchNorm(joined, runningMean, runningVar, weight, bias, training: false, eps: eps));
        }

        var first = inputs[0];
        if (first.Rank != 4)
            throw new ArgumentException($"{op}: inputs must be 4-D [N, C, H, W], got inputs[0] of shape {Shape(first)}.", nameof(inputs));
        int n = first.Size(0), h = first.Size(2), w = first.Size(3), channels = 0;
        for (int k = 0; k < inputs.Count; k++)
        {
            var t = inputs[k] ?? throw new ArgumentNullException(nameof(inputs), $"{op}: inputs[{k}] is null.");
            if (t.Rank != 4 || t.Size(0) != n || t.Size(2) != h || t.Size(3) != w)
                throw new ArgumentException($"{op}: inputs[{k}] has shape {Shape(t)}, expected [{n}, C, {h}, {w}] like inputs[0].", nameof(inputs));
            channels += t.Size(1);
        }
        CheckChannelVector(op, nameof(runningMean), runningMean, channels, first);
        CheckChannelVector(op, nameof(runningVar), runningVar, channels, first);
        CheckChannelVector(op, nameof(weight), weight, channels, first);
        CheckChannelVector(op, nameof(bias), bias, channels, first);
        if (!(eps > 0)) throw new ArgumentException($"{op}: eps must be positive, got {eps}.", nameof(eps));

        // The folded form of eval batch norm, as the inference session's ChannelAffine step.
        var folded = new double[2 * channels];
        Kernels.BatchNorm.FoldEval(runningMean.ReadOnlySpan, runningVar.ReadOnlySpan,
            weight == null ? ReadOnlySpan<float>.Empty : weight.ReadOnlySpan, bias == null ? ReadOnlySpan<float>.Empty : bias.ReadOnlySpan,
            eps, folded.AsSpan(0, channels), folded.AsSpan(channels));
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++) (scale[c], shift[c]) = ((float)folded[c], (float)folded[channels + c]);

        var output = Tensor.Allocate([n, channels, h, w], clear: false);
        int offset = 0;
        foreach (var t in inputs)
        {
            int c = t.Size(1);
            Kernels.ChannelAffine.ForwardInto(n, c, h * w, t.ReadOnlySpan, scale.AsSpan(offset, c), shift.AsSpan(offset, c), relu: true,
                output.Span, channels, offset);
            offset += c;
        }
        return output;
    }

    private static bool CanFuseWithoutGraph(IReadOnlyList<Tensor> inputs, Tensor? weight, Tensor? bias)
    {
        if (GraphTracer.Current != null) return false;
        if (!GradMode.IsEnabled) return true;
        if (weight is { RequiresGrad: true } || bias is { RequiresGrad: true }) return false;
        foreach (var t in inputs) if (t is { RequiresGrad: true }) return false;
        return true;
    }
}
