using System.Diagnostics;
using System.Text.Json;
using Striate.Tests.Cli;
using Striate.Training;

namespace Striate.Tests.Distributed;

/// <summary>
/// <c>mpirun -np 2 striate train … --distributed</c> end to end on a few hundred MNIST images (Open MPI on loopback):
/// two processes at batch B train as one process at batch 2B, only rank 0 speaks and writes, a rank that is killed ends
/// the job and the last checkpoint resumes on two processes.
/// </summary>
public sealed class DistributedTrainCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-ddp-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private static string[] Train(string outDir, int epochs, int batch, params string[] more) =>
        ["train", "lenet-relu", "--dataset", "mnist", "--epochs", epochs.ToString(), "--limit-train", "192", "--limit-test", "101",
         "--batch-size", batch.ToString(), "--scheduler", "none", "--threads", "1", "--out", outDir, .. more];

    [Fact]
    public void TwoProcessesAtBatch16TrainAsOneAtBatch32AndResumeFromRank0sCheckpoint()
    {
        string single = Path.Combine(_dir, "single"), distributed = Path.Combine(_dir, "distributed");
        StriateProcess.AssertOk(StriateProcess.Run(Train(single, 3, 32)));

        var r = MpiLauncher.Run(2, MpiLauncher.Cli, Train(distributed, 2, 16, "--distributed"), Limit);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("global batch 32 (2 processes × 16)", r.Stdout);
        Assert.Contains("batch 3/6 of global batch 32", r.Stdout); // 96 images per process: 6 steps of 16
        // Rank 1 is quiet: one header, not two.
        Assert.Single(r.Stdout.Split('\n'), line => line.StartsWith("Training lenet-relu", StringComparison.Ordinal));
        Assert.Equal(["confusion.svg", "curves.svg", "metrics.json", "model.safetensors"], Directory.GetFiles(distributed).Select(Path.GetFileName)
            .Where(name => name != RunFolderLock.LockFileName).Order().ToArray()!); // the lock file stays, as flock's do

        r = MpiLauncher.Run(2, MpiLauncher.Cli, Train(distributed, 3, 16, "--distributed", "--resume"), Limit);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("Resuming lenet-relu after epoch 2", r.Stdout);

        var one = History(single);
        var two = History(distributed);
        Assert.Equal(3, two.Count);
        for (int e = 0; e < 3; e++)
            foreach (var key in new[] { "train_loss", "train_accuracy", "test_loss", "test_accuracy", "test_top5" })
                Assert.True(Math.Abs(one[e][key] - two[e][key]) < 1e-4, $"epoch {e + 1} {key}: one process {one[e][key]}, two {two[e][key]}");
        double difference = DistributedTestRanks.MaxDifference(Checkpoint.Load(Path.Combine(single, "model.safetensors")).ModelState,
            Checkpoint.Load(Path.Combine(distributed, "model.safetensors")).ModelState);
        output.WriteLine($"LeNet, 3 epochs of 6 steps, 2 processes × 16 (resumed after epoch 2) vs 1 × 32: max |Δw| = {difference:E2}");
        Assert.InRange(difference, 0, 1e-4);
    }

    [Fact]
    public void ARankKilledMidTrainingEndsTheJobAndTheLastCheckpointResumes()
    {
        string outDir = Path.Combine(_dir, "killed");
        TimeSpan sinceKill;
        MpiLauncher.Result r;
        using (var job = MpiLauncher.Start(2, MpiLauncher.Cli, Train(outDir, 100, 16, "--distributed")))
        {
            // Kill rank 1 once rank 0 has finished an epoch (metrics.json comes after the checkpoint).
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(outDir, "metrics.json")))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "no epoch finished within 2 minutes");
                Thread.Sleep(50);
            }
            int pid = job.RankProcessId(1) ?? throw new InvalidOperationException("rank 1 of mpirun was not found in /proc");
            Process.GetProcessById(pid).Kill();
            var killed = Stopwatch.StartNew();
            r = job.Wait(TimeSpan.FromMinutes(2));
            sinceKill = killed.Elapsed;
        }
        output.WriteLine(r.All);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("mpirun noticed that process rank 1", r.All);
        // Rank 0 speaks too: usually stopped by mpirun's SIGTERM (naming the checkpoint), or, should its transport notice
        // the dead peer first, failing with the MPI error.
        Assert.Contains("striate train (rank 0 of 2 on ", r.Stderr);
        Assert.True(r.Stderr.Contains("): stopped by mpirun (SIGTERM) because another process of the job ended") && r.Stderr.Contains("continues the run with --resume.")
            || r.Stderr.Contains("MPI_"), r.Stderr);
        Assert.True(sinceKill < TimeSpan.FromSeconds(60), $"the job took {sinceKill.TotalSeconds:F0} s to end after rank 1 was killed");

        int epoch = Checkpoint.Load(Path.Combine(outDir, "model.safetensors")).Epoch;
        Assert.InRange(epoch, 1, 99);
        var resumed = MpiLauncher.Run(2, MpiLauncher.Cli, Train(outDir, epoch + 1, 16, "--distributed", "--resume"), Limit);
        Assert.True(resumed.ExitCode == 0, resumed.All);
        Assert.Contains($"Resuming lenet-relu after epoch {epoch}", resumed.Stdout);
        Assert.Equal(epoch + 1, History(outDir).Count);
    }

    [Fact]
    public void DistributedWithoutMpirunOrMpiSaysWhatToDo()
    {
        string outDir = Path.Combine(_dir, "none");
        StriateProcess.AssertOneLineError(StriateProcess.Run(Train(outDir, 1, 16, "--distributed")),
            "--distributed: this process was not started by an MPI launcher; start one process per rank with it, e.g. mpirun -np 2 striate train");
        // Launched (as far as the environment says) but no MPI library: what to install.
        StriateProcess.AssertOneLineError(StriateProcess.RunWith(
                new Dictionary<string, string> { ["OMPI_COMM_WORLD_SIZE"] = "1", ["STRIATE_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40" }, null,
                Train(outDir, 1, 16, "--distributed")),
            "STRIATE_MPI_LIBRARY is '/nonexistent/libmpi.so.40', which could not be loaded as an MPI library");
        // Several processes under mpirun without --distributed would each train alone and overwrite the same files.
        StriateProcess.AssertOneLineError(StriateProcess.RunWith(new Dictionary<string, string> { ["OMPI_COMM_WORLD_SIZE"] = "2" }, null, Train(outDir, 1, 16)),
            "this is one of 2 processes started by mpirun, but without --distributed");
        Assert.False(Directory.Exists(outDir));
    }

    private static List<Dictionary<string, double>> History(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
        return doc.RootElement.GetProperty("epochs").EnumerateArray()
            .Select(e => e.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).ToDictionary(p => p.Name, p => p.Value.GetDouble()))
            .ToList();
    }
}
