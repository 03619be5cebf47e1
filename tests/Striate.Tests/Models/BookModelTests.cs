using Striate.Autograd;
using Striate.IO;
using Striate.Models;
using Striate.Models.Book;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Models;

/// <summary>
/// The d2l book's CNNs: parameter counts, state-dict names and shapes, minimum sizes and recipes pinned by
/// book_models.py (PyTorch 1.13), and the custom blocks' forward against PyTorch.
/// </summary>
public sealed class BookModelTests
{
    private static string TestData => Path.Combine(RepoPaths.Root, "tests", "Striate.Tests", "Models", "testdata");

    private static Module Build(string name, int size, double width = 1.0) =>
        ModelFactory.Build(ModelRegistry.Get(name), (1, size, size), 10, width, new Generator(1));

    [Theory]
    [InlineData("d2l-alexnet", 224, 1.0, 46_764_746L)]
    [InlineData("d2l-vgg11", 224, 1.0, 128_806_154L)]
    [InlineData("d2l-vgg11", 224, 0.25, 43_093_322L)]
    [InlineData("nin", 224, 1.0, 1_992_166L)]
    [InlineData("d2l-googlenet", 96, 1.0, 5_977_530L)]
    [InlineData("d2l-resnet18", 96, 1.0, 11_178_378L)]
    [InlineData("d2l-densenet", 96, 1.0, 758_226L)]
    public void ParameterCountsMatchTheBooksPyTorchModels(string name, int size, double width, long expected) =>
        Assert.Equal(expected, Build(name, size, width).ParameterCount());

    [Fact]
    public void StateDictNamesAndShapesMatchTheBooksPyTorchModels()
    {
        // book_state_keys.txt: "model<TAB>key<TAB>shape" for every state_dict entry, written by book_models.py.
        var expected = File.ReadAllLines(Path.Combine(TestData, "book_state_keys.txt"))
            .Select(l => l.Split('\t')).GroupBy(p => p[0], p => (Key: p[1], Shape: p[2]));
        foreach (var group in expected)
        {
            var (name, width) = group.Key == "d2l-vgg11 width 0.25" ? ("d2l-vgg11", 0.25) : (group.Key, 1.0);
            var entry = ModelRegistry.Get(name);
            var actual = Build(name, entry.DefaultInput.H, width).StateDict()
                .Select(e => (e.Key, Shape: e.Value.Rank == 0 ? "" : string.Join("x", e.Value.ShapeArray))).ToList();
            Assert.Equal(group.ToList(), actual);
        }
    }

    [Fact]
    public void BookStateDictLoadsIntoTheSameArchitecture()
    {
        var source = Build("d2l-densenet", 96);
        var target = Build("d2l-densenet", 96);
        target.LoadStateDict(source.StateDict());
        foreach (var ((name, a), (_, b)) in source.StateDict().Zip(target.StateDict()))
            Assert.True(a.ReadOnlySpan.SequenceEqual(b.ReadOnlySpan), name);
    }

    [Theory]
    [InlineData("d2l-alexnet", 224)]
    [InlineData("d2l-vgg11", 224)]
    [InlineData("nin", 67)]
    [InlineData("d2l-googlenet", 1)]
    [InlineData("d2l-resnet18", 1)]
    [InlineData("d2l-densenet", 29)]
    public void MinimumSizeIsTheSmallestInputTheForwardAccepts(string name, int minimum)
    {
        var entry = ModelRegistry.Get(name);
        Assert.Equal(minimum, entry.MinimumSize);
        // VGG at full width would allocate 0.5 GB for nothing; its shapes do not depend on the width.
        double width = name == "d2l-vgg11" ? 0.125 : 1.0;
        var model = Build(name, minimum, width);
        model.Eval();
        using (GradMode.NoGrad())
        {
            var output = model.Call(Tensor.Zeros(2, 1, minimum, minimum));
            Assert.Equal([2, 10], output.ShapeArray);
            // One pixel less fails inside the forward too, so the minimum is tight (size 0 is rejected by the factory alone).
            if (minimum > 1 && !entry.FixedInput)
                Assert.ThrowsAny<Exception>(() => model.Call(Tensor.Zeros(2, 1, minimum - 1, minimum - 1)));
        }
        var error = Assert.Throws<ArgumentException>(() => ModelFactory.Build(entry, (1, minimum - 1, minimum - 1), 10, width));
        Assert.Contains($"smallest size it accepts is {minimum}×{minimum}", error.Message);
    }

