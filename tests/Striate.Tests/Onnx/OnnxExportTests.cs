using Striate.Autograd;
using Striate.Functional;
using Striate.Models;
using Striate.Nn;
using Striate.Onnx;
using Striate.Onnx.Proto;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Onnx;

/// <summary>
/// Exported files run in the real ONNX Runtime and give Striate's own logits: every registry model, models composed
/// from Striate's layers (every op the exporter writes), a dynamic batch, each supported opset path; ops with no
/// ONNX form fail naming the op and the module.
/// </summary>
public sealed class OnnxExportTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(RegistryModels.Names), MemberType = typeof(RegistryModels))]
    public void EveryRegistryModelRunsInOnnxRuntimeWithStriatesLogits(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        var input = Tensor.Rand([1, c, h, w], new Generator(11), -1f, 1f);
        var bytes = OnnxExport.ToBytes(model, (c, h, w));
        var expected = Forward(model, input);
        var actual = OnnxRuntimeRunner.Run(bytes, input);
        double diff = OnnxRuntimeRunner.MaxAbsDifference(expected, actual);
        double largest = expected.ToArray().Max(v => Math.Abs(v));
        output.WriteLine($"{name} {c}x{h}x{w}: largest |logit difference| Striate vs ONNX Runtime {diff:G3} (largest |logit| {largest:G3}; {bytes.Length / 1e6:F1} MB)");
        Close.Assert(expected, actual, 1e-4, 1e-4, $"{name} in ONNX Runtime");
        KeepForChecker($"{name}.onnx", bytes);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("d2l-densenet")]
    [InlineData("lenet")]
    public void DynamicBatchRunsAnyBatchSize(string name)
    {
        var (model, (c, h, w)) = RegistryModels.Build(name);
        var bytes = OnnxExport.ToBytes(model, (c, h, w), new OnnxExportOptions { DynamicBatch = true });
        var proto = ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal("batch", proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal("batch", proto.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimParam);
        KeepForChecker($"{name}_dynamic.onnx", bytes);
        foreach (int n in new[] { 1, 3 })
        {
            var input = Tensor.Rand([n, c, h, w], new Generator(12), -1f, 1f);
            Close.Assert(Forward(model, input), OnnxRuntimeRunner.Run(bytes, input), 1e-4, 1e-4, $"{name} at batch {n}");
        }
    }

    [Fact]
    public void FixedBatchFilesNameTheirShapesAndState()
    {
        var (model, (c, h, w)) = RegistryModels.Build("resnet18");
        var proto = ModelProto.Parser.ParseFrom(OnnxExport.ToBytes(model, (c, h, w), new OnnxExportOptions { BatchSize = 2 }));
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport).Version);
        Assert.Equal("striate", proto.ProducerName);
        Assert.Equal([2, 3, 32, 32], proto.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue));
        Assert.Equal("input", proto.Graph.Input[0].Name);
        Assert.Equal("logits", proto.Graph.Output[0].Name);
        var initializers = proto.Graph.Initializer.Select(t => t.Name).ToHashSet();
        Assert.Contains("layer1.0.conv1.weight", initializers);
        Assert.Contains("layer4.1.bn2.running_var", initializers);
        Assert.Contains("fc.bias", initializers);
        Assert.DoesNotContain("bn1.num_batches_tracked", initializers);
        var add = proto.Graph.Node.First(n => n.OpType == "Add");
        Assert.Equal("/layer1.0/Add", add.Name);
        Assert.Equal(8, proto.Graph.Node.Count(n => n.OpType == "Add"));
        Assert.Equal("logits", proto.Graph.Node[^1].Output[0]);
    }

    [Fact]
    public void MetadataCarriesClassNamesAndNormalization()
    {
        var model = LeNet.CreateRelu(generator: new Generator(1));
        var metadata = new OnnxMetadata
        {
            ModelName = "lenet-relu",
            ClassNames = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine \"9\""],
            NormalizeMean = [0.1307f],
            NormalizeStd = [0.3081f],
        };
        var bytes = OnnxExport.ToBytes(model, (1, 28, 28), new OnnxExportOptions { Metadata = metadata });
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(bytes);
        var map = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("lenet-relu", map["model"]);
        Assert.Equal("[0.1307]", map["normalize_mean"]);
        var read = OnnxMetadata.FromProperties(map, "test");
        Assert.Equal(metadata.ClassNames, read.ClassNames);
        Assert.Equal(metadata.NormalizeStd, read.NormalizeStd);
        Assert.Equal("striate", session.ModelMetadata.ProducerName);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(17)]
    [InlineData(18)]
    [InlineData(21)]
    public void ComposedModelsWithEveryExportedOpRunInEachOpset(int opset)
    {
        var model = new EveryOp(new Generator(3));
        RegistryModels.RandomizeStatistics(model, new Generator(4));
        model.Eval();
        var input = Tensor.Rand([2, 3, 13, 11], new Generator(5), -1f, 1f);
        foreach (bool dynamic in new[] { false, true })
        {
            var bytes = OnnxExport.ToBytes(model, (3, 13, 11), new OnnxExportOptions { Opset = opset, BatchSize = 2, DynamicBatch = dynamic });
            var expected = Forward(model, input);
            var actual = OnnxRuntimeRunner.Run(bytes, input);
            output.WriteLine($"opset {opset}{(dynamic ? " dynamic" : "")}: largest difference {OnnxRuntimeRunner.MaxAbsDifference(expected, actual):G3}");
            Close.Assert(expected, actual, 1e-4, 1e-5, $"every-op model at opset {opset}");
            if (opset <= 17) KeepForChecker($"every_op_opset{opset}{(dynamic ? "_dynamic" : "")}.onnx", bytes);
        }
    }

    [Fact]
    public void ScalarOutputsAndIdentityModelsExport()
    {
        var sum = OnnxExport.ToBytes(new SumModel(), (2, 3, 4));
        var input = Tensor.Rand([1, 2, 3, 4], new Generator(1));
        Close.Assert(Forward(new SumModel(), input), OnnxRuntimeRunner.Run(sum, input), 1e-5, 1e-5, "sum and mean");
        var identity = OnnxExport.ToBytes(new Identity(), (2, 3, 4));
        Close.Assert(input, OnnxRuntimeRunner.Run(identity, input), 0, 0, "identity");
    }

    [Fact]
    public void TensorArithmeticWithBroadcastingAndScalarsExports()
    {
        var model = new Arithmetic();
        var input = Tensor.Rand([2, 3, 4, 5], new Generator(6), -1f, 1f);
        var expected = Forward(model, input);
        foreach (bool dynamic in new[] { false, true })
        {
            var bytes = OnnxExport.ToBytes(model, (3, 4, 5), new OnnxExportOptions { BatchSize = 2, DynamicBatch = dynamic });
            Close.Assert(expected, OnnxRuntimeRunner.Run(bytes, input), 1e-5, 1e-5, $"arithmetic model{(dynamic ? " (dynamic batch)" : "")}");
        }
    }

    [Fact]
    public void AnOpWithNoOnnxFormFailsNamingTheOpAndTheModule()
    {
        var model = new Sequential(("features", new Sequential(new Conv2d(3, 4, 3, generator: new Generator(1)), new LocalResponseNorm(4))));
        var e = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(model, (3, 8, 8)));
        Assert.Contains("LocalResponseNorm in 'features.1' (LocalResponseNorm)", e.Message);
        Assert.Contains("even size (4)", e.Message);

        var reshape = Assert.Throws<NotSupportedException>(() =>
            OnnxExport.ToBytes(new BatchMixingReshape(), (2, 3, 3), new OnnxExportOptions { DynamicBatch = true }));
        Assert.Contains("Reshape in '<model>' (BatchMixingReshape)", reshape.Message);
        Assert.Contains("mixes the batch dimension", reshape.Message);

        var opset = Assert.Throws<ArgumentException>(() => OnnxExport.ToBytes(new Identity(), (1, 2, 2), new OnnxExportOptions { Opset = 9 }));
        Assert.Contains("opset 9 is not supported; choose 13 to 21", opset.Message);
    }

    [Fact]
    public void SaveWritesAtomicallyAndLeavesNoTemporaryFile()
    {
        string folder = Path.Combine(Path.GetTempPath(), "striate-onnx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, "lenet.onnx");
            var model = LeNet.Create(generator: new Generator(1));
            OnnxExport.Save(model, path, (1, 28, 28));
            Assert.Equal([path], Directory.GetFiles(folder));
            var input = Tensor.Rand([1, 1, 28, 28], new Generator(2));
            Close.Assert(Forward(model.Eval(), input), OnnxRuntimeRunner.Run(File.ReadAllBytes(path), input), 1e-4, 1e-5, "saved lenet");
            var missing = Path.Combine(folder, "no-such-folder", "x.onnx");
            Assert.Throws<DirectoryNotFoundException>(() => OnnxExport.Save(model, missing, (1, 28, 28)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> into the folder named by STRIATE_ONNX_EXPORT_DIR, when set, for onnx.checker
    /// (tests/onnx/check_exported.py, run by .ci/run; python3-onnx 1.12 knows opsets up to 17).
    /// </summary>
    internal static void KeepForChecker(string fileName, byte[] bytes)
    {
        if (Environment.GetEnvironmentVariable("STRIATE_ONNX_EXPORT_DIR") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, fileName), bytes);
        }
    }

    internal static Tensor Forward(Module model, Tensor input)
    {
        using var noGrad = GradMode.NoGrad();
        return model.Call(input).Clone();
    }

    /// <summary>A model that runs every op the exporter writes, in shapes that exercise the special cases.</summary>
    internal sealed class EveryOp : Module
    {
        private readonly Conv2d _conv, _grouped, _dilated;
        private readonly BatchNorm2d _bn, _bnPlain;
        private readonly BatchNorm1d _bn1d;
        private readonly Linear _linear, _linear3d;

        public EveryOp(Generator g)
        {
            _conv = RegisterModule("conv", new Conv2d(3, 8, (3, 2), stride: (2, 1), padding: (1, 0), generator: g));
            _grouped = RegisterModule("grouped", new Conv2d(8, 8, 3, padding: 1, groups: 4, bias: false, generator: g));
            _dilated = RegisterModule("dilated", new Conv2d(8, 6, 3, padding: 2, dilation: 2, generator: g));
            _bn = RegisterModule("bn", new BatchNorm2d(8));
            _bnPlain = RegisterModule("bn_plain", new BatchNorm2d(6, affine: false));
            _bn1d = RegisterModule("bn1d", new BatchNorm1d(12));
            _linear = RegisterModule("linear", new Linear(48, 12, generator: g));
            _linear3d = RegisterModule("linear3d", new Linear(6, 4, generator: g));
        }

        public override Tensor Forward(Tensor input)
        {
            var x = F.LeakyRelu(_bn.Call(_conv.Call(input)), 0.2f);                       // [N, 8, 7, 10]
            var y = F.Relu6(_grouped.Call(x));
            x = F.Add(x, F.Mul(F.Sigmoid(y), F.Tanh(x)));
            x = F.LocalResponseNorm(x, 3, 1e-3f, 0.7f, 1.5f);
            x = F.Mul(_bnPlain.Call(_dilated.Call(x)), 0.5f);                               // [N, 6, 7, 10]
            var up = F.InterpolateBilinear(x, 9, 13);
            var scaled = F.InterpolateBilinear(x, 1.5);                                      // [N, 6, 10, 15]
            var maxed = F.MaxPool2d(up, 3, 2, 1, ceilMode: true);                           // [N, 6, 5, 7]
            var avg = F.AvgPool2d(scaled, 3, 2, 1, ceilMode: false, countIncludePad: false); // [N, 6, 5, 8]
            var fixedDivisor = F.AvgPool2d(scaled, 2, 2, divisorOverride: 3);               // [N, 6, 5, 7]
            var adaptiveAvg = F.AdaptiveAvgPool2d(avg, 3, 2);                               // non-divisible: products
            var adaptiveMax = F.AdaptiveMaxPool2d(F.Add(maxed, fixedDivisor), 3, 2);         // non-divisible: bands
            var pooled = F.Concat(adaptiveAvg, adaptiveMax);                                 // [N, 12, 3, 2]
            var global = F.AdaptiveAvgPool2d(pooled, 1).Flatten(1);                       // [N, 12]
            var features = F.Concat([F.Flatten(adaptiveAvg, 1), F.Relu(_bn1d.Call(global))], dim: 1); // [N, 48]
            var logits = _linear.Call(features);                                             // [N, 12]
            var grid = F.Flatten(pooled, 2);                                                // [N, 12, 6]
            var head = _linear3d.Call(grid);                                                 // [N, 12, 4]
            var flat = head.Reshape(head.Size(0), -1);                                       // [N, 48]
            return F.Concat([F.LogSoftmax(logits, 1), F.Softmax(flat, 1)], dim: 1);
        }
    }

    /// <summary>Every arithmetic op: tensor ∘ tensor with broadcasting (per channel, per row), and scalars on either side.</summary>
    internal sealed class Arithmetic : Module
    {
        private readonly Tensor _shift = Tensor.FromArray([0.1f, -0.2f, 0.3f], 3, 1, 1);
        private readonly Tensor _row = Tensor.FromArray([1f, 2f, 3f, 4f, 5f], 5);

        public override Tensor Forward(Tensor x)
        {
            var y = (x - _shift) / (F.Sigmoid(x) + 0.5f) * _row;   // broadcast Sub, Div, Mul; AddScalar
            var z = 2f - y * 0.5f;                                  // RSubScalar, Scale
            var w = -z + 1f / (x * x + 1f);                         // Neg, RDivScalar, Mul
            return w / 3f - 0.25f + F.Mean(x);                      // DivScalar, AddScalar, Add with a rank-0 tensor
        }
    }

    private sealed class SumModel : Module
    {
        public override Tensor Forward(Tensor input) => F.Add(F.Sum(input), F.Mean(F.Relu(input)));
    }

    private sealed class BatchMixingReshape : Module
    {
        public override Tensor Forward(Tensor input) => input.Reshape(-1);
    }
}
