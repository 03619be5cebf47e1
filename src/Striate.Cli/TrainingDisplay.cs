using Spectre.Console;
using Spectre.Console.Rendering;
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

    /// <summary>
    /// One bar for the whole run (epoch, loss, accuracy and speed in its label; "evaluating" while the test set runs),
    /// cleared at the end, so the screen keeps only one summary line per epoch; its time columns say what they count.
    /// </summary>
    private sealed class LiveDisplay : TrainingDisplay
    {
        public override void Run(Trainer trainer, Action train)
        {
            AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                    new LabelledTimeColumn("elapsed", t => t.ElapsedTime), new LabelledTimeColumn("left", t => t.RemainingTime), new SpinnerColumn())
                .Start(ctx =>
                {
                    ProgressTask? task = null;
                    string epochLabel = "";
                    trainer.BatchEnded += p =>
                    {
                        task ??= ctx.AddTask("training", maxValue: (double)p.Epochs * p.Batches);
                        task.Value = (double)(p.Epoch - 1) * p.Batches + p.Batch;
                        epochLabel = $"epoch {p.Epoch}/{p.Epochs}";
                        task.Description = Markup.Escape($"{epochLabel}  loss {p.RunningLoss:F4}  acc {p.RunningAccuracy:P1}  {p.ImagesPerSecond:N0} img/s");
                    };
                    trainer.EvaluationProgress += (done, total) =>
                    {
                        if (task != null) task.Description = Markup.Escape($"{epochLabel}  evaluating {done}/{total}");
                    };
                    trainer.EpochEnded += r => AnsiConsole.MarkupLine(Markup.Escape(EpochLine(r)));
                    train();
                });
        }
    }

    /// <summary>"elapsed 0:42" / "left 1:05": a time column that names what it shows.</summary>
    private sealed class LabelledTimeColumn(string label, Func<ProgressTask, TimeSpan?> time) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            var t = time(task);
            string text = t is { } span ? (span.TotalHours >= 1 ? span.ToString(@"h\:mm\:ss") : span.ToString(@"m\:ss")) : "-:--";
            return new Markup($"[grey]{label}[/] {text}");
        }
    }
}
