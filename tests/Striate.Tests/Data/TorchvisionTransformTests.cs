using Striate.Data;
using Striate.Data.Transforms;
using Striate.IO;
using Striate.Models;
using Striate.Training;

namespace Striate.Tests.Data;

/// <summary>
/// Resize (shorter side, antialiased), CenterCrop and RandomResizedCrop against torchvision 0.14's functional
/// transforms on the same pixels (testdata/transforms, made by make_transforms.py beside them).
/// </summary>
public sealed class TorchvisionTransformTests
{
    private const float Tolerance = 2e-5f;

    private static readonly Lazy<SafetensorsFile> Reference =
        new(() => SafetensorsFile.Load(Path.Combine(DataTestPaths.TestData, "transforms", "transforms.safetensors")));

    private static ImageSample Input(string name)
    {
        var t = Reference.Value.GetTensor(name);
        var s = new ImageSample();
        t.Span.CopyTo(s.Reshape(t.Size(0), t.Size(1), t.Size(2)));
        return s;
    }

    private static void AssertMatches(string name, ImageSample actual)
    {
        var expected = Reference.Value.GetTensor(name);
        Assert.Equal((expected.Size(0), expected.Size(1), expected.Size(2)), (actual.Channels, actual.Height, actual.Width));
        var e = expected.Span;
        var a = actual.Pixels;
        float worst = 0;
        for (int i = 0; i < e.Length; i++) worst = Math.Max(worst, Math.Abs(e[i] - a[i]));
        Assert.True(worst <= Tolerance, $"{name}: max |Δ| {worst:G3} > {Tolerance}");
    }

    [Theory]
    [InlineData("wide", 20, "resize_20_wide")]
    [InlineData("tall", 20, "resize_20_tall")]
    [InlineData("wide", 64, "resize_64_wide")]
    public void ResizeScalesTheShorterSideAntialiasedAsTorchvision(string input, int size, string expected)
    {
        var s = Input(input);
        var resize = new Resize(size);
        var shape = resize.OutputShape((s.Channels, s.Height, s.Width));
        resize.Apply(s, new Generator());
        Assert.Equal(shape, (s.Channels, s.Height, s.Width));
        AssertMatches(expected, s);
    }

    [Fact]
    public void ResizeToBothSidesCanAntialias()
    {
        var s = Input("wide");
        new Resize(9, 31, antialias: true).Apply(s, new Generator());
        AssertMatches("resize_9x31_wide", s);
    }

    [Theory]
    [InlineData(24, 24, "center_crop_24_wide")]
    [InlineData(41, 30, "center_crop_41x30_wide")]
    public void CenterCropTakesTheMiddleAndPadsWhenTooSmall(int h, int w, string expected)
    {
        var s = Input("wide");
        new CenterCrop((h, w)).Apply(s, new Generator());
        AssertMatches(expected, s);
    }

    /// <summary>A RandomResizedCrop whose window is fixed, to check the crop-and-resize against F.resized_crop.</summary>
    [Theory]
    [InlineData(5, 7, 20, 30, 16, "resized_crop_5_7_20_30_to_16_wide")]
    [InlineData(3, 4, 10, 12, 24, "resized_crop_3_4_10_12_to_24_wide")]
    public void ResizedCropMatchesTorchvision(int top, int left, int h, int w, int size, string expected)
    {
        var s = Input("wide");
        var dst = new float[s.Channels * size * size];
        Resampling.Bilinear(s.Pixels, s.Channels, s.Height, s.Width, top, left, h, w, dst, size, size);
        var result = new ImageSample();
        dst.CopyTo(result.Reshape(s.Channels, size, size));
        AssertMatches(expected, result);
    }

    [Fact]
    public void RandomResizedCropWindowsFollowTorchvisionsDefaults()
    {
        var crop = new RandomResizedCrop(224);
        Assert.Equal((0.08, 1.0), crop.Scale);
        Assert.Equal((3.0 / 4.0, 4.0 / 3.0), crop.Ratio);
        var g = new Generator(5);
        double minShare = 1, maxShare = 0;
        for (int i = 0; i < 2000; i++)
        {
            var (top, left, h, w) = crop.GetParams(375, 500, g);
            Assert.InRange(top, 0, 375 - h);
            Assert.InRange(left, 0, 500 - w);
            double share = (double)h * w / (375 * 500), aspect = (double)w / h;
            // Rounding each side to whole pixels moves the share and ratio a little past the drawn values.
            Assert.InRange(share, 0.075, 1.0);
            Assert.InRange(aspect, 0.74, 1.35);
            (minShare, maxShare) = (Math.Min(minShare, share), Math.Max(maxShare, share));
        }
        Assert.True(minShare < 0.1 && maxShare > 0.9, $"shares drawn only in [{minShare:F3}, {maxShare:F3}]");
        // The same seed gives the same window.
        Assert.Equal(crop.GetParams(375, 500, new Generator(9)), crop.GetParams(375, 500, new Generator(9)));
    }

