using Striate.Autograd;
using Striate.Nn;

namespace Striate.Models;

/// <summary>
/// Turns a classifier with a flattened fully connected head (AlexNet, VGG) into a fully convolutional network
/// (Long, Shelhamer and Darrell 2015, §3.1; OverFeat, Sermanet et al. 2014): the first Linear after the flatten becomes
/// a Conv2d whose kernel covers the whole feature map at the training size (weight [out, C·h·w] read as
/// [out, C, h, w] — the same memory, because flattening is channel-major), every later Linear becomes a 1×1
/// convolution, the Flatten is dropped and ReLU/Dropout stay. At the training size the result gives the original
/// scores as an [N, K, 1, 1] map; on a larger input it slides the classifier over the feature map with the
/// features' total stride, giving an [N, K, h', w'] map of class scores in one pass.
/// Shapes: [N, C, H, W] → [N, K, (H_f − h) + 1, (W_f − w) + 1], where H_f × W_f is the feature map of the input
/// and h × w the one of the training size.
/// </summary>
/// <remarks>
/// The converted model shares the feature layers (and so their parameters and train/eval mode) with the original;
/// the head's weights are copied into new convolutions under the same child names, so the state-dict keys are
/// the original's. Adaptive pooling that is the identity at the training size (torchvision's <c>avgpool</c> at
/// 224×224) is dropped; one that is not cannot be reproduced on other sizes and is an error. Exactness on larger
/// inputs is with respect to the feature map: position (i, j) equals the original head applied to the h×w window of
/// features at (i, j), which is the original model on the input crop at (stride·i, stride·j) only where zero padding
/// inside the features does not reach the crop's border (true for unpadded convolutions; AlexNet and VGG pad, so their
/// crops differ near the border).
/// </remarks>
public static class FullyConvolutional
{
    /// <summary>
    /// Converts the d2l book's AlexNet and VGG (a Sequential of feature layers, Flatten and a Linear head) and
    /// torchvision's <see cref="Torchvision.AlexNet"/> and <see cref="Torchvision.Vgg"/> (features, avgpool, classifier).
    /// <paramref name="trainingInput"/> is the C×H×W size the head was built for (224×224 for these models).
    /// </summary>
    public static Sequential Convert(Module model, (int Channels, int Height, int Width) trainingInput)
    {
        ArgumentNullException.ThrowIfNull(model);
        // torchvision's layout: features, avgpool (the identity at 224×224), then the classifier after a flatten in Forward.
        if (model is Torchvision.AlexNet alexnet)
            return Convert([("features", alexnet.Features), ("avgpool", alexnet.Avgpool)], [("classifier", alexnet.Classifier)], trainingInput);
        if (model is Torchvision.Vgg vgg)
            return Convert([("features", vgg.Features), ("avgpool", vgg.Avgpool)], [("classifier", vgg.Classifier)], trainingInput);
        if (model is not Sequential sequential)
            throw new ArgumentException($"FullyConvolutional: expected a Sequential with a Flatten before its Linear head, got {model.TypeName}; pass its feature and head layers to the list overload instead.", nameof(model));
        var layers = sequential.NamedChildren().ToList();
        int flatten = layers.FindIndex(l => l.Value is Flatten);
        if (flatten < 0 || !layers.Skip(flatten + 1).Any(l => ContainsLinear(l.Value)))
            throw new ArgumentException("FullyConvolutional: the model has no Flatten followed by a Linear layer, so there is no fully connected head to convert (a model ending in global pooling, as NiN, is fully convolutional already).", nameof(model));
        var features = layers.Take(flatten).Select(l => (l.Key, l.Value)).ToList();
        var head = layers.Skip(flatten).Select(l => (l.Key, l.Value)).ToList();
        return Convert(features, head, trainingInput);
    }

