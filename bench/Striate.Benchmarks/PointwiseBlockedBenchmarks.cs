using System.Diagnostics;
using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// Every 1×1 convolution of ResNet-50 at batch 1, the way an inference session runs it today (NCHW in and out, the
/// algorithm <see cref="Conv2dKernels.Choose"/> picks, packed weights kept) against <see cref="PointwiseBlocked"/> on
/// 8-channel-blocked input and output (µs). Each with its role's epilogue: a bottleneck's reduce 1×1 (conv1) ReLU, its
/// output padded by 1 for the 3×3 after it; its expand 1×1 (conv3) the residual (blocked, for the blocked kernel) and
/// ReLU; the downsample nothing (stride 2 on the first block of stages 3–5). Beside them the layout passes a blocked
/// plan would remove: the 3×3's NCHW → blocked pack of a reduce 1×1's output (pack_out) and its unblocking, with bias
/// and ReLU, of an expand 1×1's input (unpack_in). Parts *_cold: the input rewritten by another thread before each call
/// (as when the step before wrote it on the other core), best of 5 calls. Rounds alternate the parts in one process;
/// figures are the median over rounds of each round's best, and the p10. Then the sums over ResNet-50's 36 1×1s
/// (each shape times its count). Figures <c>pwb_{Cin}_{Cout}_s{s}_{size}_{role}_{part}</c> and
/// <c>pwb_r50_{part}_sum</c>; STRIATE_BENCH_LAYER_ROUNDS sets the rounds (default 15). Run with --only pwblocked.
/// </summary>
public static class PointwiseBlockedBenchmarks
{
    private enum Role { Reduce, Expand, Down }

    /// <summary>(in, out, input size, stride, role, how many ResNet-50 has).</summary>
    private static readonly (int In, int Out, int Size, int S, Role Role, int Count)[] Shapes =
    [
        (64, 64, 56, 1, Role.Reduce, 1),
        (64, 256, 56, 1, Role.Expand, 3),
        (64, 256, 56, 1, Role.Down, 1),
        (256, 64, 56, 1, Role.Reduce, 2),
        (256, 128, 56, 1, Role.Reduce, 1),
        (128, 512, 28, 1, Role.Expand, 4),
        (256, 512, 56, 2, Role.Down, 1),
        (512, 128, 28, 1, Role.Reduce, 3),
        (512, 256, 28, 1, Role.Reduce, 1),
        (256, 1024, 14, 1, Role.Expand, 6),
        (512, 1024, 28, 2, Role.Down, 1),
        (1024, 256, 14, 1, Role.Reduce, 5),
        (1024, 512, 14, 1, Role.Reduce, 1),
        (512, 2048, 7, 1, Role.Expand, 3),
        (1024, 2048, 14, 2, Role.Down, 1),
        (2048, 512, 7, 1, Role.Reduce, 2),
    ];

    private static readonly string[] Parts = ["step", "blocked", "blocked16", "blocked_pairs2", "blocked_pixelwise", "blocked_items8", "blocked_chunk128", "blocked_chunk512", "pack_out", "unpack_in", "step_cold", "blocked_cold"];

