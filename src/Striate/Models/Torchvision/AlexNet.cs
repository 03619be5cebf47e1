using Striate.Nn;

namespace Striate.Models.Torchvision;

/// <summary>
/// AlexNet (Krizhevsky, Sutskever and Hinton 2012) in torchvision 0.14's single-tower layout: <c>features</c>
/// (five convs 64-192-384-256-256 with three 3×3/2 max pools), <c>avgpool</c> = AdaptiveAvgPool2d(6) and
/// <c>classifier</c> (Dropout, Linear 9216→4096, ReLU, Dropout, Linear 4096→4096, ReLU, Linear). 61,100,840 parameters
/// for 3 channels and 1000 classes. With <c>localResponseNorm</c> the paper's LRN(size 5, α 1e-4, β 0.75, k 2) follows the
/// first two ReLUs (paper §3.3), which shifts the <c>features</c> indices after it (no parameters are added).
/// Shapes: [N, inChannels, H, W] (H, W ≥ 63) → [N, numClasses].
/// </summary>
public sealed class AlexNet : Module
{
    public Sequential Features { get; }
    public AdaptiveAvgPool2d Avgpool { get; }
    public Sequential Classifier { get; }

    public AlexNet(int inChannels = 3, int numClasses = 1000, double dropout = 0.5, bool localResponseNorm = false, Generator? generator = null)
    {
        var g = generator;
        var features = new Sequential();
        features.Add(new Conv2d(inChannels, 64, 11, stride: 4, padding: 2, generator: g)).Add(new ReLU(inplace: true));
        if (localResponseNorm) features.Add(Lrn());
        features.Add(new MaxPool2d(3, 2));
        features.Add(new Conv2d(64, 192, 5, padding: 2, generator: g)).Add(new ReLU(inplace: true));
        if (localResponseNorm) features.Add(Lrn());
        features.Add(new MaxPool2d(3, 2));
        features.Add(new Conv2d(192, 384, 3, padding: 1, generator: g)).Add(new ReLU(inplace: true));
        features.Add(new Conv2d(384, 256, 3, padding: 1, generator: g)).Add(new ReLU(inplace: true));
        features.Add(new Conv2d(256, 256, 3, padding: 1, generator: g)).Add(new ReLU(inplace: true));
        features.Add(new MaxPool2d(3, 2));
        Features = RegisterModule("features", features);
        Avgpool = RegisterModule("avgpool", new AdaptiveAvgPool2d(6));
        Classifier = RegisterModule("classifier", new Sequential(
            new Dropout(dropout), new Linear(256 * 6 * 6, 4096, generator: g), new ReLU(inplace: true),
            new Dropout(dropout), new Linear(4096, 4096, generator: g), new ReLU(inplace: true),
            new Linear(4096, numClasses, generator: g)));
        // torchvision keeps PyTorch's default layer initialization for AlexNet.
    }

    private static LocalResponseNorm Lrn() => new(5, alpha: 1e-4, beta: 0.75, k: 2);

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        Classifier.Call(Avgpool.Call(Features.Call(input)).Flatten(1));
}
