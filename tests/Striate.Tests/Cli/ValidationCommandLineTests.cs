using System.Text.Json;
using Striate.Data;

namespace Striate.Tests.Cli;

/// <summary>
/// striate train on PNG folders says which images evaluate the model and never reports training images as held out:
/// a flat folder holds out a stratified validation share, train/ + val/ folders are used as they are, the best epoch by
/// validation accuracy is kept beside the last.
/// </summary>
public sealed class ValidationCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-val").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes <paramref name="perClass"/> 28×28 gray PNGs per class: a bar in a class-specific place, with noise.</summary>
    internal static void WriteShapes(string root, int perClass, int classes = 3, ulong seed = 1)
    {
        var g = new Generator(seed);
        for (int c = 0; c < classes; c++)
        {
            string folder = Path.Combine(root, $"class{c}");
            Directory.CreateDirectory(folder);
            for (int i = 0; i < perClass; i++)
            {
                var px = new byte[28 * 28];
                for (int k = 0; k < px.Length; k++) px[k] = (byte)g.NextInt(60);
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 28; x++)
                        if (c == 0 ? y is >= 12 and < 16 : c == 1 ? x is >= 12 and < 16 : Math.Abs(x - y) < 2) px[y * 28 + x] = 230;
                PngCodec.Save(Path.Combine(folder, $"img{i:D3}.png"), px, 28, 28, 1);
            }
        }
    }

    private StriateProcess.Result Train(string dataset, string outDir, params string[] extra) =>
        StriateProcess.Run(["train", "lenet-relu", "--dataset", "folder:" + dataset, "--batch-size", "8", "--lr", "0.05", "--out", outDir, .. extra]);

    [Fact]
    public void AFlatFolderHoldsOutATenthOfEveryClassAndKeepsTheBestEpoch()
    {
        string data = Path.Combine(_dir, "flat");
        WriteShapes(data, perClass: 20);
        string outDir = Path.Combine(_dir, "run");
        var r = Train(data, outDir, "--epochs", "3");
        StriateProcess.AssertOk(r);
        // 10% of 20 per class = 2 per class: 6 held out, 54 trained on.
        Assert.Contains("Validation after every epoch on 6 images held out from", r.Stdout);
        Assert.Contains("training on the other 54", r.Stdout);
        Assert.Contains("| val loss", r.Stdout);
        Assert.DoesNotContain("Test accuracy", r.Stdout);
        Assert.Contains("Validation accuracy", r.Stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "model.best.safetensors")), "model.best.safetensors missing");

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Contains("held out", root.GetProperty("evaluated_on").GetString());
        var epochs = root.GetProperty("epochs");
        double best = -1;
        int bestEpoch = 0;
        foreach (var e in epochs.EnumerateArray())
        {
            double v = e.GetProperty("val_accuracy").GetDouble();
            Assert.InRange(v, 0.0, 1.0);
            Assert.Equal("NaN", e.GetProperty("test_accuracy").GetString()); // not measured: no test images
            if (v > best) (best, bestEpoch) = (v, e.GetProperty("epoch").GetInt32());
        }
        Assert.Equal(bestEpoch, root.GetProperty("best_epoch").GetInt32());
        var bestCheckpoint = Striate.Training.Checkpoint.Load(Path.Combine(outDir, "model.best.safetensors"));
        Assert.Equal(bestEpoch, bestCheckpoint.Epoch);
        Assert.Equal(["class0", "class1", "class2"], bestCheckpoint.ClassNames);
    }

    [Fact]
    public void ValSplitSetsTheShareAndZeroSaysNothingEvaluates()
    {
        string data = Path.Combine(_dir, "flat");
        WriteShapes(data, perClass: 8);
        var r = Train(data, Path.Combine(_dir, "quarter"), "--val-split", "0.25", "--epochs", "1");
        StriateProcess.AssertOk(r);
        Assert.Contains("Validation after every epoch on 6 images held out", r.Stdout); // 2 of each 8
        Assert.Contains("(25% of each class, seed 0; --val-split)", r.Stdout);

        r = Train(data, Path.Combine(_dir, "none"), "--val-split", "0", "--epochs", "1");
        StriateProcess.AssertOk(r);
        Assert.Contains("Nothing evaluates the model", r.Stdout);
        Assert.Contains("No held-out images", r.Stdout);

        StriateProcess.AssertOneLineError(Train(data, Path.Combine(_dir, "bad"), "--val-split", "1.5", "--epochs", "1"), "--val-split must be in [0, 1), got 1.5");
    }

    [Fact]
    public void TrainAndValFoldersAreUsedAsTheyAreAndTestIsTheFinalFigure()
    {
        string data = Path.Combine(_dir, "split");
        WriteShapes(Path.Combine(data, "train"), perClass: 10, seed: 1);
        WriteShapes(Path.Combine(data, "val"), perClass: 3, seed: 2);
        WriteShapes(Path.Combine(data, "test"), perClass: 4, seed: 3);
        string outDir = Path.Combine(_dir, "run");
        var r = Train(data, outDir, "--epochs", "1");
        StriateProcess.AssertOk(r);
        Assert.Contains($"Validation after every epoch on {Path.Combine(data, "val")} (9 images); final test on {Path.Combine(data, "test")} (12 images).", r.Stdout);
        Assert.Contains("30 training images", r.Stdout);
        Assert.Contains("Test accuracy", r.Stdout);
        Assert.Contains("on 12 images", r.Stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "model.best.safetensors")));
    }

    [Fact]
    public void LimitTrainSamplesEveryClassOfASortedFolder()
    {
        string data = Path.Combine(_dir, "flat");
        WriteShapes(data, perClass: 10);
        var r = Train(data, Path.Combine(_dir, "run"), "--limit-train", "6", "--epochs", "1");
        StriateProcess.AssertOk(r);
        Assert.Contains("Limited to 6 training, 3 validation images (sampled across classes", r.Stdout);
    }

    [Fact]
    public void EvalOnARunsFlatFolderUsesTheImagesItHeldOut()
    {
        string data = Path.Combine(_dir, "flat");
        WriteShapes(data, perClass: 20);
        string outDir = Path.Combine(_dir, "run");
        var r = Train(data, outDir, "--epochs", "1");
        StriateProcess.AssertOk(r);
        var validation = System.Text.RegularExpressions.Regex.Match(r.Stdout, @"^Validation accuracy ([0-9.]+ %)", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(validation.Success, r.Stdout);

        // The same 6 images the run validated on (same seed, same split): the same accuracy as its last epoch.
        var e = StriateProcess.Run("eval", Path.Combine(outDir, "model.safetensors"));
        StriateProcess.AssertOk(e);
        Assert.Contains($"Evaluating on 6 images of folder:{data} the run held out for validation (seed 0, --val-split 0.1); the model did not train on them.", e.Stdout);
        Assert.Contains($"(6 images): loss", e.Stdout);
        Assert.Contains($"top-1 {validation.Groups[1].Value}", e.Stdout);
        Assert.DoesNotContain("top-5", r.Stdout + e.Stdout); // three classes: top-5 is 100 % by construction

        var v = StriateProcess.Run("visualize", "embedding", Path.Combine(outDir, "model.safetensors"), "--out", Path.Combine(_dir, "e.svg"));
        StriateProcess.AssertOk(v);
        Assert.Contains("Using 6 images of folder:", v.Stdout);

        // A run that held out nothing: eval says its figure is on training images.
        var none = Train(data, Path.Combine(_dir, "none"), "--val-split", "0", "--epochs", "1");
        StriateProcess.AssertOk(none);
        e = StriateProcess.Run("eval", Path.Combine(_dir, "none", "model.safetensors"));
        StriateProcess.AssertOk(e);
        Assert.Contains($"Evaluating on all 60 images of folder:{data}: the run held out none, so these are images it trained on", e.Stdout);
    }

    [Fact]
    public void AFolderWithOneClassOrAnEmptyClassIsRefusedAndNonImagesAreLeftOut()
    {
        string one = Path.Combine(_dir, "one");
        WriteShapes(one, perClass: 5, classes: 1);
        StriateProcess.AssertOneLineError(Train(one, Path.Combine(_dir, "r1"), "--epochs", "1"),
            $"{one} has a single class folder ('class0'); a classifier needs at least two classes");

        string empty = Path.Combine(_dir, "empty");
        WriteShapes(empty, perClass: 5, classes: 2);
        Directory.CreateDirectory(Path.Combine(empty, "class2"));
        File.WriteAllText(Path.Combine(empty, "class2", "notes.txt"), "no images here");
        StriateProcess.AssertOneLineError(Train(empty, Path.Combine(_dir, "r2"), "--epochs", "1"),
            $"class folder '{Path.Combine(empty, "class2")}' holds no images");

        // Files that are not images: a .txt is not listed; a .png that is not one is skipped with a warning naming
        // it, and training goes on with the rest.
        string mixed = Path.Combine(_dir, "mixed");
        WriteShapes(mixed, perClass: 10, classes: 2);
        File.WriteAllText(Path.Combine(mixed, "class0", "README.txt"), "a note");
        File.WriteAllText(Path.Combine(mixed, "class1", "fake.png"), "not a picture");
        var r = Train(mixed, Path.Combine(_dir, "r3"), "--epochs", "1");
        StriateProcess.AssertOk(r);
        Assert.DoesNotContain("README.txt", r.Stdout + r.Stderr);
        Assert.Contains("fake.png", r.Stderr);
        Assert.Contains("1 unreadable image was skipped", r.Stdout);
    }
}