    /// <summary>
    /// The kernel's switches from the environment (<see cref="BenchSwitches.Apply"/> calls it after restoring the
    /// defaults): STRIATE_BENCH_PWB_ONE_PIXEL=0 runs a range's last one or two pixels through the 3-pixel tile
    /// (<see cref="PointwiseBlocked.OnePixelTile"/>), STRIATE_BENCH_PWB_SUBSAMPLE=0 reads a strided call's input in place
    /// (<see cref="PointwiseBlocked.SubsampleStrided"/>), STRIATE_BENCH_PWB_EVEN_RANGES=0 cuts the pixel ranges as before
    /// (<see cref="PointwiseBlocked.EvenRanges"/>), STRIATE_BENCH_PWB_ITEMS=N work items per thread
    /// (<see cref="PointwiseBlocked.ItemsPerThread"/>), STRIATE_BENCH_PWB_SMALL_ITEMS=N those on maps up to 14×14 (0: as the
    /// others; <see cref="PointwiseBlocked.SmallMapItemsPerThread"/>), STRIATE_BENCH_PWB_CHUNK=C input channels per depth chunk
    /// (<see cref="PointwiseBlocked.ChunkChannels"/>, a multiple of 8), STRIATE_BENCH_PWB_DEEP_CHUNK=C those of inputs of 1024
    /// channels and more (0: as the others; <see cref="PointwiseBlocked.DeepChunkChannels"/>), STRIATE_BENCH_PWB_PREFETCH_X=N
    /// prefetch of the pixels' lines N blocks ahead (0: none; <see cref="PointwiseBlocked.PrefetchInputBlocks"/>),
    /// STRIATE_BENCH_PWB_PREFETCH_W=0|1 prefetch of the next weight panel (<see cref="PointwiseBlocked.PrefetchWeights"/>),
    /// STRIATE_BENCH_PWB_BALANCE=0|1 the balanced schedule of batch-1 calls on small maps (<see cref="PointwiseBlocked.Balance"/>),
    /// STRIATE_BENCH_PWB_BALANCE_PAIRS=N its pairs per item (<see cref="PointwiseBlocked.BalancePairs"/>),
    /// STRIATE_BENCH_PWB_BALANCE_RANGES_FROM=P the output pixels from which it cuts a range per thread
    /// (<see cref="PointwiseBlocked.BalanceRangesFromPixels"/>), STRIATE_BENCH_PWB_BALANCE_MAX_PIXELS=P the largest map it
    /// takes (<see cref="PointwiseBlocked.BalanceMaxPixels"/>), STRIATE_BENCH_PWB_BALANCE_MAX_RANGE_FLOATS=F the largest
    /// range input (<see cref="PointwiseBlocked.BalanceMaxRangeFloats"/>), STRIATE_BENCH_PWB_BALANCE_STRIDED=0|1 strided
    /// calls too (<see cref="PointwiseBlocked.BalanceStrided"/>).
    /// </summary>
    internal static void ApplySwitches()
    {
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_ONE_PIXEL") == "0") PointwiseBlocked.OnePixelTile = false;
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_SUBSAMPLE") == "0") PointwiseBlocked.SubsampleStrided = false;
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_EVEN_RANGES") == "0") PointwiseBlocked.EvenRanges = false;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_ITEMS"), out int items) && items > 0) PointwiseBlocked.ItemsPerThread = items;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_SMALL_ITEMS"), out int small) && small >= 0) PointwiseBlocked.SmallMapItemsPerThread = small;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_CHUNK"), out int chunk) && chunk >= 8 && chunk % 8 == 0) PointwiseBlocked.ChunkChannels = chunk;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_DEEP_CHUNK"), out int deep) && deep >= 0 && deep % 8 == 0) PointwiseBlocked.DeepChunkChannels = deep;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_PREFETCH_X"), out int ahead) && ahead >= 0) PointwiseBlocked.PrefetchInputBlocks = ahead;
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_PREFETCH_W") is { } pw) PointwiseBlocked.PrefetchWeights = pw == "1";
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_BALANCE") is { } bal) PointwiseBlocked.Balance = bal == "1";
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_BALANCE_PAIRS"), out int balPairs) && balPairs > 0) PointwiseBlocked.BalancePairs = balPairs;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_BALANCE_RANGES_FROM"), out int balFrom) && balFrom >= 0) PointwiseBlocked.BalanceRangesFromPixels = balFrom;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_BALANCE_MAX_PIXELS"), out int balMax) && balMax >= 0) PointwiseBlocked.BalanceMaxPixels = balMax;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_BALANCE_MAX_RANGE_FLOATS"), out int balFloats) && balFloats >= 0) PointwiseBlocked.BalanceMaxRangeFloats = balFloats;
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB_BALANCE_STRIDED") is { } balStrided) PointwiseBlocked.BalanceStrided = balStrided == "1";
        // 16-channel blocks (AVX-512): STRIATE_BENCH_PWB16=0 runs the 1×1s on NCHW instead of blocked through on 16-channel
        // blocks (PointwiseBlocked.BlockedThrough16), STRIATE_BENCH_PWB16_CHUNK / _RANGE / _ITEMS / _ONE its chunk, range,
        // items and one-pixel tiles.
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16") is { } pwb16) PointwiseBlocked.BlockedThrough16 = pwb16 == "1";
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16_CHUNK"), out int chunk16) && chunk16 >= 16 && chunk16 % 16 == 0) PointwiseBlocked.ChunkChannels16 = chunk16;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16_RANGE"), out int range16) && range16 > 0) PointwiseBlocked.RangeFloats16 = range16;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16_ITEMS"), out int items16) && items16 > 0) PointwiseBlocked.ItemsPerThread16 = items16;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16_ONE"), out int one16) && one16 >= 0) PointwiseBlocked.OnePixelMaxCount16 = one16;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16_SMALL_ITEMS"), out int small16) && small16 > 0) PointwiseBlocked.SmallMapItemsPerThread16 = small16;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16_PREFETCH_X"), out int ahead16) && ahead16 >= 0) PointwiseBlocked.PrefetchInput16 = ahead16;
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_PWB16_PREFETCH_W") is { } pw16) PointwiseBlocked.PrefetchWeights16 = pw16 == "1";
    }

    public static IEnumerable<BenchFigure> Run()
    {
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_LAYER_ROUNDS"), out int r) ? r : 15;
        BenchSwitches.Apply();
        var sums = new Dictionary<string, double>();
        using var writer = new OtherThreadWriter();
        foreach (var shape in Shapes)
        {
            string prefix = $"pwb_{shape.In}_{shape.Out}_s{shape.S}_{shape.Size}_{shape.Role.ToString().ToLowerInvariant()}";
            if (!Parts.Any(p => BenchFilter.Wants($"{prefix}_{p}"))) continue;
            // A figure named whole in --figures (pwb_2048_512_s1_7_reduce_blocked) measures that part alone, not the parts it is the start of (_blocked_cold).
            bool named = Parts.Any(p => BenchFilter.Patterns.Contains($"{prefix}_{p}"));
            var times = Measure(shape.In, shape.Out, shape.Size, shape.S, shape.Role, rounds, writer,
                part => named ? BenchFilter.Patterns.Contains($"{prefix}_{part}") : BenchFilter.Wants($"{prefix}_{part}"));
            foreach (var part in Parts)
            {
                if (!times.TryGetValue(part, out var rounds1)) continue;
                var t = rounds1.Order().ToList(); // (the rounds' order kept for the ratio below)
                double median = t[t.Count / 2] * 1e6, p10 = t[t.Count / 10] * 1e6;
                yield return new BenchFigure($"{prefix}_{part}", median, "µs");
                yield return new BenchFigure($"{prefix}_{part}_p10", p10, "µs");
                sums[part] = sums.GetValueOrDefault(part) + shape.Count * median;
            }
            // Each round's blocked ÷ step (measured one after the other, so a slow spell of the host hits both), median over rounds.
            if (times.TryGetValue("step", out var steps) && times.TryGetValue("blocked", out var blocks))
            {
                var ratios = blocks.Zip(steps, (b, st) => b / st).Order().ToList();
                yield return new BenchFigure($"{prefix}_blocked_over_step", ratios[ratios.Count / 2], "ratio");
            }
            // The same for 16-channel blocks (AVX-512), against the step and against 8-channel blocks.
            if (times.TryGetValue("blocked16", out var blocks16))
                foreach (var (other, name) in new[] { ("step", "step"), ("blocked", "blocked") })
                    if (times.TryGetValue(other, out var others))
                    {
                        var ratios = blocks16.Zip(others, (b, o) => b / o).Order().ToList();
                        yield return new BenchFigure($"{prefix}_blocked16_over_{name}", ratios[ratios.Count / 2], "ratio");
                    }
        }
        foreach (var (part, us) in sums) yield return new BenchFigure($"pwb_r50_{part}_sum", us, "µs");
        // Today's 1×1s with the layout passes a blocked plan removes, against the blocked kernel.
        if (sums.ContainsKey("step") && sums.ContainsKey("blocked"))
        {
            double today = sums["step"] + sums.GetValueOrDefault("pack_out") + sums.GetValueOrDefault("unpack_in");
            yield return new BenchFigure("pwb_r50_today_with_layout_sum", today, "µs");
            yield return new BenchFigure("pwb_r50_blocked_over_today", sums["blocked"] / today, "ratio");
        }
    }

    /// <summary>Seconds per round of each part (best of a short burst each; the cold parts best of 5 calls).</summary>
    private static unsafe Dictionary<string, List<double>> Measure(int cin, int cout, int size, int stride, Role role, int rounds, OtherThreadWriter writer,
        Func<string, bool> wanted)
    {
        var gen = new Generator(11);
        var g = new Conv2dGeometry(1, cin, size, size, cout, 1, 1, stride, stride, 0, 0);
        var x = Random((int)g.InputLength, gen);          // x: [1, Cin, H, W]
        var wt = Tensor.Randn([cout, cin, 1, 1], gen);
        var bias = Random(cout, gen);
        var residual = Random((int)g.OutputLength, gen);  // [1, Cout, Ho, Wo]
        var y = new float[g.OutputLength];
        var key = new WeightKey(wt, wt.Version);
        bool relu = role != Role.Down, withResidual = role == Role.Expand;
        int outPad = role == Role.Reduce ? 1 : 0;
        var xs = new BlockedShape(1, cin, size, size, PointwiseBlocked.V);
        var ys = new BlockedShape(1, cout, g.OutHeight, g.OutWidth, PointwiseBlocked.V, outPad, outPad);
        var rs = new BlockedShape(1, cout, g.OutHeight, g.OutWidth, PointwiseBlocked.V);
        var xb = new float[xs.Length + CacheLine.SlackFloats];
        var yb = new float[ys.Length + CacheLine.SlackFloats];
        var rb = new float[rs.Length + CacheLine.SlackFloats];
        fixed (float* px = x, pxb = xb, pr = residual, prb = rb)
        {
            ChannelBlocked.Pack(px, xs, CacheLine.Align(pxb));
            ChannelBlocked.Pack(pr, rs, CacheLine.Align(prb));
        }
        // The same activations on 16-channel blocks (the AVX-512 direct 3×3's).
        var xs16 = xs with { V = PointwiseBlocked.V16 };
        var ys16 = ys with { V = PointwiseBlocked.V16 };
        var rs16 = rs with { V = PointwiseBlocked.V16 };
        var xb16 = new float[xs16.Length + CacheLine.SlackFloats];
        var yb16 = new float[ys16.Length + CacheLine.SlackFloats];
        var rb16 = new float[rs16.Length + CacheLine.SlackFloats];
        fixed (float* px = x, pxb = xb16, pr = residual, prb = rb16)
        {
            ChannelBlocked.Pack(px, xs16, CacheLine.Align(pxb));
            ChannelBlocked.Pack(pr, rs16, CacheLine.Align(prb));
        }
        var xBackup = (float[])x.Clone();
        var xbBackup = (float[])xb.Clone();
        var geometry = g;
        void Step() => Conv2dKernels.Forward(geometry, x, wt.ReadOnlySpan, bias, y,
            new Conv2dEpilogue { Relu = relu, Residual = withResidual ? residual : default }, key);
        void Blocked()
        {
            fixed (float* pw = wt.ReadOnlySpan, pxb = xb, pyb = yb, prb = rb, pb = bias)
            {
                float* packed = PointwiseBlocked.Weights(pw, cout, cin, key, out var holder);
                PointwiseBlocked.Run(packed, CacheLine.Align(pxb), xs, stride, CacheLine.Align(pyb), ys, pb,
                    withResidual ? CacheLine.Align(prb) : null, rs, relu);
                GC.KeepAlive(holder);
            }
        }
        void Blocked16()
        {
            fixed (float* pw = wt.ReadOnlySpan, pxb = xb16, pyb = yb16, prb = rb16, pb = bias)
            {
                float* packed = PointwiseBlocked.Weights(pw, cout, cin, key, out var holder, PointwiseBlocked.V16);
                PointwiseBlocked.Run(packed, CacheLine.Align(pxb), xs16, stride, CacheLine.Align(pyb), ys16, pb,
                    withResidual ? CacheLine.Align(prb) : null, rs16, relu);
                GC.KeepAlive(holder);
            }
        }
        // The 3×3 after a reduce 1×1 packs its NCHW output (padded for the 3×3); the 3×3 before an expand 1×1 unblocks its output.
        var packShape = ys;
        void PackOut() { fixed (float* py = y, pd = yb) ChannelBlocked.Pack(py, packShape, CacheLine.Align(pd)); }
        var unpackShape = xs;
        var inBias = Random(cin, gen);
        void UnpackIn() { fixed (float* ps = xb, pd = x, pb = inBias) ChannelBlocked.Unpack(CacheLine.Align(ps), unpackShape, pd, pb, null, true); }
        double Cold(Action call, float[] target, float[] source)
        {
            double best = double.MaxValue;
            for (int i = 0; i < 5; i++)
            {
                writer.Write(source, target);
                double start = Stopwatch.GetTimestamp();
                call();
                best = Math.Min(best, (Stopwatch.GetTimestamp() - start) / Stopwatch.Frequency);
            }
            return best;
        }
        double WithChunk(int channels)
        {
            // Depth chunks of another size (PointwiseBlocked.ChunkChannels, 256).
            int chunk = PointwiseBlocked.ChunkChannels;
            PointwiseBlocked.ChunkChannels = channels;
            try { return BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5); }
            finally { PointwiseBlocked.ChunkChannels = chunk; }
        }
        var parts = new List<(string Name, Func<double> Run)>
        {
            ("step", () => BenchTimer.BestSeconds(Step, minSeconds: 0.02, minRuns: 5)),
            ("blocked", () => BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5)),
            ("blocked16", () => BenchTimer.BestSeconds(Blocked16, minSeconds: 0.02, minRuns: 5)),
            ("blocked_pairs2", () =>
            {
                // The first work split (groups of 2 pairs, ranges of RangeFloats) against the one now (PointwiseBlocked.SplitLarger).
                bool split = PointwiseBlocked.SplitLarger;
                PointwiseBlocked.SplitLarger = false;
                try { return BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5); }
                finally { PointwiseBlocked.SplitLarger = split; }
            }),
            ("blocked_pixelwise", () =>
            {
                // Every tile's addresses pixel by pixel (PointwiseBlocked.RowTiles off).
                bool rowTiles = PointwiseBlocked.RowTiles;
                PointwiseBlocked.RowTiles = false;
                try { return BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5); }
                finally { PointwiseBlocked.RowTiles = rowTiles; }
            }),
            ("blocked_items8", () =>
            {
                // Eight items per thread (PointwiseBlocked.ItemsPerThread, 4).
                int items = PointwiseBlocked.ItemsPerThread;
                PointwiseBlocked.ItemsPerThread = 8;
                try { return BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5); }
                finally { PointwiseBlocked.ItemsPerThread = items; }
            }),
            ("blocked_chunk128", () => WithChunk(128)),
            ("blocked_chunk512", () => WithChunk(512)),
            ("step_cold", () => Cold(Step, x, xBackup)),
            ("blocked_cold", () => Cold(Blocked, xb, xbBackup)),
        };
        if (role == Role.Reduce) parts.Add(("pack_out", () => BenchTimer.BestSeconds(PackOut, minSeconds: 0.02, minRuns: 5)));
        if (role == Role.Expand)
            parts.Add(("unpack_in", () =>
            {
                double s = BenchTimer.BestSeconds(UnpackIn, minSeconds: 0.02, minRuns: 5);
                Array.Copy(xbBackup, xb, xb.Length); // (x itself was overwritten by the unpacking: put the step's input back)
                Array.Copy(xBackup, x, x.Length);
                return s;
            }));
        parts.RemoveAll(p => !wanted(p.Name)); // (--figures: only the parts asked for)
        var times = parts.ToDictionary(p => p.Name, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
            foreach (var (name, run) in parts)
                times[name].Add(run());
        return times;
    }

    /// <summary>A thread that copies an array on request and then sleeps (so the measured call has both CPUs again).</summary>
    private sealed class OtherThreadWriter : IDisposable
    {
        private readonly SemaphoreSlim start = new(0), done = new(0);
        private readonly Thread thread;
        private float[]? source, target;
        private volatile bool stop;

        public OtherThreadWriter()
        {
            thread = new Thread(Loop) { IsBackground = true, Name = "pwb-writer" };
            thread.Start();
        }

        public void Write(float[] from, float[] to)
        {
            source = from;
            target = to;
            start.Release();
            done.Wait();
        }

        private void Loop()
        {
            while (true)
            {
                start.Wait();
                if (stop) return;
                Array.Copy(source!, target!, target!.Length);
                done.Release();
            }
        }

        public void Dispose()
        {
            stop = true;
            start.Release();
            thread.Join();
        }
    }

    private static float[] Random(int length, Generator r)
    {
        var a = new float[length];
        for (int i = 0; i < a.Length; i++) a[i] = r.NextFloat() * 2 - 1;
        return a;
    }
}
