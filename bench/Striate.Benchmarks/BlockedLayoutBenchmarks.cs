using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// The layout work around every direct 3×3 step of ResNet-18 and ResNet-50 at batch 1 (µs): the whole step as an
/// inference session runs it (blocked weights kept, bias, ReLU and the residual where the model has one), the same step
/// with <see cref="Conv2dDirect.LayoutPasses"/> off (the tiles alone: no NCHW → blocked pack, no unblocking), the pack
/// alone and the unblocking with its epilogue alone. Rounds alternate the four in one process (a slow spell hits each
/// alike); figures are the median over rounds of each round's best of a short burst, and the p10. Then per model the
/// sums over its 3×3 steps (each shape times how often the model has it). Figures <c>blk_{Cin}_{Cout}_s{s}_{size}_{part}</c>
/// and <c>blk_{model}_{part}_sum</c>; STRIATE_BENCH_LAYER_ROUNDS sets the rounds (default 15). Run with --only blocked.
/// </summary>
public static class BlockedLayoutBenchmarks
{
    /// <summary>(in, out, stride, input size, ResNet-18 steps without / with a residual, ResNet-50 steps).</summary>
    private static readonly (int In, int Out, int S, int Size, int R18, int R18Residual, int R50)[] Shapes =
    [
        (64, 64, 1, 56, 2, 2, 3),
        (64, 128, 2, 56, 1, 0, 0),
        (128, 128, 2, 56, 0, 0, 1),
        (128, 128, 1, 28, 1, 2, 3),
        (128, 256, 2, 28, 1, 0, 0),
        (256, 256, 2, 28, 0, 0, 1),
        (256, 256, 1, 14, 1, 2, 5),
        (256, 512, 2, 14, 1, 0, 0),
        (512, 512, 2, 14, 0, 0, 1),
        (512, 512, 1, 7, 1, 2, 2),
    ];

    private static readonly string[] Parts = ["step", "step_res", "tiles", "pack", "unpack", "unpack_res"];

    public static IEnumerable<BenchFigure> Run()
    {
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_LAYER_ROUNDS"), out int r) ? r : 15;
        BenchSwitches.Apply();
        var sums = new Dictionary<string, double>();
        foreach (var shape in Shapes)
        {
            string prefix = $"blk_{shape.In}_{shape.Out}_s{shape.S}_{shape.Size}";
            if (!Parts.Any(p => BenchFilter.Wants($"{prefix}_{p}"))) continue;
            var g = new Conv2dGeometry(1, shape.In, shape.Size, shape.Size, shape.Out, 3, 3, shape.S, shape.S, 1, 1);
            if (Conv2dKernels.Choose(g) != Conv2dAlgorithm.Direct || Conv2dDirect.TakesPixels(g))
            {
                Console.Error.WriteLine($"{prefix}: not the blocked direct forward ({Conv2dKernels.Choose(g)}), skipped");
                continue;
            }
            var times = Measure(g, rounds);
            foreach (var part in Parts)
            {
                var t = times[part];
                t.Sort();
                double median = t[t.Count / 2] * 1e6, p10 = t[t.Count / 10] * 1e6;
                yield return new BenchFigure($"{prefix}_{part}", median, "µs");
                yield return new BenchFigure($"{prefix}_{part}_p10", p10, "µs");
                // Per model: the unblocking with a residual where the step has one, the step likewise.
                void Add(string model, int count, string p) { if (count > 0) sums[$"{model}_{p}"] = sums.GetValueOrDefault($"{model}_{p}") + count * median; }
                if (part is "pack" or "tiles")
                {
                    Add("r18", shape.R18 + shape.R18Residual, part);
                    Add("r50", shape.R50, part);
                }
                if (part == "unpack") { Add("r18", shape.R18, "unpack"); Add("r50", shape.R50, "unpack"); }
                if (part == "unpack_res") Add("r18", shape.R18Residual, "unpack");
                if (part == "step") { Add("r50", shape.R50, "step"); Add("r18", shape.R18, "step"); }
                if (part == "step_res") Add("r18", shape.R18Residual, "step");
            }
        }
        foreach (var (name, us) in sums) yield return new BenchFigure($"blk_{name}_sum", us, "µs");
    }

    /// <summary>Seconds per round of each part (best of a short burst each).</summary>
    private static unsafe Dictionary<string, List<double>> Measure(in Conv2dGeometry g, int rounds)
    {
        var gen = new Generator(7);
        var x = Random((int)g.InputLength, gen);          // x: [1, Cin, H, W]
        var wt = Tensor.Randn([g.OutChannels, g.InChannels, 3, 3], gen);
        var bias = Random(g.OutChannels, gen);
        var residual = Random((int)g.OutputLength, gen);  // [1, Cout, Hout, Wout]
        var y = new float[g.OutputLength];
        var key = new WeightKey(wt, wt.Version);
        int v = Conv2dDirect.VectorLength(Conv2dDirect.BestWidth);
        var inShape = new BlockedShape(1, g.InChannels, g.InHeight, g.InWidth, v, g.PadH, g.PadW);
        var outShape = new BlockedShape(1, g.OutChannels, g.OutHeight, g.OutWidth, v);
        var xb = new float[inShape.Length + CacheLine.SlackFloats];
        var yb = Random((int)outShape.Length, gen);
        var geometry = g;
        void Step(bool res) => Conv2dKernels.Forward(geometry, Conv2dAlgorithm.Direct, Conv2dDirect.BestWidth, x, wt.ReadOnlySpan, bias, y,
            new Conv2dEpilogue { Relu = true, Residual = res ? residual : default }, key);
        void Tiles()
        {
            Conv2dDirect.LayoutPasses = false;
            try { Step(false); }
            finally { Conv2dDirect.LayoutPasses = true; }
        }
        void Pack() { fixed (float* px = x, pd = xb) ChannelBlocked.Pack(px, inShape, CacheLine.Align(pd)); }
        void Unpack(bool res) { fixed (float* ps = yb, pd = y, pb = bias, pr = residual) ChannelBlocked.Unpack(ps, outShape, pd, pb, res ? pr : null, true); }
        var parts = new (string Name, Action Run)[]
        {
            ("step", () => Step(false)), ("step_res", () => Step(true)), ("tiles", Tiles), ("pack", Pack), ("unpack", () => Unpack(false)), ("unpack_res", () => Unpack(true)),
        };
        var times = parts.ToDictionary(p => p.Name, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
            foreach (var (name, run) in parts)
                times[name].Add(BenchTimer.BestSeconds(run, minSeconds: 0.02, minRuns: 5));
        return times;
    }

    private static float[] Random(int length, Generator r)
    {
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = r.NextFloat() * 2 - 1;
        return a;
    }
}
