using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Striate.Data;

namespace Striate.Tests.Cli;

/// <summary>
/// Rough edges a new user met in the first hour, each run through the real program: predict's aligned rows and
/// --json, the warning for a one-class folder, RGB images turned gray said out loud, and a coarse Grad-CAM map named.
/// </summary>
public sealed class FirstHourCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-firsthour").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TrainTiny(string model = "lenet", params string[] extra)
    {
        string run = Path.Combine(_dir, "run-" + model);
        StriateProcess.AssertOk(StriateProcess.Run(["train", model, "--limit-train", "64", "--limit-test", "32", "--epochs", "1", "--out", run, .. extra]));
        return Path.Combine(run, "model.safetensors");
    }

    private string Digit(int index)
    {
        var test = (InMemoryDataset)Datasets.Open("mnist", train: false, allowDownload: false);
        string path = Path.Combine(_dir, $"digit{index}.png");
        PngCodec.Save(path, test.RawImage(index).ToArray(), 28, 28, 1);
        return path;
    }

    [Fact]
    public void PredictAlignsItsRowsAndSpeaksJson()
    {
        string checkpoint = TrainTiny();
        string a = Digit(0), b = Digit(1);
        var r = StriateProcess.Run("predict", checkpoint, a, b);
        StriateProcess.AssertOk(r);
        var rows = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith(' ')).ToList();
        Assert.Equal(10, rows.Count);
        Assert.Single(rows.Select(l => l.IndexOf('%')).Distinct()); // "100.00 %" and "0.01 %" end in the same column
        Assert.All(rows, l => Assert.Matches(@"^ +\d{1,3}\.\d\d %  \d$", l)); // MNIST's names are its indices: shown once

        r = StriateProcess.Run("predict", checkpoint, a, b, "--json");
        StriateProcess.AssertOk(r);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(2, json.RootElement.GetArrayLength());
        var first = json.RootElement[0];
        Assert.Equal(a, first.GetProperty("image").GetString());
        var predictions = first.GetProperty("predictions");
        Assert.Equal(5, predictions.GetArrayLength());
        var p = predictions.EnumerateArray().Select(e => e.GetProperty("probability").GetDouble()).ToList();
        Assert.Equal(p.OrderByDescending(x => x), p);
        Assert.InRange(p.Sum(), 0.0, 1.000001);
        Assert.Equal(predictions[0].GetProperty("class").GetInt32().ToString(), predictions[0].GetProperty("name").GetString());
    }

    [Fact]
    public void AOneClassFolderIsRefusedAndTheGrayConversionOfRgbImagesSaid()
    {
        string root = Path.Combine(_dir, "pets");
        var rng = new Random(1);
        void Images(string cls)
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < 10; i++)
            {
                var pixels = new byte[28 * 28 * 3];
                rng.NextBytes(pixels);
                PngCodec.Save(Path.Combine(root, cls, $"{i}.png"), pixels, 28, 28, 3);
            }
        }
        Images("cat");
        // One class: every prediction would be right, so the run is refused rather than reporting 100 %.
        var r = StriateProcess.Run("train", "lenet", "--dataset", $"folder:{root}", "--epochs", "1", "--out", Path.Combine(_dir, "one-class-run"));
        StriateProcess.AssertOneLineError(r, "has a single class folder ('cat'); a classifier needs at least two classes");

        Images("dog");
        r = StriateProcess.Run("train", "lenet", "--dataset", $"folder:{root}", "--epochs", "1", "--out", Path.Combine(_dir, "pets-run"));
        StriateProcess.AssertOk(r);
        Assert.Contains("note: the images are RGB and lenet takes 1 channel, so they are converted to gray", r.Stderr);
    }

    [Fact]
    public void AGrayFolderForLeNetNeedsNoNote()
    {
        string root = Path.Combine(_dir, "digits");
        foreach (var cls in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(root, cls));
            for (int i = 0; i < 2; i++) PngCodec.Save(Path.Combine(root, cls, $"{i}.png"), new byte[28 * 28], 28, 28, 1);
        }
        var r = StriateProcess.Run("train", "lenet", "--dataset", $"folder:{root}", "--epochs", "1", "--out", Path.Combine(_dir, "digits-run"));
        StriateProcess.AssertOk(r);
        Assert.DoesNotContain("warning:", r.Stderr);
        Assert.DoesNotContain("note:", r.Stderr);
    }

    [Fact]
    public void GradCamSaysWhenTheDefaultLayerIsTooCoarse()
    {
        string resnet = TrainTiny("d2l-resnet18", "--resize", "32");
        string digit = Digit(0);
        var r = StriateProcess.Run("explain", resnet, digit, "--fit", "--out", Path.Combine(_dir, "cam.png"));
        StriateProcess.AssertOk(r);
        Assert.Matches(@"note: the default layer \S+ gives only a 1×1 map at this 32×32 input, too coarse to say much; pass --layer", r.Stderr);

        r = StriateProcess.Run("explain", TrainTiny(), digit, "--out", Path.Combine(_dir, "cam-lenet.png"));
        StriateProcess.AssertOk(r);
        Assert.DoesNotContain("note:", r.Stderr);
    }

    [Fact]
    public void TheLiveProgressLabelsItsTimesAndLeavesOneLinePerEpoch()
    {
        // The live display only runs on a terminal: script(1) gives the program a pseudo-terminal and records it.
        Assert.SkipUnless(File.Exists("/usr/bin/script"), "needs script(1) for a pseudo-terminal");
        string log = Path.Combine(_dir, "typescript"), run = Path.Combine(_dir, "live");
        string dll = Path.Combine(AppContext.BaseDirectory, "Striate.Cli.dll");
        var psi = new ProcessStartInfo("/usr/bin/script") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-qec", $"dotnet '{dll}' train lenet --limit-train 640 --limit-test 64 --epochs 2 --out '{run}'", log })
            psi.ArgumentList.Add(a);
        psi.Environment["TERM"] = "xterm-256color";
        psi.Environment["STRIATE_DATA"] = "";
        using var process = Process.Start(psi)!;
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)));
        Assert.Equal(0, process.ExitCode);
        string screen = Regex.Replace(File.ReadAllText(log), @"\x1b\[[0-9;?]*[A-Za-z]", "");
        Assert.Matches(@"elapsed \d+:\d\d", screen);
        Assert.Matches(@"left (\d+:\d\d|-:--)", screen);
        Assert.Single(Regex.Matches(screen, "epoch 1: train loss"));
        Assert.Single(Regex.Matches(screen, "epoch 2: train loss"));
        // The bar is cleared before the final line, so the last screen is the epoch lines and the result.
        string raw = File.ReadAllText(log);
        int end = raw.IndexOf("Test accuracy", StringComparison.Ordinal);
        Assert.True(end > 0, screen);
        Assert.Contains("\x1b[2K", raw[Math.Max(0, end - 40)..end]);
    }
}
