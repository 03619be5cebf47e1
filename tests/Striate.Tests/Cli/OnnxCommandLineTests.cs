using Striate.Data;
using Striate.Onnx;
using Striate.Tests.IO.Pth;
using Striate.Tests.Onnx;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Cli;

/// <summary>
/// ONNX files through the striate command: predict, summary and eval take them like weights files (and agree with the
/// weights they were exported from); broken or unsupported files fail in one line.
/// </summary>
public sealed class OnnxCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-onnx-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    private string ExportLenet()
    {
        StriateProcess.AssertOk(StriateProcess.Run("export", PthFixtures.PathOf("lenet_relu_f16.pth"), "--model", "lenet-relu", "--out", Out("lenet.onnx")));
        return Out("lenet.onnx");
    }

    [Fact]
    public void PredictSummaryAndEvalTakeAnOnnxFileAndAgreeWithTheWeightsItCameFrom()
    {
        string onnx = ExportLenet();
        string image = Out("digit.png");
        PngCodec.Save(image, Enumerable.Range(0, 28 * 28).Select(i => (byte)(i * 7 % 253)).ToArray(), 28, 28, 1);
        var fromPth = StriateProcess.Run("predict", PthFixtures.PathOf("lenet_relu_f16.pth"), image, "--model", "lenet-relu");
        var fromOnnx = StriateProcess.Run("predict", onnx, image);
        StriateProcess.AssertOk(fromPth);
        StriateProcess.AssertOk(fromOnnx);
        Assert.Equal(fromPth.Stdout, fromOnnx.Stdout);

        var summary = StriateProcess.Run("summary", onnx);
        StriateProcess.AssertOk(summary);
        Assert.Contains("lenet.onnx: ONNX opset 17, written by striate", summary.Stdout);
        Assert.Contains("input 'input' [1, 1, 28, 28] → [1, 10]", summary.Stdout);
        Assert.Contains("Total parameters: 61,706", summary.Stdout);
        var json = StriateProcess.Run("summary", onnx, "--json");
        StriateProcess.AssertOk(json);
        Assert.Contains("\"total_parameters\": 61706", json.Stdout);

        string data = Path.Combine(RepoPaths.Root, "data");
        var evalPth = StriateProcess.Run("eval", PthFixtures.PathOf("lenet_relu_f16.pth"), "--model", "lenet-relu", "--dataset", "mnist", "--data", data, "--limit", "200");
        var evalOnnx = StriateProcess.Run("eval", onnx, "--dataset", "mnist", "--data", data, "--limit", "200");
        StriateProcess.AssertOk(evalPth);
        StriateProcess.AssertOk(evalOnnx);
        Assert.Contains("lenet-relu on mnist (200 images)", evalOnnx.Stdout);
        Assert.Equal(evalPth.Stdout, evalOnnx.Stdout);
    }

    [Fact]
    public void TheOnnxFilePyTorchWroteWorksInPredictAndSummary()
    {
        var folder = RepoPaths.InteropReference is { } root ? Path.Combine(root, "onnx") : null;
        Assert.SkipWhen(folder == null || !File.Exists(Path.Combine(folder, "mobilenet_v2.onnx")), "no interop reference onnx/mobilenet_v2.onnx; set STRIATE_INTEROP_REFERENCE_DIR.");
        string path = Path.Combine(folder!, "mobilenet_v2.onnx");
        long parameters = OnnxModel.Load(path).Parameters().Sum(p => (long)p.Numel);
        var summary = StriateProcess.Run("summary", path);
        StriateProcess.AssertOk(summary);
        Assert.Contains("written by pytorch", summary.Stdout);
        Assert.Contains($"Total parameters: {parameters:N0}", summary.Stdout);
        string image = Out("photo.png");
        PngCodec.Save(image, Enumerable.Range(0, 50 * 40 * 3).Select(i => (byte)(i * 13 % 255)).ToArray(), 50, 40, 3);
        var r = StriateProcess.Run("predict", path, image);
        StriateProcess.AssertOneLineError(r, "is 3×40×50 (channels×height×width), but the model expects 3×64×64; pass --fit");
        r = StriateProcess.Run("predict", path, image, "--fit");
        StriateProcess.AssertOk(r);
        Assert.Equal(6, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // the image, then the top 5
    }

    [Fact]
    public void BrokenOrUnsupportedOnnxFilesFailInOneLine()
    {
        var bytes = HandBuiltOnnx.EveryImportedOp(symbolicBatch: true);
        File.WriteAllBytes(Out("cut.onnx"), bytes[..(bytes.Length / 3)]);
        StriateProcess.AssertOneLineError(StriateProcess.Run("summary", Out("cut.onnx")), "cut.onnx: not a valid ONNX file");

        var proto = Striate.Onnx.Proto.ModelProto.Parser.ParseFrom(bytes);
        proto.Graph.Node.First(n => n.OpType == "LRN").OpType = "InstanceNormalization";
        File.WriteAllBytes(Out("unsupported.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(proto));
        string image = Out("x.png");
        PngCodec.Save(image, new byte[9 * 8 * 3], 8, 9, 3);
        StriateProcess.AssertOneLineError(StriateProcess.Run("predict", Out("unsupported.onnx"), image),
            "unsupported.onnx: node '/LRN_11' (InstanceNormalization, opset 13): the operator InstanceNormalization is not supported");

        string onnx = ExportLenet();
        StriateProcess.AssertOneLineError(StriateProcess.Run("predict", onnx, image, "--model", "lenet"), "is an ONNX file, which holds its model; --model and --key apply to weights files");
        StriateProcess.AssertOneLineError(StriateProcess.Run("summary", onnx, "--input", "1x32x32"), "is an ONNX file, which fixes its model and input");
    }
}
