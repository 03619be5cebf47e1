using Striate.Autograd;
using Striate.Models;
using Striate.Nn;

namespace Striate.Tests.Models;

/// <summary>
/// The torchvision models against torchvision 0.14's own state_dicts (names, order, shapes, int64 counters),
/// parameter counts and minimum input sizes, as dumped by expected/generate.py.
/// </summary>
public sealed class TorchvisionArchitectureTests
{
    public static TheoryData<string> Models() =>
        ["alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet34", "resnet50", "densenet121", "mobilenet_v2"];

    [Theory]
    [MemberData(nameof(Models))]
    public void StateDictMatchesTorchvisionAndMinimumSizeIsTight(string name)
    {
        var expected = TorchvisionExpected.Load(name);
        var entry = ModelRegistry.Get(name);
        var model = ModelRegistry.Create(name, new ModelOptions(3, 1000, Generator: new Generator(1)));

        Assert.Equal(expected.Parameters, model.ParameterCount());
        AssertLayout(expected.Entries, model, name);

        // The registry's minimum is torchvision's: the forward works at it and fails one pixel below.
        Assert.Equal(expected.MinimumSize, entry.MinimumSize);
        model.Eval();
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            var logits = model.Call(Tensor.Zeros(1, 3, entry.MinimumSize, entry.MinimumSize));
            Assert.Equal([1, 1000], logits.ShapeArray);
            if (entry.MinimumSize > 1)
                Assert.ThrowsAny<ArgumentException>(() => model.Call(Tensor.Zeros(1, 3, entry.MinimumSize - 1, entry.MinimumSize - 1)));
        }
        var error = Assert.Throws<ArgumentException>(() =>
            ModelFactory.Build(entry, (3, entry.MinimumSize - 1, entry.MinimumSize - 1), 10));
        Assert.Contains($"smallest size it accepts is {entry.MinimumSize}×{entry.MinimumSize}", error.Message);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void OneChannelAndTenClassesChangeOnlyTheStemAndHead(string name)
    {
        var expected = TorchvisionExpected.Load(name);
        var entries = expected.Entries.Select(e => (e.Name, e.IsInteger, Shape: (int[])e.Shape.Clone())).ToList();
        // The stem is the first 4-D weight; the head is the last 2-D weight and the bias after it.
        var stem = entries.First(e => e.Shape.Length == 4);
        stem.Shape[1] = 1;
        int head = entries.FindLastIndex(e => e.Shape.Length == 2);
        entries[head].Shape[0] = 10;
        entries[head + 1].Shape[0] = 10;

        var model = ModelFactory.Build(ModelRegistry.Get(name), (1, expected.MinimumSize, expected.MinimumSize), 10, generator: new Generator(2));
        AssertLayout(entries, model, name);
        model.Eval();
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
            Assert.Equal([2, 10], model.Call(Tensor.Zeros(2, 1, expected.MinimumSize, expected.MinimumSize)).ShapeArray);
    }

