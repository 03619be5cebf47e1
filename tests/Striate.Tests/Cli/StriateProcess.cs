using System.Diagnostics;

namespace Striate.Tests.Cli;

/// <summary>Runs the built <c>striate</c> program (Striate.Cli.dll next to the tests) and captures what it prints.</summary>
internal static class StriateProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => RunIn(null, args);

    public static Result RunIn(string? workingDirectory, params string[] args) => RunWith(null, workingDirectory, args);

    /// <summary>Runs striate with <paramref name="environment"/> added to its environment.</summary>
    public static Result RunWith(IReadOnlyDictionary<string, string>? environment, string? workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Striate.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        // No dataset downloads from tests: an empty cache and no STRIATE_DATA.
        psi.Environment["STRIATE_DATA"] = "";
        psi.Environment["XDG_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "striate-test-cache-empty");
        if (environment != null) foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"striate {string.Join(' ', args)} did not finish in 5 minutes.");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The command failed with exactly one line on stderr that contains <paramref name="expected"/>, and no stack trace.</summary>
    public static void AssertOneLineError(Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{r.Stderr}");
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    /// <summary>The command succeeded; otherwise fails showing everything it printed.</summary>
    public static void AssertOk(Result r) => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
}
