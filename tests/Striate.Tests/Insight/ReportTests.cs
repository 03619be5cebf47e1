using System.Diagnostics;
using System.Text.RegularExpressions;
using Striate.Data;
using Striate.Insight;
using Striate.Models;
using Striate.Training;

namespace Striate.Tests.Insight;

/// <summary>The HTML training report: self-contained, complete, and rendered by a real headless Chromium.</summary>
public sealed class ReportTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-report").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A report of an (untrained) LeNet with made-up history, evaluation and four synthetic test images.</summary>
    private static ReportContent Content()
    {
        var model = LeNet.CreateRelu(generator: new Generator(7));
        model.Eval();
        var history = Enumerable.Range(1, 3).Select(e => new EpochRecord(e, 1.0 / e, 0.5 + 0.1 * e, 1.1 / e, 0.45 + 0.1 * e, 0.9, 1000, 2.0, 0.01)).ToList();
        var confusion = new long[10, 10];
        for (int i = 0; i < 10; i++) { confusion[i, i] = 80 + i; confusion[i, (i + 1) % 10] = 20 - i; }
        var samples = new List<ReportSample>();
        for (int s = 0; s < 4; s++)
        {
            var px = new float[28 * 28];
            for (int y = 4; y < 24; y++) px[y * 28 + 8 + 3 * s] = px[y * 28 + 9 + 3 * s] = 1f; // a vertical stroke
            samples.Add(new ReportSample(px, px, 1, 28, 28, s));
        }
        return new ReportContent
        {
            Title = "lenet-relu on mnist",
            ModelName = "lenet-relu",
            Model = model,
            InputShape = (1, 28, 28),
            ClassNames = Datasets.MnistClasses,
            Config = new RunConfig { Model = "lenet-relu", Dataset = "mnist", Epochs = 3 },
            History = history,
            Evaluation = new EvaluationResult { Loss = 0.4, Top1 = 0.85, Top5 = 0.99, Samples = 1000, Confusion = confusion, ClassNames = Datasets.MnistClasses },
            Samples = samples,
        };
    }

    [Fact]
    public void ReportIsOneSelfContainedFileWithEverySection()
    {
        string path = ReportWriter.Write(_dir, Content());
        Assert.Equal(Path.Combine(_dir, "report.html"), path);
        string html = File.ReadAllText(path);
        foreach (var section in new[] { "Run configuration", "Learning curves", "Confusion matrix", "Per-class accuracy", "First-layer filters", "Sample test predictions", "Model" })
            Assert.Contains($"<h2>{section}</h2>", html);
        Assert.DoesNotContain("Not shown", html);
        // Nothing is fetched: every src/href is a data: URI (the SVG namespace is an identifier, not a fetch).
        foreach (Match m in Regex.Matches(html, "(?:src|href)\\s*=\\s*\"([^\"]*)\""))
            Assert.StartsWith("data:image/png;base64,", m.Groups[1].Value);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("url(", html);
        var images = Regex.Matches(html, "src=\"data:image/png;base64,([^\"]+)\"");
        Assert.Equal(1 + 4 * 2, images.Count); // filters, then image + Grad-CAM per sample
        foreach (Match m in images) PngCodec.Decode(Convert.FromBase64String(m.Groups[1].Value), "inlined");
        Assert.Equal(2, Regex.Matches(html, "<svg ").Count);
        Assert.Contains("61,706", html); // LeNet's parameter count in the model table
    }

    [Fact]
    public void MissingPartsAreLeftOutWithANote()
    {
        var full = Content();
        var bare = new ReportContent { Title = "t", ModelName = "lenet", Model = full.Model, InputShape = (1, 28, 28), ClassNames = full.ClassNames, Notes = ["no data here"] };
        string html = ReportWriter.Render(bare);
        Assert.Contains("no data here", html);
        Assert.Contains("Not shown: no training history", html);
        Assert.Contains("Not shown: no test images", html);
        Assert.Contains("<h2>First-layer filters</h2>", html);
    }

    [Fact]
    public async Task ChromiumRendersTheReportAsAVisiblePage()
    {
        const string chromium = "/usr/bin/chromium";
        Assert.SkipUnless(File.Exists(chromium), $"{chromium} is not installed (.ci/run installs it with apt-get).");
        string path = ReportWriter.Write(_dir, Content());
        string shot = Path.Combine(_dir, "shot.png");
        string profile = Directory.CreateTempSubdirectory("striate-chromium").FullName;
        try
        {
            var psi = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}", $"--screenshot={shot}", "--window-size=1200,2000",
                         new Uri(path).AbsoluteUri })
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not finish within 2 minutes.");
            }
            Assert.True(File.Exists(shot), $"chromium wrote no screenshot (exit {process.ExitCode}): {await stderr}");
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }

        var image = PngCodec.Load(shot);
        Assert.Equal((1200, 2000), (image.Width, image.Height));
        int ch = image.Channels, notWhite = 0, n = image.Width * image.Height;
        var colours = new HashSet<int>();
        for (int i = 0; i < n; i++)
        {
            int r = image.Pixels[i * ch], g = image.Pixels[i * ch + (ch >= 3 ? 1 : 0)], b = image.Pixels[i * ch + (ch >= 3 ? 2 : 0)];
            if (r != 255 || g != 255 || b != 255) notWhite++;
            colours.Add((r >> 3 << 10) | (g >> 3 << 5) | (b >> 3));
        }
        output.WriteLine($"screenshot {image.Width}×{image.Height}: {100.0 * notWhite / n:F1} % non-white pixels, {colours.Count} distinct colours (5-bit).");
        Assert.True(notWhite >= n / 20, $"only {notWhite} of {n} pixels differ from white: the page looks blank");
        Assert.True(colours.Count >= 20, $"only {colours.Count} distinct colours in the screenshot");
    }
}
