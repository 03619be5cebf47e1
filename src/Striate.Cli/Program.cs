using System.CommandLine;
using Striate.Cli.Commands;

namespace Striate.Cli;

/// <summary>Entry point of the <c>striate</c> command.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Striate.Imaging.ImageSharpDecoder.Register(); // JPEG, BMP, GIF wherever images are read
        SkippedImages.Install();
        var root = new RootCommand("Striate: build, train, inspect and ship convolutional neural networks in pure C#.\n" +
            "Exit codes: 0 success, 1 the command failed while running, 2 usage error (fix the command line), 130 interrupted.");
        root.Options.Add(CliErrors.Verbose);
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(DatasetsCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(SummaryCommand.Create());
        root.Subcommands.Add(FilterCommand.Create());
        root.Subcommands.Add(VisualizeCommand.Create());
        root.Subcommands.Add(ReportCommand.Create());
        root.Subcommands.Add(ExplainCommand.Create());
        root.Subcommands.Add(AdversarialCommand.Create());
        root.Subcommands.Add(AblateCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        var parse = root.Parse(args);
        // Parse errors are reported here, one line each in the user's words, rather than by System.CommandLine's
        // default (its message with .NET type names, followed by the whole help text).
        if (parse.Errors.Count > 0) return UsageErrors.Report(parse);
        return parse.Invoke();
    }
}
