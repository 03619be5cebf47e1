using System.CommandLine;
using Striate.Data;

namespace Striate.Cli.Commands;

/// <summary><c>striate datasets</c>: which datasets are present, where, and whether their checksums verify.</summary>
internal static class DatasetsCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "Also look in this folder." };
        var command = new Command("datasets", "List the datasets Striate can find and whether they verify.") { data };
        command.SetAction(parse => CliErrors.Run(parse, "datasets", () =>
        {
            foreach (var status in DatasetLocator.Describe(parse.GetValue(data))) Console.WriteLine(status);
            return 0;
        }));
        return command;
    }
}
