using Striate.Data;
using Striate.IO;
using Striate.Tests.IO.Pth;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Cli;

/// <summary>
/// PyTorch .pth files through the striate command: convert, predict, summary and eval accept them, hostile ones are
/// refused in one line naming their global (run in an empty working directory, where no PWNED file may appear).
/// </summary>
public sealed class PthCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-pth-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    public static TheoryData<string, string> HostileFiles => new()
    {
        { "evil_os_system.pth", "posix.system" },
        { "evil_inst.pth", "os.system" },
        { "evil_eval.pth", "__builtin__.eval" },
        { "evil_eval_p4.pth", "builtins.eval" },
        { "evil_module.pth", "torch.nn.modules.linear.Linear" },
        { "evil_module_legacy.pth", "torch.nn.modules.linear.Linear" },
        { "evil_parameter.pth", "torch._utils._rebuild_parameter" },
        { "evil_storage_type.pth", "posix.system" },
    };

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void AHostileFileIsRefusedInOneLineAndNothingRuns(string file, string global)
    {
        var r = StriateProcess.RunIn(_dir, "convert", PthFixtures.PathOf(file), "out.safetensors");
        StriateProcess.AssertOneLineError(r, $"{global} is a Python global outside Striate's allowlist");
        Assert.Contains("torch.save(model.state_dict(), path)", r.Stderr);
        Assert.False(File.Exists(Out("out.safetensors")));
        Assert.Empty(Directory.GetFileSystemEntries(_dir)); // no PWNED, no temporary file left behind
    }

    [Fact]
    public void TheSharedHostileFilesAreRefusedAsWell()
    {
        string? folder = Environment.GetEnvironmentVariable("STRIATE_INTEROP_REFERENCE_DIR") is { Length: > 0 } d ? d
            : RepoPaths.SharedDir is { } shared ? Path.Combine(shared, "reference", "interop") : null;
        Assert.SkipWhen(folder == null || !Directory.Exists(Path.Combine(folder, "pth")), "no interop reference folder; set STRIATE_INTEROP_REFERENCE_DIR.");
        var files = Directory.GetFiles(Path.Combine(folder!, "pth"), "evil_*.pth");
        Assert.NotEmpty(files); // a reference folder without its hostile files would pass having refused nothing
        foreach (var path in files)
        {
            var r = StriateProcess.RunIn(_dir, "predict", path, "x.png", "--model", "resnet18");
            StriateProcess.AssertOneLineError(r, "is a Python global outside Striate's allowlist");
        }
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void ConvertWritesF32WeightsAndI64Integers()
    {
        var r = StriateProcess.Run("convert", PthFixtures.PathOf("views_legacy.pth"), Out("views.safetensors"));
        StriateProcess.AssertOk(r);
        Assert.Contains("19 tensors (12 F32, 7 I64)", r.Stdout);
        var file = SafetensorsFile.Load(Out("views.safetensors"));
        var expected = SafetensorsFile.Load(PthFixtures.PathOf("views.expected.safetensors"));
        Assert.Equal(expected.Names, file.Names);
        foreach (var name in expected.Names)
        {
            Assert.Equal(expected.GetDtype(name) == SafetensorsDtype.I64 ? SafetensorsDtype.I64 : SafetensorsDtype.F32, file.GetDtype(name));
            Assert.Equal(expected.GetShape(name), file.GetShape(name));
            if (file.GetDtype(name) == SafetensorsDtype.I64) Assert.Equal(expected.GetInt64(name), file.GetInt64(name));
            else Assert.Equal(expected.GetTensor(name).ToArray(), file.GetTensor(name).ToArray());
        }
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("views_legacy.pth", file.Metadata["source"]);
    }

    [Fact]
    public void ConvertNeedsAKeyWhenACheckpointHoldsSeveralStateDicts()
    {
        var r = StriateProcess.Run("convert", PthFixtures.PathOf("nested.pth"), Out("a.safetensors"));
        StriateProcess.AssertOneLineError(r, "the file holds 2 state dicts ('model', 'model_ema'); pick one with --key NAME");
        r = StriateProcess.Run("convert", PthFixtures.PathOf("nested.pth"), Out("a.safetensors"), "--key", "model_ema");
        StriateProcess.AssertOk(r);
        Assert.Contains("key 'model_ema'", r.Stdout);
        Assert.Equal("model_ema", SafetensorsFile.Load(Out("a.safetensors")).Metadata["key"]);
    }

    [Fact]
    public void ConvertRenamesOldDenseNetKeys()
    {
        var r = StriateProcess.Run("convert", PthFixtures.PathOf("densenet_old_keys.pth"), Out("d.safetensors"));
        StriateProcess.AssertOk(r);
        Assert.Contains("5 old key names renamed as torchvision does", r.Stdout);
        Assert.Contains("features.denseblock1.denselayer1.norm1.weight", SafetensorsFile.Load(Out("d.safetensors")).Names);
    }

    [Fact]
    public void ConvertWithModelChecksTheWeightsAndRecordsTheModelForLaterCommands()
    {
        var r = StriateProcess.Run("convert", PthFixtures.PathOf("views.pth"), Out("x.safetensors"), "--model", "lenet-relu");
        StriateProcess.AssertOneLineError(r, "does not fit model 'lenet-relu'");
        Assert.False(File.Exists(Out("x.safetensors")));

        r = StriateProcess.Run("convert", PthFixtures.PathOf("lenet_relu_f16.pth"), Out("lenet.safetensors"), "--model", "lenet-relu");
        StriateProcess.AssertOk(r);
        Assert.Equal("lenet-relu", SafetensorsFile.Load(Out("lenet.safetensors")).Metadata["model"]);

        string image = Out("digit.png");
        PngCodec.Save(image, Enumerable.Range(0, 28 * 28).Select(i => (byte)(i % 251)).ToArray(), 28, 28, 1);
        var fromPth = StriateProcess.Run("predict", PthFixtures.PathOf("lenet_relu_f16.pth"), image, "--model", "lenet-relu");
        var fromSafetensors = StriateProcess.Run("predict", Out("lenet.safetensors"), image);
        StriateProcess.AssertOk(fromPth);
        StriateProcess.AssertOk(fromSafetensors);
        Assert.Equal(fromPth.Stdout.Split('\n').Skip(1), fromSafetensors.Stdout.Split('\n').Skip(1)); // the same top-5 (first line names the image)
    }

    [Fact]
    public void APthWithoutModelAsksForOneInsteadOfMisreadingItAsSafetensors()
    {
        string image = Out("digit.png");
        PngCodec.Save(image, new byte[28 * 28], 28, 28, 1);
        var r = StriateProcess.Run("predict", PthFixtures.PathOf("lenet_relu_f16.pth"), image);
        StriateProcess.AssertOneLineError(r, "does not say which model it holds; pass --model NAME");
        Assert.DoesNotContain("header length", r.Stderr);
        r = StriateProcess.Run("predict", Out("digit.png"), image);
        StriateProcess.AssertOneLineError(r, "digit.png");
    }

    [Fact]
    public void SummaryAndEvalAcceptAPth()
    {
        var r = StriateProcess.Run("summary", PthFixtures.PathOf("lenet_relu_f16.pth"), "--model", "lenet-relu");
        StriateProcess.AssertOk(r);
        Assert.Contains("Total parameters: 61,706", r.Stdout);
        r = StriateProcess.Run("eval", PthFixtures.PathOf("lenet_relu_f16.pth"), "--model", "lenet-relu", "--dataset", "mnist",
            "--data", Path.Combine(RepoPaths.Root, "data"), "--limit", "200");
        StriateProcess.AssertOk(r);
        Assert.Contains("top-1", r.Stdout);
    }
}
