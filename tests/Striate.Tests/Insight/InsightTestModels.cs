using Striate.Data;
using Striate.Nn;

namespace Striate.Tests.Insight;

/// <summary>
/// The reference file's network: features = Sequential(Conv2d(1,8,3,p=1), ReLU, Conv2d(8,16,3,s=2,p=1), ReLU),
/// pool = AdaptiveAvgPool2d(1), flatten, classifier = Linear(16, classes) — the GAP + Linear shape CAM needs.
/// Shapes: [N, 1, H, W] → [N, classes].
/// </summary>
internal sealed class GapNet : Module
{
    public GapNet(int classes = 10, ulong seed = 1, int inChannels = 1)
    {
        var g = new Generator(seed);
        Features = RegisterModule("features", new Sequential(
            new Conv2d(inChannels, 8, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(8, 16, 3, stride: 2, padding: 1, generator: g), new ReLU()));
        Pool = RegisterModule("pool", new AdaptiveAvgPool2d(1));
        FlattenLayer = RegisterModule("flatten", new Flatten());
        Classifier = RegisterModule("classifier", new Linear(16, classes, generator: g));
    }

    public Sequential Features { get; }
    public AdaptiveAvgPool2d Pool { get; }
    public Flatten FlattenLayer { get; }
    public Linear Classifier { get; }

    public override Tensor Forward(Tensor input) => Classifier.Call(FlattenLayer.Call(Pool.Call(Features.Call(input))));
}

/// <summary>
/// Synthetic localization data: 1×16×16 images of uniform noise in [0, 0.5) with a bright 4×4 square (value 1) placed at
/// random inside one quadrant; the label is the quadrant (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right).
/// </summary>
internal static class QuadrantData
{
    public const int Size = 16;

    public static InMemoryDataset Create(int count, ulong seed)
    {
        var g = new Generator(seed);
        var images = new byte[count * Size * Size];
        var labels = new byte[count];
        for (int n = 0; n < count; n++)
        {
            int q = (int)(g.NextFloat() * 4) & 3;
            labels[n] = (byte)q;
            var img = images.AsSpan(n * Size * Size, Size * Size);
            for (int i = 0; i < img.Length; i++) img[i] = (byte)(g.NextFloat() * 128);
            int top = (q / 2) * 8 + (int)(g.NextFloat() * 5), left = (q % 2) * 8 + (int)(g.NextFloat() * 5);
            for (int y = top; y < top + 4; y++)
                for (int x = left; x < left + 4; x++) img[y * Size + x] = 255;
        }
        return new InMemoryDataset(images, labels, 1, Size, Size, ["top-left", "top-right", "bottom-left", "bottom-right"]);
    }

    /// <summary>The quadrant holding map position (row, col) of an h×w map.</summary>
    public static int QuadrantOf(int row, int col, int h, int w) => (row * 2 / h) * 2 + col * 2 / w;
}
