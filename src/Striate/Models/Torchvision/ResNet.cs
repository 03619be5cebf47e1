using Striate.Functional;
using Striate.Nn;

namespace Striate.Models.Torchvision;

/// <summary>
/// ResNet (He et al. 2016) as torchvision 0.14 ("v1.5": a Bottleneck strides in its 3×3 conv, not its first 1×1):
/// <c>conv1</c> 7×7/2 (no bias), <c>bn1</c>, <c>relu</c>, <c>maxpool</c> 3×3/2, <c>layer1</c>…<c>layer4</c> of residual
/// blocks (64, 128, 256, 512 channels × expansion), <c>avgpool</c> to 1×1 and <c>fc</c>. ResNet-18 has 11,689,512
/// parameters, ResNet-34 21,797,672 and ResNet-50 25,557,032 for 3 channels and 1000 classes.
/// Shapes: [N, inChannels, H, W] (any H, W ≥ 1) → [N, numClasses].
/// </summary>
public sealed class ResNet : Module
{
    public Conv2d Conv1 { get; }
    public BatchNorm2d Bn1 { get; }
    public ReLU Relu { get; }
    public MaxPool2d Maxpool { get; }
    public Sequential Layer1 { get; }
    public Sequential Layer2 { get; }
    public Sequential Layer3 { get; }
    public Sequential Layer4 { get; }
    public AdaptiveAvgPool2d Avgpool { get; }
    public Linear Fc { get; }

    /// <summary>ResNet-18: BasicBlocks [2, 2, 2, 2].</summary>
    public static ResNet ResNet18(int inChannels = 3, int numClasses = 1000, Generator? generator = null) =>
        new(bottleneck: false, [2, 2, 2, 2], inChannels, numClasses, generator);

    /// <summary>ResNet-34: BasicBlocks [3, 4, 6, 3].</summary>
    public static ResNet ResNet34(int inChannels = 3, int numClasses = 1000, Generator? generator = null) =>
        new(bottleneck: false, [3, 4, 6, 3], inChannels, numClasses, generator);

    /// <summary>ResNet-50: Bottlenecks [3, 4, 6, 3].</summary>
    public static ResNet ResNet50(int inChannels = 3, int numClasses = 1000, Generator? generator = null) =>
        new(bottleneck: true, [3, 4, 6, 3], inChannels, numClasses, generator);

    /// <summary>Builds a ResNet with BasicBlocks or Bottlenecks, <paramref name="blocks"/> per stage.</summary>
    public ResNet(bool bottleneck, int[] blocks, int inChannels = 3, int numClasses = 1000, Generator? generator = null)
    {
        if (blocks.Length != 4) throw new ArgumentException($"ResNet: expected 4 stage block counts, got {blocks.Length}.", nameof(blocks));
        var g = generator;
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        Conv1 = RegisterModule("conv1", new Conv2d(inChannels, 64, 7, stride: 2, padding: 3, bias: false, generator: g));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(64));
        Relu = RegisterModule("relu", new ReLU(inplace: true));
        Maxpool = RegisterModule("maxpool", new MaxPool2d(3, 2, 1));
        int inplanes = 64;
        Sequential MakeLayer(int planes, int count, int stride)
        {
            Sequential? downsample = null;
            if (stride != 1 || inplanes != planes * expansion)
                downsample = new Sequential(
                    new Conv2d(inplanes, planes * expansion, 1, stride: stride, bias: false, generator: g),
                    new BatchNorm2d(planes * expansion));
            var layer = new Sequential();
            for (int i = 0; i < count; i++)
            {
                layer.Add(bottleneck
                    ? new Bottleneck(inplanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null, g)
                    : new BasicBlock(inplanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null, g));
                inplanes = planes * expansion;
            }
            return layer;
        }
        Layer1 = RegisterModule("layer1", MakeLayer(64, blocks[0], 1));
        Layer2 = RegisterModule("layer2", MakeLayer(128, blocks[1], 2));
        Layer3 = RegisterModule("layer3", MakeLayer(256, blocks[2], 2));
        Layer4 = RegisterModule("layer4", MakeLayer(512, blocks[3], 2));
        Avgpool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Fc = RegisterModule("fc", new Linear(512 * expansion, numClasses, generator: g));

