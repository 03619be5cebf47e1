using System.CommandLine;

namespace Striate.Cli;

/// <summary>
/// Runs a command body so that a failure is one line on stderr naming what was wrong and a non-zero exit code;
/// the stack trace only with --verbose.
/// Exit codes (README, "Exit codes"): 0 success; 1 the command was understood but failed while running (a file that
/// cannot be read or is damaged, a disk error, training that diverged, anything unexpected); 2 usage error: the
/// command line cannot be parsed, or names something that does not exist or does not fit (an unknown model, dataset
/// or option value, a missing file, folder or dataset, an image or checkpoint of the wrong shape), and the message
/// says what to change; 130 interrupted (Ctrl-C).
/// </summary>
internal static class CliErrors
{
    public const int Failure = 1;
    public const int UsageError = 2;
    public const int Interrupted = 130;

    /// <summary>--verbose, on every command.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Show stack traces on errors.", Recursive = true };

    /// <summary>Said after the command's name in errors, e.g. " (rank 1 of 2 on node7)" in a distributed job.</summary>
    public static string Where { get; set; } = "";

    /// <summary>Options every command accepts (for "did you mean").</summary>
    public static IEnumerable<Option> RecursiveOptions => [Verbose];

    public static int Run(ParseResult parse, string command, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerException! : e;
            if (inner is OutOfMemoryException)
            {
                // Reached only when an input still asks for more memory than the process has (the readers refuse what
                // they can check first): a bad file, reported as one line like any other.
                Console.Error.WriteLine($"striate {command}: out of memory: an input asked for more memory than this process may use ({FormatLimit()}); the file is likely corrupt or not what this command expects.");
                if (parse.GetValue(Verbose)) Console.Error.WriteLine(e);
                return Failure;
            }
            // ArgumentException appends " (Parameter 'x')" to its message: a C# detail, not something a command-line user typed.
            string message = inner is ArgumentException { ParamName: { } name } && inner.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
                ? inner.Message[..^$" (Parameter '{name}')".Length]
                : inner.Message;
            Console.Error.WriteLine($"striate {command}{Where}: {message}");
            if (parse.GetValue(Verbose)) Console.Error.WriteLine(e);
            return IsUsageError(inner) ? UsageError : Failure;
        }
    }

    private static string FormatLimit()
    {
        long bytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#} GiB" : $"{bytes >> 20} MiB";
    }

    /// <summary>Whether <paramref name="e"/> means the command line must change (exit 2) rather than that running it failed (exit 1).</summary>
    public static bool IsUsageError(Exception e) =>
        e is ArgumentException or FileNotFoundException or DirectoryNotFoundException or Striate.Data.DatasetNotFoundException;

    /// <summary>
    /// Checks that every path in <paramref name="paths"/> is an existing file, so a folder or a typo is a usage error
    /// naming it rather than "Access to the path is denied" or "Could not find file".
    /// </summary>
    public static void RequireFiles(string what, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
                throw new ArgumentException($"{path} is a folder; {what} takes files (for a whole folder: {path}{Path.DirectorySeparatorChar}*.png).");
            if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist.", path);
        }
    }

    /// <summary>
    /// Checks an --out that names a file to write: not an existing folder, and its folder is created. Writing over an
    /// existing file is allowed (the same command run twice replaces its output).
    /// </summary>
    public static void RequireOutputFile(string path)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"--out {path} is a folder; give a file name such as {Path.Combine(path, "out.png")}.");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && File.Exists(dir)) throw new ArgumentException($"--out {path}: {dir} is a file, not a folder.");
        if (dir is not null) Directory.CreateDirectory(dir);
    }

    /// <summary>Checks an --out that names a folder to write into: not an existing file; the folder is created.</summary>
    public static void RequireOutputFolder(string path)
    {
        if (File.Exists(path)) throw new ArgumentException($"--out {path} is a file; it takes a folder (files are written inside it).");
        Directory.CreateDirectory(path);
    }
}
