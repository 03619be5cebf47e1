using Striate.Nn;

namespace Striate.Insight;

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
/// Localization"): L_c = ReLU(Σ_k α_k^c A^k) with α_k^c = (1/Z) Σ_ij ∂y_c/∂A^k_ij, the spatial mean of the gradient of
/// the class score (before softmax) with respect to feature map k of the chosen layer.
/// Shapes: input [1, C, H, W] → map [h, w], the layer's own resolution (no upsampling or normalization).
/// </summary>
public static class GradCam
{
    /// <summary>
    /// The Grad-CAM map of <paramref name="classIndex"/> (default: the predicted class) at <paramref name="layer"/>
    /// (a dotted module name whose output is a feature map [1, K, h, w]). The model is run in eval mode; its mode,
    /// hooks and parameter gradients are left as they were.
    /// </summary>
    public static Tensor Compute(Module model, Tensor input, string layer, int? classIndex = null)
    {
        InsightRun.CheckInput(model, input, "GradCam.Compute");
        var target = LayerLookup.Find(model, layer);
        using var run = InsightRun.Begin(model);
        using var scope = TensorScope.Begin();
        var (activation, gradient) = ActivationAndGradient(model, input, target, layer, classIndex, "GradCam.Compute");
        int k = activation.Size(1), h = activation.Size(2), w = activation.Size(3);
        var map = new float[h * w];
        Combine(activation.ReadOnlySpan, gradient.ReadOnlySpan, k, h * w, map);
        return InsightRun.Result(map, h, w);
    }

    /// <summary>
    /// Runs forward and backward from y_c and returns the layer's output A [1, K, h, w] and ∂y_c/∂A (same shape).
    /// The last call of the layer in the forward pass counts (a layer used twice is seen at its deepest use).
    /// </summary>
    internal static (Tensor Activation, Tensor Gradient) ActivationAndGradient(Module model, Tensor input, Module target, string layer,
        int? classIndex, string method)
    {
        Tensor? activation = null, gradient = null;
        var x = InsightRun.LeafCopy(input);
        using (target.RegisterForwardHook((_, _, output) =>
        {
            activation = output;
            if (output.RequiresGrad) output.RegisterHook(g => { if (ReferenceEquals(output, activation)) gradient = g.Clone(); });
        }))
        {
            var logits = model.Call(x);
            int c = InsightRun.ResolveClass(logits, classIndex, method);
            if (activation == null)
                throw new ArgumentException($"{method}: layer '{layer}' ({target.TypeName}) was not used in the forward pass.");
            if (activation.Rank != 4 || activation.Size(0) != 1)
                throw new ArgumentException($"{method}: layer '{layer}' ({target.TypeName}) outputs {Tensor.FormatShape(activation.Shape)}, but a convolutional feature map [1, channels, h, w] is needed; pick a layer before the flatten/global pooling.");
            logits.Backward(InsightRun.OneHot(logits.Size(1), c));
        }
        // No gradient reached the layer: y_c does not depend on it (e.g. everything after it is zeroed by ReLU).
        return (activation, gradient ?? Tensor.Zeros(activation.ShapeArray));
    }

    /// <summary>map = ReLU(Σ_k α_k A^k), α_k = mean over the plane of ∂y/∂A^k.</summary>
    internal static void Combine(ReadOnlySpan<float> a, ReadOnlySpan<float> g, int channels, int plane, Span<float> map)
    {
        var sum = new double[plane];
        for (int k = 0; k < channels; k++)
        {
            double alpha = 0;
            var gk = g.Slice(k * plane, plane);
            for (int i = 0; i < plane; i++) alpha += gk[i];
            alpha /= plane;
            if (alpha == 0) continue;
            var ak = a.Slice(k * plane, plane);
            for (int i = 0; i < plane; i++) sum[i] += alpha * ak[i];
        }
        for (int i = 0; i < plane; i++) map[i] = (float)Math.Max(sum[i], 0.0);
    }

    /// <summary>
    /// The layer Grad-CAM uses when none is named: the output of the last convolutional stage, before the classifier
    /// head. Rule: starting at the model, among a container's children take the last one that contains a Conv2d, then
    /// move forward past element-wise layers (ReLU, batch norm, …) up to the head — the first Flatten, Linear or
    /// adaptive/pyramid pooling — skipping pooling and dropout layers; if the chosen child is a plain
    /// <see cref="Sequential"/>, apply the rule again inside it; any other module (a leaf, or a block such as a ResNet
    /// BasicBlock or an Inception module) is the answer. Examples: LeNet → "4" (the ReLU after the second conv);
    /// features/pool/classifier nets → "features.N" (the last ReLU); ResNet → "layer4.1"; VGG/AlexNet → the last ReLU
    /// of "features".
    /// </summary>
    public static string DefaultLayer(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!ContainsConv(model))
            throw new ArgumentException($"GradCam.DefaultLayer: the model has no Conv2d layer, so there is no feature map to explain. Its layers: {LayerLookup.Describe(model)}.");
        string prefix = "";
        var container = model;
        while (true)
        {
            var children = container.NamedChildren().ToList();
            int last = children.FindLastIndex(c => ContainsConv(c.Value));
            if (last < 0) return prefix.TrimEnd('.'); // the container itself is a convolution-holding leaf
            int chosen = last;
            for (int i = last + 1; i < children.Count && !IsHead(children[i].Value); i++)
                if (!IsPoolingOrDropout(children[i].Value)) chosen = i;
            var (name, module) = children[chosen];
            if (module is Sequential && module.NamedChildren().Any(c => ContainsConv(c.Value)))
            {
                prefix += name + ".";
                container = module;
                continue;
            }
            return prefix + name;
        }
    }

    private static bool ContainsConv(Module m) => m.NamedModules().Any(p => p.Value is Conv2d);

    private static bool IsHead(Module m) =>
        m is Flatten or Linear or AdaptiveAvgPool2d or AdaptiveMaxPool2d or SpatialPyramidPool
        || (m is Sequential && m.NamedModules().Any(p => p.Value is Linear) && !ContainsConv(m));

    private static bool IsPoolingOrDropout(Module m) => m is MaxPool2d or AvgPool2d or Dropout;
}
