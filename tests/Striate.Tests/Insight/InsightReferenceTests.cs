using Striate.Insight;
using Striate.IO;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Insight;

/// <summary>
/// Grad-CAM, saliency and FGSM against PyTorch on <c>tests/reference/insight/insight_00.safetensors</c> (or the folder
/// named by <c>$STRIATE_INSIGHT_REFERENCE_DIR</c>); the format is described in the shared reference README.
/// </summary>
public sealed class InsightReferenceTests(ITestOutputHelper output)
{
    private static string ReferenceDir
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("STRIATE_INSIGHT_REFERENCE_DIR");
            return !string.IsNullOrEmpty(overridden) ? overridden : Path.Combine(RepoPaths.Root, "tests", "reference", "insight");
        }
    }

    private static IEnumerable<string> Files() => Directory.Exists(ReferenceDir)
        ? Directory.GetFiles(ReferenceDir, "insight_*.safetensors").Order()
        : [];

    /// <summary>The reference files, failing when there are none: a loop over no file would pass without comparing anything.</summary>
    private static List<string> RequiredFiles()
    {
        var files = Files().ToList();
        Assert.True(files.Count > 0, $"no insight_*.safetensors in {ReferenceDir}");
        return files;
    }

    private static (GapNet Model, SafetensorsFile File) Load(string path)
    {
        var file = SafetensorsFile.Load(path);
        var model = new GapNet(classes: file.GetShape("classifier.weight")[0], seed: 99);
        model.LoadStateDict(file.Names.Where(n => !n.StartsWith("__", StringComparison.Ordinal))
            .Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))));
        model.Eval();
        return (model, file);
    }

    [Fact]
    public void ReferenceFilesArePresent()
    {
        Assert.True(Files().Any(), $"no insight_*.safetensors in {ReferenceDir}");
    }

    [Fact]
    public void LogitsGradCamAndSaliencyMatchPyTorch()
    {
        foreach (var path in RequiredFiles())
        {
            var (model, file) = Load(path);
            var input = file.GetTensor("__input__");
            int cls = int.Parse(file.Metadata["gradcam_class"], System.Globalization.CultureInfo.InvariantCulture);
            string layer = file.Metadata["gradcam_layer"];
            string name = Path.GetFileName(path);

            using (Striate.Autograd.GradMode.NoGrad())
                Close.Assert(file.GetTensor("__logits__"), model.Call(input), 1e-4, 1e-5, $"{name} logits");
            Close.Assert(file.GetTensor("__gradcam__"), GradCam.Compute(model, input, layer, cls), 1e-4, 1e-5, $"{name} Grad-CAM at {layer}, class {cls}");
            Close.Assert(file.GetTensor("__saliency__"), Saliency.Compute(model, input, cls), 1e-4, 1e-6, $"{name} saliency, class {cls}");
            Assert.Equal(layer, GradCam.DefaultLayer(model));
        }
    }

    [Fact]
    public void FgsmMatchesPyTorch()
    {
        foreach (var path in RequiredFiles())
        {
            var (model, file) = Load(path);
            var input = file.GetTensor("__input__");
            int label = checked((int)file.GetInt64("__fgsm_label__")[0]);
            float eps = float.Parse(file.Metadata["fgsm_eps"], System.Globalization.CultureInfo.InvariantCulture);
            var expected = file.GetTensor("__fgsm_adversarial__").ToArray();
            var actual = Fgsm.Attack(model, input, [label], eps).ToArray();
            // Where ∂loss/∂x is within rounding of zero its sign may legitimately differ from PyTorch's (a 2ε jump),
            // so up to 1% of the pixels may disagree by at most 2ε; every other pixel must agree to 1e-5.
            int flipped = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                float d = Math.Abs(expected[i] - actual[i]);
                if (d <= 1e-5f) continue;
                Assert.True(d <= 2 * eps + 1e-5f, $"{Path.GetFileName(path)}: FGSM pixel {i} is {actual[i]}, expected {expected[i]}");
                flipped++;
            }
            output.WriteLine($"{Path.GetFileName(path)}: {flipped} of {expected.Length} FGSM pixels differ in sign");
            Assert.True(flipped <= expected.Length / 100, $"{flipped} of {expected.Length} FGSM pixels differ from PyTorch");
        }
    }
}
