using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Striate.Distributed;
using Striate.Functional;
using Striate.Models.Torchvision;
using Striate.Optim;

namespace Striate.Benchmarks;

/// <summary>
/// All-reduce bandwidth over MPI (<c>striate bench --only allreduce</c>): <see cref="MpiProcessGroup.AllReduce(Span{float}, ReduceOp)"/>
/// of 1, 25 and 100 MiB of floats (sum, in place), beside Open MPI's own figure from a small C loop doing the same
/// (<c>bench/allreduce/allreduce_loop.c</c>, compiled with mpicc when the bench runs), and what data-parallel training
/// of ResNet-50 overlaps: its bucketed gradient reduction against its backward pass.
/// </summary>
/// <remarks>
/// <para>Per size a fixed number of iterations (the same on every process), three rounds, the best round's mean time of
/// the slowest process. Bus bandwidth as nccl-tests defines it — bytes / time × 2(p − 1)/p — the rate each link carries
/// in a ring all-reduce, comparable across process counts.</para>
/// <para>Run alone, the suite starts <c>mpirun -np $STRIATE_BENCH_RANKS</c> (default 2, loopback only) on this same
/// command (<c>bench --only allreduce --json</c>) and then the C loop; run under mpirun
/// (<c>mpirun -np 8 --hostfile hosts striate bench --only allreduce</c>) it measures that job, rank 0 printing.</para>
/// </remarks>
public static class AllReduceBenchmarks
{
    /// <summary>Buffer sizes in MiB and the iterations timed for each.</summary>
    public static readonly (int MiB, int Iterations)[] Sizes = [(1, 50), (25, 10), (100, 5)];

    public static IEnumerable<BenchFigure> Run() => MpiProcessGroup.LaunchedByMpi ? InThisJob() : InANewJob();

    private static IEnumerable<BenchFigure> InThisJob()
    {
        var group = MpiProcessGroup.Initialize();
        // Rank 0 speaks for the job.
        if (group.Rank != 0) Console.SetOut(TextWriter.Null);
        var figures = new List<BenchFigure>();
        foreach (var (mib, iterations) in Sizes)
        {
            if (!BenchFilter.Wants($"allreduce_{mib}MB_busbw")) continue;
            double seconds = AllReduceSeconds(group, mib, iterations);
            figures.Add(new BenchFigure($"allreduce_{mib}MB_busbw", BusBandwidth(mib, seconds, group.WorldSize), "GB/s"));
            figures.Add(new BenchFigure($"allreduce_{mib}MB_time", seconds * 1e3, "ms"));
        }
        if (BenchFilter.Wants("ddp_resnet50")) figures.AddRange(DdpOverlap(group));
        group.Dispose();
        return figures;
    }

