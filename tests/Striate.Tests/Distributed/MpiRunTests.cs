using System.Diagnostics;
using Striate.Distributed;
using Striate.DistributedWorker;
using Striate.IO;

namespace Striate.Tests.Distributed;

/// <summary>
/// The MPI backend under a real <c>mpirun</c> (Open MPI on the loopback interface): collectives against a plain
/// reference, data-parallel training against one process, and a rank that dies or hangs ending the job with a message.
/// </summary>
public sealed class MpiRunTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-mpi").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void CollectivesMatchAPlainReferenceOnSizesNotDivisibleByTheWorldSize(int processes)
    {
        var r = MpiLauncher.Run(processes, MpiLauncher.Worker, ["collectives", "11"], Limit);
        Assert.True(r.ExitCode == 0, r.All);
        for (int rank = 0; rank < processes; rank++)
            Assert.Contains($"rank {rank} of {processes}: 90 collective checks passed (Open MPI", r.Stdout);
    }

    [Theory]
    [InlineData("lenet", 8, 16, false, 1e-6)]
    [InlineData("resnet", 6, 8, true, 1e-5)]
    public void TwoProcessesAtBatchBEndWithTheWeightsOfOneProcessAtBatch2B(string model, int steps, int batch, bool syncBatchNorm, double tolerance)
    {
        string weights = Path.Combine(_dir, "weights.safetensors");
        var r = MpiLauncher.Run(2, MpiLauncher.Worker, ["train", model, steps.ToString(), batch.ToString(), syncBatchNorm.ToString(), "1", "true", weights], Limit);
        Assert.True(r.ExitCode == 0, r.All);
        var file = SafetensorsFile.Load(weights);
        var distributed = file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))).ToList();
        var single = Scenarios.Train(ThreadProcessGroup.Create(1)[0], new TrainScenario(model, steps, 2 * batch));
        double difference = DistributedTestRanks.MaxDifference(single.OrderBy(p => p.Key, StringComparer.Ordinal).ToList(),
            distributed.OrderBy(p => p.Key, StringComparer.Ordinal).ToList());
        output.WriteLine($"{model}, {steps} steps: 2 processes × {batch} vs 1 × {2 * batch}: max |Δw| = {difference:E2}; mpirun took {r.Elapsed.TotalSeconds:F1} s");
        Assert.InRange(difference, 0, tolerance);
    }

    [Fact]
    public void ARankThatIsKilledEndsTheOthersWithAMessageInsteadOfAHang()
    {
        var r = MpiLauncher.Run(2, MpiLauncher.Worker, ["die"], TimeSpan.FromMinutes(2));
        output.WriteLine(r.All);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("rank 1: killing itself at step 20", r.Stdout);
        Assert.Contains("mpirun noticed that process rank 1", r.All);
        Assert.DoesNotContain("finished all steps", r.Stdout);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(60), $"the job took {r.Elapsed.TotalSeconds:F0} s to end");
    }

    [Fact]
    public void ARankThatStopsTakingPartIsCaughtByTheTimeoutWhichAbortsTheJob()
    {
        var r = MpiLauncher.Run(2, MpiLauncher.Worker, ["hang"], TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["STRIATE_COLLECTIVE_TIMEOUT"] = "3" });
        output.WriteLine(r.All);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("rank 0 of 2", r.Stderr);
        Assert.Contains("MPI_Allreduce (262,144 bytes) has not completed after 3 s; another process has probably died or hung", r.Stderr);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(60), $"the job took {r.Elapsed.TotalSeconds:F0} s to end");
    }

    [Fact]
    public async Task AMissingMpiLibraryIsReportedWithWhatToSet()
    {
        // No mpirun needed: the library is looked up before anything else.
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(MpiLauncher.Worker);
        psi.ArgumentList.Add("collectives");
        psi.ArgumentList.Add("1");
        psi.Environment["STRIATE_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40";
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)));
        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("STRIATE_MPI_LIBRARY is '/nonexistent/libmpi.so.40', which could not be loaded as an MPI library", await stderr);
    }
}
