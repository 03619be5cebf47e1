using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// GEMM throughput against the machine's fused multiply-add peak: <c>fma_peak</c>, then square
/// <c>sgemm_N</c> (no transposes, all <see cref="KernelThreads.Count"/> threads), all in GFLOPS.
/// </summary>
public static class GemmBenchmarks
{
    public static IEnumerable<BenchFigure> Run()
    {
        BenchSwitches.Apply(); // STRIATE_BENCH_AVX2_NC and the AVX2 GEMM's edge tiles
        yield return new BenchFigure("fma_peak", FmaPeakGflops(KernelThreads.Count), "GFLOPS");
        foreach (int n in new[] { 256, 512, 1024, 2048 })
            yield return new BenchFigure($"sgemm_{n}", SgemmGflops(n), "GFLOPS");
    }

    /// <summary>2·n³ / best seconds of one n×n×n Sgemm with beta = 0.</summary>
    public static double SgemmGflops(int n)
    {
        var gen = new Generator(42);
        var a = new float[n * n];
        var b = new float[n * n];
        var c = new float[n * n];
        for (int i = 0; i < a.Length; i++) { a[i] = gen.NextFloat() - 0.5f; b[i] = gen.NextFloat() - 0.5f; }
        double seconds = BenchTimer.BestSeconds(() => Gemm.Sgemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n),
            minSeconds: n >= 2048 ? 2.0 : 1.0);
        return 2.0 * n * n * n / seconds / 1e9;
    }

    /// <summary>
    /// Independent FMA chains on the widest accelerated vectors, one copy per thread running concurrently;
    /// 2 flops per lane per FMA. The ceiling the GEMM microkernels are judged against.
    /// </summary>
    public static double FmaPeakGflops(int threads)
    {
        // ~40 ms per run at 2 FMAs per cycle, long enough for the core to settle at its wide-vector clock; best of 12.
        const long iterations = 20_000_000;
        int lanes = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;
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
                sink[t] = lanes switch
                {
                    16 => Chains512(iterations),
                    8 => Chains256(iterations),
                    4 => Chains128(iterations),
                    _ => ChainsScalar(iterations),
                };
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
