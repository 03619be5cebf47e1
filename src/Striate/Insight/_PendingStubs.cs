// ============================================================================================================
// TEMPORARY STUBS — DELETE THIS FILE ON MERGE.
// Branch `insight` implements these Striate.Insight APIs for real; branch `visual` codes against exactly these
// signatures and needs them to compile and test before the merge. Nothing here is meant to survive.
// ============================================================================================================
using Striate.Autograd;
using Striate.Functional;
using Striate.Nn;

namespace Striate.Insight;

/// <summary>TEMPORARY STUB (branch insight has the real one): finds a module by its dotted name.</summary>
public static class LayerLookup
{
    public static Module Find(Module model, string name)
    {
        foreach (var (n, m) in model.NamedModules())
            if (n == name) return m;
        throw new ArgumentException($"No layer named '{name}'. Layers: {string.Join(", ", model.NamedModules().Select(p => p.Key).Where(k => k.Length > 0))}.");
    }
}

/// <summary>TEMPORARY STUB (branch insight has the real one).</summary>
public sealed record Prediction(int ClassIndex, float Probability);

/// <summary>TEMPORARY STUB (branch insight has the real one): the k most probable classes.</summary>
public static class Predictions
{
    public static IReadOnlyList<Prediction> TopK(Module model, Tensor input, int k = 5)
    {
        using var noGrad = GradMode.NoGrad();
        var p = F.Softmax(model.Call(input), 1).ToArray();
        return Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).Take(k).Select(i => new Prediction(i, p[i])).ToList();
    }
}

/// <summary>TEMPORARY STUB (branch insight has the real one): Grad-CAM (Selvaraju et al. 2017), minimal.</summary>
public static class GradCam
{
    public static string DefaultLayer(Module model) =>
        model.NamedModules().Last(p => p.Value is Conv2d).Key;

    public static Tensor Compute(Module model, Tensor input, string layer, int? classIndex = null)
    {
        var target = LayerLookup.Find(model, layer);
        Tensor? activation = null, gradient = null;
        using var forward = target.RegisterForwardHook((_, _, output) => activation = output);
        using var backward = target.RegisterFullBackwardHook((_, g) => gradient = g.Clone());
        var x = input.Detach().Clone().RequireGrad();
        var logits = model.Call(x);
        var scores = logits.ToArray();
        int cls = classIndex ?? Array.IndexOf(scores, scores.Max());
        var onehot = new float[scores.Length];
        onehot[cls] = 1f;
        F.Sum(F.Mul(logits, Tensor.FromArray(onehot, logits.ShapeArray))).Backward();
        model.ZeroGrad();
        int c = activation!.Size(1), h = activation.Size(2), w = activation.Size(3);
        var a = activation.ReadOnlySpan;
        var g = gradient!.ReadOnlySpan;
        var cam = new float[h * w];
        for (int k = 0; k < c; k++)
        {
            double alpha = 0;
            for (int i = 0; i < h * w; i++) alpha += g[k * h * w + i];
            alpha /= h * w;
            for (int i = 0; i < h * w; i++) cam[i] += (float)alpha * a[k * h * w + i];
        }
        for (int i = 0; i < cam.Length; i++) cam[i] = Math.Max(0f, cam[i]);
        return Tensor.FromArray(cam, h, w);
    }
}
