using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// Softmax cross-entropy averaged over the batch, fused with log-softmax for stability, with optional label smoothing
/// (Szegedy et al. 2016), as torch.nn.CrossEntropyLoss(reduction='mean'). The Trainer's default loss.
/// Shapes: logits [N, C], targets N class indices in [0, C) → scalar loss.
/// </summary>
public sealed class CrossEntropyLoss : ILoss
{
    public double LabelSmoothing { get; }

    public CrossEntropyLoss(double labelSmoothing = 0)
    {
        if (labelSmoothing < 0 || labelSmoothing > 1)
            throw new ArgumentException($"CrossEntropyLoss: labelSmoothing must be in [0, 1], got {labelSmoothing}.", nameof(labelSmoothing));
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>The mean loss of <paramref name="logits"/> against <paramref name="targets"/>.</summary>
    public Tensor Forward(Tensor logits, int[] targets) => F.CrossEntropy(logits, targets, (float)LabelSmoothing);

    /// <inheritdoc />
    public Tensor Compute(Tensor output, Tensor input, int[] labels) => Forward(output, labels);

    /// <inheritdoc />
    public bool ScoresClasses => true;
}
