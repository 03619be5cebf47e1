using System.Diagnostics;
using Striate.Data;
using Striate.Functional;
using Striate.Insight;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

namespace Striate.Tests.Insight;

/// <summary>Grad-CAM points at the evidence: a CNN that learned "which quadrant holds the bright square" looks there.</summary>
public sealed class GradCamLocalizationTests(ITestOutputHelper output)
{
    /// <summary>
    /// Appends two constant channels holding each pixel's row and column in [−1, 1] (CoordConv, Liu et al. 2018), so a
    /// convolution can recognise "a bright square in the top-left quadrant" where the square is.
    /// Shapes: [N, C, H, W] → [N, C + 2, H, W].
    /// </summary>
    private sealed class AddCoords : Module
    {
        public override Tensor Forward(Tensor input)
        {
            int n = input.Size(0), h = input.Size(2), w = input.Size(3);
            var coords = Tensor.Zeros(n, 2, h, w);
            var s = coords.Span;
            for (int i = 0; i < n; i++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                    {
                        s[((i * 2) * h + y) * w + x] = 2f * y / (h - 1) - 1;
                        s[((i * 2 + 1) * h + y) * w + x] = 2f * x / (w - 1) - 1;
                    }
            return F.Concat(input, coords);
        }
    }

    /// <summary>
    /// CoordConv features → global average pooling → Linear: class evidence is computed where the square is and summed
    /// over positions, the setting Grad-CAM (like CAM) explains faithfully. (With a Flatten → Linear head on plain
    /// convolutions the same task is solved with negative evidence spread over the other quadrants, and Grad-CAM's
    /// channel weights — spatial means of the gradient — average it away.)
    /// </summary>
    private static Sequential QuadrantNet(ulong seed)
    {
        var g = new Generator(seed);
        return new Sequential(
            new AddCoords(),
            new Conv2d(3, 16, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(16, 16, 3, padding: 1, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(16, 16, 3, padding: 1, generator: g), new ReLU(),
            new AdaptiveAvgPool2d(1), new Flatten(), new Linear(16, 4, generator: g));
    }

    [Fact]
    public void GradCamPeaksInTheQuadrantHoldingTheSquare()
    {
        var clock = Stopwatch.StartNew();
        var model = QuadrantNet(3);
        var train = new DataLoader(QuadrantData.Create(1500, seed: 1), 50, shuffle: true, seed: 2);
        new Trainer(model, new Adam(model.Parameters(), 5e-3f)).Fit(train, null, epochs: 2);

        output.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s");
        var test = QuadrantData.Create(200, seed: 77);
        string layer = GradCam.DefaultLayer(model);
        Assert.Equal("7", layer);
        var sample = new ImageSample();
        int hits = 0, correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            test.Load(i, sample);
            var input = Tensor.FromArray(sample.Pixels, 1, 1, QuadrantData.Size, QuadrantData.Size);
            int label = test.Label(i);
            if (Predictions.TopK(model, input, 1)[0].ClassIndex == label) correct++;
            var map = GradCam.Compute(model, input, layer, label);
            int h = map.Size(0), w = map.Size(1);
            int peak = InsightRunArgMax(map.ReadOnlySpan);
            if (QuadrantData.QuadrantOf(peak / w, peak % w, h, w) == label) hits++;
        }
        output.WriteLine($"accuracy {correct}/{test.Count}, Grad-CAM peak in the labelled quadrant {hits}/{test.Count}");
        Assert.True(correct >= 0.9 * test.Count, $"the network only classified {correct}/{test.Count} test images correctly");
        Assert.True(hits >= 0.8 * test.Count, $"the Grad-CAM peak was in the square's quadrant for only {hits}/{test.Count} images");
    }

    private static int InsightRunArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
