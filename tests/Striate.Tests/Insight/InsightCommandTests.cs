using Striate.Data;
using Striate.Tests.Cli;

namespace Striate.Tests.Insight;

/// <summary>striate explain, adversarial, eval --adversarial, ablate and visualize embedding end to end on a small LeNet run.</summary>
public sealed class InsightCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-insight-cli").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static bool IsPng(string path) => File.Exists(path) && File.ReadAllBytes(path).AsSpan(0, 8).SequenceEqual(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 });

    [Fact]
    public void InsightCommandsExplainAttackEvaluateAndAblateATrainedModel()
    {
        string run = Path.Combine(_dir, "run");
        StriateProcess.AssertOk(StriateProcess.Run("train", "lenet-relu", "--dataset", "mnist", "--epochs", "1", "--limit-train", "1024", "--out", run));
        string model = Path.Combine(run, "model.safetensors");
        var test = Datasets.Open("mnist", train: false, allowDownload: false);
        var sample = new ImageSample();
        test.Load(0, sample);
        string digit = Path.Combine(_dir, "digit.png");
        PngCodec.Save(digit, ImageConversion.ToImage(sample.Pixels, 1, 28, 28));

        foreach (var method in new[] { "gradcam", "saliency" })
        {
            string png = Path.Combine(_dir, $"{method}.png");
            var r = StriateProcess.Run("explain", model, digit, "--method", method, "--out", png);
            StriateProcess.AssertOk(r);
            Assert.Equal(5, r.Stdout.Split('\n').Count(l => l.Contains('%')));
            Assert.Contains(method == "gradcam" ? "gradcam at layer 4 for class" : "saliency for class", r.Stdout);
            Assert.True(IsPng(png), $"{png} is not a PNG");
        }
        StriateProcess.AssertOk(StriateProcess.Run("explain", model, digit, "--class", "3", "--layer", "1", "--out", Path.Combine(_dir, "l1.png")));
        StriateProcess.AssertOneLineError(StriateProcess.Run("explain", model, digit, "--method", "cam", "--out", Path.Combine(_dir, "cam.png")), "use gradcam");
        StriateProcess.AssertOneLineError(StriateProcess.Run("explain", model, digit, "--layer", "conv9", "--out", Path.Combine(_dir, "x.png")), "0 (Conv2d), 1 (ReLU)");
        StriateProcess.AssertOneLineError(StriateProcess.Run("explain", model, digit, "--method", "lime", "--out", Path.Combine(_dir, "x.png")), "gradcam, cam, saliency");

        string adversarial = Path.Combine(_dir, "adv.png");
        var a = StriateProcess.Run("adversarial", model, digit, "--eps", "0.25", "--label", "7", "--out", adversarial);
        StriateProcess.AssertOk(a);
        Assert.Contains("after FGSM, ε = 0.25", a.Stdout);
        Assert.Contains("prediction", a.Stdout);
        Assert.True(IsPng(adversarial));
        var decoded = ImageFolder.LoadImage(adversarial);
        Assert.Equal(224, decoded.Height); // 28 pixels enlarged 8× so the picture is visible
        Assert.True(decoded.Width > 3 * 224, "three panels side by side");

        var e = StriateProcess.Run("eval", model, "--limit", "300", "--adversarial", "fgsm", "--eps", "0.2");
        StriateProcess.AssertOk(e);
        output.WriteLine(e.Stdout);
        double clean = Top1(e.Stdout.Split('\n').First(l => l.Contains("clean"))), attacked = Top1(e.Stdout.Split('\n').First(l => l.Contains("under FGSM")));
        Assert.True(attacked < clean, $"FGSM did not lower accuracy: {clean} → {attacked}");
        StriateProcess.AssertOneLineError(StriateProcess.Run("eval", model, "--adversarial", "fgsm"), "--eps");
        StriateProcess.AssertOneLineError(StriateProcess.Run("eval", model, "--adversarial", "pgd", "--eps", "0.1"), "fgsm only");

        string chart = Path.Combine(_dir, "ablation.svg");
        var ab = StriateProcess.Run("ablate", model, "--limit", "200", "--out", chart);
        StriateProcess.AssertOk(ab);
        Assert.Contains("baseline", ab.Stdout);
        Assert.Contains("11 (Linear)", ab.Stdout);
        System.Xml.Linq.XDocument.Load(chart);

        string svg = Path.Combine(_dir, "embedding.svg");
        var v = StriateProcess.Run("visualize", "embedding", model, "--limit", "300", "--out", svg);
        StriateProcess.AssertOk(v);
        Assert.Contains("84 features", v.Stdout);
        Assert.Contains("class separation", v.Stdout);
        System.Xml.Linq.XDocument.Load(svg);
    }

    private static double Top1(string line)
    {
        int at = line.IndexOf("top-1 ", StringComparison.Ordinal) + 6;
        return double.Parse(line[at..line.IndexOf('%', at)].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