    /// <summary>The best round's mean time of one all-reduce of <paramref name="mib"/> MiB, the slowest process's.</summary>
    public static double AllReduceSeconds(IProcessGroup group, int mib, int iterations)
    {
        var buffer = new float[mib * 1048576 / sizeof(float)]; // zeros: sums never overflow to infinity
        group.AllReduce(buffer); // warm-up (connections, registration)
        double best = double.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            group.Barrier();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < iterations; i++) group.AllReduce(buffer);
            Span<double> mean = [Stopwatch.GetElapsedTime(start).TotalSeconds / iterations];
            group.AllReduce(mean, ReduceOp.Max);
            best = Math.Min(best, mean[0]);
        }
        return best;
    }

    /// <summary>nccl-tests' bus bandwidth in GB/s: algorithm bandwidth (bytes / time) × 2(p − 1)/p.</summary>
    public static double BusBandwidth(int mib, double seconds, int processes) =>
        mib * 1048576.0 / seconds * 2 * (processes - 1) / processes / 1e9;

    /// <summary>
    /// ResNet-50 (25.6 M parameters, 102 MB of gradients) trained with <see cref="DistributedDataParallel"/> on a fixed
    /// random batch of 4 images of 64×64 per process, 25 MB buckets reduced during backward: after 2 warm-up steps, 3
    /// timed ones. Figures: the step time, the backward time, the reduction time, how much of the reduction backward
    /// waited for (exposed) and the share of it hidden behind backward.
    /// </summary>
    private static IEnumerable<BenchFigure> DdpOverlap(IProcessGroup group)
    {
        const int Batch = 4, Size = 64, Warmup = 2, Steps = 3;
        var g = new Generator(0);
        var model = ResNet.ResNet50(3, 1000, g);
        model.Train();
        var optimizer = new Sgd(model.Parameters(), 0.01f);
        var images = Tensor.Randn([Batch, 3, Size, Size], g);
        int[] labels = [1, 2, 3, 4];
        using var ddp = new DistributedDataParallel(model, group);
        double stepSeconds = 0;
        for (int step = 0; step < Warmup + Steps; step++)
        {
            if (step == Warmup) ddp.ResetStatistics();
            long start = Stopwatch.GetTimestamp();
            using (TensorScope.Begin())
            {
                var loss = F.CrossEntropy(model.Call(images), labels, 0f);
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
            }
            if (step >= Warmup) stepSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        var s = ddp.Statistics;
        // The slowest process's figures: the step ends for all when the last one's reduction does.
        Span<double> figures = [stepSeconds / Steps, s.BackwardSeconds / s.Passes, s.CommunicationSeconds / s.Passes, s.ExposedSeconds / s.Passes];
        group.AllReduce(figures, ReduceOp.Max);
        string name = $"ddp_resnet50_{Size}px_b{Batch}";
        return
        [
            new BenchFigure($"{name}_step", figures[0] * 1e3, "ms"),
            new BenchFigure($"{name}_backward", figures[1] * 1e3, "ms"),
            new BenchFigure($"{name}_allreduce", figures[2] * 1e3, "ms"),
            new BenchFigure($"{name}_exposed", figures[3] * 1e3, "ms"),
            new BenchFigure($"{name}_overlap", figures[2] > 0 ? 100 * Math.Clamp(1 - figures[3] / figures[2], 0, 1) : double.NaN, "%"),
        ];
    }

    private static IEnumerable<BenchFigure> InANewJob()
    {
        var mpirun = FindOnPath("mpirun")
            ?? throw new InvalidOperationException("bench allreduce: mpirun is not on PATH; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev), or run this under your MPI's launcher: mpirun -np N striate bench --only allreduce.");
        var ranksText = Environment.GetEnvironmentVariable("STRIATE_BENCH_RANKS");
        int ranks = 2;
        if (!string.IsNullOrEmpty(ranksText) && (!int.TryParse(ranksText, out ranks) || ranks < 2))
            throw new ArgumentException($"STRIATE_BENCH_RANKS must be a whole number ≥ 2, got '{ranksText}'.");

        // This same command again, one process per rank.
        var self = new List<string>();
        string host = Environment.ProcessPath ?? "dotnet";
        self.Add(host);
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") self.Add(Environment.GetCommandLineArgs()[0]);
        self.AddRange(["bench", "--only", "allreduce", "--json"]);
        if (BenchFilter.Patterns.Count > 0) self.AddRange(["--figures", .. BenchFilter.Patterns]);
        var (code, stdout, stderr) = Execute(mpirun, [.. MpirunOptions(ranks), .. self]);
        if (code != 0) throw new InvalidOperationException($"bench allreduce: mpirun -np {ranks} exited with {code}:\n{stderr}{stdout}");
        var figures = new List<BenchFigure>();
        using (var json = JsonDocument.Parse(stdout[stdout.IndexOf('[')..]))
            foreach (var row in json.RootElement.EnumerateArray())
                figures.Add(new BenchFigure(row.GetProperty("name").GetString()!, row.GetProperty("value").GetDouble(), row.GetProperty("unit").GetString()!));
        figures.Add(new BenchFigure("allreduce_processes", ranks, "processes"));
        return figures.Concat(OpenMpiCLoop(ranks));
    }

    /// <summary>Open MPI's own figures from the C loop (skipped with a note on stderr when mpicc is missing).</summary>
    private static IEnumerable<BenchFigure> OpenMpiCLoop(int ranks)
    {
        if (!Sizes.Any(s => BenchFilter.Wants($"allreduce_{s.MiB}MB_busbw_openmpi_c"))) yield break;
        string script = Path.Combine(AppContext.BaseDirectory, "allreduce", "allreduce_loop.sh");
        if (FindOnPath("mpicc") == null)
        {
            Console.Error.WriteLine("bench allreduce: mpicc not found (Debian: apt-get install libopenmpi-dev), so Open MPI's own figures from the C loop are not measured.");
            yield break;
        }
        var (code, stdout, stderr) = Execute("bash", [script, ranks.ToString(CultureInfo.InvariantCulture)]);
        if (code != 0) throw new InvalidOperationException($"bench allreduce: {script} exited with {code}:\n{stderr}{stdout}");
        foreach (var line in stdout.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 5 || f[0] != "allreduce") continue;
            string name = $"allreduce_{f[1]}MB_busbw_openmpi_c";
            if (BenchFilter.Wants(name)) yield return new BenchFigure(name, double.Parse(f[4], CultureInfo.InvariantCulture), "GB/s");
        }
    }

    /// <summary>mpirun's options: $MPIRUN_ARGS when set (e.g. a hostfile), else loopback only, as the tests run.</summary>
    private static IEnumerable<string> MpirunOptions(int ranks)
    {
        string[] launch = ["--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(CultureInfo.InvariantCulture)];
        var custom = Environment.GetEnvironmentVariable("MPIRUN_ARGS");
        return string.IsNullOrWhiteSpace(custom)
            ? [.. launch, "--mca", "btl", "self,vader,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]
            : [.. launch, .. custom.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static (int Code, string Stdout, string Stderr) Execute(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "dumb"; // mpirun's pseudo-terminal would get .NET's keypad escape codes otherwise
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
