using Striate.Autograd;
using Striate.Functional;
using Striate.Nn;

namespace Striate.Models.Torchvision;

/// <summary>
/// DenseNet-BC (Huang et al. 2017) as torchvision 0.14 (memory_efficient off, drop_rate 0): <c>features</c> =
/// conv0 7×7/2, norm0, relu0, pool0 3×3/2, then <c>denseblockN</c> of <see cref="DenseLayer"/>s with
/// <c>transitionN</c> (norm, relu, 1×1 conv halving channels, 2×2 average pool) between blocks, and <c>norm5</c>;
/// then ReLU, global average pooling and <c>classifier</c>. DenseNet-121 (growth 32, blocks 6-12-24-16, 64 initial
/// features, bottleneck 4·growth) has 7,978,856 parameters for 3 channels and 1000 classes.
/// Shapes: [N, inChannels, H, W] (H, W ≥ 29 for four stages) → [N, numClasses].
/// </summary>
public sealed class DenseNet : Module
{
    public Sequential Features { get; }
    public Linear Classifier { get; }

    /// <summary>DenseNet-121.</summary>
    public static DenseNet DenseNet121(int inChannels = 3, int numClasses = 1000, Generator? generator = null) =>
        new(32, [6, 12, 24, 16], 64, 4, inChannels, numClasses, generator);

    public DenseNet(int growthRate, int[] blockConfig, int numInitFeatures, int bnSize, int inChannels = 3, int numClasses = 1000, Generator? generator = null)
    {
        var g = generator;
        var features = new Sequential(
            ("conv0", new Conv2d(inChannels, numInitFeatures, 7, stride: 2, padding: 3, bias: false, generator: g)),
            ("norm0", new BatchNorm2d(numInitFeatures)),
            ("relu0", new ReLU(inplace: true)),
            ("pool0", new MaxPool2d(3, 2, 1)));
        int channels = numInitFeatures;
        for (int i = 0; i < blockConfig.Length; i++)
        {
            features.Add($"denseblock{i + 1}", new DenseBlock(blockConfig[i], channels, bnSize, growthRate, g));
            channels += blockConfig[i] * growthRate;
            if (i != blockConfig.Length - 1)
            {
                features.Add($"transition{i + 1}", new Sequential(
                    ("norm", new BatchNorm2d(channels)),
                    ("relu", new ReLU(inplace: true)),
                    ("conv", new Conv2d(channels, channels / 2, 1, bias: false, generator: g)),
                    ("pool", new AvgPool2d(2, 2))));
                channels /= 2;
            }
        }
        features.Add("norm5", new BatchNorm2d(channels));
        Features = RegisterModule("features", features);
        Classifier = RegisterModule("classifier", new Linear(channels, numClasses, generator: g));

        // torchvision: Kaiming-normal convs (fan_in, gain √2); batch norm γ = 1, β = 0; classifier bias 0.
        TorchvisionInit.Apply(this, c => Init.KaimingNormal(c.Weight, generator: g), l => Init.Zeros(l.Bias!));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = F.ReluInPlace(Features.Call(input)); // torchvision: F.relu(features, inplace=True)
        return Classifier.Call(F.AdaptiveAvgPool2d(x, 1).Flatten(1));
    }
}

/// <summary>
/// A dense block: each <c>denselayerM</c> sees the concatenation of the block's input and every earlier layer's
/// output, and the block returns all of them concatenated. Shapes: [N, C, H, W] → [N, C + layers·growth, H, W].
/// </summary>
public sealed class DenseBlock : Module
{
    private readonly DenseLayer[] _layers;

    public DenseBlock(int numLayers, int inChannels, int bnSize, int growthRate, Generator? generator = null)
    {
        _layers = new DenseLayer[numLayers];
        for (int i = 0; i < numLayers; i++)
            _layers[i] = RegisterModule($"denselayer{i + 1}", new DenseLayer(inChannels + i * growthRate, growthRate, bnSize, generator));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var features = new List<Tensor>(_layers.Length + 1) { input };
        foreach (var layer in _layers)
            features.Add(layer.CanTakeFeatureList
                ? layer.ForwardFeatures(features)
                : layer.Call(features.Count == 1 ? input : F.Concat(features, dim: 1)));
        return F.Concat(features, dim: 1);
    }
}

/// <summary>
/// DenseNet-BC's composite layer: norm1, relu1, conv1 (1×1 to bnSize·growth), norm2, relu2, conv2 (3×3 to growth).
/// Shapes: [N, C, H, W] → [N, growthRate, H, W].
/// </summary>
public sealed class DenseLayer : Module
{
    private readonly BatchNorm2d _norm1, _norm2;
    private readonly ReLU _relu1, _relu2;
    private readonly Conv2d _conv1, _conv2;

    public DenseLayer(int inChannels, int growthRate, int bnSize, Generator? generator = null)
    {
        _norm1 = RegisterModule("norm1", new BatchNorm2d(inChannels));
        _relu1 = RegisterModule("relu1", new ReLU(inplace: true));
        _conv1 = RegisterModule("conv1", new Conv2d(inChannels, bnSize * growthRate, 1, bias: false, generator: generator));
        _norm2 = RegisterModule("norm2", new BatchNorm2d(bnSize * growthRate));
        _relu2 = RegisterModule("relu2", new ReLU(inplace: true));
        _conv2 = RegisterModule("conv2", new Conv2d(bnSize * growthRate, growthRate, 3, padding: 1, bias: false, generator: generator));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = _conv1.Call(_relu1.Call(_norm1.Call(input)));
        return _conv2.Call(_relu2.Call(_norm2.Call(x)));
    }

    /// <summary>
    /// True when <see cref="ForwardFeatures"/> may stand in for <c>Call(cat(features))</c>: inference (batch norm in
    /// eval mode, grad mode off, no graph trace) with no hooks on this layer or on the norm and ReLU it fuses, so
    /// nothing can observe the difference. This is torchvision's <c>bn_function</c>, which also takes the feature list.
    /// </summary>
    internal bool CanTakeFeatureList =>
        !GradMode.IsEnabled && Graph.GraphTracer.Current == null && !_norm1.Training && !_norm2.Training &&
        !HasHooks && !_norm1.HasHooks && !_relu1.HasHooks && !_norm2.HasHooks && !_relu2.HasHooks;

    /// <summary>
    /// The layer on the list of earlier features, without concatenating them first: norm1 and relu1 write each feature
    /// map's normalized channels straight into conv1's input (<see cref="F.ConcatBatchNormRelu"/>); norm2 and relu2 are
    /// one pass too. The concatenation copied every earlier feature map again for each layer (O(layers²) copying),
    /// then batch norm and ReLU read and wrote it twice more. Shapes: features [N, C_k, H, W] → [N, growthRate, H, W].
    /// </summary>
    internal Tensor ForwardFeatures(IReadOnlyList<Tensor> features)
    {
        var x = _conv1.Call(F.ConcatBatchNormRelu(features, _norm1.RunningMean, _norm1.RunningVar, _norm1.Weight, _norm1.Bias, (float)_norm1.Eps));
        x = F.ConcatBatchNormRelu([x], _norm2.RunningMean, _norm2.RunningVar, _norm2.Weight, _norm2.Bias, (float)_norm2.Eps);
        return _conv2.Call(x);
    }
}
