using Striate.Autograd;
using Striate.Functional;
using Striate.Nn;

namespace Striate.Insight;

/// <summary>One class of a model's answer and its softmax probability.</summary>
public sealed record Prediction(int ClassIndex, float Probability);

/// <summary>The most probable classes for one image. Shapes: input [1, C, H, W] → k predictions.</summary>
public static class Predictions
{
    /// <summary>The <paramref name="k"/> classes with the highest softmax probability, most probable first (eval mode, no graph).</summary>
    public static Prediction[] TopK(Module model, Tensor input, int k = 5)
    {
        if (k <= 0) throw new ArgumentException($"Predictions.TopK: k must be positive, got {k}.");
        InsightRun.CheckInput(model, input, "Predictions.TopK");
        using var run = InsightRun.Begin(model);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var logits = model.Call(input);
        InsightRun.ResolveClass(logits, null, "Predictions.TopK");
        return FromLogits(logits, k);
    }

    /// <summary>
    /// The <paramref name="k"/> most probable classes of one image's logits [1, classes] (from a prepared
    /// <see cref="Graph.InferenceSession"/>, say), most probable first.
    /// </summary>
    public static Prediction[] FromLogits(Tensor logits, int k = 5)
    {
        if (k <= 0) throw new ArgumentException($"Predictions.FromLogits: k must be positive, got {k}.");
        if (logits.Rank != 2 || logits.Size(0) != 1)
            throw new ArgumentException($"Predictions.FromLogits: logits must be [1, classes], got shape {Tensor.FormatShape(logits.Shape)}.", nameof(logits));
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var p = F.Softmax(logits, 1).ToArray();
        return Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).Take(k)
            .Select(i => new Prediction(i, p[i])).ToArray();
    }
}
