using Spectre.Console;
using Striate.Training;

namespace Striate.Cli;

/// <summary>
/// Shows training progress: a live Spectre.Console progress bar with ETA, loss and accuracy on a terminal; plain
/// lines (a few per epoch) when the output is redirected, so logs stay readable.
/// </summary>
internal abstract class TrainingDisplay
{
    /// <param name="plain">Plain lines even on a terminal (processes under mpirun share one).</param>
    /// <param name="batchNote">Said on progress lines, e.g. the global batch of a distributed run.</param>
    public static TrainingDisplay Create(bool plain = false, string? batchNote = null) =>
        !plain && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive ? new LiveDisplay() : new PlainDisplay(batchNote);

    public abstract void Run(Trainer trainer, Action train);

    protected static string EpochLine(EpochRecord r) =>
        $"epoch {r.Epoch}: train loss {r.TrainLoss:F4} acc {r.TrainAccuracy:P2}{Evaluation(r)} | {r.ImagesPerSecond:N0} img/s, {r.Seconds:F1} s";

    private static string Evaluation(EpochRecord r) =>
        !double.IsNaN(r.ValLoss) ? $" | val loss {r.ValLoss:F4} acc {r.ValAccuracy:P2}"
        : !double.IsNaN(r.TestLoss) ? $" | test loss {r.TestLoss:F4} acc {r.TestAccuracy:P2}"
        : "";

    private sealed class PlainDisplay(string? batchNote) : TrainingDisplay
    {
        public override void Run(Trainer trainer, Action train)
        {
            trainer.BatchEnded += p =>
            {
                int every = Math.Max(1, p.Batches / 4);
                if (p.Batch % every == 0 && p.Batch != p.Batches)
                    Console.WriteLine($"epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches}{(batchNote == null ? "" : $" of {batchNote}")}: loss {p.RunningLoss:F4} acc {p.RunningAccuracy:P2} ({p.ImagesPerSecond:N0} img/s)");
            };
            trainer.EpochEnded += r => Console.WriteLine(EpochLine(r));
            train();
        }
    }

    private sealed class LiveDisplay : TrainingDisplay
    {
        public override void Run(Trainer trainer, Action train)
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    ProgressTask? task = null, eval = null;
                    trainer.BatchEnded += p =>
                    {
                        if (task == null || p.Batch == 1)
                        {
                            task?.StopTask();
                            task = ctx.AddTask($"epoch {p.Epoch}/{p.Epochs}", maxValue: p.Batches);
                        }
                        task.Value = p.Batch;
                        task.Description = $"epoch {p.Epoch}/{p.Epochs}  loss {p.RunningLoss:F4}  acc {p.RunningAccuracy:P1}  {p.ImagesPerSecond:N0} img/s";
                    };
                    trainer.EvaluationProgress += (done, total) =>
                    {
                        if (eval == null || done == 1) eval = ctx.AddTask("  evaluating", maxValue: total);
                        eval.Value = done;
                        if (done == total) { eval.StopTask(); eval = null; }
                    };
                    trainer.EpochEnded += r =>
                    {
                        task?.StopTask();
                        task = null;
                        AnsiConsole.MarkupLine(Markup.Escape(EpochLine(r)));
                    };
                    train();
                });
        }
    }
}
