using Striate.Autograd;
using Striate.Functional;
using Striate.Graph;
using Striate.Models;
using Striate.Models.Book;
using Striate.Nn;
using Striate.Optim;

namespace Striate.Benchmarks;

/// <summary>
/// Whole-model figures under the names the TorchSharp anchor (<c>../shared/anchors/torchsharp/Program.cs</c>) prints,
/// measured the way it measures them, so the two can be divided figure by figure:
/// <list type="bullet">
/// <item><c>tv_MODEL_224_train_bN</c> (img/s): torchvision's MODEL on [N, 3, 224, 224] of fixed random data, one
/// SGD step (lr 0.05, momentum 0.9) with cross-entropy; 1 warm-up step, then the median of 2 steps.</item>
/// <item><c>tv_MODEL_224_infer_bN</c> (img/s): eval mode, no graph; 1 warm-up forward, median of 3.</item>
/// <item><c>tv_MODEL_224_infer_b1_latency</c> (ms): the first image alone through the model prepared for inference
/// (<see cref="InferenceSession"/>, as ONNX Runtime's figure runs a prepared session); 2 warm-up runs, median of 5.</item>
/// <item><c>tv_MODEL_224_infer_b1_first_call</c> (ms, Striate only): the caller's first run of that prepared session, JIT
/// compilation included (preparing, which ends with its own warm-up runs, is not timed). It is a fresh process's first call only when the figure is the
/// process's first model, so measure it one model per process: <c>--figures tv_MODEL_224_infer_b1_</c>.</item>
/// <item><c>resnet18_d2l_96_infer_b64</c> (img/s): the book's ResNet-18 in eval mode on [64, 1, 96, 96];
/// 3 warm-up forwards, median of 9.</item>
/// </list>
/// The median is element Count/2 of the sorted times, as the anchor takes it (for 2 runs: the slower one).
/// DenseNet-121 is not in TorchSharp; its figures are compared with PyTorch (<c>bench/torch_models_bench.py</c>).
/// Shapes: input [N, 3, 224, 224] → logits [N, 1000]; d2l: [64, 1, 96, 96] → [64, 10].
/// </summary>
public static class ModelBenchmarks
{
    /// <summary>The torchvision models and batch sizes of the anchor, in its order (DenseNet-121 last, PyTorch only).</summary>
    public static readonly (string Name, int Batch)[] Torchvision =
    [
        ("resnet18", 16), ("alexnet", 16), ("vgg11", 8), ("googlenet", 16), ("mobilenet_v2", 16), ("resnet50", 8), ("densenet121", 8),
    ];

    /// <summary>Every figure of the suite, skipping those <see cref="BenchFilter"/> does not want (without building their model).</summary>
    public static IEnumerable<BenchFigure> Run()
    {
        BenchSwitches.Apply();
        const string d2l = "resnet18_d2l_96_infer_b64";
        if (BenchFilter.Wants(d2l))
        {
            var g = new Generator(0);
            var model = D2lResNet.Create18(1, 10, g);
            var x = Tensor.Randn([64, 1, 96, 96], g);
            double t = InferSeconds(model, x, warmUp: 3, runs: 9);
            yield return new BenchFigure(d2l, 64 / t, "img/s");
        }
        foreach (var (name, batch) in Torchvision)
        {
            string train = $"tv_{name}_224_train_b{batch}", infer = $"tv_{name}_224_infer_b{batch}", latency = $"tv_{name}_224_infer_b1_latency";
            string firstCall = $"tv_{name}_224_infer_b1_first_call";
            if (!BenchFilter.Wants(train) && !BenchFilter.Wants(infer) && !BenchFilter.Wants(latency) && !BenchFilter.Wants(firstCall)) continue;
            var g = new Generator(0);
            var model = ModelRegistry.Create(name, new ModelOptions(3, 1000, Generator: g));
            var x = Tensor.Randn([batch, 3, 224, 224], g);
            var labels = new int[batch];
            for (int i = 0; i < batch; i++) labels[i] = (int)(g.NextFloat() * 1000) % 1000;
            if (BenchFilter.Wants(train))
                yield return new BenchFigure(train, batch / TrainSeconds(model, x, labels, warmUp: 1, runs: 2), "img/s");
            if (BenchFilter.Wants(infer))
                yield return new BenchFigure(infer, batch / InferSeconds(model, x, warmUp: 1, runs: 3), "img/s");
            if (BenchFilter.Wants(latency) || BenchFilter.Wants(firstCall))
            {
                var x1 = Tensor.Randn([1, 3, 224, 224], g);
                double steady = PreparedSeconds(model, x1, warmUp: 2, runs: 5, out double first, latency);
                // The first call comes before the steady figure in the output: it was measured first.
                if (BenchFilter.Wants(firstCall)) yield return new BenchFigure(firstCall, first * 1e3, "ms");
                if (BenchFilter.Wants(latency)) yield return new BenchFigure(latency, steady * 1e3, "ms");
            }
        }
    }

