using Striate.Data;
using Striate.Tests.Cli;

namespace Striate.Tests.Insight;

/// <summary>
/// The report and visualize commands end to end on one short MNIST run: train --report, report RUN_DIR,
/// visualize filters and visualize features.
/// </summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-report-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TrainWithReportThenReportAndVisualizeTheCheckpoint()
    {
        string run = Path.Combine(_dir, "run");
        var r = StriateProcess.Run("train", "lenet-relu", "--dataset", "mnist", "--epochs", "1", "--limit-train", "256", "--out", run, "--report");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        string report = Path.Combine(run, "report.html");
        Assert.True(File.Exists(report), "train --report wrote no report.html");
        string html = File.ReadAllText(report);
        Assert.Contains("<h2>Sample test predictions</h2>", html);
        Assert.DoesNotContain("Not shown", html);

        File.Delete(report);
        r = StriateProcess.Run("report", run, "--limit", "300", "--samples", "3");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        html = File.ReadAllText(report);
        Assert.Contains("300 images", html);
        Assert.Equal(1 + 3 * 2, System.Text.RegularExpressions.Regex.Matches(html, "src=\"data:image/png").Count);

        string checkpoint = Path.Combine(run, "model.safetensors");
        string filters = Path.Combine(_dir, "filters.png");
        r = StriateProcess.Run("visualize", "filters", checkpoint, "--out", filters);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("0 weight [6, 1, 5, 5]", r.Stdout);
        Assert.Equal(3, PngCodec.Load(filters).Channels);

        r = StriateProcess.Run("visualize", "filters", checkpoint, "--layer", "1", "--out", filters);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("is a ReLU, not a Conv2d", r.Stderr);

        var test = (InMemoryDataset)Datasets.Open("mnist", train: false, allowDownload: false);
        string digit = Path.Combine(_dir, "digit.png");
        PngCodec.Save(digit, test.RawImage(0).ToArray(), 28, 28, 1);
        string maps = Path.Combine(_dir, "maps");
        r = StriateProcess.Run("visualize", "features", checkpoint, digit, "--out", maps);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        // LeNet's 4-D outputs: conv, relu, pool twice (children 0..5); flatten and the linear layers are skipped.
        Assert.Equal(["0.png", "1.png", "2.png", "3.png", "4.png", "5.png"], Directory.GetFiles(maps).Select(f => Path.GetFileName(f)).Order().ToArray());

        r = StriateProcess.Run("visualize", "features", checkpoint, digit, "--layer", "3", "--out", maps);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("[1, 16, 10, 10]", r.Stdout);
    }
}
