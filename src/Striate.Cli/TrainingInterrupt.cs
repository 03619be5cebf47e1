using Striate.Training;

namespace Striate.Cli;

/// <summary>
/// Ctrl-C during <c>striate train</c>: the first press stops training at the end of the current batch (or evaluation
/// step) and the command says where the last checkpoint is and the exact command that resumes it; a second press
/// quits at once. Checkpoints are written atomically, so stopping never leaves a half-written one.
/// </summary>
internal sealed class TrainingInterrupt : IDisposable
{
    private volatile bool _requested;
    private int _presses;

    public TrainingInterrupt(Trainer trainer)
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        trainer.BatchEnded += _ => ThrowIfRequested();
        trainer.EvaluationProgress += (_, _) => ThrowIfRequested();
    }

    /// <summary>The exception that unwinds Trainer.Fit after Ctrl-C.</summary>
    public sealed class InterruptedException() : OperationCanceledException("Training was interrupted (Ctrl-C).");

    public void Dispose() => Console.CancelKeyPress -= OnCancelKeyPress;

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (Interlocked.Increment(ref _presses) > 1) return; // the second Ctrl-C ends the process as usual
        e.Cancel = true;
        _requested = true;
        Console.Error.WriteLine("Stopping after this batch (Ctrl-C again to quit at once) …");
    }

    private void ThrowIfRequested()
    {
        if (_requested) throw new InterruptedException();
    }

    /// <summary>
    /// Prints what was kept and how to continue; returns exit code 130 (interrupted).
    /// <paramref name="lastSavedEpoch"/> is the epoch of the checkpoint on disk, null when none was written.
    /// </summary>
    public static int Report(string checkpointPath, int? lastSavedEpoch, int interruptedEpoch)
    {
        if (lastSavedEpoch is int epoch)
        {
            Console.Error.WriteLine($"striate train: interrupted during epoch {interruptedEpoch}. The last checkpoint is {checkpointPath} (after epoch {epoch}); " +
                                    $"continue with: {ResumeCommand()}");
        }
        else
        {
            Console.Error.WriteLine($"striate train: interrupted during epoch {interruptedEpoch}, before the first checkpoint was written; " +
                                    "nothing to resume (run the same command again to start over).");
        }
        return CliErrors.Interrupted;
    }

    /// <summary>This process's own command line with --resume added (and --force dropped: resuming keeps the folder).</summary>
    private static string ResumeCommand()
    {
        var args = Environment.GetCommandLineArgs().Skip(1).Where(a => a != "--force").ToList();
        if (!args.Contains("--resume")) args.Add("--resume");
        return "striate " + string.Join(' ', args.Select(Quote));
    }

    private static string Quote(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsLetterOrDigit(c) || "-_./:=,+@%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''") + "'";
}
