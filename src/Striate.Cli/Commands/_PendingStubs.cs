// ============================================================================================================
// TEMPORARY STUB — DELETE THIS FILE ON MERGE. Branch `insight` implements EmbeddingCommand for real; it lives in
// the CLI project because the library does not reference System.CommandLine.
// ============================================================================================================
using System.CommandLine;

namespace Striate.Cli.Commands;

/// <summary>TEMPORARY STUB (branch insight has the real one): <c>striate visualize embedding</c>.</summary>
internal static class EmbeddingCommand
{
    public static Command Create()
    {
        var command = new Command("embedding", "(stub until branch insight merges) Embedding projection of a dataset.");
        command.SetAction(_ => { Console.Error.WriteLine("striate visualize embedding: not available in this build."); return 1; });
        return command;
    }
}