    /// <summary>Median seconds of one SGD step (lr 0.05, momentum 0.9) in train mode.</summary>
    public static double TrainSeconds(Module model, Tensor x, int[] labels, int warmUp, int runs)
    {
        model.Train();
        var optimizer = new Sgd(model.Parameters(), 0.05f, momentum: 0.9f);
        return Median(() =>
        {
            using var scope = TensorScope.Begin();
            optimizer.ZeroGrad();
            var loss = F.CrossEntropy(model.Call(x), labels, 0f);
            loss.Backward();
            optimizer.Step();
        }, warmUp, runs);
    }

    /// <summary>Median seconds of one forward in eval mode without graph recording.</summary>
    public static double InferSeconds(Module model, Tensor x, int warmUp, int runs)
    {
        model.Eval();
        return Median(() =>
        {
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            model.Call(x);
        }, warmUp, runs);
    }

    /// <summary>
    /// Median seconds of one run of the model prepared for inference at x's shape (<see cref="InferenceSession"/>:
    /// batch norm folded, activations fused, buffers planned), as ONNX Runtime runs a session; preparing is not timed.
    /// </summary>
    public static double PreparedSeconds(Module model, Tensor x, int warmUp, int runs) => PreparedSeconds(model, x, warmUp, runs, out _);

    /// <inheritdoc cref="PreparedSeconds(Module, Tensor, int, int)"/>
    /// <param name="firstCallSeconds">The first run's seconds; that run counts as one of the warm-up runs.</param>
    /// <param name="figure">The figure being measured, for the profile (STRIATE_BENCH_PROFILE) <c>--ab</c> sets side by side.</param>
    public static double PreparedSeconds(Module model, Tensor x, int warmUp, int runs, out double firstCallSeconds, string? figure = null)
    {
        BenchSwitches.Apply(); // every STRIATE_BENCH_* switch, from its default (ApplyInferenceSwitches below, the direct kernel's, STRIATE_BENCH_AVX2_NC)
        var session = model.PrepareForInference(x.ShapeArray);
        var output = new float[session.OutputShape.Aggregate(1, (a, b) => a * b)];
        double start = BenchTimer.Now();
        session.Run(x.ReadOnlySpan, output);
        firstCallSeconds = BenchTimer.Now() - start;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_PROFILE"), out int profileRuns) && profileRuns > 0) PrintProfile(session, x, profileRuns, figure ?? "");
        return Median(() => session.Run(x.ReadOnlySpan, output), Math.Max(0, warmUp - 1), runs);
    }

