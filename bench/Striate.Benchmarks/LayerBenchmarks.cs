using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// Batch-1 convolutions of MobileNet-V2 and GoogLeNet at 224×224, one figure per shape and algorithm (µs, best of
/// rounds that alternate the algorithms in one process, so a host's slow spell hits every algorithm alike): the
/// figures that decide <see cref="Conv2dKernels.Choose"/> for batch-1 inference. Figures
/// <c>b1_{Cin}_{Cout}_{k}x{k}_s{s}_{size}_{algorithm}</c>; STRIATE_BENCH_LAYER_ROUNDS sets the rounds (default 5).
/// </summary>
public static class LayerBenchmarks
{
    /// <summary>(in, out, kernel, stride, input size): the distinct 1×1 shapes and a few others of the two models.</summary>
    public static readonly (int In, int Out, int K, int S, int Size)[] Shapes =
    [
        (32, 16, 1, 1, 112), (16, 96, 1, 1, 112), (96, 24, 1, 1, 56), (24, 144, 1, 1, 56), (144, 24, 1, 1, 56),
        (144, 32, 1, 1, 28), (32, 192, 1, 1, 28), (192, 32, 1, 1, 28), (192, 64, 1, 1, 14), (64, 384, 1, 1, 14),
        (384, 64, 1, 1, 14), (384, 96, 1, 1, 14), (96, 576, 1, 1, 14), (576, 96, 1, 1, 14), (576, 160, 1, 1, 7),
        (160, 960, 1, 1, 7), (960, 160, 1, 1, 7), (960, 320, 1, 1, 7), (320, 1280, 1, 1, 7),
        (64, 64, 1, 1, 56), (192, 64, 1, 1, 28), (256, 128, 1, 1, 28), (480, 192, 1, 1, 14), (512, 24, 1, 1, 14),
        (528, 256, 1, 1, 14), (480, 16, 1, 1, 14), (512, 32, 1, 1, 14), (528, 32, 1, 1, 14), (832, 48, 1, 1, 7), (832, 256, 1, 1, 7), (832, 32, 1, 1, 7), (832, 384, 1, 1, 7),
        (1024, 256, 1, 1, 14), (256, 1024, 1, 1, 14), (2048, 512, 1, 1, 7), (512, 2048, 1, 1, 7),
        (128, 512, 1, 1, 28), (512, 128, 1, 1, 28), (64, 256, 1, 1, 56), (256, 64, 1, 1, 56),
        // GoogLeNet's small branch-3 3×3s (Cin 16–48)
        (16, 32, 3, 1, 28), (16, 48, 3, 1, 14), (24, 64, 3, 1, 14), (32, 64, 3, 1, 14), (32, 128, 3, 1, 14), (32, 128, 3, 1, 7), (48, 128, 3, 1, 7),
        // DenseNet-121's growth 3×3s at 28/14/7
        (128, 32, 3, 1, 28), (128, 32, 3, 1, 14), (128, 32, 3, 1, 7),
        // GoogLeNet's conv3 (56×56) and its branch-2 3×3s on 28×28
        (64, 192, 3, 1, 56), (96, 128, 3, 1, 28), (128, 192, 3, 1, 28),
        // ResNet's 3×3s on 14×14 and 7×7 (repeated alone, their weights stay in L3; in the model they come from memory)
        (256, 256, 3, 1, 14), (512, 512, 3, 1, 7),
        // VGG-11's 3×3s past the stem (64→128 at 112 to 512→512 at 14)
        (64, 128, 3, 1, 112), (128, 256, 3, 1, 56), (256, 256, 3, 1, 56), (256, 512, 3, 1, 28), (512, 512, 3, 1, 28), (512, 512, 3, 1, 14),
        // AlexNet's 13×13 3×3s
        (192, 384, 3, 1, 13), (384, 256, 3, 1, 13), (256, 256, 3, 1, 13),
    ];

