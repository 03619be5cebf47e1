using Striate.Data;
using Striate.Imaging;
using Striate.IO;
using Striate.Models;
using Striate.Training;

namespace Striate.Tests.Cli;

/// <summary>
/// The workflow the README walks through, end to end on a torchvision architecture: `striate train mobilenet_v2
/// --weights W.safetensors --freeze backbone` on a folder of JPEGs (colour and gray) loads the file's tensors, replaces
/// classifier.1 for the folder's classes, trains only that head (the backbone's weights and batch-norm statistics come
/// out as the file had them), normalizes RGB input with ImageNet's statistics and records them in the checkpoint; eval
/// then uses the run's held-out images and predict names the folders. The weights are made here (random, with
/// recognisable batch-norm statistics): what is checked is the plumbing, not what pretrained features are worth
/// (FineTuningCommandLineTests measures that with weights PyTorch trained).
/// </summary>
public sealed class TorchvisionFineTuningCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-tv-finetune").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A torchvision-shaped mobilenet_v2 state dict (1000 classes) whose batch-norm running means are all 0.25.</summary>
    private string WritePretrained(out int tensors)
    {
        var model = ModelRegistry.Create("mobilenet_v2", new ModelOptions(3, 1000, Generator: new Generator(11)));
        var state = model.StateDict().Select(p =>
        {
            if (!p.Key.EndsWith("running_mean", StringComparison.Ordinal)) return p;
            var t = Tensor.AllocatePersistent(p.Value.Shape);
            t.Span.Fill(0.25f);
            return new KeyValuePair<string, Tensor>(p.Key, t);
        });
        string path = Path.Combine(_dir, "mobilenet_v2.safetensors");
        var list = state.ToList();
        tensors = list.Count;
        SafetensorsWriter.Save(path, list);
        return path;
    }

    /// <summary>Two classes of 40×40 JPEGs, 10 each: "bright" and "dark" with noise; one gray image per class.</summary>
    private string WritePhotos()
    {
        string root = Path.Combine(_dir, "photos");
        var g = new Generator(5);
        foreach (var (name, level) in new[] { ("bright", 190), ("dark", 60) })
        {
            Directory.CreateDirectory(Path.Combine(root, name));
            for (int i = 0; i < 10; i++)
            {
                int channels = i == 0 ? 1 : 3;
                var px = new byte[40 * 40 * channels];
                for (int k = 0; k < px.Length; k++) px[k] = (byte)Math.Clamp(level + g.NextInt(60) - 30, 0, 255);
                JpegWriter.Save(Path.Combine(root, name, $"{i:D2}.jpg"), new DecodedImage(40, 40, channels, px));
            }
        }
        return root;
    }

    [Fact]
    public void MobileNetV2FromASafetensorsFileFineTunesItsHeadOnAJpegFolder()
    {
        string weights = WritePretrained(out int tensors), photos = WritePhotos(), outDir = Path.Combine(_dir, "run");
        var r = StriateProcess.Run("train", "mobilenet_v2", "--weights", weights, "--dataset", "folder:" + photos, "--resize", "32",
            "--freeze", "backbone", "--epochs", "2", "--batch-size", "6", "--lr", "0.01", "--threads", "2", "--out", outDir);
        StriateProcess.AssertOk(r);
        Assert.Contains($"Loaded {tensors - 2} of the model's {tensors} tensors from", r.Stdout);
        Assert.Contains("Replaced the classifier for 2 classes: classifier.1.weight, classifier.1.bias", r.Stdout);
        Assert.Contains("training 2,562 of", r.Stdout); // 1280 × 2 weights + 2 biases
        Assert.Contains("18 training images of 3×32×32", r.Stdout); // 1 of each class's 10 held out
        Assert.Contains("RGB normalized with ImageNet's mean and std", r.Stdout);
        Assert.Contains("Validation after every epoch on 2 images held out from", r.Stdout);

        // What the run wrote: ImageNet's statistics in the configuration, the backbone exactly as the file had it.
        var trained = Checkpoint.Load(Path.Combine(outDir, "model.safetensors"));
        var config = RunConfig.FromJson(trained.ConfigJson, "model.safetensors");
        Assert.Equal(RunConfig.ImageNetStatistics.Mean, config.NormalizeMean);
        Assert.Equal(RunConfig.ImageNetStatistics.Std, config.NormalizeStd);
        Assert.Equal(["bright", "dark"], trained.ClassNames);
        var pretrained = Checkpoint.Load(weights).ModelState.ToDictionary(p => p.Key, p => p.Value);
        int compared = 0;
        foreach (var (key, tensor) in trained.ModelState)
        {
            if (key.StartsWith("classifier.", StringComparison.Ordinal))
            {
                Assert.Equal(2, tensor.Size(0));
                continue;
            }
            Assert.True(tensor.ReadOnlySpan.SequenceEqual(pretrained[key].ReadOnlySpan), $"{key} changed although the backbone is frozen");
            compared++;
        }
        Assert.Equal(tensors - 2, compared);
        Assert.All(trained.ModelState.Where(p => p.Key.EndsWith("running_mean", StringComparison.Ordinal)),
            p => Assert.All(p.Value.ReadOnlySpan.ToArray(), v => Assert.Equal(0.25f, v))); // frozen batch norm stayed in eval mode

        // eval takes the run's held-out images (not the whole folder); predict names the folders.
        var e = StriateProcess.Run("eval", Path.Combine(outDir, "model.safetensors"));
        StriateProcess.AssertOk(e);
        Assert.Contains("Evaluating on 2 images of folder:" + photos + " the run held out for validation (seed 0, --val-split 0.1)", e.Stdout);
        Assert.Contains("mobilenet_v2 on folder:" + photos + " (2 images)", e.Stdout);
        var p = StriateProcess.Run("predict", Path.Combine(outDir, "model.safetensors"), Path.Combine(photos, "dark", "05.jpg"), "--fit");
        StriateProcess.AssertOk(p);
        var top = p.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1..3];
        Assert.Contains(top, l => l.EndsWith("bright", StringComparison.Ordinal));
        Assert.Contains(top, l => l.EndsWith("dark", StringComparison.Ordinal));
    }
}
