using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Striate.Tests.Cli;

/// <summary>
/// striate train and its run folder: a used folder is refused without --resume or --force (and --force clears the old
/// run's files), and Ctrl-C says where the last checkpoint is and the command that resumes it, which then works.
/// </summary>
public sealed class TrainingRunFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-runfolder").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Short = ["--limit-train", "128", "--limit-test", "64", "--epochs", "1"];

    [Fact]
    public void TrainingIntoAUsedFolderNeedsResumeOrForce()
    {
        string run = Path.Combine(_dir, "run");
        StriateProcess.AssertOk(StriateProcess.Run(["train", "lenet", "--out", run, .. Short]));
        File.WriteAllText(Path.Combine(run, "report.html"), "<p>the first run's report</p>");
        File.WriteAllText(Path.Combine(run, "notes.txt"), "mine");
        var model = File.ReadAllBytes(Path.Combine(run, "model.safetensors"));

        var r = StriateProcess.Run(["train", "lenet", "--out", run, "--seed", "7", .. Short]);
        StriateProcess.AssertOneLineError(r, $"{run} already holds a training run (model.safetensors, metrics.json, curves.svg, confusion.svg, report.html); pass --resume to continue it, --force to replace it");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));

        StriateProcess.AssertOk(StriateProcess.Run(["train", "lenet", "--out", run, "--seed", "7", "--force", .. Short]));
        Assert.NotEqual(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(run, "report.html")), "the first run's report was left beside the second run");
        Assert.Equal("mine", File.ReadAllText(Path.Combine(run, "notes.txt")));
        // --force clears the old run's files, never the lock the forced run itself holds on the folder.
        Assert.True(File.Exists(Path.Combine(run, Striate.Training.RunFolderLock.LockFileName)), "--force deleted the run-folder lock");
        Assert.Equal(["confusion.svg", "curves.svg", "metrics.json", "model.safetensors", "notes.txt"],
            Directory.GetFiles(run).Select(Path.GetFileName).Where(f => f != Striate.Training.RunFolderLock.LockFileName).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void AFolderAnotherRunHoldsIsRefusedEvenWithForce()
    {
        string run = Path.Combine(_dir, "held");
        StriateProcess.AssertOk(StriateProcess.Run(["train", "lenet", "--out", run, .. Short]));
        var model = File.ReadAllBytes(Path.Combine(run, "model.safetensors"));
        // The lock is checked first: --force replaces a finished run, not one that is still writing.
        using (Striate.Training.RunFolderLock.Acquire(run, "a test holding the folder"))
        {
            var r = StriateProcess.Run(["train", "lenet", "--out", run, "--force", .. Short]);
            StriateProcess.AssertOneLineError(r, "is in use by another run");
            Assert.Contains("a test holding the folder", r.Stderr);
            Assert.Equal(1, r.ExitCode);
        }
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [Fact]
    public async Task CtrlCSaysWhereTheCheckpointIsAndHowToResume()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "sends SIGINT, which Windows does not have");
        string run = Path.Combine(_dir, "interrupted");
        // A job a non-interactive shell starts in the background (CI) inherits SIGINT ignored, and .NET keeps an ignored
        // SIGINT ignored, as a background job should; a terminal's Ctrl-C reaches a process with the default disposition,
        // which GNU env restores before it execs (same process id).
        Assert.SkipUnless(File.Exists("/usr/bin/env"), "needs /usr/bin/env (GNU coreutils) to give the program a default SIGINT");
        var psi = new ProcessStartInfo("/usr/bin/env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "Striate.Cli.dll"), "train", "lenet", "--limit-train", "1000", "--limit-test", "64", "--epochs", "200", "--out", run })
            psi.ArgumentList.Add(a);
        psi.Environment["STRIATE_DATA"] = "";
        using var process = Process.Start(psi)!;
        var firstEpoch = new TaskCompletionSource();
        var stdout = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data?.StartsWith("epoch 1:") == true) firstEpoch.TrySetResult();
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            bool ended = await Task.WhenAny(firstEpoch.Task, Task.Delay(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken)) == firstEpoch.Task;
            Assert.True(ended, "the first epoch did not end");
            Thread.Sleep(300); // into epoch 2 (the checkpoint of epoch 1 is written before its line is printed)
            Assert.Equal(0, kill(process.Id, 2)); // SIGINT, as Ctrl-C in a terminal
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "striate train did not stop after Ctrl-C");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        string err = await stderr;
        Assert.Equal(130, process.ExitCode);
        string checkpoint = Path.Combine(run, "model.safetensors");
        Assert.Contains($"The last checkpoint is {checkpoint} (after epoch ", err);
        Assert.Contains($"continue with: striate train lenet --limit-train 1000 --limit-test 64 --epochs 200 --out {run} --resume", err);
        Assert.DoesNotContain("   at ", err);
        Assert.True(File.Exists(checkpoint));

        // The printed command resumes (here with fewer epochs so it ends).
        var r = StriateProcess.Run("train", "lenet", "--limit-train", "1000", "--limit-test", "64", "--epochs", "3", "--out", run, "--resume");
        StriateProcess.AssertOk(r);
        Assert.Contains("Resuming lenet after epoch", r.Stdout);
    }
}