    [Theory]
    [InlineData("d2l-alexnet", 240)]
    [InlineData("d2l-vgg11", 255)]
    public void FixedInputModelsNameTheSizeTheirClassifierNeeds(string name, int size)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelFactory.Build(ModelRegistry.Get(name), (1, size, size), 10, 0.25));
        Assert.Contains("need 224×224", error.Message);
    }

    [Theory]
    [InlineData("d2l-alexnet", 224, 128, 0.01, 0.0)]
    [InlineData("d2l-vgg11", 224, 128, 0.05, 0.25)]
    [InlineData("nin", 224, 128, 0.1, 0.0)]
    [InlineData("d2l-googlenet", 96, 128, 0.1, 0.0)]
    [InlineData("d2l-resnet18", 96, 256, 0.05, 0.0)]
    [InlineData("d2l-densenet", 96, 256, 0.1, 0.0)]
    public void RecipesFollowTheBook(string name, int resize, int batch, double lr, double width)
    {
        var entry = ModelRegistry.Get(name);
        var recipe = entry.Recipe;
        Assert.Equal((resize, resize), entry.DefaultInput);
        Assert.Equal(resize, recipe.Resize);
        Assert.Equal(batch, recipe.BatchSize);
        Assert.Equal(lr, recipe.LearningRate);
        Assert.Equal(10, recipe.Epochs);
        Assert.Equal("sgd", recipe.Optimizer);
        Assert.Equal(0, recipe.Momentum);
        Assert.Equal(width == 0 ? 1.0 : width, recipe.Width);
        Assert.Equal((1, 10), (entry.DefaultChannels, entry.DefaultClasses));
    }

    [Theory]
    [InlineData("d2l-alexnet", 224)]
    [InlineData("nin", 224)]
    [InlineData("d2l-googlenet", 96)]
    [InlineData("d2l-resnet18", 96)]
    [InlineData("d2l-densenet", 96)]
    public void ModelsWithoutAWidthRejectOne(string name, int size)
    {
        var error = Assert.Throws<ArgumentException>(() => Build(name, size, 0.5));
        Assert.Contains("no width multiplier", error.Message);
    }

    [Fact]
    public void OptionsSetChannelsAndClasses()
    {
        var model = ModelFactory.Build(ModelRegistry.Get("d2l-resnet18"), (3, 32, 32), 7, 1.0, new Generator(2));
        Assert.Equal([64, 3, 7, 7], model.StateDict()[0].Value.ShapeArray);
        model.Eval();
        using (GradMode.NoGrad())
            Assert.Equal([2, 7], model.Call(Tensor.Randn([2, 3, 32, 32], new Generator(3))).ShapeArray);
    }

    [Fact]
    public void VggWidthDividesConvChannelsOnly()
    {
        var model = D2lVgg.Create(width: 0.25, generator: new Generator(4));
        var shapes = model.StateDict().ToDictionary(e => e.Key, e => e.Value.ShapeArray);
        Assert.Equal([16, 1, 3, 3], shapes["0.0.weight"]);
        Assert.Equal([128, 128, 3, 3], shapes["4.2.weight"]);
        Assert.Equal([4096, 128 * 7 * 7], shapes["6.weight"]);
        Assert.Equal([4096, 4096], shapes["9.weight"]);
    }

    [Fact]
    public void ConvAndLinearWeightsAreXavierUniformAsInTheBook()
    {
        // Xavier bound √(6/(fan_in+fan_out)); PyTorch's default Kaiming-uniform bound √(1/fan_in) is far smaller for the 6400→4096 layer.
        var weight = D2lAlexNet.Create(generator: new Generator(5)).StateDict().First(e => e.Key == "14.weight").Value;
        double bound = Math.Sqrt(6.0 / (6400 + 4096));
        float max = 0;
        foreach (float v in weight.ReadOnlySpan) max = Math.Max(max, Math.Abs(v));
        Assert.InRange(max, 0.99 * bound, bound * (1 + 1e-6));
    }

    [Fact]
    public void ResidualWithout1x1ConvNeedsMatchingShapes()
    {
        var error = Assert.Throws<ArgumentException>(() => new Residual(64, 128));
        Assert.Contains("use1x1Conv", error.Message);
        var block = new Residual(3, 6, use1x1Conv: true, stride: 2, generator: new Generator(6));
        Assert.Equal([2, 6, 3, 3], block.Call(Tensor.Randn([2, 3, 6, 6], new Generator(7))).ShapeArray);
    }

    [Theory]
    [InlineData("residual")]
    [InlineData("residual_identity")]
    [InlineData("inception")]
    [InlineData("dense")]
    [InlineData("transition")]
    public void BlocksMatchPyTorch(string block)
    {
        // book_blocks.safetensors: random weights and running statistics, an input and the eval-mode output (book_models.py).
        var file = SafetensorsFile.Load(Path.Combine(TestData, "book_blocks.safetensors"));
        Module module = block switch
        {
            "residual" => new Residual(3, 8, use1x1Conv: true, stride: 2),
            "residual_identity" => new Residual(8, 8),
            "inception" => new Inception(6, 4, (3, 5), (2, 3), 2),
            "dense" => new DenseBlock(3, 5, 4),
            _ => D2lDenseNet.Transition(9, 4),
        };
        var prefix = block + ".";
        var state = file.Names.Where(n => n.StartsWith(prefix) && n != prefix + "input" && n != prefix + "output")
            .Select(n => new KeyValuePair<string, Tensor>(n[prefix.Length..], file.GetTensor(n))).ToList();
        Assert.Equal(module.StateDict().Count(e => !e.Key.EndsWith("num_batches_tracked")), state.Count);
        module.LoadStateDict(state, strict: false);
        module.Eval();
        using (GradMode.NoGrad())
            Close.Assert(file.GetTensor(prefix + "output"), module.Call(file.GetTensor(prefix + "input")), 1e-4, 1e-5, block);
    }
}
