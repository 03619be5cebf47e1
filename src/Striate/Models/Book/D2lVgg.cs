using Striate.Nn;

namespace Striate.Models.Book;

/// <summary>
/// VGG (Simonyan and Zisserman 2014) as the d2l book builds it (§8.2): blocks of 3×3 padding-1 convolutions with ReLU,
/// each block closed by 2×2 max pooling, then Flatten and Linear(C·7·7, 4096), ReLU, Dropout, Linear(4096, 4096),
/// ReLU, Dropout, Linear(4096, classes). VGG-11's architecture is ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512));
/// a width multiplier scales the conv channels only, as the book's <c>pair[1] // ratio</c> (ratio 4 = width 0.25).
/// VGG-11 has 128,806,154 parameters, at width 0.25 43,093,322 (1 channel, 10 classes, 224×224 input).
/// Children: blocks "0".."4" (each "k.0.weight", …), Flatten "5", classifier "6".."12", as the book's nn.Sequential.
/// Shapes: [N, inChannels, 224, 224] → [N, numClasses] (any side in 224..255 gives the 7×7 map).
/// </summary>
public static class D2lVgg
{
    /// <summary>VGG-11's (number of convolutions, output channels) per block.</summary>
    public static readonly IReadOnlyList<(int NumConvs, int Channels)> Vgg11Arch = [(1, 64), (1, 128), (2, 256), (2, 512), (2, 512)];

    /// <summary>Side of the map the classifier flattens at 224×224 input (five halvings).</summary>
    public const int FeatureSide = 7;

    /// <summary>One VGG block: <paramref name="numConvs"/> × (Conv 3×3 p1, ReLU), then MaxPool 2×2 (the book's <c>vgg_block</c>).</summary>
    public static Sequential Block(int numConvs, int inChannels, int outChannels, Generator? generator = null)
    {
        var block = new Sequential();
        for (int i = 0; i < numConvs; i++)
        {
            block.Add(new Conv2d(inChannels, outChannels, 3, padding: 1, generator: generator)).Add(new ReLU());
            inChannels = outChannels;
        }
        return block.Add(new MaxPool2d(2, 2));
    }

    /// <summary>Conv channels of a block at <paramref name="width"/>: ⌊channels·width⌋ (at least 1), as the book's integer division by ratio.</summary>
    public static int ScaledChannels(int channels, double width) => Math.Max(1, (int)Math.Floor(channels * width + 1e-9));

    /// <summary>VGG-11 (or <paramref name="arch"/>) with conv channels scaled by <paramref name="width"/>; weights Xavier-uniform as in the book.</summary>
    public static Sequential Create(int inChannels = 1, int numClasses = 10, double width = 1.0, Generator? generator = null,
        IReadOnlyList<(int NumConvs, int Channels)>? arch = null)
    {
        if (!(width > 0)) throw new ArgumentException($"D2lVgg: width must be positive, got {width}.", nameof(width));
        arch ??= Vgg11Arch;
        if (arch.Count == 0) throw new ArgumentException("D2lVgg: the architecture needs at least one block.", nameof(arch));
        var g = generator;
        var net = new Sequential();
        int channels = inChannels;
        foreach (var (numConvs, outChannels) in arch)
        {
            int scaled = ScaledChannels(outChannels, width);
            net.Add(Block(numConvs, channels, scaled, g));
            channels = scaled;
        }
        net.Add(new Flatten())
            .Add(new Linear(channels * FeatureSide * FeatureSide, 4096, generator: g)).Add(new ReLU()).Add(new Dropout(0.5, g))
            .Add(new Linear(4096, 4096, generator: g)).Add(new ReLU()).Add(new Dropout(0.5, g))
            .Add(new Linear(4096, numClasses, generator: g));
        return BookInit.XavierWeights(net, g);
    }
}
