using Striate.Functional;
using Striate.Nn;

namespace Striate.Models.Book;

/// <summary>
/// The d2l book's residual block (He et al. 2016; d2l §8.6): Y = ReLU(BN(Conv3×3(X))), Y = BN(Conv3×3(Y)), and the
/// output ReLU(Y + X), where X passes through a 1×1 convolution (conv3) when <c>use1x1Conv</c> is set, to match a
/// changed channel count or stride. Members conv1, conv2, [conv3], bn1, bn2 in the book's order.
/// Shapes: [N, inChannels, H, W] → [N, numChannels, ⌊(H − 1)/stride⌋ + 1, ⌊(W − 1)/stride⌋ + 1].
/// </summary>
public sealed class Residual : Module
{
    private readonly Conv2d _conv1, _conv2;
    private readonly Conv2d? _conv3;
    private readonly BatchNorm2d _bn1, _bn2;

    /// <summary>Builds the block; without <paramref name="use1x1Conv"/> the input must already have <paramref name="numChannels"/> channels and stride must be 1.</summary>
    public Residual(int inChannels, int numChannels, bool use1x1Conv = false, int stride = 1, Generator? generator = null)
    {
        if (!use1x1Conv && (inChannels != numChannels || stride != 1))
            throw new ArgumentException($"Residual: without use1x1Conv the shortcut is the identity, so inChannels ({inChannels}) must equal numChannels ({numChannels}) and stride ({stride}) must be 1.");
        var g = generator;
        _conv1 = RegisterModule("conv1", new Conv2d(inChannels, numChannels, 3, stride: stride, padding: 1, generator: g));
        _conv2 = RegisterModule("conv2", new Conv2d(numChannels, numChannels, 3, padding: 1, generator: g));
        if (use1x1Conv) _conv3 = RegisterModule("conv3", new Conv2d(inChannels, numChannels, 1, stride: stride, generator: g));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(numChannels));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(numChannels));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        // The batch norms' outputs are read by nothing else, so the ReLUs and the sum overwrite them (PyTorch frees
        // them by reference count instead): the block keeps 4 activations for backward instead of 7.
        var y = F.ReluInPlace(_bn1.Call(_conv1.Call(input)));
        y = _bn2.Call(_conv2.Call(y));
        var shortcut = _conv3 != null ? _conv3.Call(input) : input;
        return F.ReluInPlace(F.AddInPlace(y, shortcut));
    }
}

/// <summary>
/// ResNet-18 as the d2l book builds it for 96×96 Fashion-MNIST (§8.6): stem (7×7/2 conv, BN, ReLU, 3×3/2 pool),
/// four stages of two <see cref="Residual"/> blocks (64, 128, 256, 512 channels; stages after the first halve the
/// size with a 1×1-shortcut block), global average pooling, Flatten, Linear(512, classes). Conv biases are kept as
/// in the book (11,178,378 parameters for 1 channel and 10 classes). Children "0".."7" as its nn.Sequential.
/// Shapes: [N, inChannels, H, W] → [N, numClasses] for any H, W ≥ 1.
/// </summary>
public static class D2lResNet
{
    /// <summary>The book's stem b1, shared with DenseNet: Conv 7×7/2 p3 (64), BN, ReLU, MaxPool 3×3/2 p1.</summary>
    public static Sequential Stem(int inChannels, Generator? generator = null) =>
        new(new Conv2d(inChannels, 64, 7, stride: 2, padding: 3, generator: generator), new BatchNorm2d(64), new ReLU(inplace: true), new MaxPool2d(3, 2, 1));

    /// <summary>The book's <c>resnet_block</c>: <paramref name="numResiduals"/> blocks, the first halving the size unless <paramref name="firstBlock"/>.</summary>
    public static Sequential Stage(int inChannels, int numChannels, int numResiduals, bool firstBlock = false, Generator? generator = null)
    {
        var stage = new Sequential();
        for (int i = 0; i < numResiduals; i++)
            stage.Add(i == 0 && !firstBlock
                ? new Residual(inChannels, numChannels, use1x1Conv: true, stride: 2, generator)
                : new Residual(numChannels, numChannels, generator: generator));
        return stage;
    }

    /// <summary>The book's ResNet-18, weights Xavier-uniform as in its training loop.</summary>
    public static Sequential Create18(int inChannels = 1, int numClasses = 10, Generator? generator = null)
    {
        var g = generator;
        var net = new Sequential(Stem(inChannels, g),
            Stage(64, 64, 2, firstBlock: true, g), Stage(64, 128, 2, generator: g),
            Stage(128, 256, 2, generator: g), Stage(256, 512, 2, generator: g),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(512, numClasses, generator: g));
        return BookInit.XavierWeights(net, g);
    }
}
