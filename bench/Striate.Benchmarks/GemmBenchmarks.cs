using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// GEMM throughput against the machine's fused multiply-add peak: <c>fma_peak</c>, then square
/// <c>sgemm_N</c> (no transposes, all <see cref="KernelThreads.Count"/> threads), all in GFLOPS, and each size's
/// <c>sgemm_N_of_peak</c> in %: the best product ÷ the best peak run sampled beside it (see <see cref="SgemmAgainstPeak"/>).
/// </summary>
public static class GemmBenchmarks
{
    private static readonly int[] Sizes = [256, 512, 1024, 2048];

    public static IEnumerable<BenchFigure> Run()
    {
        BenchSwitches.Apply(); // STRIATE_BENCH_AVX2_NC and the AVX2 GEMM's edge tiles
        if (BenchFilter.Wants("fma_peak"))
            yield return new BenchFigure("fma_peak", FmaPeakGflops(KernelThreads.Count), "GFLOPS");
        int[] sizes = Sizes.Where(n => BenchFilter.Wants($"sgemm_{n}") || BenchFilter.Wants($"sgemm_{n}_of_peak")).ToArray();
        foreach (var size in SgemmAgainstPeak(sizes))
        {
            yield return new BenchFigure($"sgemm_{size.N}", size.Gflops, "GFLOPS");
            yield return new BenchFigure($"sgemm_{size.N}_of_peak", size.PercentOfPeak, "%");
        }
    }

