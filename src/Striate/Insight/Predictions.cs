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
        var p = F.Softmax(logits, 1).ToArray();
        return Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).Take(k)
            .Select(i => new Prediction(i, p[i])).ToArray();
    }
}
