using Striate.Autograd;
using Striate.Models;
using Striate.Models.Book;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Models;

/// <summary>
/// Converting Flatten + Linear heads to convolutions: same scores at the training size, a score map on larger inputs
/// whose positions are the head on feature windows (and, for unpadded features, the model on input crops).
/// </summary>
public sealed class FullyConvolutionalTests
{
    /// <summary>Copies x[:, :, top..top+h, left..left+w] (an image crop or a window of a feature map).</summary>
    private static Tensor Window(Tensor x, int top, int left, int h, int w)
    {
        int n = x.Size(0), c = x.Size(1), H = x.Size(2), W = x.Size(3);
        var result = Tensor.Zeros(n, c, h, w);
        var src = x.ReadOnlySpan;
        var dst = result.Span;
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < h; i++)
                src.Slice(p * H * W + (top + i) * W + left, w).CopyTo(dst.Slice(p * h * w + i * w, w));
        return result;
    }

    /// <summary>Scores at map position (i, j): [N, K, h', w'] → [N, K].</summary>
    private static Tensor At(Tensor map, int i, int j) => Window(map, i, j, 1, 1).Reshape(map.Size(0), map.Size(1));

    private static Tensor RunLayers(Sequential model, int from, int to, Tensor x)
    {
        for (int k = from; k < to; k++) x = model[k].Call(x);
        return x;
    }

    [Fact]
    public void AlexNetGivesTheSameScoresAtTheTrainingSizeAndAScoreMapOnLargerInputs()
    {
        var model = D2lAlexNet.Create(generator: new Generator(11));
        model.Eval();
        var fcn = model.ToFullyConvolutional((1, 224, 224));
        using var _ = GradMode.NoGrad();

        var x = Tensor.Randn([2, 1, 224, 224], new Generator(12));
        var scores = fcn.Call(x);
        Assert.Equal([2, 10, 1, 1], scores.ShapeArray);
        Close.Assert(model.Call(x), scores.Reshape(2, 10), 1e-4, 1e-5, "AlexNet at 224");

        // 288: conv 70, pools 34, 16, 7 → the 5×5 head slides over a 7×7 map in steps of the features' stride 32.
        var big = Tensor.Randn([1, 1, 288, 288], new Generator(13));
        var map = fcn.Call(big);
        Assert.Equal([1, 10, 3, 3], map.ShapeArray);
        var features = RunLayers(model, 0, 13, big); // layers 0..12 are the features, 13 the Flatten
        Assert.Equal([1, 256, 7, 7], features.ShapeArray);
        foreach (var (i, j) in new[] { (0, 0), (2, 1), (1, 2) })
            Close.Assert(RunLayers(model, 13, model.Count, Window(features, i, j, 5, 5)), At(map, i, j), 1e-4, 1e-5, $"AlexNet window ({i}, {j})");
    }

    [Fact]
    public void TorchvisionAlexNetConvertsThroughItsFeaturesAvgpoolClassifierLayout()
    {
        var model = new Striate.Models.Torchvision.AlexNet(numClasses: 7, generator: new Generator(21));
        model.Eval();
        var fcn = model.ToFullyConvolutional((3, 224, 224));
        Assert.Equal(["features", "classifier"], fcn.NamedChildren().Select(c => c.Key).ToArray());
        using var _ = GradMode.NoGrad();

        var x = Tensor.Randn([1, 3, 224, 224], new Generator(22));
        Close.Assert(model.Call(x), fcn.Call(x).Reshape(1, 7), 1e-4, 1e-5, "torchvision AlexNet at 224");

        // At 224 the features end 6×6 (avgpool is then the identity and is dropped); at 256 they are 7×7, so the 6×6 head gives a 2×2 map.
        var big = Tensor.Randn([1, 3, 256, 256], new Generator(23));
        var map = fcn.Call(big);
        Assert.Equal([1, 7, 2, 2], map.ShapeArray);
        var features = model.Features.Call(big);
        Close.Assert(model.Classifier.Call(Window(features, 1, 0, 6, 6).Flatten(1)), At(map, 1, 0), 1e-4, 1e-5, "torchvision AlexNet window (1, 0)");
    }

    [Fact]
    public void VggAtQuarterWidthGivesTheSameScoresAndSlidesItsHead()
    {
        var model = D2lVgg.Create(width: 0.25, generator: new Generator(21));
        model.Eval();
        var fcn = FullyConvolutional.Convert(model, (1, 224, 224));
        using var _ = GradMode.NoGrad();

        var x = Tensor.Randn([1, 1, 224, 224], new Generator(22));
        Close.Assert(model.Call(x), fcn.Call(x).Reshape(1, 10), 1e-4, 1e-5, "VGG at 224");

        var big = Tensor.Randn([1, 1, 256, 256], new Generator(23));
        var map = fcn.Call(big);
        Assert.Equal([1, 10, 2, 2], map.ShapeArray);
        var features = RunLayers(model, 0, 5, big);
        Assert.Equal([1, 128, 8, 8], features.ShapeArray);
        foreach (var (i, j) in new[] { (0, 0), (1, 1), (0, 1) })
            Close.Assert(RunLayers(model, 5, model.Count, Window(features, i, j, 7, 7)), At(map, i, j), 1e-4, 1e-5, $"VGG window ({i}, {j})");
    }

    /// <summary>Unpadded convolutions and pooling with total stride 4, a 2-layer head: crops are exact.</summary>
    private static Sequential ValidNet(Generator g) => new(
        new Conv2d(3, 4, 3, generator: g), new ReLU(), new MaxPool2d(2),
        new Conv2d(4, 6, 3, generator: g), new ReLU(), new MaxPool2d(2),
        new Flatten(),
        new Linear(6 * 3 * 3, 8, generator: g), new ReLU(), new Dropout(0.5),
        new Linear(8, 5, generator: g));

    [Fact]
    public void EachMapPositionIsTheModelOnTheCropAtStrideTimesPosition()
    {
        var model = ValidNet(new Generator(31));
        model.Eval();
        var fcn = model.ToFullyConvolutional((3, 20, 20));
        using var _ = GradMode.NoGrad();
        var big = Tensor.Randn([2, 3, 28, 32], new Generator(32));
        var map = fcn.Call(big);
        Assert.Equal([2, 5, 3, 4], map.ShapeArray); // (28 − 20)/4 + 1 by (32 − 20)/4 + 1
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                Close.Assert(model.Call(Window(big, 4 * i, 4 * j, 20, 20)), At(map, i, j), 1e-4, 1e-5, $"crop at ({4 * i}, {4 * j})");
    }

    [Fact]
    public void ConvertedModelKeepsTheNamesSharesTheFeaturesAndCopiesTheHead()
    {
        var model = D2lAlexNet.Create(generator: new Generator(41));
        var fcn = model.ToFullyConvolutional((1, 224, 224));
        var original = model.StateDict().ToDictionary(e => e.Key, e => e.Value);
        var converted = fcn.StateDict().ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(original.Keys, converted.Keys);
        Assert.Same(original["0.weight"], converted["0.weight"]);
        Assert.Equal([4096, 256, 5, 5], converted["14.weight"].ShapeArray);
        Assert.Equal([4096, 4096, 1, 1], converted["17.weight"].ShapeArray);
        Assert.Equal([10, 4096, 1, 1], converted["20.weight"].ShapeArray);
        Assert.NotSame(original["14.weight"], converted["14.weight"]);
        Assert.True(original["14.weight"].ReadOnlySpan.SequenceEqual(converted["14.weight"].ReadOnlySpan));
        Assert.True(original["20.bias"].ReadOnlySpan.SequenceEqual(converted["20.bias"].ReadOnlySpan));
        Assert.DoesNotContain(fcn.NamedChildren(), c => c.Value is Flatten);
    }

    [Fact]
    public void ConversionLeavesTheOriginalsModesAlone()
    {
        var model = new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 4 * 4, 2));
        model.Train();
        ((Module)model[1]).Eval();
        var bn = (BatchNorm2d)model[1];
        var mean = bn.RunningMean.ToArray();
        var fcn = model.ToFullyConvolutional((3, 6, 6));
        Assert.True(model.Training);
        Assert.False(bn.Training);
        Assert.True(model[0].Training);
        Assert.Equal(mean, bn.RunningMean.ToArray());
        Assert.Equal(4, fcn.Count); // Flatten dropped
    }

    [Fact]
    public void TorchvisionLayoutDropsAnAvgpoolThatIsTheIdentityAtTheTrainingSize()
    {
        // features / avgpool / classifier, flatten in forward (torchvision's AlexNet and VGG).
        var g = new Generator(51);
        var features = new Sequential(new Conv2d(2, 4, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2));
        var avgpool = new AdaptiveAvgPool2d(4);
        var classifier = new Sequential(new Dropout(), new Linear(4 * 4 * 4, 6, generator: g), new ReLU(), new Linear(6, 3, generator: g));
        var modules = new Sequential(("features", features), ("avgpool", avgpool), ("classifier", classifier));
        modules.Eval();
        var fcn = FullyConvolutional.Convert([("features", features), ("avgpool", avgpool)], [("classifier", classifier)], (2, 8, 8));
        Assert.Equal(["features", "classifier"], fcn.NamedChildren().Select(c => c.Key));
        Assert.Equal(["classifier.1.weight", "classifier.1.bias", "classifier.3.weight", "classifier.3.bias"],
            fcn.StateDict().Select(e => e.Key).Where(k => k.StartsWith("classifier")));
        using var _ = GradMode.NoGrad();
        var x = Tensor.Randn([2, 2, 8, 8], new Generator(52));
        var expected = classifier.Call(avgpool.Call(features.Call(x)).Flatten(1));
        Close.Assert(expected, fcn.Call(x).Reshape(2, 3), 1e-4, 1e-5, "torchvision layout at 8×8");
        Assert.Equal([2, 3, 3, 5], fcn.Call(Tensor.Randn([2, 2, 12, 16], g)).ShapeArray);

        var error = Assert.Throws<ArgumentException>(() =>
            FullyConvolutional.Convert([("features", features), ("avgpool", avgpool)], [("classifier", classifier)], (2, 16, 16)));
        Assert.Contains("adaptive pooling 'avgpool'", error.Message);
    }

    [Fact]
    public void ModelsWithoutAFullyConnectedHeadAreRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => NiN.Create(generator: new Generator(61)).ToFullyConvolutional((1, 224, 224)));
        Assert.Contains("no Flatten followed by a Linear", error.Message);
        error = Assert.Throws<ArgumentException>(() => FullyConvolutional.Convert(new Residual(4, 4), (4, 8, 8)));
        Assert.Contains("expected a Sequential", error.Message);
    }

    [Fact]
    public void AWrongTrainingSizeNamesTheFeatureMapAndTheLinearInputs()
    {
        var error = Assert.Throws<ArgumentException>(() => ValidNet(new Generator(71)).ToFullyConvolutional((3, 24, 24)));
        Assert.Contains("feature map is 6×4×4 = 96 values, but Linear '7' takes 54", error.Message);
        error = Assert.Throws<ArgumentException>(() => ValidNet(new Generator(72)).ToFullyConvolutional((3, 4, 4)));
        Assert.Contains("feature layer", error.Message);
    }

    [Fact]
    public void HeadLayersWithoutAConvolutionalEquivalentAreRejected()
    {
        var model = new Sequential(new Conv2d(1, 2, 3), new Flatten(), new Linear(2 * 4 * 4, 3), new BatchNorm1d(3));
        var error = Assert.Throws<NotSupportedException>(() => model.ToFullyConvolutional((1, 6, 6)));
        Assert.Contains("head layer '3' (BatchNorm1d)", error.Message);
    }
}
