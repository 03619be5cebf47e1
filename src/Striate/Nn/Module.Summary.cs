namespace Striate.Nn;

public abstract partial class Module
{
    /// <summary>
    /// Runs this model once, in eval mode without gradients, on a zero image of <paramref name="inputShape"/>
    /// (one image without the batch dimension, e.g. 3, 224, 224) and reports each leaf layer's output shape,
    /// parameters, multiply-accumulates and receptive field, with parameter, MAC and activation-memory totals.
    /// The module's training modes are restored afterwards. Fails with an <see cref="ArgumentException"/> naming
    /// the layer and what it expected when the input does not fit.
    /// Shapes: inputShape [C, H, W] (any per-image shape works; receptive fields need [C, H, W]).
    /// </summary>
    public ModelSummary Summary(params int[] inputShape) => SummaryRecorder.Run(this, inputShape);

    /// <summary>As <see cref="Summary(int[])"/> for a C×H×W image.</summary>
    public ModelSummary Summary((int Channels, int Height, int Width) inputShape) =>
        SummaryRecorder.Run(this, [inputShape.Channels, inputShape.Height, inputShape.Width]);

    /// <summary>Sets this module's own training flag only (used to restore mixed modes after a summary).</summary>
    internal void SetTrainingFlag(bool training) => Training = training;
}
