using Striate.Autograd;
using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// Class activation mapping (Zhou et al. 2016, "Learning Deep Features for Discriminative Localization"):
/// M_c(x, y) = Σ_k w_k^c f_k(x, y), where f_k are the feature maps that global average pooling reduces and w^c is the
/// final Linear layer's row for class c. It needs the architecture …→ conv features → global average pool →
/// (flatten, dropout) → Linear; for any other model use Grad-CAM.
/// Shapes: input [1, C, H, W] → map [h, w] (the pooled feature maps' resolution; raw values, which may be negative —
/// no bias, ReLU, upsampling or normalization). ReLU(M_c)/(h·w) is exactly Grad-CAM at the pooling layer's input.
/// </summary>
public static class ClassActivationMap
{
    /// <summary>The CAM of <paramref name="classIndex"/> (default: the predicted class), computed in eval mode without a graph.</summary>
    public static Tensor Compute(Module model, Tensor input, int? classIndex = null)
    {
        InsightRun.CheckInput(model, input, "ClassActivationMap.Compute");
        using var run = InsightRun.Begin(model);
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();

        // Record the leaves in execution order with what went into them, then check the tail is GAP → (flatten) → Linear.
        var calls = new List<(Module Layer, Tensor Input, Tensor Output)>();
        var hooks = model.NamedModules().Where(p => !p.Value.NamedChildren().Any())
            .Select(p => p.Value.RegisterForwardHook((m, i, o) => calls.Add((m, i, o)))).ToList();
        Tensor logits;
        try
        {
            logits = model.Call(input);
        }
        finally
        {
            foreach (var hook in hooks) hook.Dispose();
        }
        int c = InsightRun.ResolveClass(logits, classIndex, "ClassActivationMap.Compute");

        int t = calls.Count - 1;
        var linear = t >= 0 ? calls[t].Layer as Linear : null;
        int p = t - 1;
        while (p >= 0 && calls[p].Layer is Flatten or Dropout or Identity) p--;
        var pool = p >= 0 ? calls[p] : default;
        bool gap = pool.Layer is AdaptiveAvgPool2d { OutputSize: { H: 1, W: 1 } } && pool.Input.Rank == 4;
        if (linear == null || !gap || linear.InFeatures != pool.Input.Size(1) || !ReferenceEquals(calls[t].Output, logits))
            throw new ArgumentException("ClassActivationMap.Compute: CAM needs a model that ends in global average pooling "
                + "(AdaptiveAvgPool2d(1)) followed by a Linear classifier (Zhou et al. 2016); this model does not "
                + $"(its last layers run: {string.Join(" → ", calls.Skip(Math.Max(0, calls.Count - 4)).Select(x => x.Layer.TypeName))}); use gradcam instead.");

        var features = pool.Input; // [1, K, h, w]
        int k = features.Size(1), h = features.Size(2), w = features.Size(3), plane = h * w;
        var weights = linear.Weight.ReadOnlySpan.Slice(c * k, k);
        var a = features.ReadOnlySpan;
        var map = new double[plane];
        for (int ch = 0; ch < k; ch++)
        {
            double wk = weights[ch];
            var ak = a.Slice(ch * plane, plane);
            for (int i = 0; i < plane; i++) map[i] += wk * ak[i];
        }
        return InsightRun.Result(map.Select(v => (float)v).ToArray(), h, w);
    }
}
