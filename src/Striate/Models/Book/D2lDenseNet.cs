using Striate.Functional;
using Striate.Nn;

namespace Striate.Models.Book;

/// <summary>
/// The d2l book's dense block (Huang et al. 2017; d2l §8.7): <c>numConvs</c> conv blocks in BN–ReLU–Conv3×3 order, each
/// seeing the concatenation of the block input and every earlier output, so channels grow by <c>growthRate</c> per conv.
/// Member "net" holds the conv blocks ("net.0.0.weight" is the first BN), as the book's DenseBlock.
/// Shapes: [N, inChannels, H, W] → [N, inChannels + numConvs·growthRate, H, W].
/// </summary>
public sealed class DenseBlock : Module
{
    private readonly Sequential _net;

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    public DenseBlock(int numConvs, int inChannels, int growthRate, Generator? generator = null)
    {
        _net = RegisterModule("net", new Sequential());
        for (int i = 0; i < numConvs; i++)
            _net.Add(ConvBlock(inChannels + i * growthRate, growthRate, generator));
        OutChannels = inChannels + numConvs * growthRate;
    }

    /// <summary>The book's <c>conv_block</c>: BN, ReLU, Conv 3×3 p1.</summary>
    public static Sequential ConvBlock(int inChannels, int outChannels, Generator? generator = null) =>
        new(new BatchNorm2d(inChannels), new ReLU(), new Conv2d(inChannels, outChannels, 3, padding: 1, generator: generator));

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        for (int i = 0; i < _net.Count; i++) x = F.Concat(x, _net[i].Call(x));
        return x;
    }
}

/// <summary>
/// DenseNet as the d2l book builds it for 96×96 Fashion-MNIST (§8.7): the ResNet stem, four dense blocks of four
/// convolutions with growth rate 32, transition layers (BN, ReLU, 1×1 conv halving the channels, 2×2 average pool)
/// between them, then BN, ReLU, global average pooling, Flatten, Linear(248, classes). 758,226 parameters for 1
/// channel and 10 classes. Children "0".."12" as the book's nn.Sequential(b1, *blks, BN, ReLU, pool, Flatten, Linear).
/// Shapes: [N, inChannels, H, W] → [N, numClasses] for H, W ≥ 29 (three 2×2 poolings after a stride-4 stem).
/// </summary>
public static class D2lDenseNet
{
    /// <summary>The book's <c>transition_block</c>: BN, ReLU, Conv 1×1, AvgPool 2×2/2.</summary>
    public static Sequential Transition(int inChannels, int outChannels, Generator? generator = null) =>
        new(new BatchNorm2d(inChannels), new ReLU(), new Conv2d(inChannels, outChannels, 1, generator: generator), new AvgPool2d(2, 2));

    /// <summary>The book's DenseNet (64 stem channels, growth rate 32, blocks of [4, 4, 4, 4] convs), weights Xavier-uniform.</summary>
    public static Sequential Create(int inChannels = 1, int numClasses = 10, Generator? generator = null,
        int growthRate = 32, IReadOnlyList<int>? numConvsInDenseBlocks = null)
    {
        var g = generator;
        var arch = numConvsInDenseBlocks ?? [4, 4, 4, 4];
        var net = new Sequential(D2lResNet.Stem(inChannels, g));
        int channels = 64;
        for (int i = 0; i < arch.Count; i++)
        {
            var block = new DenseBlock(arch[i], channels, growthRate, g);
            net.Add(block);
            channels = block.OutChannels;
            if (i != arch.Count - 1)
            {
                net.Add(Transition(channels, channels / 2, g));
                channels /= 2;
            }
        }
        net.Add(new BatchNorm2d(channels)).Add(new ReLU()).Add(new AdaptiveAvgPool2d(1)).Add(new Flatten())
            .Add(new Linear(channels, numClasses, generator: g));
        return BookInit.XavierWeights(net, g);
    }
}
