using Microsoft.ML.OnnxRuntime;
using Striate.IO;
using Striate.Onnx;
using Striate.Tests.IO.Pth;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Cli;

/// <summary>
/// <c>striate export</c> run as the real program: PyTorch .pth weights → Striate → ONNX file → ONNX Runtime gives the
/// logits PyTorch computed; metadata, opsets, dynamic batch, atomic writes and one-line errors.
/// </summary>
public sealed class ExportCommandLineTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-export-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    /// <summary>"Within 1e-4 relative" as the interop tests: |Δ| ≤ 1e-4 · max |logit|.</summary>
    private static double CompareWithPyTorch(string onnxPath, string ioPath, string what, ITestOutputHelper output)
    {
        var io = SafetensorsFile.Load(ioPath);
        var expected = io.GetTensor("__logits__");
        var actual = OnnxRuntimeRunner.Run(File.ReadAllBytes(onnxPath), io.GetTensor("__input__"));
        double scale = expected.ToArray().Max(v => Math.Abs(v));
        double diff = OnnxRuntimeRunner.MaxAbsDifference(expected, actual);
        output.WriteLine($"{what}: PyTorch vs ONNX Runtime on the exported file, max |Δlogit| = {diff:E2} ({diff / scale:E2} of the largest logit)");
        Close.Assert(expected, actual, 0, 1e-4 * scale, what);
        return diff;
    }

    [Fact]
    public void APyTorchPthExportedByStriateGivesPyTorchsLogitsInOnnxRuntime()
    {
        var r = StriateProcess.RunIn(_dir, "export", PthFixtures.PathOf("lenet_relu_f16.pth"), "--model", "lenet-relu", "--out", "lenet.onnx", "--dynamic-batch");
        StriateProcess.AssertOk(r);
        Assert.Contains("lenet.onnx: lenet-relu 1×28×28, opset 17, dynamic batch", r.Stdout);
        Assert.Equal([Out("lenet.onnx")], Directory.GetFiles(_dir)); // no temporary file left behind
        CompareWithPyTorch(Out("lenet.onnx"), PthFixtures.PathOf("lenet_relu_f16.io.safetensors"), "lenet_relu_f16.pth", output); // batch 2

        using var session = new InferenceSession(Out("lenet.onnx"));
        var metadata = OnnxMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, "lenet.onnx");
        Assert.Equal("lenet-relu", metadata.ModelName);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString()), metadata.ClassNames);
        Assert.Null(metadata.NormalizeMean); // a 1-channel weights file without a training run: raw pixels
    }

    [Fact]
    public void TheSharedPyTorchCheckpointsExportAndGivePyTorchsLogits()
    {
        var folder = RepoPaths.InteropReference;
        Assert.SkipWhen(folder == null, "no interop reference folder; set STRIATE_INTEROP_REFERENCE_DIR.");
        var pth = Path.Combine(folder!, "pth");
        var files = Directory.GetFiles(pth, "*.pth").Where(f => !Path.GetFileName(f).StartsWith("evil_", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.SkipWhen(files.Count == 0, $"{pth} holds no .pth files");
        int compared = 0;
        foreach (var path in files)
        {
            string stem = Path.GetFileNameWithoutExtension(path);
            string ioPath = Path.Combine(pth, (stem.EndsWith("_legacy", StringComparison.Ordinal) ? stem[..^"_legacy".Length] : stem) + ".io.safetensors");
            if (!File.Exists(ioPath)) { output.WriteLine($"{stem}: no {Path.GetFileName(ioPath)}, not exported"); continue; }
            var io = SafetensorsFile.Load(ioPath);
            var shape = io.GetShape("__input__");
            string onnx = Out(stem + ".onnx");
            var r = StriateProcess.Run("export", path, "--model", io.Metadata["model"], "--out", onnx, "--dynamic-batch", "--input", $"{shape[1]}x{shape[2]}x{shape[3]}");
            StriateProcess.AssertOk(r);
            CompareWithPyTorch(onnx, ioPath, Path.GetFileName(path), output);
            using var session = new InferenceSession(onnx);
            var metadata = OnnxMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, onnx);
            Assert.Equal([0.485f, 0.456f, 0.406f], Assert.IsType<float[]>(metadata.NormalizeMean)); // torchvision weights expect ImageNet's statistics
            File.Delete(onnx);
            compared++;
        }
        // Exporting nothing is not a pass of "give PyTorch's logits" (as OnnxImportTests).
        Assert.SkipWhen(compared == 0, $"{pth}: no .pth has an .io.safetensors with PyTorch's logits beside it");
    }

    [Fact]
    public void ARegistryModelExportsWithFreshWeightsAtAnyOpsetAndReplacesAnExistingFile()
    {
        File.WriteAllText(Out("r.onnx"), "old");
        var r = StriateProcess.Run("export", "resnet18", "--out", Out("r.onnx"), "--input", "3x32x32", "--opset", "13", "--classes", "7");
        StriateProcess.AssertOk(r);
        Assert.Equal([Out("r.onnx")], Directory.GetFiles(_dir));
        using var session = new InferenceSession(Out("r.onnx"));
        Assert.Equal([1, 3, 32, 32], session.InputMetadata["input"].Dimensions);
        Assert.Equal([1, 7], session.OutputMetadata["logits"].Dimensions);
        var proto = Striate.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Out("r.onnx")));
        Assert.Equal(13, Assert.Single(proto.OpsetImport).Version);
        var logits = OnnxRuntimeRunner.Run(session, Tensor.Rand([1, 3, 32, 32], new Generator(1)));
        Assert.All(logits.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData("--out: the folder", "resnet18", "--out", "no-such-folder/x.onnx")]
    [InlineData("foo is neither a file nor a registry model (alexnet,", "foo", "--out", "x.onnx")]
    [InlineData("--opset 9 is not supported; choose 13 to 21", "lenet", "--out", "x.onnx", "--opset", "9")]
    [InlineData("lenet: input 1×32×32 does not fit; its fully connected layers need 1×28×28", "lenet", "--out", "x.onnx", "--input", "1x32x32")]
    [InlineData("alexnet: input 3×32×32 is too small; the smallest size it accepts is 3×63×63", "alexnet", "--out", "x.onnx", "--input", "3x32x32")]
    [InlineData("--input must be three positive sizes CxHxW", "resnet18", "--out", "x.onnx", "--input", "3x0x8")]
    public void BadArgumentsFailInOneLineAndWriteNothing(string expected, params string[] args)
    {
        var r = StriateProcess.RunIn(_dir, ["export", .. args]);
        StriateProcess.AssertOneLineError(r, expected);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void AWeightsFileThatDoesNotFitItsModelFailsInOneLine()
    {
        var r = StriateProcess.RunIn(_dir, "export", PthFixtures.PathOf("views.pth"), "--model", "lenet-relu", "--out", "x.onnx");
        StriateProcess.AssertOneLineError(r, "does not fit model 'lenet-relu'");
        r = StriateProcess.RunIn(_dir, "export", PthFixtures.PathOf("lenet_relu_f16.pth"), "--model", "lenet-relu", "--out", "x.onnx", "--input", "3x28x28");
        StriateProcess.AssertOneLineError(r, "holds a model with 1 input channels");
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }
}
