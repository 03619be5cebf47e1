using Striate.Nn;

namespace Striate.Models.Torchvision;

/// <summary>
/// VGG (Simonyan and Zisserman 2015) as torchvision 0.14 builds it without batch norm: <c>features</c> of 3×3 convs
/// (padding 1) with ReLU and 2×2 max pools, <c>avgpool</c> = AdaptiveAvgPool2d(7), and <c>classifier</c> (Linear
/// 25088→4096, ReLU, Dropout, Linear 4096→4096, ReLU, Dropout, Linear). VGG-11 (configuration A) has 132,863,336
/// parameters and VGG-16 (D) 138,357,544 for 3 channels and 1000 classes.
/// Shapes: [N, inChannels, H, W] (H, W ≥ 32) → [N, numClasses].
/// </summary>
public sealed class Vgg : Module
{
    /// <summary>Configuration A (VGG-11): output channels of each conv, 0 for a max pool.</summary>
    public static readonly int[] Vgg11Layers = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];

    /// <summary>Configuration D (VGG-16).</summary>
    public static readonly int[] Vgg16Layers = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    public Sequential Features { get; }
    public AdaptiveAvgPool2d Avgpool { get; }
    public Sequential Classifier { get; }

    public Vgg(int[] layers, int inChannels = 3, int numClasses = 1000, double dropout = 0.5, Generator? generator = null)
    {
        var g = generator;
        var features = new Sequential();
        int channels = inChannels;
        foreach (int v in layers)
        {
            if (v == 0) { features.Add(new MaxPool2d(2, 2)); continue; }
            features.Add(new Conv2d(channels, v, 3, padding: 1, generator: g)).Add(new ReLU(inplace: true));
            channels = v;
        }
        Features = RegisterModule("features", features);
        Avgpool = RegisterModule("avgpool", new AdaptiveAvgPool2d(7));
        Classifier = RegisterModule("classifier", new Sequential(
            new Linear(channels * 7 * 7, 4096, generator: g), new ReLU(inplace: true), new Dropout(dropout),
            new Linear(4096, 4096, generator: g), new ReLU(inplace: true), new Dropout(dropout),
            new Linear(4096, numClasses, generator: g)));

        // torchvision: Kaiming-normal (fan_out, ReLU gain) convs with zero bias; Linear N(0, 0.01²) with zero bias.
        TorchvisionInit.Apply(this,
            c => { Init.KaimingNormal(c.Weight, mode: "fan_out", nonlinearity: "relu", generator: g); Init.Zeros(c.Bias!); },
            l => { Init.Normal(l.Weight, 0, 0.01, g); Init.Zeros(l.Bias!); });
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        Classifier.Call(Avgpool.Call(Features.Call(input)).Flatten(1));
}
