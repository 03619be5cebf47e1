using System.Text.Json;
using Striate.Data;

namespace Striate.Tests.Cli;

/// <summary>The striate command end to end: a smoke training run, resume, predict, and one-line errors for bad input.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TrainWritesMetricsCheckpointAndPlotsAndResumeContinues()
    {
        string outDir = Path.Combine(_dir, "run");
        var r = StriateProcess.Run("train", "lenet-relu", "--dataset", "mnist", "--epochs", "1", "--limit-train", "512", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        foreach (var f in new[] { "metrics.json", "model.safetensors", "curves.svg", "confusion.svg" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), $"{f} missing");
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json"))))
        {
            var epoch = metrics.RootElement.GetProperty("epochs")[0];
            Assert.InRange(epoch.GetProperty("test_accuracy").GetDouble(), 0.0, 1.0); // 8 steps: present and a fraction, not yet learned
            Assert.True(epoch.GetProperty("images_per_second").GetDouble() > 0);
        }

        r = StriateProcess.Run("train", "lenet-relu", "--dataset", "mnist", "--epochs", "2", "--limit-train", "512", "--out", outDir, "--resume");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("Resuming lenet-relu after epoch 1", r.Stdout);
        // More epochs than the checkpoint's recipe re-size its OneCycle schedule: said, not done silently (issue 14).
        Assert.Contains("warning: resuming with a configuration that differs from the checkpoint's (epochs: 1 → 2)", r.Stderr);
        Assert.Contains("onecycle schedule is re-sized", r.Stderr);
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json"))))
            Assert.Equal(2, metrics.RootElement.GetProperty("epochs").GetArrayLength());

        // predict: a real MNIST digit saved as PNG gets five ranked classes; a wrong-size image is refused.
        var test = (InMemoryDataset)Datasets.Open("mnist", train: false, allowDownload: false);
        string digit = Path.Combine(_dir, "digit.png");
        PngCodec.Save(digit, test.RawImage(0).ToArray(), 28, 28, 1);
        r = StriateProcess.Run("predict", Path.Combine(outDir, "model.safetensors"), digit);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Equal(6, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        string big = Path.Combine(_dir, "big.png");
        PngCodec.Save(big, new byte[32 * 32 * 3], 32, 32, 3);
        StriateProcess.AssertOneLineError(StriateProcess.Run("predict", Path.Combine(outDir, "model.safetensors"), big), "model expects 1×28×28");
        r = StriateProcess.Run("predict", Path.Combine(outDir, "model.safetensors"), big, "--fit");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);

        r = StriateProcess.Run("eval", Path.Combine(outDir, "model.safetensors"), "--limit", "500");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("top-1", r.Stdout);
        Assert.Contains("top-5", r.Stdout); // ten digits: top-5 says something
    }

    [Fact]
    public void UnknownModelListsTheKnownOnes() =>
        StriateProcess.AssertOneLineError(StriateProcess.Run("train", "resnet9000"), "Unknown model 'resnet9000'. Known models:");

    [Fact]
    public void UnknownDatasetListsTheKnownOnes() =>
        StriateProcess.AssertOneLineError(StriateProcess.Run("train", "lenet", "--dataset", "imagenet"), "Known datasets: mnist, fashion-mnist, cifar10");

    [Theory]
    [InlineData("--epochs", "0", "--epochs must be positive")]
    [InlineData("--lr", "-1", "--lr must be a positive number")]
    [InlineData("--optimizer", "rmsprop", "--optimizer must be one of sgd, adam, adamw")]
    [InlineData("--momentum", "1.5", "--momentum must be in [0, 1)")]
    [InlineData("--threads", "0", "--threads must be positive")]
    public void NonsenseOptionValuesAreRejectedByName(string option, string value, string expected) =>
        StriateProcess.AssertOneLineError(StriateProcess.Run("train", "lenet", option, value), expected);

    [Fact]
    public void VerboseAddsTheStackTrace()
    {
        var r = StriateProcess.Run("train", "resnet9000", "--verbose");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("   at ", r.Stderr);
    }

    [Fact]
    public void AMissingDatasetSaysWhichFilesAndWhereItLooked()
    {
        // The one error line comes first; the lines after it list the expected files, the folders searched and the
        // addresses tried, as the dataset locator promises.
        var r = StriateProcess.Run("train", "lenet", "--dataset", "cifar10", "--data", Path.Combine(_dir, "nothing-here"));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("striate train: Dataset 'cifar10' was not found.", r.Stderr);
        Assert.Contains("data_batch_1.bin", r.Stderr);
        Assert.Contains(Path.Combine(_dir, "nothing-here"), r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void ATruncatedCheckpointIsNamed()
    {
        string path = Path.Combine(_dir, "broken.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        StriateProcess.AssertOneLineError(StriateProcess.Run("eval", path), "broken.safetensors");
    }

    [Fact]
    public void AnImageFolderWithImagesOfTheWrongShapeForLeNetAsksForResize()
    {
        string root = Path.Combine(_dir, "folder");
        foreach (var cls in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < 3; i++) PngCodec.Save(Path.Combine(root, cls, $"{i}.png"), new byte[20 * 20], 20, 20, 1);
        }
        var r = StriateProcess.Run("train", "lenet", "--dataset", $"folder:{root}", "--epochs", "1");
        StriateProcess.AssertOneLineError(r, "28×28");
        r = StriateProcess.Run("train", "lenet", "--dataset", $"folder:{root}", "--epochs", "1", "--resize", "28", "--out", Path.Combine(_dir, "f"));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
    }
}