    public static IEnumerable<BenchFigure> Run()
    {
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_LAYER_ROUNDS"), out int r) ? r : 5;
        BenchSwitches.Apply();
        foreach (var (cin, cout, k, s, size) in Shapes)
        {
            string prefix = $"b1_{cin}_{cout}_{k}x{k}_s{s}_{size}";
            // "PointwiseDriver": the 1×1 product through the general GEMM driver (PointwiseTiles and PointwiseTransposed off);
            // "PointwiseUsual": channels as rows (PointwiseTransposed off), beside the pixels-as-rows product.
            var algorithms = Candidates(cin, cout, k, s, size).Where(a => BenchFilter.Wants($"{prefix}_{Label(a)}")).ToArray();
            if (algorithms.Length == 0) continue;
            var g = new Conv2dGeometry(1, cin, size, size, cout, k, k, s, s, k / 2, k / 2);
            var gen = new Generator(7);
            var x = Random((int)g.InputLength, gen);
            var wt = Tensor.Randn([cout, cin, k, k], gen);
            var bias = Random(cout, gen);
            var y = new float[g.OutputLength];
            // STRIATE_BENCH_LAYER_RESIDUAL=1: a residual add and ReLU in the store (ResNet's last 1×1 of a block) instead of ReLU6.
            var residual = Environment.GetEnvironmentVariable("STRIATE_BENCH_LAYER_RESIDUAL") == "1" ? Random((int)g.OutputLength, gen) : null;
            var best = algorithms.ToDictionary(a => a, _ => double.MaxValue);
            var key = new WeightKey(wt, wt.Version);
            for (int round = 0; round < rounds; round++)
                foreach (var a in algorithms)
                {
                    // ReLU6 in the store, as MobileNet-V2's expansions have it
                    void Once() => Conv2dKernels.Forward(g, Real(a), Conv2dDirect.BestWidth, x, wt.ReadOnlySpan, bias, y,
                        residual == null ? new Conv2dEpilogue { Clamp = (0f, 6f) } : new Conv2dEpilogue { Residual = residual, Relu = true }, key);
                    PointwiseTiles.Enabled = a != PointwiseDriver;
                    PointwiseTransposed.Enabled = a != PointwiseDriver && a != PointwiseUsual;
                    best[a] = Math.Min(best[a], BenchTimer.BestSeconds(Once, minSeconds: 0.05, minRuns: 5));
                    PointwiseTiles.Enabled = true;
                    PointwiseTransposed.Enabled = true;
                }
            foreach (var a in algorithms) yield return new BenchFigure($"{prefix}_{Label(a)}", best[a] * 1e6, "us");
        }
        foreach (var figure in RunDepthwise(rounds)) yield return figure;
        foreach (var figure in RunPools(rounds)) yield return figure;
        foreach (var figure in BlockBenchmarks.Run(rounds)) yield return figure;
    }

    /// <summary>MobileNet-V2's stride-1 depthwise 3×3 convolutions at batch 1 (channels, size), with ReLU6.</summary>
    public static readonly (int C, int Size)[] Depthwise = [(32, 112), (144, 56), (192, 28), (384, 14), (576, 14), (960, 7)];

    // Each with the four-row blocks (Rows, where the plane takes them) and with the flat one-vector kernel (Flat),
    // alternated in one process.
    private static IEnumerable<BenchFigure> RunDepthwise(int rounds)
    {
        foreach (var (c, size) in Depthwise)
        {
            string name = $"b1_dw_{c}_s1_{size}";
            if (!BenchFilter.Wants(name)) continue;
            var (g, x, w, b, y) = DepthwiseCase(c, size, stride: 1);
            double rows = double.MaxValue, flat = double.MaxValue;
            for (int round = 0; round < rounds; round++)
            {
                rows = Math.Min(rows, BenchTimer.BestSeconds(() => DepthwiseConv2d.Forward(g, x, w, b, y, 0f, 6f), minSeconds: 0.05, minRuns: 5));
                DepthwiseConv2d.RowBlocksEnabled = false;
                flat = Math.Min(flat, BenchTimer.BestSeconds(() => DepthwiseConv2d.Forward(g, x, w, b, y, 0f, 6f), minSeconds: 0.05, minRuns: 5));
                DepthwiseConv2d.RowBlocksEnabled = true;
            }
            yield return new BenchFigure(name + "_Rows", rows * 1e6, "us");
            yield return new BenchFigure(name + "_Flat", flat * 1e6, "us");
        }
        foreach (var (c, size) in DepthwiseStride2)
        {
            string name = $"b1_dw_{c}_s2_{size}";
            if (!BenchFilter.Wants(name)) continue;
            var (g, x, w, b, y) = DepthwiseCase(c, size, stride: 2);
            double best = double.MaxValue;
            for (int round = 0; round < rounds; round++)
                best = Math.Min(best, BenchTimer.BestSeconds(() => DepthwiseConv2d.Forward(g, x, w, b, y, 0f, 6f), minSeconds: 0.05, minRuns: 5));
            yield return new BenchFigure(name, best * 1e6, "us");
        }
    }