    /// <summary>
    /// Converts a classifier given as named feature layers and named head layers (for torchvision's layout:
    /// features = [("features", m.features), ("avgpool", m.avgpool)], head = [("classifier", m.classifier)];
    /// the flatten in its forward needs no module). The result is a Sequential of the same names.
    /// </summary>
    public static Sequential Convert(IReadOnlyList<(string Name, Module Layer)> features, IReadOnlyList<(string Name, Module Layer)> head,
        (int Channels, int Height, int Width) trainingInput)
    {
        var (c, h, w) = trainingInput;
        if (c <= 0 || h <= 0 || w <= 0)
            throw new ArgumentException($"FullyConvolutional: the training input must be positive C×H×W, got {c}×{h}×{w}.", nameof(trainingInput));

        var result = new Sequential();
        var shape = new[] { 1, c, h, w };
        var modes = features.SelectMany(f => f.Layer.NamedModules()).Select(m => (m.Value, m.Value.Training)).ToList();
        try
        {
            using var noGrad = GradMode.NoGrad();
            var x = Tensor.Zeros(shape);
            foreach (var (name, layer) in features)
            {
                layer.Eval();
                Tensor y;
                try { y = layer.Call(x); }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"FullyConvolutional: feature layer '{name}' cannot take the training input {c}×{h}×{w}: {e.Message}", nameof(trainingInput), e);
                }
                if (layer is AdaptiveAvgPool2d or AdaptiveMaxPool2d)
                {
                    if (!x.Shape.SequenceEqual(y.Shape))
                        throw new ArgumentException($"FullyConvolutional: adaptive pooling '{name}' turns the {x.Size(2)}×{x.Size(3)} feature map of the training input into {y.Size(2)}×{y.Size(3)}; only pooling that is the identity at the training size can be dropped.", nameof(features));
                    continue; // identity at the training size; on larger inputs it would squash the map the head slides over
                }
                result.Add(name, layer);
                x = y;
            }
            if (x.Rank != 4)
                throw new ArgumentException($"FullyConvolutional: the feature layers must end in a [N, C, h, w] map, got {Tensor.FormatShape(x.Shape)} at the training input.", nameof(features));
            var featureShape = (x.Size(1), x.Size(2), x.Size(3));
            bool firstLinear = true;
            foreach (var (name, layer) in head)
            {
                var converted = ConvertHeadLayer(name, layer, featureShape, ref firstLinear);
                if (converted != null) result.Add(name, converted);
            }
            if (firstLinear) throw new ArgumentException("FullyConvolutional: the head has no Linear layer to convert.", nameof(head));
        }
        finally
        {
            // Pre-order restore: a parent's Train() resets its subtree, then each descendant sets its own mode back.
            foreach (var (module, training) in modes) module.Train(training);
        }
        return result;
    }

    /// <summary>Converts <paramref name="model"/> (see <see cref="Convert(Module, ValueTuple{int, int, int})"/>).</summary>
    public static Sequential ToFullyConvolutional(this Module model, (int Channels, int Height, int Width) trainingInput) =>
        Convert(model, trainingInput);

    private static bool ContainsLinear(Module module) => module.NamedModules().Any(m => m.Value is Linear);

    private static Module? ConvertHeadLayer(string path, Module layer, (int C, int H, int W) featureShape, ref bool firstLinear)
    {
        switch (layer)
        {
            case Flatten flatten:
                if (flatten.StartDim != 1 || flatten.EndDim != -1)
                    throw new NotSupportedException($"FullyConvolutional: head layer '{path}' flattens dimensions {flatten.StartDim}..{flatten.EndDim}; only Flatten(1, -1) before the head can be removed.");
                return null;
            case Linear linear:
            {
                Conv2d conv;
                if (firstLinear)
                {
                    var (c, h, w) = featureShape;
                    if ((long)c * h * w != linear.InFeatures)
                        throw new ArgumentException($"FullyConvolutional: at the training size the feature map is {c}×{h}×{w} = {(long)c * h * w} values, but Linear '{path}' takes {linear.InFeatures}; give the input size the model was built for.");
                    conv = new Conv2d(c, linear.OutFeatures, (h, w), bias: linear.Bias != null, generator: new Generator(0));
                    firstLinear = false;
                }
                else
                {
                    conv = new Conv2d(linear.InFeatures, linear.OutFeatures, 1, bias: linear.Bias != null, generator: new Generator(0));
                }
                // [out, in] and [out, C, h, w] (or [out, in, 1, 1]) share one row-major layout: a plain copy reshapes.
                linear.Weight.ReadOnlySpan.CopyTo(conv.Weight.Span);
                if (linear.Bias != null) linear.Bias.ReadOnlySpan.CopyTo(conv.Bias!.Span);
                conv.Train(linear.Training);
                return conv;
            }
            case ReLU or LeakyReLU or Sigmoid or Tanh or Dropout or Identity:
                return layer; // elementwise: the same on [N, F] and [N, F, h, w]
            case Softmax softmax when softmax.Dim == 1:
                return layer;
            case Sequential sequential:
            {
                var converted = new Sequential();
                foreach (var (name, child) in sequential.NamedChildren())
                {
                    var c = ConvertHeadLayer(path + "." + name, child, featureShape, ref firstLinear);
                    if (c != null) converted.Add(name, c);
                }
                converted.Train(sequential.Training);
                return converted;
            }
            default:
                throw new NotSupportedException($"FullyConvolutional: head layer '{path}' ({layer.TypeName}) has no convolutional equivalent here; supported are Flatten, Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout, Identity and Softmax(dim=1).");
        }
    }
}
