using Striate.Functional;
using Striate.Nn;

namespace Striate.Models.Torchvision;

/// <summary>
/// MobileNetV2 (Sandler et al. 2018) as torchvision 0.14: <c>features.0</c> = 3×3/2 conv-BN-ReLU6 to 32 channels,
/// seventeen <see cref="InvertedResidual"/> blocks (expansion t, channels c, repeats n, first stride s:
/// 1-16-1-1, 6-24-2-2, 6-32-3-2, 6-64-4-2, 6-96-3-1, 6-160-3-2, 6-320-1-1), a 1×1 conv-BN-ReLU6 to 1280, global
/// average pooling and <c>classifier</c> = Dropout(0.2), Linear. Channel counts scale by the width multiplier and
/// round to multiples of 8. 3,504,872 parameters at width 1 for 3 channels and 1000 classes.
/// Shapes: [N, inChannels, H, W] (any H, W ≥ 1) → [N, numClasses].
/// </summary>
public sealed class MobileNetV2 : Module
{
    private static readonly (int T, int C, int N, int S)[] Settings =
        [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)];

    public Sequential Features { get; }
    public Sequential Classifier { get; }

    public MobileNetV2(int inChannels = 3, int numClasses = 1000, double widthMultiplier = 1.0, double dropout = 0.2, Generator? generator = null)
    {
        if (!(widthMultiplier > 0)) throw new ArgumentException($"MobileNetV2: the width multiplier must be positive, got {widthMultiplier}.", nameof(widthMultiplier));
        var g = generator;
        int inputChannel = MakeDivisible(32 * widthMultiplier, 8);
        int lastChannel = MakeDivisible(1280 * Math.Max(1.0, widthMultiplier), 8);
        var features = new Sequential(ConvBnReLU6(inChannels, inputChannel, 3, 2, 1, g));
        foreach (var (t, c, n, s) in Settings)
        {
            int output = MakeDivisible(c * widthMultiplier, 8);
            for (int i = 0; i < n; i++)
            {
                features.Add(new InvertedResidual(inputChannel, output, i == 0 ? s : 1, t, g));
                inputChannel = output;
            }
        }
        features.Add(ConvBnReLU6(inputChannel, lastChannel, 1, 1, 1, g));
        Features = RegisterModule("features", features);
        Classifier = RegisterModule("classifier", new Sequential(new Dropout(dropout), new Linear(lastChannel, numClasses, generator: g)));

        // torchvision: Kaiming-normal convs (fan_out, gain √2) with zero bias; batch norm γ = 1, β = 0; Linear N(0, 0.01²), bias 0.
        TorchvisionInit.Apply(this,
            c => { Init.KaimingNormal(c.Weight, mode: "fan_out", generator: g); if (c.Bias != null) Init.Zeros(c.Bias); },
            l => { Init.Normal(l.Weight, 0, 0.01, g); Init.Zeros(l.Bias!); });
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        Classifier.Call(F.AdaptiveAvgPool2d(Features.Call(input), 1).Flatten(1));

    /// <summary>
    /// torchvision's _make_divisible: <paramref name="value"/> rounded to the nearest multiple of <paramref name="divisor"/>
    /// (at least the divisor), bumped up one step if rounding lost more than 10%.
    /// </summary>
    public static int MakeDivisible(double value, int divisor)
    {
        int rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }

    /// <summary>torchvision's Conv2dNormActivation with ReLU6: Sequential(conv (no bias, padding (k−1)/2), BatchNorm2d, ReLU6).</summary>
    internal static Sequential ConvBnReLU6(int inChannels, int outChannels, int kernelSize, int stride, int groups, Generator? g) =>
        new(new Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: (kernelSize - 1) / 2, groups: groups, bias: false, generator: g),
            new BatchNorm2d(outChannels), new ReLU6(inplace: true));
}

/// <summary>
/// MobileNetV2's inverted residual: <c>conv</c> = [1×1 expansion conv-BN-ReLU6 (when t ≠ 1)], 3×3 depthwise
/// conv-BN-ReLU6 (strided), 1×1 linear projection conv, BatchNorm2d; the input is added back when the stride is 1 and
/// the channel count is kept. Shapes: [N, in, H, W] → [N, out, ⌈H/stride⌉, ⌈W/stride⌉].
/// </summary>
public sealed class InvertedResidual : Module
{
    private readonly Sequential _conv;

    /// <summary>True when the block adds its input to its output.</summary>
    public bool UseResidual { get; }

    public InvertedResidual(int inChannels, int outChannels, int stride, int expandRatio, Generator? generator = null)
    {
        if (stride is not (1 or 2)) throw new ArgumentException($"InvertedResidual: stride must be 1 or 2, got {stride}.", nameof(stride));
        var g = generator;
        int hidden = (int)Math.Round((double)inChannels * expandRatio, MidpointRounding.ToEven);
        UseResidual = stride == 1 && inChannels == outChannels;
        var conv = new Sequential();
        if (expandRatio != 1) conv.Add(MobileNetV2.ConvBnReLU6(inChannels, hidden, 1, 1, 1, g));
        conv.Add(MobileNetV2.ConvBnReLU6(hidden, hidden, 3, stride, hidden, g));
        conv.Add(new Conv2d(hidden, outChannels, 1, bias: false, generator: g));
        conv.Add(new BatchNorm2d(outChannels));
        _conv = RegisterModule("conv", conv);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        UseResidual ? F.AddInPlace(_conv.Call(input), input) : _conv.Call(input); // the sum overwrites the block's last batch-norm output, which nothing else reads
}
