namespace Striate.Nn;

/// <summary>
/// What a training loop minimizes: the scalar loss of a model's output for one mini-batch (mean over the batch, as
/// PyTorch's <c>reduction='mean'</c>). The batch is given as its input and its class labels, so a loss may compare
/// the output with either (cross-entropy with the labels, reconstruction with the input).
/// Shapes: output as the model gives it, input [N, …], labels N class indices → [] (a scalar).
/// </summary>
public interface ILoss
{
    /// <summary>The loss of <paramref name="output"/> for the batch (<paramref name="input"/>, <paramref name="labels"/>).</summary>
    Tensor Compute(Tensor output, Tensor input, int[] labels);

    /// <summary>
    /// True when the output must be one score per class, [N, classes] for the data's classes: a training loop then
    /// checks the model's output against the data and names the model to build when they disagree.
    /// </summary>
    bool ScoresClasses => false;

    /// <summary>A loss computed by <paramref name="compute"/>(output, input, labels).</summary>
    static ILoss From(Func<Tensor, Tensor, int[], Tensor> compute, bool scoresClasses = false) => new DelegateLoss(compute, scoresClasses);

    private sealed class DelegateLoss(Func<Tensor, Tensor, int[], Tensor> compute, bool scoresClasses) : ILoss
    {
        public Tensor Compute(Tensor output, Tensor input, int[] labels) => compute(output, input, labels);
        public bool ScoresClasses => scoresClasses;
    }
}
