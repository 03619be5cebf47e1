using Striate.Tests.TestSupport;

namespace Striate.Tests.Fuzz;

/// <summary>
/// The fuzz suite (issue 14): every reader on seeded mutations of valid files, each input under a time limit and an
/// allocation budget; only the reader's documented exceptions count as clean. CI runs 2,000 inputs per reader with
/// fixed seeds. A deeper run: <c>STRIATE_FUZZ_INPUTS=20000 STRIATE_FUZZ_SEED=7 dotnet test tests/Striate.Tests -c Release
/// --filter FullyQualifiedName~Striate.Tests.Fuzz</c> (failing inputs, minimized, go to $STRIATE_FUZZ_FINDINGS or a
/// temporary folder named in the failure; copy them into regressions/READER/ to keep them).
/// </summary>
public sealed class FuzzSuiteTests
{
    public static TheoryData<string> Targets => new(FuzzTarget.All.Keys.Order());

    private static string FindingsFolder =>
        Environment.GetEnvironmentVariable("STRIATE_FUZZ_FINDINGS") is { Length: > 0 } f ? f : Path.Combine(Path.GetTempPath(), "striate-fuzz-findings");

    [Theory]
    [MemberData(nameof(Targets))]
    public void MutatedInputsAreReadOrRejectedCleanlyWithinTimeAndMemory(string target)
    {
        var report = FuzzRunner.Run(FuzzTarget.All[target], FuzzRunner.InputsPerTarget(2000), FuzzRunner.BaseSeed, FindingsFolder);
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("STRIATE_FUZZ_REPORT") is { Length: > 0 } reportFile)
            File.AppendAllText(reportFile, report + Environment.NewLine);
        var failures = string.Join("\n\n", report.Findings.Select(f =>
            $"{f.Outcome} at input #{f.Index} (seed {FuzzRunner.BaseSeed}), minimized to {f.Input.Length} bytes{(f.SavedAs is null ? "" : $" in {f.SavedAs}")}: {f.Detail}"));
        Assert.True(report.Generic == 0 && report.Hangs == 0 && report.OverBudget == 0 && report.Unnamed == 0, $"{report}\n\n{failures}");
        // A suite whose mutations never get past the first check, or never get rejected, is not testing the reader.
        Assert.True(report.Rejected > 0 && report.Accepted + report.Rejected == report.Inputs, report.ToString());
    }

    [Fact]
    public void TheRunnerTellsCleanRejectionsFromGenericExceptionsAndBudgetOverruns()
    {
        // Guards the suite itself: a reader that throws the wrong exception or allocates what a header asks must fail it.
        var fake = new FuzzTarget("fake", ".bin", [[0]], (input, _) =>
        {
            switch (input[0])
            {
                case 0: throw new InvalidDataException("fuzz.bin: documented");
                case 1: throw new IndexOutOfRangeException("generic");
                case 2: GC.KeepAlive(new byte[100 << 20]); break;
            }
        }, e => e is InvalidDataException)
        { Mutate = (_, random) => [(byte)random.Next(4), 9, 9, 9, 9, 9, 9, 9] };
        using var scratch = new Striate.Tests.Data.TempFolder();
        Assert.Equal(Outcome.Rejected, FuzzRunner.RunOne(fake, [0], scratch.Path).Outcome);
        Assert.Equal(Outcome.Generic, FuzzRunner.RunOne(fake, [1], scratch.Path).Outcome);
        Assert.Equal(Outcome.OverBudget, FuzzRunner.RunOne(fake, [2], scratch.Path).Outcome);
        Assert.Equal(Outcome.Accepted, FuzzRunner.RunOne(fake, [3], scratch.Path).Outcome);
        var unnamed = fake with { Read = (_, _) => throw new InvalidDataException("no file named here") };
        Assert.Equal(Outcome.Unnamed, FuzzRunner.RunOne(unnamed, [0], scratch.Path).Outcome);

        var report = FuzzRunner.Run(fake, 40, 1, findingsFolder: null);
        Assert.Equal(40, report.Accepted + report.Rejected + report.Generic + report.OverBudget);
        Assert.True(report.Generic > 0 && report.OverBudget > 0 && report.Rejected > 0);
        Assert.All(report.Findings, f => Assert.Single(f.Input)); // minimized to the byte that matters
    }

    [Fact]
    public void TheSameSeedGivesTheSameInputs()
    {
        var target = FuzzTarget.All["safetensors"];
        for (int i = 0; i < 50; i++)
            Assert.Equal(FuzzRunner.Input(target, 5, i), FuzzRunner.Input(target, 5, i));
        Assert.NotEqual(FuzzRunner.Input(target, 5, 1), FuzzRunner.Input(target, 6, 1));
    }

    /// <summary>regressions/FOLDER holds the kept inputs of the reader named by the folder (checkpoint: the CLI's path).</summary>
    public static TheoryData<string> RegressionFiles => new(
        Directory.GetFiles(HostileInputRegressionTests.Regressions, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".py", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(HostileInputRegressionTests.Regressions, f).Replace('\\', '/')).Order());

    [Theory]
    [MemberData(nameof(RegressionFiles))]
    public void EveryKeptReproducerIsRejectedCleanlyWithinTimeAndMemory(string file)
    {
        string folder = file[..file.IndexOf('/')];
        var target = FuzzTarget.All[folder == "checkpoint" ? "checkpoint-cli" : folder];
        using var scratch = new Striate.Tests.Data.TempFolder();
        var (outcome, allocated, detail) = FuzzRunner.RunOne(target, File.ReadAllBytes(Path.Combine(HostileInputRegressionTests.Regressions, file)), scratch.Path);
        Assert.True(outcome == Outcome.Rejected, $"{file}: {outcome}, {allocated / 1024} KiB: {detail}");
        Assert.True(allocated < 16 * Allocation.MiB, $"{file}: allocated {allocated / Allocation.MiB} MiB");
    }
}
