using Striate.Autograd;
using Striate.Functional;
using Striate.IO;
using Striate.Nn;
using Striate.Onnx;
using Striate.Optim;
using Striate.Tests.TestSupport;
using Striate.Tests.Training;

namespace Striate.Tests.Onnx;

/// <summary>
/// ONNX import: the file PyTorch wrote gives PyTorch's logits; every registry model survives export → import; a file
/// using every imported operator agrees with ONNX Runtime; an imported model fine-tunes (gradients reach every
/// initializer).
/// </summary>
// Alone: the fine-tuning test seeds Generator.Default for the graph's dropout, and a test of another class drawing from
// it meanwhile changed the masks (the loss diverged in CI at 18:38).
[Collection(nameof(GlobalGeneratorCollection))]
public sealed class OnnxImportTests(ITestOutputHelper output)
{
    private static Tensor Forward(Module model, Tensor input)
    {
        using var noGrad = GradMode.NoGrad();
        return model.Call(input).Clone();
    }

    [Fact]
    public void TheOnnxFilesPyTorchWroteImportAndGivePyTorchsLogits()
    {
        var folder = RepoPaths.InteropReference is { } root ? Path.Combine(root, "onnx") : null;
        Assert.SkipWhen(folder == null || !Directory.Exists(folder), "no interop reference folder with onnx/; set STRIATE_INTEROP_REFERENCE_DIR.");
        var files = Directory.GetFiles(folder!, "*.onnx").Order(StringComparer.Ordinal).ToList();
        Assert.SkipWhen(files.Count == 0, $"{folder} holds no .onnx files");
        int compared = 0;
        foreach (var path in files)
        {
            var ioPath = Path.ChangeExtension(path, ".io.safetensors");
            var model = OnnxModel.Load(path);
            model.Eval();
            Assert.NotEmpty(model.Parameters());
            if (!File.Exists(ioPath)) { output.WriteLine($"{Path.GetFileName(path)}: imported, no {Path.GetFileName(ioPath)} to compare"); continue; }
            var io = SafetensorsFile.Load(ioPath);
            var expected = io.GetTensor("__logits__");
            var actual = Forward(model, io.GetTensor("__input__"));
            double scale = expected.ToArray().Max(v => Math.Abs(v));
            double diff = OnnxRuntimeRunner.MaxAbsDifference(expected, actual);
            output.WriteLine($"{Path.GetFileName(path)} (opset {model.Opset}, {model.Producer}, {model.Graph.Nodes.Count} nodes): max |Δlogit| vs PyTorch {diff:E2} ({diff / scale:E2} of the largest logit)");
            Close.Assert(expected, actual, 0, 1e-4 * scale, $"{Path.GetFileName(path)} imported");
            compared++;
        }
        // Imported but compared with nothing is not a pass of "give PyTorch's logits".
        Assert.SkipWhen(compared == 0, $"{folder}: every .onnx imported, but none has an .io.safetensors with PyTorch's logits beside it");
    }

