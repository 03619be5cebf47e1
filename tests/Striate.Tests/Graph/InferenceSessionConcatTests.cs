using Striate.Autograd;
using Striate.Functional;
using Striate.Graph;
using Striate.IO;
using Striate.Models;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// Concatenations planned in place: at batch 1 a channel slice of NCHW is one block, so the buffer plan lets each
/// part's producer write straight into its block of the concatenation and drops the copy. These pin that a prepared
/// model still computes the eager model's output for every way a part can be shared — dense blocks (each layer's input
/// a prefix of the next), nested concatenations, Inception branches, a part read again after the concatenation, a part
/// in two concatenations, the same part twice, a graph input as a part, a concatenation as the graph's output — at
/// batch 1 (placed) and at batch 3 (copied), and that the copies are in fact gone where they can be.
/// </summary>
public sealed class InferenceSessionConcatTests
{
    /// <summary>
    /// A test model wired by a lambda from numbered units: unit i is either conv → bn → ReLU ("post", as torchvision's
    /// BasicConv2d) or bn → ReLU → conv ("pre", as a dense layer), 3×3 with padding 1 or 1×1.
    /// </summary>
    private sealed class Wired : Module
    {
        private readonly Conv2d[] _convs;
        private readonly BatchNorm2d[] _norms;
        private readonly bool[] _pre;
        private readonly Func<Wired, Tensor, Tensor> _forward;

        public Wired((int In, int Out, int Kernel, bool Pre)[] units, Func<Wired, Tensor, Tensor> forward, int seed = 1)
        {
            var g = new Generator((ulong)seed);
            _convs = new Conv2d[units.Length];
            _norms = new BatchNorm2d[units.Length];
            _pre = units.Select(u => u.Pre).ToArray();
            for (int i = 0; i < units.Length; i++)
            {
                var (cin, cout, k, pre) = units[i];
                _convs[i] = RegisterModule($"conv{i}", new Conv2d(cin, cout, k, padding: k / 2, bias: false, generator: g));
                _norms[i] = RegisterModule($"norm{i}", new BatchNorm2d(pre ? cin : cout));
            }
            _forward = forward;
            RegistryModels.RandomizeStatistics(this, g);
            Eval();
        }

        public Tensor Unit(int i, Tensor x) =>
            _pre[i] ? _convs[i].Call(F.Relu(_norms[i].Call(x))) : F.Relu(_norms[i].Call(_convs[i].Call(x)));

        public override Tensor Forward(Tensor input) => _forward(this, input);
    }

    private static (int, int, int, bool) Post(int cin, int cout, int k = 3) => (cin, cout, k, false);
    private static (int, int, int, bool) Pre(int cin, int cout, int k = 1) => (cin, cout, k, true);

    /// <summary>Two dense blocks as torchvision writes them (a list of features, one concatenation per layer) with a transition between.</summary>
    private static Wired DenseBlocks() => new(
        [Post(3, 8), Pre(8, 6), Pre(14, 6), Pre(20, 6), Pre(26, 10), Pre(10, 4, 3), Pre(14, 4, 3)],
        (m, x) =>
        {
            var features = new List<Tensor> { m.Unit(0, x) };
            for (int i = 1; i <= 3; i++) features.Add(m.Unit(i, features.Count == 1 ? features[0] : F.Concat(features, 1)));
            var t = F.AvgPool2d(m.Unit(4, F.Concat(features, 1)), 2);
            features = [t];
            for (int i = 5; i <= 6; i++) features.Add(m.Unit(i, F.Concat(features, 1)));
            return F.Relu(F.Concat(features, 1));
        });

    /// <summary>A dense block as the book writes it: x = cat(x, layer(x)), concatenations nested in each other.</summary>
    private static Wired NestedBlock() => new(
        [Post(3, 6), Pre(6, 5, 3), Pre(11, 5, 3), Pre(16, 5, 3)],
        (m, x) =>
        {
            x = m.Unit(0, x);
            for (int i = 1; i <= 3; i++) x = F.Concat(x, m.Unit(i, x));
            return F.AdaptiveAvgPool2d(x, 1).Flatten(1);
        });

    /// <summary>Two Inception-like blocks (four branches, one a max pool) with a max pool between them.</summary>
    private static Wired InceptionBlocks() => new(
        [Post(3, 8), Post(8, 4, 1), Post(8, 3, 1), Post(3, 5), Post(8, 2, 1), Post(2, 3), Post(8, 2, 1),
         Post(14, 3, 1), Post(14, 4, 1), Post(4, 6), Post(14, 3, 1)],
        (m, x) =>
        {
            x = m.Unit(0, x);
            x = F.Concat(m.Unit(1, x), m.Unit(3, m.Unit(2, x)), m.Unit(5, m.Unit(4, x)), m.Unit(6, F.MaxPool2d(x, 3, 1, 1)));
            x = F.MaxPool2d(x, 2);
            return F.Concat(m.Unit(7, x), m.Unit(9, m.Unit(8, x)), m.Unit(10, F.MaxPool2d(x, 3, 1, 1)));
        });

    /// <summary>A part read again after its concatenation, by an op that could overwrite it in place, and the concatenation read after that.</summary>
    private static Wired PartReadAfterTheConcatenation() => new(
        [Post(3, 4), Post(3, 5), Post(9, 4), Post(8, 3, 1)],
        (m, x) =>
        {
            var a = m.Unit(0, x);
            var b = m.Unit(1, x);
            var z = F.Concat(a, b);
            var r = F.Add(a, F.Mul(a, 2f)); // the last reader of a, which may not overwrite a's block: z is read after it
            var y = m.Unit(2, z);
            return m.Unit(3, F.Concat(y, F.Relu(r)));
        });

