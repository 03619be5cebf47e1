using System.CommandLine;

namespace Striate.Cli;

/// <summary>
/// Runs a command body so that a failure is one line on stderr naming what was wrong and a non-zero exit code;
/// the stack trace only with --verbose.
/// </summary>
internal static class CliErrors
{
    /// <summary>--verbose, on every command.</summary>
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Show stack traces on errors.", Recursive = true };

    /// <summary>Said after the command's name in errors, e.g. " (rank 1 of 2 on node7)" in a distributed job.</summary>
    public static string Where { get; set; } = "";

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
                return 1;
            }
            // ArgumentException appends " (Parameter 'x')" to its message: a C# detail, not something a command-line user typed.
            string message = inner is ArgumentException { ParamName: { } name } && inner.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
                ? inner.Message[..^$" (Parameter '{name}')".Length]
                : inner.Message;
            Console.Error.WriteLine($"striate {command}{Where}: {message}");
            if (parse.GetValue(Verbose)) Console.Error.WriteLine(e);
            return inner is ArgumentException or FileNotFoundException or DirectoryNotFoundException or Striate.Data.DatasetNotFoundException ? 2 : 1;
        }
    }

    private static string FormatLimit()
    {
        long bytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.#} GiB" : $"{bytes >> 20} MiB";
    }
}