    [Theory]
    [MemberData(nameof(RegistryModels.Names), MemberType = typeof(RegistryModels))]
    public void EveryRegistryModelSurvivesExportThenImport(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        var bytes = OnnxExport.ToBytes(model, (c, h, w));
        var imported = OnnxModel.Load(bytes, name + ".onnx");
        imported.Eval();
        var input = Tensor.Rand([2, c, h, w], new Generator(21), -1f, 1f);
        var expected = Forward(model, input);
        var actual = Forward(imported, input);
        double diff = OnnxRuntimeRunner.MaxAbsDifference(expected, actual);
        output.WriteLine($"{name} {c}x{h}x{w}: exported at batch 1, imported, run at batch 2: max |Δlogit| {diff:G3}; {imported.Graph.Nodes.Count} nodes");
        Close.Assert(expected, actual, 1e-5, 1e-5, $"{name} after export and import");
        // Parameters keep their state-dict names and values.
        var original = model.StateDict().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, tensor) in imported.NamedParameters())
        {
            Assert.True(original.TryGetValue(key, out var source), $"{name}: imported parameter '{key}' is not a parameter of the model");
            Assert.Equal(source.ToArray(), tensor.ToArray());
        }
        Assert.Equal(model.NamedParameters().Count(), imported.NamedParameters().Count());
    }

    [Theory]
    [InlineData(false, 13)]
    [InlineData(true, 13)]
    [InlineData(true, 17)]
    public void EveryImportedOperatorAgreesWithOnnxRuntime(bool symbolicBatch, int opset)
    {
        var bytes = HandBuiltOnnx.EveryImportedOp(symbolicBatch, opset);
        var model = OnnxModel.Load(bytes, "every_op.onnx");
        model.Eval();
        foreach (int n in symbolicBatch ? new[] { 1, 3 } : [1])
        {
            var input = Tensor.Rand([n, 3, 9, 8], new Generator(31), -1f, 1f);
            var expected = OnnxRuntimeRunner.Run(bytes, input);
            var actual = Forward(model, input);
            output.WriteLine($"batch {n}, opset {opset}: max |Δ| vs ONNX Runtime {OnnxRuntimeRunner.MaxAbsDifference(expected, actual):G3}");
            Close.Assert(expected, actual, 1e-4, 1e-5, $"every-op file at batch {n}");
        }
        var names = model.NamedParameters().Select(p => p.Key).ToList();
        Assert.Contains("conv1.weight", names);
        Assert.Contains("onnx__Conv_7", names);       // a name with '::' made a valid member name
        Assert.Contains("fc1.weight_t", names);        // MatMul's [in, out] matrix, kept as a parameter (transposed)
        Assert.Contains("fc1.bias", names);            // the Add after MatMul became the Linear's bias
        Assert.Equal(["bn.running_mean", "bn.running_var"], model.NamedBuffers().Select(p => p.Key));
        Assert.DoesNotContain(model.Graph.Nodes, n => n.Op is Striate.Graph.AddOp && n.ModuleType == "Add" && n.Inputs.Any(v => v?.Name == "fc1.bias"));
    }

    [Fact]
    public void AnImportedModelFineTunesAndGradientsReachEveryInitializer()
    {
        // The graph's training-mode Dropout draws from Generator.Default: seed it, or the outcome of these 12 steps
        // depends on which tests drew from it before (with some masks the training diverges).
        Generator.Manual(0);
        var model = OnnxModel.Load(HandBuiltOnnx.EveryImportedOp(symbolicBatch: true), "every_op.onnx");
        model.Train();
        var input = Tensor.Rand([8, 3, 9, 8], new Generator(41), -1f, 1f);
        int[] targets = [0, 1, 2, 3, 4, 5, 6, 7];
        var before = model.NamedParameters().ToDictionary(p => p.Key, p => p.Value.ToArray());
        var runningMean = model.NamedBuffers().First().Value.ToArray();
        var optimizer = new Sgd(model.Parameters(), lr: 0.1f, momentum: 0.9f);
        var losses = new List<float>();
        for (int step = 0; step < 12; step++)
        {
            optimizer.ZeroGrad();
            var loss = F.CrossEntropy(F.Mul(model.Call(input), 3f), targets);
            loss.Backward();
            if (step == 0)
                foreach (var (key, p) in model.NamedParameters())
                    Assert.True(p.Grad != null && p.Grad.ToArray().Any(g => g != 0), $"no gradient reached '{key}'");
            optimizer.Step();
            losses.Add(loss.ToArray()[0]);
        }
        output.WriteLine($"cross-entropy over 12 SGD steps: {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        Assert.True(losses.TakeLast(3).Average() < 0.8 * losses[0], $"the loss did not fall: {string.Join(", ", losses)}");
        foreach (var (key, p) in model.NamedParameters()) Assert.NotEqual(before[key], p.ToArray());
        Assert.NotEqual(runningMean, model.NamedBuffers().First().Value.ToArray()); // batch norm trained on batch statistics
    }
}