    /// <summary>The inference passes' and 1×1 kernels' switches (A/B in one binary); <see cref="BenchSwitches.Apply"/> calls it after restoring every field.</summary>
    internal static void ApplyInferenceSwitches()
    {
        // STRIATE_BENCH_WORKERS_OFF_CALLER=0: the kernel workers' affinity is left alone (they may be woken onto the caller's CPU).
        Striate.Kernels.WorkerPlacement.Enabled = Environment.GetEnvironmentVariable("STRIATE_BENCH_WORKERS_OFF_CALLER") != "0";
        // STRIATE_BENCH_ROUSE_WORKERS=0: an inference run leaves the kernel workers asleep until its first loop; 1: wakes them at its start; 2: and keeps them polling to its end.
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_ROUSE_WORKERS"), out int rouse)) Striate.Graph.InferenceSession.RouseWorkers = rouse;
        // STRIATE_BENCH_WORKER_SPIN_US=N: an idle kernel worker polls N µs for the next loop before it sleeps (50 unset).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_WORKER_SPIN_US"), out int spinUs) && spinUs >= 0) Striate.Kernels.ParallelFor.SpinTicks = System.Diagnostics.Stopwatch.Frequency * spinUs / 1_000_000;
        // STRIATE_BENCH_BLOCKED_ACTIVATIONS=N: a direct 3×3 step hands its output channel-blocked to the direct step that alone reads it at batches ≤ N (0: never; unset: batch 1).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_BLOCKED_ACTIVATIONS"), out int blockedBatch)) Striate.Graph.InferenceSession.BlockedActivationsMaxBatch = blockedBatch;
        // STRIATE_BENCH_BLOCKED_THROUGH=N: activations stay channel-blocked through 1×1s (PointwiseBlocked) and direct 3×3s at batches ≤ N (0: never, the default).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_BLOCKED_THROUGH"), out int throughBatch)) Striate.Graph.InferenceSession.BlockedThroughMaxBatch = throughBatch;
        // STRIATE_BENCH_BLOCKED_THROUGH_RULE=0: blocked through wherever the batch allows, not only where the plan's count says it pays.
        Striate.Graph.InferenceSession.BlockedThroughRule = Environment.GetEnvironmentVariable("STRIATE_BENCH_BLOCKED_THROUGH_RULE") != "0";
        // STRIATE_BENCH_BLOCKED_THROUGH_COST=N: what a blocked 1×1 counts against the layout passes the plan saves (1 unset).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_BLOCKED_THROUGH_COST"), out int throughCost)) Striate.Graph.InferenceSession.BlockedThroughPointwiseCost = throughCost;
        // STRIATE_BENCH_BLOCKED_THROUGH_PACK=0: no pack of a value written NCHW that a blocked-through direct 3×3 reads as residual.
        Striate.Graph.InferenceSession.BlockedThroughPackResidual = Environment.GetEnvironmentVariable("STRIATE_BENCH_BLOCKED_THROUGH_PACK") != "0";
        // STRIATE_BENCH_JOB_SLOTS=N (1–4): callers on N threads at once may each run parallel loops (1: a second one runs serially).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_JOB_SLOTS"), out int slots)) Striate.Kernels.ParallelFor.JobSlots = Math.Clamp(slots, 1, Striate.Kernels.ParallelFor.MaxJobSlots);
        // STRIATE_BENCH_POINTWISE_TILES=0: small-map 1×1 products through the general GEMM driver (A/B in one binary).
        Striate.Kernels.PointwiseTiles.Enabled = Environment.GetEnvironmentVariable("STRIATE_BENCH_POINTWISE_TILES") != "0";
        // STRIATE_BENCH_POINTWISE_TRANSPOSED=0: small-map 1×1 products with channels as rows, not pixels (A/B in one binary).
        Striate.Kernels.PointwiseTransposed.Enabled = Environment.GetEnvironmentVariable("STRIATE_BENCH_POINTWISE_TRANSPOSED") != "0";
        // STRIATE_BENCH_AVX2_TRANSPOSED_7=1: AVX2's 7×7 1×1 products of depth ≥ 256 as pixels × channels again (before the one-column tile).
        Striate.Kernels.PointwiseTransposed.Avx2SevenBySeven = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_TRANSPOSED_7") == "1";
        // STRIATE_BENCH_POINTWISE_ROWS=0: large-map 1×1 products with the input packed into B̃ panels, not read in place.
        Striate.Kernels.PointwiseRows.Enabled = Environment.GetEnvironmentVariable("STRIATE_BENCH_POINTWISE_ROWS") != "0";
        // STRIATE_BENCH_AVX2_POINTWISE_ROWS=0: AVX2's 1×1 products of ≤ 64 rows on 28×28 maps pack B̃ again, not read the input in place.
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_POINTWISE_ROWS") == "0") Striate.Kernels.PointwiseRows.Avx2MaxRows = 0;
        // STRIATE_BENCH_TALL_TILE=0: the stem step's 1×1 product's last 15–16 rows as a 14-row and a short tile, not one 16-row tile.
        Striate.Kernels.PointwiseRows.TallTile = Environment.GetEnvironmentVariable("STRIATE_BENCH_TALL_TILE") != "0";
        if (Environment.GetEnvironmentVariable("STRIATE_BENCH_ROWS_BLOCK") is { } rb) Striate.Kernels.PointwiseRows.BlockFloats = int.Parse(rb);
        // STRIATE_BENCH_SUBSAMPLED_POINTWISE=0: strided 1×1 convolutions at batch 1 through im2col + GEMM, not subsampled then transposed.
        Striate.Kernels.Conv2dKernels.SubsampledPointwiseEnabled = Environment.GetEnvironmentVariable("STRIATE_BENCH_SUBSAMPLED_POINTWISE") != "0";
        // STRIATE_BENCH_POOL_BEFORE_1X1=0: DenseNet's transitions as 1×1 → average pool again (the convolution on the full map).
        Striate.Graph.InferencePasses.PoolsBeforePointwise = Environment.GetEnvironmentVariable("STRIATE_BENCH_POOL_BEFORE_1X1") != "0";
        // STRIATE_BENCH_AFFINE_POOL=0: a channel affine and the 2×2 average pool reading it as two steps.
        Striate.Graph.InferenceSession.AffineIntoPool = Environment.GetEnvironmentVariable("STRIATE_BENCH_AFFINE_POOL") != "0";
        // STRIATE_BENCH_STRIDED_ROW_SPLIT=0: batch-1 stride-2 direct calls on inputs larger than L2 take the traffic model's schedule, not a row split.
        Striate.Kernels.DirectSchedule.StridedRowSplit = Environment.GetEnvironmentVariable("STRIATE_BENCH_STRIDED_ROW_SPLIT") != "0";
        // STRIATE_BENCH_GROUP_SPLIT=0: batch-1 AVX2 direct calls with fewer tasks than they want keep them (no smaller group chunks).
        Striate.Kernels.DirectSchedule.GroupSplitAtBatchOne = Environment.GetEnvironmentVariable("STRIATE_BENCH_GROUP_SPLIT") != "0";
        // STRIATE_BENCH_BANDED_BLOCKS=0: inverted-residual blocks as three steps each, not banded (A/B in one binary).
        Striate.Graph.InferenceSession.BandedBlockMinPixels = Environment.GetEnvironmentVariable("STRIATE_BENCH_BANDED_BLOCKS") == "0" ? int.MaxValue
            : int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_BANDED_MIN_PIXELS"), out int minPixels) ? minPixels : 28 * 28;
        // STRIATE_BENCH_BAND_BUDGET=N: floats of one band's working set in the banded blocks (unset: the kernel's default).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_BAND_BUDGET"), out int budget)) Striate.Kernels.InvertedResidualBands.BandBudgetFloats = budget;
        // STRIATE_BENCH_DW_STRIDE2_ROWS=0: AVX2 stride-2 depthwise planes and bands split their input into four phase copies again, not read rows in place.
        Striate.Kernels.DepthwiseConv2d.Stride2RowsEnabled = Environment.GetEnvironmentVariable("STRIATE_BENCH_DW_STRIDE2_ROWS") != "0";
        // STRIATE_BENCH_BANDS_IN_PLACE=0: the banded blocks' products pack B̃ per band on AVX-512 too, not read the band's rows in place.
        Striate.Kernels.InvertedResidualBands.InPlace = Environment.GetEnvironmentVariable("STRIATE_BENCH_BANDS_IN_PLACE") != "0";
        // STRIATE_BENCH_AVX2_BANDS_IN_PLACE=0: on AVX2 the fused steps' band products (banded blocks, stem's 1×1) pack B̃ per band again.
        Striate.Kernels.PointwiseRows.Avx2Bands = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_BANDS_IN_PLACE") != "0";
        // STRIATE_BENCH_SHARED_INPUT=0: 1×1 convolutions reading the same input as one step each, not one product (A/B in one binary).
        Striate.Graph.InferenceSession.MergeSharedInputPointwise = Environment.GetEnvironmentVariable("STRIATE_BENCH_SHARED_INPUT") != "0";
        // STRIATE_BENCH_RESIDUAL_IN_PLACE=0: a 1×1 convolution adding a residual writes a buffer of its own, not over the residual.
        Striate.Graph.InferenceSession.ResidualInPlace = Environment.GetEnvironmentVariable("STRIATE_BENCH_RESIDUAL_IN_PLACE") != "0";
        // STRIATE_BENCH_SHARED_SPLIT=0: the merged product writes branch 1's rows after the reduces' and copies them into the
        // concatenation, instead of storing them there itself (read at each run).
        Striate.Graph.InferenceSession.SharedInputSplitRows = Environment.GetEnvironmentVariable("STRIATE_BENCH_SHARED_SPLIT") != "0";
        // STRIATE_BENCH_AFFINE_CONV=0: a batch norm (→ ReLU) before a 1×1 convolution as a step of its own, not in its packing.
        Striate.Graph.InferenceSession.AffineIntoConvolution = Environment.GetEnvironmentVariable("STRIATE_BENCH_AFFINE_CONV") != "0";
        // STRIATE_BENCH_POOL_CONV=0: an RGB conv → ReLU and the 2×2 max pool after it as two steps, not one (A/B in one binary).
        Striate.Graph.InferenceSession.PoolIntoConvolution = Environment.GetEnvironmentVariable("STRIATE_BENCH_POOL_CONV") != "0";
        // STRIATE_BENCH_POOL_DIRECT=0: a channel-blocked direct conv → ReLU and the 2×2/2 max pool after it as two steps (VGG's blocks).
        Striate.Graph.InferenceSession.PoolIntoDirectConvolution = Environment.GetEnvironmentVariable("STRIATE_BENCH_POOL_DIRECT") != "0";
        // STRIATE_BENCH_POOL_OVERLAP=0: of those, only 2×2/2 pools; a 3×3/2 one (GoogLeNet's maxpool2 after conv3) as a step of its own.
        Striate.Kernels.Conv2dDirect.OverlappingBlockedPool = Environment.GetEnvironmentVariable("STRIATE_BENCH_POOL_OVERLAP") != "0";
        // STRIATE_BENCH_PLANAR_STEM=0: 3×3 stride-2 RGB stems on the pixel path (packed input, blocked output), not planar (A/B in one binary).
        Striate.Kernels.Conv2dDirect.PlanarEnabled = Environment.GetEnvironmentVariable("STRIATE_BENCH_PLANAR_STEM") != "0";
        // STRIATE_BENCH_STEM_DEPTHWISE=0: the planar stem and the 3×3 depthwise after it as two steps, not one (A/B in one binary).
        Striate.Graph.InferenceSession.DepthwiseIntoStem = Environment.GetEnvironmentVariable("STRIATE_BENCH_STEM_DEPTHWISE") != "0";
        // STRIATE_BENCH_STEM_PROJECT=0: the 1×1 convolution after the stem → depthwise step as a step of its own, not inside it.
        Striate.Graph.InferenceSession.ProjectionIntoStem = Environment.GetEnvironmentVariable("STRIATE_BENCH_STEM_PROJECT") != "0";
        // STRIATE_BENCH_STEM_BAND_ROWS=N: rows per band of the stem → depthwise step (0 or unset: from its window budget).
        Striate.Kernels.Conv2dDirect.PlanarDepthwiseBandRows = int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_STEM_BAND_ROWS"), out int stemBand) ? stemBand : 0;
        // STRIATE_BENCH_TRANSPOSED_TILES=0: transposed 1×1 products keep every tile in the [P, Cout] scratch, run each row tile
        // over all columns and prefetch nothing for their store (the form before; A/B in one binary).
        Striate.Kernels.PointwiseTransposed.TileInL1 = Striate.Kernels.PointwiseTransposed.PrefetchStores =
            Environment.GetEnvironmentVariable("STRIATE_BENCH_TRANSPOSED_TILES") != "0";
        Striate.Kernels.PointwiseTransposed.ColumnBlockFloats = Environment.GetEnvironmentVariable("STRIATE_BENCH_TRANSPOSED_TILES") == "0" ? int.MaxValue : 1 << 16;
        // STRIATE_BENCH_TRANSPOSED_WEIGHTS_OUTER=0: transposed 1×1 products run row tile outer over column blocks again, not
        // each weight panel over every row tile; STRIATE_BENCH_TRANSPOSED_ONE_ROW=0: an AVX2 map's lone last pixel through
        // the 4-row tile again (A/B in one binary).
        Striate.Kernels.PointwiseTransposed.WeightsOuter = Environment.GetEnvironmentVariable("STRIATE_BENCH_TRANSPOSED_WEIGHTS_OUTER") != "0";
        Striate.Kernels.PointwiseTransposed.OneRowTile = Environment.GetEnvironmentVariable("STRIATE_BENCH_TRANSPOSED_ONE_ROW") != "0";
        // STRIATE_BENCH_TRANSPOSED_PREFETCH=N: transposed 1×1 products prefetch the next weight panel (N & 1) and the part's rows of x
        // for the next depth block (N & 2) while the tiles run; 0 neither (unset: the defaults, panels only; A/B in one binary).
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_TRANSPOSED_PREFETCH"), out int transposedPrefetch))
        {
            Striate.Kernels.PointwiseTransposed.PrefetchPanels = (transposedPrefetch & 1) != 0;
            Striate.Kernels.PointwiseTransposed.PrefetchInput = (transposedPrefetch & 2) != 0;
        }
        // STRIATE_BENCH_AVX2_POINTWISE_TILES=0: AVX2's 14×14 1×1 products of ≥ 1024 output channels (ResNet-50's 256→1024) through
        // the general driver again, not tile by tile on B̃ packed once (PointwiseTiles; A/B in one binary).
        Striate.Kernels.PointwiseTiles.Avx2 = Environment.GetEnvironmentVariable("STRIATE_BENCH_AVX2_POINTWISE_TILES") != "0";
    }