    [Fact]
    public void RandomResizedCropFallsBackToACentralWindowOfAnAllowedRatio()
    {
        // A 4×400 strip: no window of ratio ≤ 4/3 and ≥ 8% of the area fits, so the centre 4×5 (round(4·4/3)) is taken.
        var crop = new RandomResizedCrop(8);
        Assert.Equal((0, 197, 4, 5), crop.GetParams(4, 400, new Generator(1)));
        var s = new ImageSample();
        s.Reshape(3, 4, 400).Fill(0.5f);
        crop.Apply(s, new Generator(1));
        Assert.Equal((3, 8, 8), (s.Channels, s.Height, s.Width));
        Assert.All(s.Pixels.ToArray(), v => Assert.Equal(0.5f, v, 5));
    }

    [Fact]
    public void AugmentPicksTorchvisionsPresetsForPhotoSizesAndTheCifarRecipeForSmallOnes()
    {
        var photo = new RunConfig { Model = "resnet18", Dataset = "folder:x", Resize = 224, Augment = true };
        Assert.Equal("Compose(RandomResizedCrop(size=224, scale=(0.08, 1), ratio=(0.75, 1.333)), RandomHorizontalFlip(p=0.5))",
            photo.BuildTransform(true, null)!.ToString());
        Assert.Equal("Compose(Resize(256), CenterCrop(size=224))", photo.BuildTransform(false, null)!.ToString());

        var small = new RunConfig { Model = "resnet18", Dataset = "cifar10", Augment = true };
        Assert.Equal("Compose(RandomCrop(size=32, padding=4), RandomHorizontalFlip(p=0.5), ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2))",
            small.BuildTransform(true, (3, 32, 32))!.ToString());
        Assert.Null(small.BuildTransform(false, (3, 32, 32)));

        // Without --augment nothing changes: every image squashed to the size.
        var plain = new RunConfig { Model = "resnet18", Dataset = "folder:x", Resize = 224 };
        Assert.Equal("Compose(Resize(224, 224))", plain.BuildTransform(true, null)!.ToString());
    }

    [Fact]
    public void PhotoRecipeGivesBatchesOfTheModelsSizeFromPhotosOfAnySize()
    {
        var photo = new RunConfig { Model = "resnet18", Dataset = "folder:x", Resize = 96, Augment = true };
        foreach (var train in new[] { true, false })
        {
            var t = photo.BuildTransform(train, null)!;
            foreach (var (h, w) in new[] { (375, 500), (500, 375), (50, 70) })
            {
                var s = new ImageSample();
                s.Reshape(3, h, w).Fill(0.25f);
                t.Apply(s, new Generator(3));
                Assert.Equal((3, 96, 96), (s.Channels, s.Height, s.Width));
            }
        }
    }

    [Fact]
    public void TorchvisionModelsAndPretrainedRgbWeightsGetImageNetStatistics()
    {
        var imageNet = RunConfig.ImageNetStatistics;
        static void Same((float[] Mean, float[] Std)? expected, (float[] Mean, float[] Std)? actual)
        {
            Assert.Equal(expected?.Mean, actual?.Mean);
            Assert.Equal(expected?.Std, actual?.Std);
        }
        // torchvision's architectures on a folder (no statistics of its own): ImageNet's, as torchvision's scripts use.
        foreach (var name in new[] { "resnet18", "resnet50", "alexnet", "vgg11", "googlenet", "densenet121", "mobilenet_v2" })
            Same(imageNet, RunConfig.DefaultStatistics(ModelRegistry.Get(name), "folder:photos", pretrained: false));
        // A dataset with its own statistics keeps them, unless the weights were pretrained (they expect ImageNet's).
        Same(RunConfig.DatasetStatistics("cifar10"), RunConfig.DefaultStatistics(ModelRegistry.Get("resnet18"), "cifar10", pretrained: false));
        Same(imageNet, RunConfig.DefaultStatistics(ModelRegistry.Get("resnet18"), "cifar10", pretrained: true));
        Same(RunConfig.DatasetStatistics("mnist"), RunConfig.DefaultStatistics(ModelRegistry.Get("resnet18"), "mnist", pretrained: true)); // gray: its own
        // The book's models and LeNet (1-channel) stay as they were: raw pixels on a folder, MNIST's on MNIST.
        Assert.Null(RunConfig.DefaultStatistics(ModelRegistry.Get("lenet-relu"), "folder:digits", pretrained: true));
        Assert.Null(RunConfig.DefaultStatistics(ModelRegistry.Get("d2l-resnet18"), "folder:photos", pretrained: false));
        Same(RunConfig.DatasetStatistics("mnist"), RunConfig.DefaultStatistics(ModelRegistry.Get("lenet"), "mnist", pretrained: false));

        var config = new RunConfig { Model = "resnet18", Dataset = "folder:x", NormalizeMean = imageNet.Mean, NormalizeStd = imageNet.Std };
        Assert.True(config.UsesImageNetStatistics);
        Assert.EndsWith("Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]))", config.BuildTransform(false, (3, 32, 32))!.ToString());
        Assert.DoesNotContain("uses_", config.ToJson()); // the statistics themselves are saved, not a flag
    }
}