    /// <summary>
    /// The AVX-512 GEMM's blocking (Avx512GemmTunables): STRIATE_BENCH_512_NC=N columns of B̃ per block with A packed
    /// beforehand (a multiple of 32), STRIATE_BENCH_512_KC_SELF=N the deepest block of products that pack A themselves (a
    /// multiple of 8, at most 512: a pre-packed A keeps the tile's KC), STRIATE_BENCH_512_PANEL=N floats of B̃ per block of
    /// those products (columns = N / depth, whole tiles).
    /// </summary>
    internal static void ApplyAvx512Switches()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_512_NC"), out int nc) && nc > 0 && nc % 32 == 0) Avx512GemmTunables.ColumnBlock = nc;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_512_KC_SELF"), out int kc) && kc is > 0 and <= 512 && kc % 8 == 0) Avx512GemmTunables.SelfPackedDepth = kc;
        if (int.TryParse(Environment.GetEnvironmentVariable("STRIATE_BENCH_512_PANEL"), out int panel) && panel >= 32 * 8) Avx512GemmTunables.SelfPackedPanelFloats = panel;
    }

    // A slice of products, bracketed by slices of as many peak runs: short beside the host's spells (seconds in which
    // everything runs 1.4–1.5× slower), long enough for a few products below 2048 (one at 2048).
    private const double SliceSeconds = 0.05;
    private const int MinSlices = 7;
    // Pieces per thread of a peak run on the kernel pool, handed out as the products' tiles are.
    private const int PeakPiecesPerThread = 4;

    /// <summary>One size's operands and what its slices measured.</summary>
    private sealed class SgemmSlices(int n, double minSeconds)
    {
        public readonly int N = n;
        public readonly double MinSeconds = minSeconds, Flops = 2.0 * n * n * n;
        public readonly float[] A = new float[n * n], B = new float[n * n], C = new float[n * n];
        public readonly List<double> Shares = [];
        public double BestProduct = double.MaxValue, BestPeak = double.MaxValue, ProductSeconds;
        public int LastRuns = 2;

        public bool Done => ProductSeconds >= MinSeconds && Shares.Count >= MinSlices;

        public void Product() => Gemm.Sgemm(false, false, N, N, N, 1f, A, N, B, N, 0f, C, N);

        /// <summary>The best of <paramref name="runs"/> peak runs of this size's flops, in seconds.</summary>
        public double PeakSlice(int runs)
        {
            double best = double.MaxValue;
            for (int r = 0; r < runs; r++) best = Math.Min(best, PoolPeakSeconds(Flops));
            BestPeak = Math.Min(BestPeak, best);
            return best;
        }
    }

    /// <summary>
    /// Square n×n×n Sgemm (beta = 0) for each of <paramref name="sizes"/>, in GFLOPS from its best run over 1 s (2 s at
    /// 2048) of runs (best-of-n, as <see cref="BenchTimer.BestSeconds"/>), and in % of the FMA peak: that best product ÷
    /// the best run of independent FMA chains doing the product's 2·n³ flops on the same kernel threads
    /// (<see cref="PoolPeakSeconds"/>), sampled alongside. The products run in slices of <see cref="SliceSeconds"/>, each
    /// bracketed by slices of as many peak runs, and the sizes take their slices in turn (256, 512, 1024, 2048, 256, ...),
    /// so both sides of every size are sampled alike over the same ~15 s: a spell of the host (seconds in which a vCPU is
    /// descheduled, the clock drops, or other guests contend for cache and memory) cannot fill one size's stretch, and
    /// the best of each side comes from its undisturbed moments. A peak taken once and products timed seconds later read
    /// 158 % in one process; the median of per-slice shares (each slice ÷ its own two peak slices) read 69–89 % for the
    /// same build within minutes, since cache and memory contention slows the products and leaves the chains, which touch
    /// no memory, alone (2026-12-06, Zen 3, bench/RESULTS.md). stderr shows each size's per-slice shares (p10 / p25 /
    /// median / p75 / p90) beside the figure.
    /// </summary>
    private static List<(int N, double Gflops, double PercentOfPeak)> SgemmAgainstPeak(int[] sizes)
    {
        var gen = new Generator(42);
        var all = new List<SgemmSlices>();
        foreach (int n in sizes)
        {
            var s = new SgemmSlices(n, minSeconds: n >= 2048 ? 2.0 : 1.0);
            for (int i = 0; i < s.A.Length; i++) { s.A[i] = gen.NextFloat() - 0.5f; s.B[i] = gen.NextFloat() - 0.5f; }
            s.Product(); // warm-up: JIT, pools, caches
            s.PeakSlice(1); // the first also compiles the chains
            all.Add(s);
        }
        while (all.Any(s => !s.Done))
        {
            foreach (var s in all)
            {
                if (s.Done) continue;
                double peakBefore = s.PeakSlice(s.LastRuns);
                double sliceBest = double.MaxValue, sliceStart = BenchTimer.Now(), now;
                int runs = 0;
                do
                {
                    double start = BenchTimer.Now();
                    s.Product();
                    now = BenchTimer.Now();
                    sliceBest = Math.Min(sliceBest, now - start);
                    runs++;
                } while (now - sliceStart < SliceSeconds);
                s.ProductSeconds += now - sliceStart;
                double peakAfter = s.PeakSlice(runs);
                s.LastRuns = runs;
                s.BestProduct = Math.Min(s.BestProduct, sliceBest);
                s.Shares.Add((peakBefore + peakAfter) / 2 / sliceBest);
            }
        }
        var results = new List<(int, double, double)>();
        foreach (var s in all)
        {
            s.Shares.Sort();
            double Quantile(double q) => 100 * s.Shares[(int)Math.Round(q * (s.Shares.Count - 1))];
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sgemm_{s.N}: best product ÷ best peak run {100 * s.BestPeak / s.BestProduct:F1} % of {s.Flops / s.BestPeak / 1e9:F1} GFLOPS; per slice ÷ its two peak slices p10 {Quantile(0.1):F1} / p25 {Quantile(0.25):F1} / median {Quantile(0.5):F1} / p75 {Quantile(0.75):F1} / p90 {Quantile(0.9):F1} over {s.Shares.Count} slices"));
            results.Add((s.N, s.Flops / s.BestProduct / 1e9, 100 * s.BestPeak / s.BestProduct));
        }
        return results;
    }

    /// <summary>
    /// Seconds for <paramref name="flops"/> of FMA chains (<see cref="FmaPeakGflops(int)"/>'s loops) split into
    /// <see cref="PeakPiecesPerThread"/> pieces per kernel thread and run through <see cref="ParallelFor"/>, the pool the
    /// GEMM runs on: the time the machine's FMA peak would take for that work, dispatch included.
    /// </summary>
    public static double PoolPeakSeconds(double flops)
    {
        int lanes = Lanes;
        int pieces = PeakPiecesPerThread * KernelThreads.Count;
        var body = new ChainsBody
        {
            Lanes = lanes,
            Iterations = Math.Max(1, (long)(flops / (2.0 * lanes * (lanes == 16 ? FmaChains512 : FmaChains) * pieces))),
            Sink = new float[pieces],
        };
        double start = BenchTimer.Now();
        ParallelFor.Run(pieces, ref body);
        return BenchTimer.Now() - start;
    }

    private struct ChainsBody : IParallelBody
    {
        public int Lanes;
        public long Iterations;
        public float[] Sink;

        public void Invoke(int index) => Sink[index] = Chains(Lanes, Iterations);
    }

    private static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;

    private static float Chains(int lanes, long iterations) => lanes switch
    {
        16 => Chains512(iterations),
        8 => Chains256(iterations),
        4 => Chains128(iterations),
        _ => ChainsScalar(iterations),
    };

    /// <summary>
    /// Independent FMA chains on the widest accelerated vectors, one copy per thread running concurrently;
    /// 2 flops per lane per FMA. The ceiling the GEMM microkernels are judged against.
    /// </summary>
    public static double FmaPeakGflops(int threads)
    {
        // ~40 ms per run at 2 FMAs per cycle, long enough for the core to settle at its wide-vector clock; best of 12.
        const long iterations = 20_000_000;
        int lanes = Lanes;
        double flops = 2.0 * lanes * (lanes == 16 ? FmaChains512 : FmaChains) * iterations * threads;
        double best = double.MaxValue;
        var sink = new float[threads];
        var starts = new long[threads];
        var ends = new long[threads];
        for (int run = 0; run < 12; run++)
        {
            using var start = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                starts[t] = System.Diagnostics.Stopwatch.GetTimestamp();
                sink[t] = Chains(lanes, iterations);
                ends[t] = System.Diagnostics.Stopwatch.GetTimestamp();
            })).ToList();
            workers.ForEach(w => w.Start());
            start.SignalAndWait();
            workers.ForEach(w => w.Join());
            // Timed by the workers themselves, from the first start to the last end: with threads + 1 threads on as many
            // cores, the main thread can be descheduled after the barrier and start its clock after the workers did,
            // which made a run look shorter than it was (peaks above what the cores can do).
            best = Math.Min(best, (double)(ends.Max() - starts.Min()) / System.Diagnostics.Stopwatch.Frequency);
        }
        return flops / best / 1e9;
    }

    // 12 chains cover FMA latency (4 cycles) × 2 pipes with room to spare, and with m and d fit AVX2's 16 registers.
    private const int FmaChains = 12;
    // AVX-512 has 32 registers: 16 chains leave no doubt that latency is covered.
    private const int FmaChains512 = 16;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(long iterations)
    {
        var m = Vector512.Create(0.999999f);
        var d = Vector512.Create(1e-7f);
        Vector512<float> x0 = Vector512.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, xA = x0, xB = x0,
            xC = x0, xD = x0, xE = x0, xF = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector512.FusedMultiplyAdd(x0, m, d); x1 = Vector512.FusedMultiplyAdd(x1, m, d);
            x2 = Vector512.FusedMultiplyAdd(x2, m, d); x3 = Vector512.FusedMultiplyAdd(x3, m, d);
            x4 = Vector512.FusedMultiplyAdd(x4, m, d); x5 = Vector512.FusedMultiplyAdd(x5, m, d);
            x6 = Vector512.FusedMultiplyAdd(x6, m, d); x7 = Vector512.FusedMultiplyAdd(x7, m, d);
            x8 = Vector512.FusedMultiplyAdd(x8, m, d); x9 = Vector512.FusedMultiplyAdd(x9, m, d);
            xA = Vector512.FusedMultiplyAdd(xA, m, d); xB = Vector512.FusedMultiplyAdd(xB, m, d);
            xC = Vector512.FusedMultiplyAdd(xC, m, d); xD = Vector512.FusedMultiplyAdd(xD, m, d);
            xE = Vector512.FusedMultiplyAdd(xE, m, d); xF = Vector512.FusedMultiplyAdd(xF, m, d);
        }
        return Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + xA + xB + xC + xD + xE + xF);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(long iterations)
    {
        var m = Vector256.Create(0.999999f);
        var d = Vector256.Create(1e-7f);
        Vector256<float> x0 = Vector256.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, xA = x0, xB = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector256.MultiplyAddEstimate(x0, m, d); x1 = Vector256.MultiplyAddEstimate(x1, m, d);
            x2 = Vector256.MultiplyAddEstimate(x2, m, d); x3 = Vector256.MultiplyAddEstimate(x3, m, d);
            x4 = Vector256.MultiplyAddEstimate(x4, m, d); x5 = Vector256.MultiplyAddEstimate(x5, m, d);
            x6 = Vector256.MultiplyAddEstimate(x6, m, d); x7 = Vector256.MultiplyAddEstimate(x7, m, d);
            x8 = Vector256.MultiplyAddEstimate(x8, m, d); x9 = Vector256.MultiplyAddEstimate(x9, m, d);
            xA = Vector256.MultiplyAddEstimate(xA, m, d); xB = Vector256.MultiplyAddEstimate(xB, m, d);
        }
        return Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + xA + xB);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains128(long iterations)
    {
        var m = Vector128.Create(0.999999f);
        var d = Vector128.Create(1e-7f);
        Vector128<float> x0 = Vector128.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0, x6 = x0, x7 = x0, x8 = x0, x9 = x0, xA = x0, xB = x0;
        for (long i = 0; i < iterations; i++)
        {
            x0 = Vector128.MultiplyAddEstimate(x0, m, d); x1 = Vector128.MultiplyAddEstimate(x1, m, d);
            x2 = Vector128.MultiplyAddEstimate(x2, m, d); x3 = Vector128.MultiplyAddEstimate(x3, m, d);
            x4 = Vector128.MultiplyAddEstimate(x4, m, d); x5 = Vector128.MultiplyAddEstimate(x5, m, d);
            x6 = Vector128.MultiplyAddEstimate(x6, m, d); x7 = Vector128.MultiplyAddEstimate(x7, m, d);
            x8 = Vector128.MultiplyAddEstimate(x8, m, d); x9 = Vector128.MultiplyAddEstimate(x9, m, d);
            xA = Vector128.MultiplyAddEstimate(xA, m, d); xB = Vector128.MultiplyAddEstimate(xB, m, d);
        }
        return Vector128.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + xA + xB);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float ChainsScalar(long iterations)
    {
        float m = 0.999999f, d = 1e-7f;
        float x0 = 1, x1 = 1, x2 = 1, x3 = 1, x4 = 1, x5 = 1, x6 = 1, x7 = 1, x8 = 1, x9 = 1, xA = 1, xB = 1;
        for (long i = 0; i < iterations; i++)
        {
            x0 = x0 * m + d; x1 = x1 * m + d; x2 = x2 * m + d; x3 = x3 * m + d; x4 = x4 * m + d; x5 = x5 * m + d;
            x6 = x6 * m + d; x7 = x7 * m + d; x8 = x8 * m + d; x9 = x9 * m + d; xA = xA * m + d; xB = xB * m + d;
        }
        return x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + xA + xB;
    }
}
