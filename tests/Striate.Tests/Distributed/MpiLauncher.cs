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
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"mpirun -np {processes} {Path.GetFileName(dll)} {string.Join(' ', args)} did not end within {limit.TotalSeconds} s.\n{stdout.Result}\n{stderr.Result}");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result, clock.Elapsed);
    }
}