    /// <summary>
    /// Where a prepared model spends its time (STRIATE_BENCH_PROFILE=RUNS, on stderr): each step's median of RUNS runs
    /// (many runs also make a perf record of the process mostly steady runs), then the totals per step kind
    /// (convolution algorithm, kernel size and stride, pools, concatenations, ...).
    /// </summary>
    private static void PrintProfile(InferenceSession session, Tensor x, int runs, string figure)
    {
        var steps = session.Profile(x, runs);
        // Whole runs as the latency figure times them: their spread shows what the per-step medians leave out.
        var output = new float[session.OutputShape.Aggregate(1, (a, b) => a * b)];
        var runTimes = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            double start = BenchTimer.Now();
            session.Run(x.ReadOnlySpan, output);
            runTimes[i] = (BenchTimer.Now() - start) * 1e3;
        }
        Array.Sort(runTimes);
        if (ProfileLog is { } log)
        {
            // --ab: kept for the side-by-side table after the last round, not printed per arm.
            log.Add(new ProfileRecord(figure, steps.Select(s => (s.Node, s.Milliseconds)).ToArray(), runTimes));
            return;
        }
        foreach (var (node, ms) in steps) Console.Error.WriteLine($"{ms,8:F3} ms  {node}");
        foreach (var group in steps.GroupBy(s => StepKind(s.Node)).OrderByDescending(g => g.Sum(s => s.Milliseconds)))
            Console.Error.WriteLine($"{group.Sum(s => s.Milliseconds),8:F3} ms  {group.Count(),4} × {group.Key}");
        Console.Error.WriteLine($"{steps.Sum(s => s.Milliseconds),8:F3} ms  total of {steps.Count} steps");
        Console.Error.WriteLine($"whole runs: min {runTimes[0]:F3}, p25 {runTimes[runs / 4]:F3}, median {runTimes[runs / 2]:F3}, p75 {runTimes[3 * runs / 4]:F3}, max {runTimes[^1]:F3} ms");
    }

    /// <summary>A profile step's kind: "(Direct 64→128 3×3 s2 @56×56)" → "Direct 3×3 s2"; "(ConcatStep)" stays.</summary>
    internal static string StepKind(string node)
    {
        int open = node.LastIndexOf('(');
        var parts = (open < 0 ? node : node[(open + 1)..].TrimEnd(')')).Split(' ');
        return parts.Length < 4 ? string.Join(' ', parts) : string.Join(' ', parts.Take(parts.Length - 1).Where((_, k) => k != 1));
    }

    /// <summary>One STRIATE_BENCH_PROFILE profile: each step's median ms (in run order) and the sorted whole-run ms.</summary>
    internal sealed record ProfileRecord(string Figure, IReadOnlyList<(string Node, double Milliseconds)> Steps, double[] WholeRunsMs);

    /// <summary>When set (by <see cref="BenchAb"/>), profiles are added here instead of printed.</summary>
    internal static List<ProfileRecord>? ProfileLog;

    /// <summary>The anchor's timing rule: <paramref name="warmUp"/> calls, then element runs/2 of the sorted times of <paramref name="runs"/> calls.</summary>
    public static double Median(Action action, int warmUp, int runs)
    {
        for (int i = 0; i < warmUp; i++) action();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            double start = BenchTimer.Now();
            action();
            times[i] = BenchTimer.Now() - start;
        }
        Array.Sort(times);
        return times[runs / 2];
    }
}
