using System.Diagnostics;

namespace Striate.Tests.Distributed;

/// <summary>
/// Starts programs under a real <c>mpirun</c>, on the loopback interface only, bounded in time: a run that has not ended
/// by itself within its limit is killed and fails the test. Tests that need mpirun skip, saying so, where it is missing.
/// </summary>
internal static class MpiLauncher
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
    {
        public string All => Stdout + Stderr;
    }

    private static readonly Lazy<string?> _mpirun = new(() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, "mpirun")).FirstOrDefault(File.Exists));

    /// <summary>The mpirun on PATH, or null.</summary>
    public static string? Mpirun => _mpirun.Value;

    public static void SkipUnlessAvailable() =>
        Assert.SkipWhen(Mpirun == null, "mpirun is not on PATH: install Open MPI (apt-get install openmpi-bin libopenmpi-dev) to run the MPI tests; CI installs it.");

    /// <summary>The worker program next to the tests.</summary>
    public static string Worker => Path.Combine(AppContext.BaseDirectory, "Striate.DistributedWorker.dll");

    /// <summary>The striate command next to the tests.</summary>
    public static string Cli => Path.Combine(AppContext.BaseDirectory, "Striate.Cli.dll");

    /// <summary>Runs <c>mpirun -np <paramref name="processes"/> dotnet DLL ARGS</c> and waits at most <paramref name="limit"/>.</summary>
    public static Result Run(int processes, string dll, IEnumerable<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        using var job = Start(processes, dll, args, environment, workingDirectory);
        return job.Wait(limit);
    }

    /// <summary>Starts <c>mpirun -np <paramref name="processes"/> dotnet DLL ARGS</c> without waiting for it.</summary>
    public static Job Start(int processes, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        SkipUnlessAvailable();
        var psi = new ProcessStartInfo(Mpirun!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", processes.ToString(),
                     "--mca", "btl", "self,vader,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", "dotnet", dll })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // No dataset downloads from tests: an empty cache and no STRIATE_DATA.
        psi.Environment["STRIATE_DATA"] = "";
        psi.Environment["XDG_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "striate-test-cache-empty");
        // mpirun gives the ranks a pseudo-terminal, on which .NET would switch the keypad mode with escape codes.
        psi.Environment["TERM"] = "dumb";
        if (environment != null) foreach (var (k, v) in environment) psi.Environment[k] = v;
        return new Job(Process.Start(psi)!, $"mpirun -np {processes} {Path.GetFileName(dll)} {string.Join(' ', args)}");
    }

    /// <summary>A running mpirun whose output is being collected.</summary>
    public sealed class Job : IDisposable
    {
        private readonly Process _process;
        private readonly string _command;
        private readonly Task<string> _stdout, _stderr;
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        internal Job(Process process, string command)
        {
            (_process, _command) = (process, command);
            _stdout = process.StandardOutput.ReadToEndAsync();
            _stderr = process.StandardError.ReadToEndAsync();
        }

        /// <summary>
        /// The process id of rank <paramref name="rank"/> (a child of mpirun whose environment says so), or null while it
        /// has not started.
        /// </summary>
        public int? RankProcessId(int rank)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    if (int.Parse(fields[1]) != _process.Id) continue;
                    var environ = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                    if (environ.Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { } // gone, or not ours
            }
            return null;
        }

        /// <summary>Waits at most <paramref name="limit"/> for mpirun to end; past it, kills it and fails the test.</summary>
        public Result Wait(TimeSpan limit)
        {
            if (!_process.WaitForExit(limit))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
                Assert.Fail($"{_command} did not end within {limit.TotalSeconds} s.\n{_stdout.Result}\n{_stderr.Result}");
            }
            _process.WaitForExit();
            return new Result(_process.ExitCode, _stdout.Result, _stderr.Result, _clock.Elapsed);
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
