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

    private static readonly string[] Parts = ["step", "blocked", "blocked_pairs2", "blocked_pixelwise", "blocked_items8", "blocked_chunk128", "blocked_chunk512", "pack_out", "unpack_in", "step_cold", "blocked_cold"];

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
            var times = Measure(shape.In, shape.Out, shape.Size, shape.S, shape.Role, rounds, writer);
            foreach (var part in Parts)
            {
                if (!times.TryGetValue(part, out var t)) continue;
                t.Sort();
                double median = t[t.Count / 2] * 1e6, p10 = t[t.Count / 10] * 1e6;
                yield return new BenchFigure($"{prefix}_{part}", median, "µs");
                yield return new BenchFigure($"{prefix}_{part}_p10", p10, "µs");
                sums[part] = sums.GetValueOrDefault(part) + shape.Count * median;
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
    private static unsafe Dictionary<string, List<double>> Measure(int cin, int cout, int size, int stride, Role role, int rounds, OtherThreadWriter writer)
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
            ("blocked_pairs2", () =>
            {
                // The first work split (groups of 2 pairs, ranges of RangeFloats) against the one now (PointwiseBlocked.SplitLarger).
                PointwiseBlocked.SplitLarger = false;
                try { return BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5); }
                finally { PointwiseBlocked.SplitLarger = true; }
            }),
            ("blocked_pixelwise", () =>
            {
                // Every tile's addresses pixel by pixel (PointwiseBlocked.RowTiles off).
                PointwiseBlocked.RowTiles = false;
                try { return BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5); }
                finally { PointwiseBlocked.RowTiles = true; }
            }),
            ("blocked_items8", () =>
            {
                // Four items per thread instead of eight (PointwiseBlocked.ItemsPerThread).
                PointwiseBlocked.ItemsPerThread = 4;
                try { return BenchTimer.BestSeconds(Blocked, minSeconds: 0.02, minRuns: 5); }
                finally { PointwiseBlocked.ItemsPerThread = 8; }
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
