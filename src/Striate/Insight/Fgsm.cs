using Striate.Functional;
using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// The fast gradient sign method (Goodfellow, Shlens and Szegedy 2015, "Explaining and Harnessing Adversarial
/// Examples"): x' = clamp(x + ε·sign(∇ₓ CE(f(x), y)), min, max), one step that raises the loss of the true label.
/// Shapes: input [N, C, H, W], labels [N] → adversarial images [N, C, H, W].
/// </summary>
/// <remarks>
/// ε and the clamp range are in the model's input space. For a model trained on Normalize(mean, std) inputs, valid
/// pixels span [(0 − mean)/std, (1 − mean)/std] per channel and a pixel-space ε is ε/std there: use
/// <see cref="AttackNormalized"/>. sign(0) = 0, as torch.sign.
/// </remarks>
public static class Fgsm
{
    /// <summary>One FGSM step of size <paramref name="eps"/>, clamped to [<paramref name="clampMin"/>, <paramref name="clampMax"/>].</summary>
    public static Tensor Attack(Module model, Tensor input, int[] labels, float eps, float clampMin = 0, float clampMax = 1)
    {
        int channels = input?.Rank == 4 ? input.Size(1) : 1;
        return AttackCore(model, input!, labels, Enumerable.Repeat(eps, channels).ToArray(),
            Enumerable.Repeat(clampMin, channels).ToArray(), Enumerable.Repeat(clampMax, channels).ToArray());
    }

    /// <summary>
    /// FGSM for a model whose inputs were normalized with per-channel <paramref name="mean"/> and <paramref name="std"/>:
    /// <paramref name="eps"/> is in pixel units (images in [0, 1]), so channel c moves by eps/std_c and is clamped to
    /// [(0 − mean_c)/std_c, (1 − mean_c)/std_c]. A single mean/std value applies to every channel.
    /// </summary>
    public static Tensor AttackNormalized(Module model, Tensor input, int[] labels, float eps, IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(input);
        int channels = input.Rank == 4 ? input.Size(1) : 1;
        if (mean.Count != std.Count || (mean.Count != 1 && mean.Count != channels))
            throw new ArgumentException($"Fgsm.AttackNormalized: mean and std need 1 or {channels} values each, got {mean.Count} and {std.Count}.");
        var e = new float[channels];
        var lo = new float[channels];
        var hi = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            float m = mean[mean.Count == 1 ? 0 : c], s = std[std.Count == 1 ? 0 : c];
            if (!(s > 0)) throw new ArgumentException($"Fgsm.AttackNormalized: std must be positive, got {s}.");
            (e[c], lo[c], hi[c]) = (eps / s, (0 - m) / s, (1 - m) / s);
        }
        return AttackCore(model, input, labels, e, lo, hi);
    }

    private static Tensor AttackCore(Module model, Tensor input, int[] labels, float[] eps, float[] clampMin, float[] clampMax)
    {
        ArgumentNullException.ThrowIfNull(labels);
        InsightRun.CheckInput(model, input, "Fgsm.Attack", batch: true);
        int n = input.Size(0), channels = input.Size(1), plane = input.Size(2) * input.Size(3);
        if (labels.Length != n) throw new ArgumentException($"Fgsm.Attack: {labels.Length} labels for {n} images.");
        for (int c = 0; c < channels; c++)
        {
            if (!(eps[c] >= 0)) throw new ArgumentException($"Fgsm.Attack: eps must be non-negative, got {eps[c]}.");
            if (!(clampMin[c] <= clampMax[c])) throw new ArgumentException($"Fgsm.Attack: clamp range [{clampMin[c]}, {clampMax[c]}] is empty.");
        }
        var result = Tensor.AllocatePersistent(input.Shape);
        using var run = InsightRun.Begin(model);
        using var scope = TensorScope.Begin();
        var x = InsightRun.LeafCopy(input);
        var logits = model.Call(x);
        if (logits.Rank != 2 || logits.Size(0) != n)
            throw new ArgumentException($"Fgsm.Attack: the model's output has shape {Tensor.FormatShape(logits.Shape)}; a classifier's [{n}, classes] is needed.");
        foreach (int label in labels)
            if ((uint)label >= (uint)logits.Size(1)) throw new ArgumentException($"Fgsm.Attack: label {label} is out of range for {logits.Size(1)} classes.");
        F.CrossEntropy(logits, labels).Backward();
        var src = input.ReadOnlySpan;
        var g = x.Grad != null ? x.Grad.ReadOnlySpan : new float[src.Length];
        var dst = result.Span;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < channels; c++)
            {
                int o = (i * channels + c) * plane;
                float e = eps[c], lo = clampMin[c], hi = clampMax[c];
                for (int j = o; j < o + plane; j++)
                    dst[j] = Math.Clamp(src[j] + (g[j] > 0 ? e : g[j] < 0 ? -e : 0f), lo, hi);
            }
        return result;
    }
}