        // torchvision: Kaiming-normal convs (fan_out, ReLU gain); batch norm γ = 1, β = 0; fc keeps the default init.
        TorchvisionInit.Apply(this, c => Init.KaimingNormal(c.Weight, mode: "fan_out", nonlinearity: "relu", generator: g), null);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = Maxpool.Call(Relu.Call(Bn1.Call(Conv1.Call(input))));
        x = Layer4.Call(Layer3.Call(Layer2.Call(Layer1.Call(x))));
        return Fc.Call(Avgpool.Call(x).Flatten(1));
    }
}

/// <summary>
/// ResNet's two-conv residual block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), both convs 3×3, the first
/// strided; the shortcut is <c>downsample</c> (1×1 conv + batch norm) when the shape changes.
/// Shapes: [N, inplanes, H, W] → [N, planes, ⌈H/stride⌉, ⌈W/stride⌉].
/// </summary>
public sealed class BasicBlock : Module
{
    /// <summary>Output channels per <c>planes</c>.</summary>
    public const int Expansion = 1;

    private readonly Conv2d _conv1, _conv2;
    private readonly BatchNorm2d _bn1, _bn2;
    private readonly ReLU _relu;
    private readonly Sequential? _downsample;

    public BasicBlock(int inplanes, int planes, int stride = 1, Sequential? downsample = null, Generator? generator = null)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false, generator: generator));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _relu = RegisterModule("relu", new ReLU(inplace: true));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, padding: 1, bias: false, generator: generator));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (downsample != null) _downsample = RegisterModule("downsample", downsample);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = _relu.Call(_bn1.Call(_conv1.Call(input)));
        x = _bn2.Call(_conv2.Call(x));
        var identity = _downsample != null ? _downsample.Call(input) : input;
        return _relu.Call(F.AddInPlace(x, identity)); // torchvision: out += identity
    }
}

/// <summary>
/// ResNet's bottleneck block (1×1 reduce, 3×3 strided, 1×1 expand by 4) with a residual shortcut, as torchvision's
/// v1.5 Bottleneck. Shapes: [N, inplanes, H, W] → [N, 4·planes, ⌈H/stride⌉, ⌈W/stride⌉].
/// </summary>
public sealed class Bottleneck : Module
{
    /// <summary>Output channels per <c>planes</c>.</summary>
    public const int Expansion = 4;

    private readonly Conv2d _conv1, _conv2, _conv3;
    private readonly BatchNorm2d _bn1, _bn2, _bn3;
    private readonly ReLU _relu;
    private readonly Sequential? _downsample;

    public Bottleneck(int inplanes, int planes, int stride = 1, Sequential? downsample = null, Generator? generator = null)
    {
        var g = generator;
        _conv1 = RegisterModule("conv1", new Conv2d(inplanes, planes, 1, bias: false, generator: g));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false, generator: g));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        _conv3 = RegisterModule("conv3", new Conv2d(planes, planes * Expansion, 1, bias: false, generator: g));
        _bn3 = RegisterModule("bn3", new BatchNorm2d(planes * Expansion));
        _relu = RegisterModule("relu", new ReLU(inplace: true));
        if (downsample != null) _downsample = RegisterModule("downsample", downsample);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = _relu.Call(_bn1.Call(_conv1.Call(input)));
        x = _relu.Call(_bn2.Call(_conv2.Call(x)));
        x = _bn3.Call(_conv3.Call(x));
        var identity = _downsample != null ? _downsample.Call(input) : input;
        return _relu.Call(F.AddInPlace(x, identity)); // torchvision: out += identity
    }
}