    /// <summary>One part in two concatenations (at different places), the same part twice in one, a graph input as a part.</summary>
    private static Wired SharedParts() => new(
        [Post(3, 4), Post(3, 5), Post(3, 2), Post(9, 3), Post(7, 3), Post(14, 4, 1), Post(6, 2, 1)],
        (m, x) =>
        {
            var a = m.Unit(0, x);
            var b = m.Unit(1, x);
            var c = m.Unit(2, x);
            var z1 = F.Concat(a, b);
            var z2 = F.Concat(b, c);
            var twice = F.Concat(b, b, a);
            var withInput = F.Concat(x, m.Unit(4, z2));
            return F.Concat(m.Unit(3, z1), m.Unit(5, twice), m.Unit(6, withInput));
        });

    /// <summary>Concatenations along other dimensions (height: blocks apart even at batch 1) and of flattened features (parts that are views).</summary>
    private static Wired OtherDimensions() => new(
        [Post(3, 4), Post(3, 4), Post(4, 2)],
        (m, x) =>
        {
            var a = m.Unit(0, x);
            var b = m.Unit(1, x);
            var tall = m.Unit(2, F.Concat([a, b], 2));
            var flat = F.Concat([a.Flatten(1), tall.Flatten(1)], 1);
            return F.Concat([flat, F.Relu(flat)], 1);
        });

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in Builders.Keys)
            foreach (int batch in new[] { 1, 3 })
                data.Add(name, batch);
        return data;
    }

    private static readonly Dictionary<string, Func<Wired>> Builders = new()
    {
        ["dense blocks"] = DenseBlocks,
        ["nested block"] = NestedBlock,
        ["inception blocks"] = InceptionBlocks,
        ["part read after the concatenation"] = PartReadAfterTheConcatenation,
        ["shared parts"] = SharedParts,
        ["other dimensions"] = OtherDimensions,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void PreparedConcatenationsGiveTheEagerOutput(string name, int batch)
    {
        var model = Builders[name]();
        var input = Tensor.Rand([batch, 3, 8, 8], new Generator(5), -1f, 1f);
        var expected = EagerOutput.Of(model, input);
        var session = model.PrepareForInference(batch, 3, 8, 8);
        var actual = session.Run(input);
        Close.Assert(expected, actual, 1e-4, 1e-5, $"{name} at batch {batch}");
        Close.Assert(actual, session.Run(input), 0, 0, $"{name} at batch {batch}, second run");
    }

    private static int ConcatCopies(InferenceSession session) => session.StepNodes.Count(s => s.Contains("(ConcatStep)", StringComparison.Ordinal));

    [Fact]
    public void DenseBlocksConcatenateWithoutCopiesAtBatchOne()
    {
        var model = DenseBlocks();
        Assert.Equal(0, ConcatCopies(model.PrepareForInference(1, 3, 8, 8)));
        // At batch 2 each image's channels are apart: every concatenation copies (3 + 3 of them).
        Assert.Equal(6, ConcatCopies(model.PrepareForInference(2, 3, 8, 8)));
    }

    [Fact]
    public void NestedAndInceptionConcatenationsAreWrittenInPlaceAtBatchOne()
    {
        Assert.Equal(0, ConcatCopies(NestedBlock().PrepareForInference(1, 3, 8, 8)));
        Assert.Equal(0, ConcatCopies(InceptionBlocks().PrepareForInference(1, 3, 8, 8)));
    }

    [Fact]
    public void DenseNet121AtBatchOneCopiesNoFeatures()
    {
        var (model, (c, h, w)) = RegistryModels.Build("densenet121");
        Assert.Equal(0, ConcatCopies(model.PrepareForInference(1, c, h, w)));
        Assert.Equal(6 + 12 + 24 + 16, ConcatCopies(model.PrepareForInference(2, c, h, w))); // per block: one per layer after the first, one for the block
    }

    /// <summary>
    /// DenseNet-121 and GoogLeNet with torchvision's weights, prepared at batch 1 (concatenations in place) and at the
    /// file's batch (copied), reproduce torchvision's logits image by image.
    /// </summary>
    [Theory]
    [InlineData("densenet121")]
    [InlineData("googlenet")]
    public void PreparedTorchvisionModelsReproduceTorchvisionLogits(string name)
    {
        string? path = RepoPaths.SharedDir is { } shared ? Path.Combine(shared, "reference", "models", name + ".safetensors") : null;
        Assert.SkipWhen(path == null || !File.Exists(path), $"no torchvision reference for {name} ({path ?? "no shared folder found"}).");
        var file = SafetensorsFile.Load(path!);
        var model = ModelRegistry.Create(name, new ModelOptions(3, 1000, Generator: new Generator(0)));
        model.LoadStateDict(file.Names.Where(n => !n.StartsWith("__", StringComparison.Ordinal)).Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))));
        model.Eval();
        var input = file.GetTensor("__input__");
        var expected = file.GetTensor("__logits__");
        int n = input.Size(0), c = input.Size(1), h = input.Size(2), w = input.Size(3);

        Close.Assert(expected, model.PrepareForInference(n, c, h, w).Run(input), 1e-3, 1e-3, $"{name} at batch {n}");
        var single = model.PrepareForInference(1, c, h, w);
        Assert.Equal(0, ConcatCopies(single));
        int image = c * h * w, classes = expected.Size(1);
        for (int i = 0; i < n; i++)
        {
            var one = Tensor.Zeros(1, c, h, w);
            input.ReadOnlySpan.Slice(i * image, image).CopyTo(one.Span);
            var logits = single.Run(one);
            Close.Assert(expected.ReadOnlySpan.Slice(i * classes, classes), logits.ReadOnlySpan, 1e-3, 1e-3, $"{name} image {i} at batch 1");
        }
    }
}
