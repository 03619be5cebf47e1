using System.Text.RegularExpressions;
using Striate.Data;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Cli;

/// <summary>
/// Fine-tuning for real: lenet-relu trained by PyTorch on MNIST digits 0-4 (testdata/lenet_relu_digits0to4.pth, made by
/// make_pretrained.py beside it) is fine-tuned by striate train on digits 5-9 — 20 training images per class, never
/// seen by the pretrained model — with a frozen backbone, and beats the same command from random weights by a wide
/// margin on 100 test images per class. Seeded and deterministic; each run takes a few seconds.
/// </summary>
public sealed class FineTuningCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("striate-finetune").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Pretrained => Path.Combine(RepoPaths.Root, "tests", "Striate.Tests", "Training", "testdata", "lenet_relu_digits0to4.pth");

    /// <summary>digits5to9/train/digitN (the first <paramref name="trainPerClass"/> of MNIST's training images of N) and test/digitN (its test images).</summary>
    private string WriteDigits(int trainPerClass, int testPerClass)
    {
        string root = Path.Combine(_dir, "digits5to9");
        foreach (var (split, train, perClass) in new[] { ("train", true, trainPerClass), ("test", false, testPerClass) })
        {
            var mnist = (InMemoryDataset)Datasets.Open("mnist", train, allowDownload: false);
            for (int digit = 5; digit <= 9; digit++)
            {
                string folder = Path.Combine(root, split, $"digit{digit}");
                Directory.CreateDirectory(folder);
                int written = 0;
                for (int i = 0; i < mnist.Count && written < perClass; i++)
                    if (mnist.Label(i) == digit)
                        PngCodec.Save(Path.Combine(folder, $"{written++:D3}.png"), mnist.RawImage(i).ToArray(), 28, 28, 1);
            }
        }
        return root;
    }

    private StriateProcess.Result Train(string data, string name, params string[] extra)
    {
        var r = StriateProcess.Run(["train", "lenet-relu", "--dataset", "folder:" + data, "--epochs", "10", "--batch-size", "10", "--seed", "0",
            "--threads", "2", "--out", Path.Combine(_dir, name), .. extra]);
        StriateProcess.AssertOk(r);
        return r;
    }

    private static double TestAccuracy(StriateProcess.Result r)
    {
        var m = Regex.Match(r.Stdout, @"^Test accuracy ([0-9.]+) %", RegexOptions.Multiline);
        Assert.True(m.Success, r.Stdout);
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void PretrainedOnDigitsZeroToFourFineTunesOnFiveToNineFarBetterThanFromRandomWeights()
    {
        string data = WriteDigits(trainPerClass: 20, testPerClass: 100);

        // Only the new classifier trains (--freeze backbone): the pretrained features against random ones.
        var fine = Train(data, "fine", "--weights", Pretrained, "--freeze", "backbone");
        Assert.Contains("Loaded 8 of the model's 10 tensors from", fine.Stdout);
        Assert.Contains("Replaced the classifier for 5 classes: 11.weight, 11.bias", fine.Stdout);
        Assert.Contains("training 425 of 61,281 parameters", fine.Stdout);
        var random = Train(data, "random", "--freeze", "backbone");
        double fineAccuracy = TestAccuracy(fine), randomAccuracy = TestAccuracy(random);
        Assert.True(fineAccuracy >= randomAccuracy + 30, $"fine-tuned {fineAccuracy} % against {randomAccuracy} % from random weights");

        // The convolutions frozen (--freeze 0,3), the fully connected layers training: the pretrained start also beats
        // training the whole network from scratch on these 100 images.
        var fineConv = Train(data, "fine-conv", "--weights", Pretrained, "--freeze", "0,3");
        var randomConv = Train(data, "random-conv", "--freeze", "0,3");
        double fineConvAccuracy = TestAccuracy(fineConv), randomConvAccuracy = TestAccuracy(randomConv);
        Assert.True(fineConvAccuracy >= randomConvAccuracy + 25, $"fine-tuned {fineConvAccuracy} % against {randomConvAccuracy} % from random weights");
        Assert.True(fineConvAccuracy >= 80, $"fine-tuned with frozen convolutions: {fineConvAccuracy} %");

        // The folder names travel in the checkpoint: predict names the class.
        string seven = Directory.GetFiles(Path.Combine(data, "test", "digit7")).Order().First();
        var p = StriateProcess.Run("predict", Path.Combine(_dir, "fine-conv", "model.safetensors"), seven);
        StriateProcess.AssertOk(p);
        Assert.Contains("digit7", p.Stdout.Split('\n')[1]);
    }

    [Fact]
    public void AFileWithoutClassNamesPrintsEachIndexOnce()
    {
        string digit = Path.Combine(_dir, "digit.png");
        var mnist = (InMemoryDataset)Datasets.Open("mnist", train: false, allowDownload: false);
        PngCodec.Save(digit, mnist.RawImage(1).ToArray(), 28, 28, 1); // a 2
        var r = StriateProcess.Run("predict", Pretrained, digit, "--model", "lenet-relu");
        StriateProcess.AssertOk(r);
        var first = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.Matches(@"^\s+[0-9.]+ %\s+2$", first); // "  99.9 %    2", not "2    2"
    }

    [Fact]
    public void WeightsOfAnotherModelAreRefusedClearly()
    {
        string data = WriteDigits(trainPerClass: 2, testPerClass: 1);
        StriateProcess.AssertOneLineError(
            StriateProcess.Run("train", "nin", "--dataset", "folder:" + data, "--weights", Pretrained, "--epochs", "1", "--out", Path.Combine(_dir, "nin")),
            "none of its 10 tensors fits nin");
        StriateProcess.AssertOneLineError(
            StriateProcess.Run("train", "lenet-relu", "--dataset", "folder:" + data, "--freeze", "layer9", "--epochs", "1", "--out", Path.Combine(_dir, "x")),
            "no module named 'layer9'");
    }
}
