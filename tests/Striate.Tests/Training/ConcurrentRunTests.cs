using Striate.Data;
using Striate.IO;
using Striate.Nn;
using Striate.Optim;
using Striate.Tests.Cli;
using Striate.Training;

namespace Striate.Tests.Training;

/// <summary>Two runs on one folder, runs killed mid-write, and runs that diverge (issue 14, defects 6 and 7).</summary>
public sealed class ConcurrentRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-concurrent").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritersOfTheSameFileNeverShareATemporaryName()
    {
        // Four runs on one folder used to crash on the one metrics.json.tmp every writer used.
        string path = Path.Combine(_dir, "metrics.json");
        var config = new RunConfig { Model = "lenet", Dataset = "mnist" };
        Parallel.For(0, 4, writer =>
        {
            for (int i = 0; i < 50; i++) MetricsFile.Write(path, config with { Seed = (ulong)writer }, []);
        });
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal("lenet", doc.RootElement.GetProperty("model").GetString());
        Assert.Equal(["metrics.json"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void ASecondRunOnTheFolderIsToldWhoHoldsIt()
    {
        using (var held = RunFolderLock.Acquire(_dir, "first run"))
        {
            var e = Assert.Throws<RunFolderInUseException>(() => RunFolderLock.Acquire(_dir, "second run"));
            Assert.Contains(_dir, e.Message);
            Assert.Contains($"process {Environment.ProcessId}", e.Message);
            Assert.Contains("first run", e.Message);
        }
        using var again = RunFolderLock.Acquire(_dir, "third run"); // released on Dispose
    }

    [Fact]
    public void TheCommandLineRefusesAFolderAnotherRunHolds()
    {
        using var held = RunFolderLock.Acquire(_dir, "a test holding the folder");
        var r = StriateProcess.Run("train", "lenet-relu", "--epochs", "1", "--limit-train", "64", "--out", _dir);
        StriateProcess.AssertOneLineError(r, "is in use by another run");
        Assert.Contains("a test holding the folder", r.Stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "metrics.json")));
    }

    [Fact]
    public void TemporaryFilesOfKilledRunsAreDeletedWhenTheFolderIsTaken()
    {
        string[] stale = [".model.safetensors.0123456789abcdef0123456789abcdef.tmp", "metrics.json.tmp"];
        string[] kept = ["model.safetensors", "notes.tmp", ".notes.tmp"];
        foreach (var name in stale.Concat(kept)) File.WriteAllText(Path.Combine(_dir, name), "x");
        using var held = RunFolderLock.Acquire(_dir, "cleanup");
        Assert.Equal(stale.Order(), held.DeletedTemporaries.Order());
        foreach (var name in kept) Assert.True(File.Exists(Path.Combine(_dir, name)), $"{name} was deleted");
        foreach (var name in stale) Assert.False(File.Exists(Path.Combine(_dir, name)), $"{name} was kept");
    }

    [Fact]
    public void AdamAtAHugeLearningRateStopsAsDivergingInsteadOfSavingAUselessModel()
    {
        // The loss stays finite (8.6e35 in the issue), so only a comparison with its start catches it.
        var data = new Subset(Datasets.Open("mnist", train: true, allowDownload: false), 256);
        var model = new Sequential(new Flatten(), new Linear(784, 32, generator: new Generator(1)), new ReLU(), new Linear(32, 10, generator: new Generator(2)));
        var trainer = new Trainer(model, new Adam(model.Parameters(), 1e6f));
        int epochsEnded = 0;
        trainer.EpochEnded += _ => epochsEnded++;
        var e = Assert.ThrowsAny<Exception>(() => trainer.Fit(new DataLoader(data, 32, shuffle: true, seed: 3), null, 1));
        Assert.True(e is DivergenceException or NonFiniteException, e.ToString());
        Assert.Contains("Training stopped at epoch 1", e.Message);
        Assert.Contains("lower learning rate", e.Message);
        Assert.Equal(0, epochsEnded);
    }

    [Fact]
    public void AnOrdinaryRunDoesNotLookLikeDivergence()
    {
        var data = new Subset(Datasets.Open("mnist", train: true, allowDownload: false), 512);
        var model = new Sequential(new Flatten(), new Linear(784, 32, generator: new Generator(1)), new ReLU(), new Linear(32, 10, generator: new Generator(2)));
        var trainer = new Trainer(model, new Adam(model.Parameters(), 1e-3f));
        var history = trainer.Fit(new DataLoader(data, 32, shuffle: true, seed: 3), null, 2);
        Assert.Equal(2, history.Count);
    }
}