    [Theory]
    [InlineData("resnet18", 32)]
    [InlineData("resnet50", 32)]
    [InlineData("googlenet", 32)]
    [InlineData("densenet121", 32)]
    [InlineData("mobilenet_v2", 32)]
    public void TrainingStepReachesEveryParameter(string name, int size)
    {
        var model = ModelRegistry.Create(name, new ModelOptions(3, 10, Generator: new Generator(6)));
        model.Train();
        using (TensorScope.Begin())
        {
            var x = Tensor.Randn([2, 3, size, size], new Generator(7));
            var loss = Striate.Functional.F.CrossEntropy(model.Call(x), [1, 7], 0f);
            Assert.True(float.IsFinite(loss.Item()), $"{name}: loss {loss.Item()}");
            loss.Backward();
        }
        var without = model.NamedParameters().Where(p => p.Value.Grad == null).Select(p => p.Key).ToList();
        Assert.True(without.Count == 0, $"{name}: no gradient for {string.Join(", ", without.Take(10))}");
        var bn = model.StateDict().First(e => e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Value;
        Assert.Equal(1f, bn.Item());
    }

    [Fact]
    public void AlexNetWithLocalResponseNormAddsNoParametersAndShiftsFeatureIndices()
    {
        var plain = TorchvisionExpected.Load("alexnet");
        var model = ModelRegistry.Create("alexnet-lrn", new ModelOptions(3, 1000, Generator: new Generator(3)));
        Assert.Equal(plain.Parameters, model.ParameterCount());
        // Convs at 0, 3, 6, 8, 10 move to 0, 4, 8, 10, 12 (an LRN after each of the first two ReLUs).
        var shifted = new Dictionary<string, string> { ["0"] = "0", ["3"] = "4", ["6"] = "8", ["8"] = "10", ["10"] = "12" };
        var entries = plain.Entries.Select(e =>
        {
            var parts = e.Name.Split('.');
            if (parts[0] == "features") parts[1] = shifted[parts[1]];
            return (string.Join('.', parts), e.IsInteger, e.Shape);
        }).ToList();
        AssertLayout(entries, model, "alexnet-lrn");
        var lrn = model.NamedModules().Where(m => m.Value is LocalResponseNorm).Select(m => m.Key).ToArray();
        Assert.Equal(["features.2", "features.6"], lrn);
    }

    [Fact]
    public void WidthMultiplierScalesMobileNetAndIsRejectedElsewhere()
    {
        var half = ModelRegistry.Create("mobilenet_v2", new ModelOptions(3, 1000, Width: 0.5, Generator: new Generator(4)));
        var stem = half.StateDict().First(e => e.Key == "features.0.0.weight").Value;
        Assert.Equal([16, 3, 3, 3], stem.ShapeArray); // _make_divisible(32 · 0.5, 8)
        Assert.Equal(1_968_680, half.ParameterCount()); // torchvision.models.mobilenet_v2(width_mult=0.5)
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.Create("resnet18", new ModelOptions(3, 10, Width: 0.5)));
        Assert.Contains("resnet18 has no width multiplier", error.Message);
    }

    [Fact]
    public void LoadStateDictNamesTheMissingExtraAndMisshapenKeys()
    {
        var model = ModelRegistry.Create("resnet18", new ModelOptions(3, 10, Generator: new Generator(5)));
        var state = model.StateDict().Where(e => e.Key != "layer2.1.bn1.running_var").ToList();
        state.Add(new("layer5.0.conv1.weight", Tensor.Zeros(4, 4, 3, 3)));
        int fc = state.FindIndex(e => e.Key == "fc.weight");
        state[fc] = new("fc.weight", Tensor.Zeros(1000, 512));
        var error = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("Missing keys (1): layer2.1.bn1.running_var", error.Message);
        Assert.Contains("Unexpected keys (1): layer5.0.conv1.weight", error.Message);
        Assert.Contains("fc.weight: checkpoint [1000, 512], model [10, 512]", error.Message);
    }

    private static void AssertLayout(IReadOnlyList<(string Name, bool IsInteger, int[] Shape)> expected, Module model, string what)
    {
        var actual = model.StateDict();
        var integers = model.IntegerBufferNames().ToHashSet();
        var missing = expected.Select(e => e.Name).Except(actual.Select(a => a.Key)).ToList();
        var extra = actual.Select(a => a.Key).Except(expected.Select(e => e.Name)).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"{what}: missing {string.Join(", ", missing.Take(10))}; unexpected {string.Join(", ", extra.Take(10))}");
        for (int i = 0; i < expected.Count; i++)
        {
            var (name, isInteger, shape) = expected[i];
            Assert.True(actual[i].Key == name, $"{what}: entry {i} is {actual[i].Key}, torchvision has {name}");
            Assert.True(shape.AsSpan().SequenceEqual(actual[i].Value.Shape),
                $"{what}: {name} has shape {Tensor.FormatShape(actual[i].Value.Shape)}, torchvision {Tensor.FormatShape(shape)}");
            Assert.True(isInteger == integers.Contains(name), $"{what}: {name} int64 in torchvision: {isInteger}");
        }
    }
}
