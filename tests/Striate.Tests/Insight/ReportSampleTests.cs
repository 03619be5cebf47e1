using System.Text.RegularExpressions;
using Striate.Data;
using Striate.Insight;
using Striate.Models;
using Striate.Nn;
using Striate.Training;

namespace Striate.Tests.Insight;

/// <summary>What the report shows besides the plots: which test images, how many classes each lists, which settings, the filters' words.</summary>
public sealed class ReportSampleTests
{
    /// <summary>
    /// Reads its answer off the image: a 1×1×10 image is the logits. Lets a test decide exactly which images are
    /// misclassified. Shapes: [N, 1, 1, 10] → [N, 10].
    /// </summary>
    private sealed class LogitsInPixels : Module
    {
        public override Tensor Forward(Tensor input) => input.Flatten(1);
    }

    /// <summary>10 classes × 20 images sorted by class (as a folder is); image j of class k says k, except every 7th says k + 1.</summary>
    private static InMemoryDataset SortedByClass(Func<int, int, int> says)
    {
        const int classes = 10, per = 20;
        var images = new byte[classes * per * 10];
        var labels = new byte[classes * per];
        for (int k = 0; k < classes; k++)
            for (int j = 0; j < per; j++)
            {
                int n = k * per + j;
                labels[n] = (byte)k;
                images[n * 10 + says(k, j)] = 255;
            }
        return new InMemoryDataset(images, labels, 1, 1, 10, Enumerable.Range(0, classes).Select(k => $"c{k}").ToArray());
    }

    [Fact]
    public void SamplesSpreadOverClassesAndIncludeMistakes()
    {
        var data = SortedByClass((k, j) => j % 7 == 3 ? (k + 1) % 10 : k);
        var picked = ReportSamples.Pick(new LogitsInPixels(), data, null, null, 8);

        Assert.Equal(8, picked.Count);
        var wrong = picked.Where(s => Predicted(s) != s.Label).ToList();
        Assert.InRange(wrong.Count, 1, 4);
        Assert.Equal(wrong.Count, wrong.Select(s => s.Label).Distinct().Count());
        Assert.Equal(8, picked.Select(s => s.Label).Distinct().Count());
        Assert.Equal(picked.Select(s => s.Label).Order().ToArray(), picked.Select(s => s.Label).ToArray());
    }

    [Fact]
    public void AModelWithoutMistakesShowsOneImagePerClass()
    {
        var data = SortedByClass((k, _) => k);
        var picked = ReportSamples.Pick(new LogitsInPixels(), data, null, null, 8);
        Assert.Equal(8, picked.Select(s => s.Label).Distinct().Count());
        Assert.All(picked, s => Assert.Equal(s.Label, Predicted(s)));
        Assert.Equal(20, ReportSamples.Pick(new LogitsInPixels(), data, null, null, 20).Select(s => s.Label).Count());
    }

    private static int Predicted(ReportSample s) => Array.IndexOf(s.Input, s.Input.Max());

    private static ReportContent Content(RunConfig config, IReadOnlyList<string>? classes = null, EvaluationResult? evaluation = null)
    {
        var names = classes ?? Datasets.MnistClasses;
        var model = LeNet.CreateRelu(numClasses: names.Count, generator: new Generator(3));
        var px = new float[28 * 28];
        for (int y = 4; y < 24; y++) px[y * 28 + 14] = 1f;
        return new ReportContent
        {
            Title = "t", ModelName = "lenet-relu", Model = model, InputShape = (1, 28, 28), ClassNames = names, Config = config, Evaluation = evaluation,
            Samples = [new ReportSample(px, px, 1, 28, 28, 1), new ReportSample(px, px, 1, 28, 28, 2)],
        };
    }

    [Fact]
    public void TopKListsFiveClassesOrEveryClassWhenThereAreFewer()
    {
        string ten = ReportWriter.Render(Content(new RunConfig { Model = "lenet-relu", Dataset = "mnist" }));
        Assert.Contains("Top-5 classes of 2 test images", ten);
        Assert.All(Regex.Matches(ten, "<ol>(.*?)</ol>").Select(m => m.Groups[1].Value), ol => Assert.Equal(5, Regex.Matches(ol, "<li").Count));

        string[] shapes = ["circle", "square", "star"];
        var evaluation = new EvaluationResult { Loss = 0.5, Top1 = 0.8, Top5 = 1, Samples = 30, Confusion = new long[3, 3], ClassNames = shapes };
        string three = ReportWriter.Render(Content(new RunConfig { Model = "lenet-relu", Dataset = "shapes" }, shapes, evaluation));
        Assert.Contains("Top-3 classes of 2 test images", three);
        Assert.DoesNotContain("top-5", three); // 100 % by construction with three classes
        Assert.All(Regex.Matches(three, "<ol>(.*?)</ol>").Select(m => m.Groups[1].Value), ol => Assert.Equal(3, Regex.Matches(ol, "<li").Count));
    }

    [Fact]
    public void ConfigTableShowsOnlySettingsTheRunUsed()
    {
        static string Table(string html) => Regex.Match(html, "<section id=\"run-configuration\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        string adam = Table(ReportWriter.Render(Content(new RunConfig { Model = "lenet-relu", Dataset = "mnist", Optimizer = "adam", Momentum = 0.9, LearningRate = 0.001 })));
        Assert.DoesNotContain(">momentum<", adam);
        Assert.Contains("<th>optimizer</th><td>adam</td>", adam);
        Assert.Contains("<th>normalize_mean</th><td>none</td>", adam);
        Assert.DoesNotContain(">normalize_std<", adam);

        string sgd = Table(ReportWriter.Render(Content(new RunConfig { Model = "lenet-relu", Dataset = "mnist", Momentum = 0.9, NormalizeMean = [0.1307f], NormalizeStd = [0.3081f] })));
        Assert.Contains("<th>momentum</th><td>0.9</td>", sgd);
        Assert.Contains("<th>normalize_std</th><td>0.3081</td>", sgd);

        string adamw = Table(ReportWriter.Render(Content(new RunConfig { Model = "lenet-relu", Dataset = "mnist", Optimizer = "adamw" })));
        Assert.Contains("<th>weight_decay</th><td>0.01 (AdamW&#39;s default)</td>", adamw);
    }

    [Fact]
    public void FilterLegendIsPageTextAndThePictureHoldsOnlyTheFilters()
    {
        string html = ReportWriter.Render(Content(new RunConfig { Model = "lenet-relu", Dataset = "mnist" }));
        string section = Regex.Match(html, "<section id=\"first-layer-filters\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Matches("<li>values -?[0-9.]+ to -?[0-9.]+; each tile scaled to its own min/max</li>", section);
        var png = PngCodec.Decode(Convert.FromBase64String(Regex.Match(section, "src=\"data:image/png;base64,([^\"]+)\"").Groups[1].Value), "filters");
        // LeNet's conv 6×1×5×5: 3 × 2 tiles of 13× magnified 5×5 (65 px), 2 px between, 8 px margin — no room for drawn words.
        const int cell = 65;
        Assert.Equal((3 * cell + 2 * ImageGrid.Separator + 2 * ImageGrid.Margin, 2 * cell + ImageGrid.Separator + 2 * ImageGrid.Margin), (png.Width, png.Height));
    }
}