    /// <summary>A depthwise 3×3 (padding 1) of <paramref name="c"/> channels on a size × size image, random input, weights and bias, and its output.</summary>
    private static (Conv2dGeometry G, float[] X, float[] W, float[] B, float[] Y) DepthwiseCase(int c, int size, int stride)
    {
        var g = new Conv2dGeometry(1, c, size, size, c, 3, 3, stride, stride, 1, 1, 1, 1, c);
        var gen = new Generator(7);
        var x = Random((int)g.InputLength, gen);
        var w = Random(c * 9, gen);
        var b = Random(c, gen);
        return (g, x, w, b, new float[g.OutputLength]);
    }

    /// <summary>MobileNet-V2's stride-2 depthwise 3×3 convolutions at batch 1 (channels, input size), with ReLU6.</summary>
    public static readonly (int C, int Size)[] DepthwiseStride2 = [(96, 112), (144, 56), (192, 28), (576, 14)];

    /// <summary>
    /// GoogLeNet's max pools at batch 1 (ceil mode), then AlexNet's and ResNet's (floor mode): (channels, size, kernel,
    /// stride, padding, ceil mode).
    /// </summary>
    public static readonly (int C, int Size, int K, int S, int P, bool Ceil)[] Pools =
    [
        (64, 112, 3, 2, 0, true), (192, 56, 3, 2, 0, true), (192, 28, 3, 1, 1, true), (256, 28, 3, 1, 1, true), (480, 28, 3, 2, 0, true),
        (480, 14, 3, 1, 1, true), (528, 14, 3, 1, 1, true), (832, 14, 2, 2, 0, true), (832, 7, 3, 1, 1, true),
        (64, 55, 3, 2, 0, false), (192, 27, 3, 2, 0, false), (256, 13, 3, 2, 0, false), (64, 112, 3, 2, 1, false),
    ];

