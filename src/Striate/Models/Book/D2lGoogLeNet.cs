using Striate.Functional;
using Striate.Nn;

namespace Striate.Models.Book;

/// <summary>
/// The Inception block of GoogLeNet (Szegedy et al. 2015) as the d2l book writes it (§8.4): four parallel paths —
/// 1×1 conv; 1×1 then 3×3 conv; 1×1 then 5×5 conv; 3×3 max pool then 1×1 conv — each ending in ReLU, concatenated
/// along channels. Members p1_1, p2_1, p2_2, p3_1, p3_2, p4_1 (pool), p4_2 as in the book.
/// Shapes: [N, inChannels, H, W] → [N, c1 + c2.Out + c3.Out + c4, H, W].
/// </summary>
public sealed class Inception : Module
{
    private readonly Conv2d _p11, _p21, _p22, _p31, _p32, _p42;
    private readonly MaxPool2d _p41;

    /// <summary>Output channels (sum of the four paths).</summary>
    public int OutChannels { get; }

    /// <summary>Builds the block; <paramref name="c2"/> and <paramref name="c3"/> are (reduce, out) channel pairs.</summary>
    public Inception(int inChannels, int c1, (int Reduce, int Out) c2, (int Reduce, int Out) c3, int c4, Generator? generator = null)
    {
        var g = generator;
        _p11 = RegisterModule("p1_1", new Conv2d(inChannels, c1, 1, generator: g));
        _p21 = RegisterModule("p2_1", new Conv2d(inChannels, c2.Reduce, 1, generator: g));
        _p22 = RegisterModule("p2_2", new Conv2d(c2.Reduce, c2.Out, 3, padding: 1, generator: g));
        _p31 = RegisterModule("p3_1", new Conv2d(inChannels, c3.Reduce, 1, generator: g));
        _p32 = RegisterModule("p3_2", new Conv2d(c3.Reduce, c3.Out, 5, padding: 2, generator: g));
        _p41 = RegisterModule("p4_1", new MaxPool2d(3, 1, 1));
        _p42 = RegisterModule("p4_2", new Conv2d(inChannels, c4, 1, generator: g));
        OutChannels = c1 + c2.Out + c3.Out + c4;
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var p1 = F.Relu(_p11.Call(input));
        var p2 = F.Relu(_p22.Call(F.Relu(_p21.Call(input))));
        var p3 = F.Relu(_p32.Call(F.Relu(_p31.Call(input))));
        var p4 = F.Relu(_p42.Call(_p41.Call(input)));
        return F.Concat(p1, p2, p3, p4);
    }
}

/// <summary>
/// GoogLeNet as the d2l book builds it for 96×96 Fashion-MNIST (§8.4): stem b1 (7×7/2 conv, 3×3/2 pool), b2 (1×1 and
/// 3×3 convs, pool), b3 (two Inceptions, pool), b4 (five Inceptions, pool), b5 (two Inceptions, global average pool,
/// Flatten) and Linear(1024, classes). 5,977,530 parameters (1 channel, 10 classes). Children "0".."5" as the book's
/// nn.Sequential(b1, b2, b3, b4, b5, Linear).
/// Shapes: [N, inChannels, H, W] → [N, numClasses] for any H, W ≥ 1 (every stage pads).
/// </summary>
public static class D2lGoogLeNet
{
    /// <summary>The book's GoogLeNet, weights Xavier-uniform as in its training loop.</summary>
    public static Sequential Create(int inChannels = 1, int numClasses = 10, Generator? generator = null)
    {
        var g = generator;
        var b1 = new Sequential(new Conv2d(inChannels, 64, 7, stride: 2, padding: 3, generator: g), new ReLU(), new MaxPool2d(3, 2, 1));
        var b2 = new Sequential(new Conv2d(64, 64, 1, generator: g), new ReLU(),
            new Conv2d(64, 192, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(3, 2, 1));
        var b3 = new Sequential(new Inception(192, 64, (96, 128), (16, 32), 32, g),
            new Inception(256, 128, (128, 192), (32, 96), 64, g), new MaxPool2d(3, 2, 1));
        var b4 = new Sequential(new Inception(480, 192, (96, 208), (16, 48), 64, g),
            new Inception(512, 160, (112, 224), (24, 64), 64, g),
            new Inception(512, 128, (128, 256), (24, 64), 64, g),
            new Inception(512, 112, (144, 288), (32, 64), 64, g),
            new Inception(528, 256, (160, 320), (32, 128), 128, g), new MaxPool2d(3, 2, 1));
        var b5 = new Sequential(new Inception(832, 256, (160, 320), (32, 128), 128, g),
            new Inception(832, 384, (192, 384), (48, 128), 128, g), new AdaptiveAvgPool2d(1), new Flatten());
        return BookInit.XavierWeights(new Sequential(b1, b2, b3, b4, b5, new Linear(1024, numClasses, generator: g)), g);
    }
}
