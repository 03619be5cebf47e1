using Striate.Nn;

namespace Striate.Models.Book;

/// <summary>
/// Network in Network (Lin et al. 2013) as the d2l book builds it (§8.3): four NiN blocks — a spatial convolution
/// followed by two 1×1 convolutions, each with ReLU — with 3×3 stride-2 max pooling between them, dropout before the
/// last block, whose channels are the classes, and global average pooling instead of fully connected layers.
/// 1,992,166 parameters (1 channel, 10 classes). Children "0".."9" as the book's nn.Sequential ("0.0.weight", …).
/// Shapes: [N, inChannels, H, W] → [N, numClasses] for H, W ≥ 67 (the book trains at 224).
/// </summary>
public static class NiN
{
    /// <summary>The book's <c>nin_block</c>: Conv(k, stride, padding), ReLU, Conv 1×1, ReLU, Conv 1×1, ReLU.</summary>
    public static Sequential Block(int inChannels, int outChannels, int kernelSize, int stride, int padding, Generator? generator = null) =>
        new(new Conv2d(inChannels, outChannels, kernelSize, stride, padding, generator: generator), new ReLU(),
            new Conv2d(outChannels, outChannels, 1, generator: generator), new ReLU(),
            new Conv2d(outChannels, outChannels, 1, generator: generator), new ReLU());

    /// <summary>The book's NiN, weights Xavier-uniform as in its training loop.</summary>
    public static Sequential Create(int inChannels = 1, int numClasses = 10, Generator? generator = null)
    {
        var g = generator;
        var net = new Sequential(
            Block(inChannels, 96, 11, 4, 0, g), new MaxPool2d(3, 2),
            Block(96, 256, 5, 1, 2, g), new MaxPool2d(3, 2),
            Block(256, 384, 3, 1, 1, g), new MaxPool2d(3, 2),
            new Dropout(0.5, g),
            Block(384, numClasses, 3, 1, 1, g),
            new AdaptiveAvgPool2d(1),
            new Flatten());
        return BookInit.XavierWeights(net, g);
    }
}
