using Striate.Functional;
using Striate.Nn;

namespace Striate.Models.Torchvision;

/// <summary>
/// GoogLeNet / Inception v1 (Szegedy et al. 2015) as torchvision 0.14 builds it with aux_logits=False and
/// transform_input=False: batch-normalized BasicConv2d stem (<c>conv1</c>–<c>conv3</c>), nine <see cref="Inception"/>
/// blocks with ceil-mode 3×3/2 max pools between stages, global average pooling, <c>dropout</c> (0.2) and <c>fc</c>.
/// 6,624,904 parameters for 3 channels and 1000 classes.
/// Shapes: [N, inChannels, H, W] (H, W ≥ 15) → [N, numClasses].
/// </summary>
public sealed class GoogLeNet : Module
{
    private readonly BasicConv2d _conv1, _conv2, _conv3;
    private readonly MaxPool2d _maxpool1, _maxpool2, _maxpool3, _maxpool4;
    private readonly Inception _i3a, _i3b, _i4a, _i4b, _i4c, _i4d, _i4e, _i5a, _i5b;
    private readonly AdaptiveAvgPool2d _avgpool;
    private readonly Dropout _dropout;
    private readonly Linear _fc;

    public GoogLeNet(int inChannels = 3, int numClasses = 1000, double dropout = 0.2, Generator? generator = null)
    {
        var g = generator;
        _conv1 = RegisterModule("conv1", new BasicConv2d(inChannels, 64, 7, stride: 2, padding: 3, g));
        _maxpool1 = RegisterModule("maxpool1", new MaxPool2d(3, 2, ceilMode: true));
        _conv2 = RegisterModule("conv2", new BasicConv2d(64, 64, 1, generator: g));
        _conv3 = RegisterModule("conv3", new BasicConv2d(64, 192, 3, padding: 1, generator: g));
        _maxpool2 = RegisterModule("maxpool2", new MaxPool2d(3, 2, ceilMode: true));

        _i3a = RegisterModule("inception3a", new Inception(192, 64, 96, 128, 16, 32, 32, g));
        _i3b = RegisterModule("inception3b", new Inception(256, 128, 128, 192, 32, 96, 64, g));
        _maxpool3 = RegisterModule("maxpool3", new MaxPool2d(3, 2, ceilMode: true));

        _i4a = RegisterModule("inception4a", new Inception(480, 192, 96, 208, 16, 48, 64, g));
        _i4b = RegisterModule("inception4b", new Inception(512, 160, 112, 224, 24, 64, 64, g));
        _i4c = RegisterModule("inception4c", new Inception(512, 128, 128, 256, 24, 64, 64, g));
        _i4d = RegisterModule("inception4d", new Inception(512, 112, 144, 288, 32, 64, 64, g));
        _i4e = RegisterModule("inception4e", new Inception(528, 256, 160, 320, 32, 128, 128, g));
        _maxpool4 = RegisterModule("maxpool4", new MaxPool2d(2, 2, ceilMode: true));

        _i5a = RegisterModule("inception5a", new Inception(832, 256, 160, 320, 32, 128, 128, g));
        _i5b = RegisterModule("inception5b", new Inception(832, 384, 192, 384, 48, 128, 128, g));

        _avgpool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        _dropout = RegisterModule("dropout", new Dropout(dropout));
        _fc = RegisterModule("fc", new Linear(1024, numClasses, generator: g));

        // torchvision: conv and linear weights from N(0, 0.01²) truncated to [−2, 2]; batch norm γ = 1, β = 0.
        TorchvisionInit.Apply(this,
            c => TorchvisionInit.TruncatedNormal(c.Weight, 0, 0.01, -2, 2, g),
            l => TorchvisionInit.TruncatedNormal(l.Weight, 0, 0.01, -2, 2, g));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = _maxpool1.Call(_conv1.Call(input));
        x = _maxpool2.Call(_conv3.Call(_conv2.Call(x)));
        x = _maxpool3.Call(_i3b.Call(_i3a.Call(x)));
        x = _i4e.Call(_i4d.Call(_i4c.Call(_i4b.Call(_i4a.Call(x)))));
        x = _i5b.Call(_i5a.Call(_maxpool4.Call(x)));
        return _fc.Call(_dropout.Call(_avgpool.Call(x).Flatten(1)));
    }
}

/// <summary>
/// torchvision's BasicConv2d: <c>conv</c> (no bias), <c>bn</c> (eps 0.001), then ReLU (not a module).
/// Shapes: [N, in, H, W] → [N, out, H', W'] as the conv.
/// </summary>
public sealed class BasicConv2d : Module
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d _bn;

    public BasicConv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, Generator? generator = null)
    {
        _conv = RegisterModule("conv", new Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: padding, bias: false, generator: generator));
        _bn = RegisterModule("bn", new BatchNorm2d(outChannels, eps: 0.001));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => F.ReluInPlace(_bn.Call(_conv.Call(input)));
}

/// <summary>
/// An Inception block: four branches concatenated on channels — 1×1; 1×1 → 3×3; 1×1 → 3×3 (torchvision's
/// <c>branch3</c> uses 3×3 where the paper has 5×5, kept for weight compatibility); 3×3/1 max pool → 1×1.
/// Shapes: [N, in, H, W] → [N, ch1x1 + ch3x3 + ch5x5 + poolProj, H, W].
/// </summary>
public sealed class Inception : Module
{
    private readonly BasicConv2d _branch1;
    private readonly Sequential _branch2, _branch3, _branch4;

    public Inception(int inChannels, int ch1x1, int ch3x3red, int ch3x3, int ch5x5red, int ch5x5, int poolProj, Generator? generator = null)
    {
        var g = generator;
        _branch1 = RegisterModule("branch1", new BasicConv2d(inChannels, ch1x1, 1, generator: g));
        _branch2 = RegisterModule("branch2", new Sequential(
            new BasicConv2d(inChannels, ch3x3red, 1, generator: g), new BasicConv2d(ch3x3red, ch3x3, 3, padding: 1, generator: g)));
        _branch3 = RegisterModule("branch3", new Sequential(
            new BasicConv2d(inChannels, ch5x5red, 1, generator: g), new BasicConv2d(ch5x5red, ch5x5, 3, padding: 1, generator: g)));
        _branch4 = RegisterModule("branch4", new Sequential(
            new MaxPool2d(3, 1, 1, ceilMode: true), new BasicConv2d(inChannels, poolProj, 1, generator: g)));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        F.Concat(_branch1.Call(input), _branch2.Call(input), _branch3.Call(input), _branch4.Call(input));
}
