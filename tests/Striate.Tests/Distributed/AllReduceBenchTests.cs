using System.Text.Json;
using Striate.Tests.Cli;

namespace Striate.Tests.Distributed;

/// <summary><c>striate bench --only allreduce</c>: Striate's all-reduce bandwidth under mpirun beside Open MPI's own C loop.</summary>
public sealed class AllReduceBenchTests(ITestOutputHelper output)
{
    [Fact]
    public void BenchAllReduceMeasuresStriateAndTheOpenMpiCLoopOnTwoProcesses()
    {
        MpiLauncher.SkipUnlessAvailable();
        Assert.SkipWhen(!File.Exists("/usr/bin/mpicc") && !(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "mpicc"))),
            "mpicc is not on PATH: install libopenmpi-dev to build the C loop; CI installs it.");
        // Only the 1 MiB figures, to keep the test short.
        var r = StriateProcess.Run("bench", "--only", "allreduce", "--figures", "allreduce_1MB", "--json");
        output.WriteLine(r.Stdout + r.Stderr);
        StriateProcess.AssertOk(r);
        using var json = JsonDocument.Parse(r.Stdout);
        var figures = json.RootElement.EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("value").GetDouble());
        Assert.Equal(2, figures["allreduce_processes"]);
        Assert.True(figures["allreduce_1MB_busbw"] > 0, "Striate's bus bandwidth should be positive");
        Assert.True(figures["allreduce_1MB_time"] > 0, "Striate's all-reduce time should be positive");
        Assert.True(figures["allreduce_1MB_busbw_openmpi_c"] > 0, "the C loop's bus bandwidth should be positive");
        Assert.DoesNotContain("allreduce_25MB_busbw", figures.Keys);
        Assert.DoesNotContain("ddp_resnet50_64px_b4_overlap", figures.Keys);
    }
}
