using Striate.Data;
using Striate.Data.Transforms;
using Striate.Imaging;

namespace Striate.Benchmarks;

/// <summary>
/// The photo loader alone: a folder of <see cref="Images"/> JPEGs of 500×375 (4:2:0, quality 90, made here from
/// synthetic photos), read by <see cref="ImageFolderDataset"/> and served by the <see cref="DataLoader"/> at batch
/// <see cref="Batch"/> with torchvision's training preset (RandomResizedCrop(224), RandomHorizontalFlip, ImageNet
/// Normalize), nothing trained. Compare with a training step's images/s, e.g. <c>tv_resnet18_224_train</c>.
/// Figures: <c>loader_jpeg500x375_rrc224_wN</c> (images/s with N decoding workers), <c>jpeg500x375_decode</c>
/// (images/s of ImageDecoders.Load alone, one thread).
/// </summary>
public static class LoaderBenchmarks
{
    public const int Images = 192;
    public const int Batch = 32;

    public static IEnumerable<BenchFigure> Run()
    {
        string[] names = ["jpeg500x375_decode", .. new[] { 1, 2, 4 }.Select(w => $"loader_jpeg500x375_rrc224_w{w}")];
        if (!names.Any(BenchFilter.Wants)) yield break;
        ImageSharpDecoder.Register();
        string root = Directory.CreateTempSubdirectory("striate-loader-bench-").FullName;
        try
        {
            var files = PhotoFolder.Create(root, Images, width: 500, height: 375, classes: 4, seed: 1);
            if (BenchFilter.Wants(names[0]))
            {
                double seconds = BenchTimer.BestSeconds(() => { foreach (var f in files) ImageDecoders.Load(f); }, minSeconds: 2, minRuns: 2);
                yield return new BenchFigure(names[0], files.Count / seconds, "images/s");
            }
            var dataset = new ImageFolderDataset(new ImageFolder(root));
            var transform = new Compose(new RandomResizedCrop(224), new RandomHorizontalFlip(),
                new Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]));
            foreach (int workers in new[] { 1, 2, 4 })
            {
                string name = $"loader_jpeg500x375_rrc224_w{workers}";
                if (!BenchFilter.Wants(name)) continue;
                var loader = new DataLoader(dataset, Batch, shuffle: true, transform: transform, seed: 0, workers: workers, prefetch: Math.Max(2, workers));
                int epoch = 0;
                double seconds = BenchTimer.BestSeconds(() => { foreach (var _ in loader.Epoch(epoch++)) { } }, minSeconds: 2, minRuns: 2);
                yield return new BenchFigure(name, loader.SampleCount / seconds, "images/s");
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

/// <summary>Folders of synthetic photos as JPEG files, for benchmarks and tests of the photo loader.</summary>
public static class PhotoFolder
{
    /// <summary>
    /// Writes <paramref name="count"/> JPEGs into <paramref name="classes"/> class folders under <paramref name="root"/>
    /// (c0, c1, …); each is a smooth gradient with a soft disc and a little noise, different per image. Returns the paths.
    /// </summary>
    public static IReadOnlyList<string> Create(string root, int count, int width, int height, int classes, ulong seed, int quality = 90)
    {
        var g = new Generator(seed);
        var paths = new List<string>(count);
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < count; i++)
        {
            int cls = i % classes;
            string dir = Path.Combine(root, $"c{cls}");
            Directory.CreateDirectory(dir);
            double cx = g.NextDouble() * width, cy = g.NextDouble() * height, radius = (0.1 + 0.3 * g.NextDouble()) * height;
            double r0 = 255 * g.NextDouble(), g0 = 255 * g.NextDouble(), b0 = 255 * g.NextDouble();
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    double d = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                    double a = 1 / (1 + Math.Exp((d - radius) / 3));
                    double noise = 6 * (g.NextDouble() - 0.5);
                    int o = 3 * (y * width + x);
                    pixels[o] = Clamp((1 - a) * (60 + 150.0 * x / width) + a * r0 + noise);
                    pixels[o + 1] = Clamp((1 - a) * (40 + 160.0 * y / height) + a * g0 + noise);
                    pixels[o + 2] = Clamp((1 - a) * (120 + 60 * Math.Sin(x / 23.0 + y / 31.0)) + a * b0 + noise);
                }
            string path = Path.Combine(dir, $"{i:D6}.jpg");
            JpegWriter.Save(path, new DecodedImage(width, height, 3, pixels), quality);
            paths.Add(path);
        }
        return paths;
    }

    private static byte Clamp(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