    // Each pool with the padded-row kernels and with the separable scans before them (Scan), values only and with
    // indices (Idx), alternated in one process.
    private static IEnumerable<BenchFigure> RunPools(int rounds)
    {
        foreach (var (c, size, k, s, p, ceil) in Pools)
        {
            string name = $"b1_maxpool_{c}_{k}x{k}_s{s}{(p > 0 ? $"_p{p}" : "")}_{size}";
            if (!BenchFilter.Wants(name)) continue;
            int o = Pool2dGeometry.OutputSize(size, k, s, p, ceil);
            var geo = new Pool2dGeometry(c, size, size, o, o, k, k, s, s, p, p);
            var gen = new Generator(7);
            var x = Random(c * size * size, gen);
            var y = new float[c * o * o];
            double best = double.MaxValue, bestScan = double.MaxValue, bestPadded = double.MaxValue;
            bool same = Pooling.IsSame3x3ShortRows(geo);
            for (int round = 0; round < rounds; round++)
            {
                best = Math.Min(best, BenchTimer.BestSeconds(() => Pooling.MaxPool2dForward(geo, x, y, Span<int>.Empty), minSeconds: 0.05, minRuns: 5));
                if (same)
                {
                    // the padded-rows kernel these 3×3/1 pools took before Pooling.Same3x3.cs
                    Pooling.Same3x3Enabled = false;
                    bestPadded = Math.Min(bestPadded, BenchTimer.BestSeconds(() => Pooling.MaxPool2dForward(geo, x, y, Span<int>.Empty), minSeconds: 0.05, minRuns: 5));
                    Pooling.Same3x3Enabled = true;
                }
                Pooling.Same3x3Enabled = false;
                Pooling.PaddedRowsEnabled = false;
                bestScan = Math.Min(bestScan, BenchTimer.BestSeconds(() => Pooling.MaxPool2dForward(geo, x, y, Span<int>.Empty), minSeconds: 0.05, minRuns: 5));
                Pooling.PaddedRowsEnabled = true;
                Pooling.Same3x3Enabled = true;
            }
            yield return new BenchFigure(name, best * 1e6, "us");
            if (same) yield return new BenchFigure(name + "_Padded", bestPadded * 1e6, "us");
            yield return new BenchFigure(name + "_Scan", bestScan * 1e6, "us");
            // With indices, as training runs it (2×2/2 pools take their own kernel either way).
            var idx = new int[y.Length];
            best = bestScan = double.MaxValue;
            for (int round = 0; round < rounds; round++)
            {
                best = Math.Min(best, BenchTimer.BestSeconds(() => Pooling.MaxPool2dForward(geo, x, y, idx), minSeconds: 0.05, minRuns: 5));
                Pooling.PaddedIndicesEnabled = false;
                bestScan = Math.Min(bestScan, BenchTimer.BestSeconds(() => Pooling.MaxPool2dForward(geo, x, y, idx), minSeconds: 0.05, minRuns: 5));
                Pooling.PaddedIndicesEnabled = true;
            }
            yield return new BenchFigure(name + "_Idx", best * 1e6, "us");
            yield return new BenchFigure(name + "_IdxScan", bestScan * 1e6, "us");
        }
    }

    /// <summary>A pseudo-algorithm: <see cref="Conv2dAlgorithm.Pointwise"/> with <see cref="PointwiseTiles"/> off.</summary>
    private const Conv2dAlgorithm PointwiseDriver = (Conv2dAlgorithm)100;

    /// <summary>A pseudo-algorithm: <see cref="Conv2dAlgorithm.Pointwise"/> with <see cref="PointwiseTransposed"/> off.</summary>
    private const Conv2dAlgorithm PointwiseUsual = (Conv2dAlgorithm)101;

    private static Conv2dAlgorithm Real(Conv2dAlgorithm a) => a is PointwiseDriver or PointwiseUsual ? Conv2dAlgorithm.Pointwise : a;

    private static string Label(Conv2dAlgorithm a) => a == PointwiseDriver ? "PointwiseDriver" : a == PointwiseUsual ? "PointwiseUsual" : a.ToString();

    private static IEnumerable<Conv2dAlgorithm> Candidates(int cin, int cout, int k, int s, int size)
    {
        var g = new Conv2dGeometry(1, cin, size, size, cout, k, k, s, s, k / 2, k / 2);
        yield return Conv2dKernels.Choose(g);
        if (Conv2dKernels.Choose(g) == Conv2dAlgorithm.Pointwise && size * size <= PointwiseTransposed.MaxPixels) yield return PointwiseUsual;
        if (Conv2dKernels.Choose(g) == Conv2dAlgorithm.Pointwise && size * size <= PointwiseTiles.MaxColumns) yield return PointwiseDriver;
        if (Conv2dKernels.Choose(g) != Conv2dAlgorithm.Direct && Conv2dDirect.IsSupported(Conv2dDirect.BestWidth) && Conv2dDirect.Supports(g)) yield return Conv2dAlgorithm.Direct;
        if (k == 3 && Conv2dFlat.Supports(g)) yield return Conv2dAlgorithm.SmallDirect;
        if (k == 3) yield return Conv2dAlgorithm.Im2ColGemm;
    }

    private static float[] Random(int n, Generator g)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = g.NextFloat() * 2 - 1;
        return a;
    }
}
