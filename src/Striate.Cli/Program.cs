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
        var root = new RootCommand("Striate: build, train, inspect and ship convolutional neural networks in pure C#.");
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
        return root.Parse(args).Invoke();
    }
}
