namespace Striate.Tests.Cli;

/// <summary>
/// Command lines the parser rejects: one line in the user's words naming the option, what it takes and what was
/// typed, a pointer to --help, no .NET type names and no help dump; exit code 2 (usage error) throughout.
/// </summary>
public sealed class UsageErrorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-usage").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("--lr abc", "striate train: --lr takes a number, not 'abc'. Run 'striate train --help' for the options.")]
    [InlineData("--epochs 2.5", "--epochs takes a whole number, not '2.5'.")]
    [InlineData("--seed -1", "--seed takes a whole number ≥ 0, not '-1'.")]
    [InlineData("--lr", "--lr needs a value (a number).")]
    [InlineData("--x", "unknown option '--x'. Run 'striate train --help'")]
    [InlineData("--epoch 3", "unknown option '--epoch' (did you mean --epochs?).")]
    public void ABadTrainOptionIsOneLineWithAPointerToHelp(string options, string expected)
    {
        var r = StriateProcess.Run(["train", "lenet", .. options.Split(' ')]);
        AssertUsageError(r, expected);
    }

    [Fact]
    public void AMissingArgumentNamesItAndWhatItTakes() =>
        AssertUsageError(StriateProcess.Run("train"), "striate train: MODEL is missing: model name (alexnet,");

    [Fact]
    public void AMissingRequiredOptionNamesIt() =>
        AssertUsageError(StriateProcess.Run("filter", "x.png", "--kernel", "edge"), "striate filter: --out is required (output PNG).");

    [Fact]
    public void AMisspelledCommandGetsASuggestion() =>
        AssertUsageError(StriateProcess.Run("trian", "lenet"), "striate: unknown command 'trian' (did you mean train?). Run 'striate --help' for the commands.");

    [Fact]
    public void NoCommandListsTheCommands() =>
        AssertUsageError(StriateProcess.Run(), "striate: no command given; the commands are train, eval, predict");

    [Fact]
    public void HelpAndVersionStillWork()
    {
        var r = StriateProcess.Run("train", "--help");
        StriateProcess.AssertOk(r);
        Assert.Contains("--limit-test", r.Stdout);
        r = StriateProcess.Run("--version");
        StriateProcess.AssertOk(r);
        Assert.Matches(@"^\d+\.\d+\.\d+", r.Stdout);
    }

    [Fact]
    public void PredictOnAFolderSaysItTakesFiles()
    {
        var train = StriateProcess.Run("train", "lenet", "--limit-train", "64", "--limit-test", "64", "--epochs", "1", "--out", Path.Combine(_dir, "run"));
        StriateProcess.AssertOk(train);
        var r = StriateProcess.Run("predict", Path.Combine(_dir, "run", "model.safetensors"), _dir);
        AssertUsageError(r, $"{_dir} is a folder; predict takes files");
        Assert.DoesNotContain("denied", r.Stderr);
    }

    [Fact]
    public void AnOutFolderThatIsAFileIsRefusedByName()
    {
        string file = Path.Combine(_dir, "taken");
        File.WriteAllText(file, "x");
        var r = StriateProcess.Run("train", "lenet", "--out", file, "--limit-train", "64", "--limit-test", "64", "--epochs", "1");
        AssertUsageError(r, $"--out {file} is a file; it takes a folder");
        Assert.DoesNotContain("already exists", r.Stderr);
    }

    private static void AssertUsageError(StriateProcess.Result r, string expected)
    {
        StriateProcess.AssertOneLineError(r, expected);
        Assert.Equal(2, r.ExitCode);
        Assert.DoesNotContain("System.", r.Stderr);
        Assert.DoesNotContain("Description:", r.Stderr + r.Stdout);
    }
}
