using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>
/// MobileNet-V2's inverted-residual blocks at batch 1 (224×224 input), part of the <c>layers</c> suite: the banded
/// kernel (<see cref="InvertedResidualBands"/>, what a prepared session runs on maps of 28×28 and more) beside the
/// three convolutions as separate kernel calls (what it ran before), alternated in one process (µs, best of rounds).
/// Figures <c>b1_ir_{Cin}_{Hidden}_{Cout}_s{s}_{size}_{Bands|Steps}</c>.
/// </summary>
public static class BlockBenchmarks
{
    /// <summary>(in, hidden, out, stride, input size, residual).</summary>
    public static readonly (int In, int Hidden, int Out, int S, int Size, bool Residual)[] Blocks =
    [
        (16, 96, 24, 2, 112, false), (24, 144, 24, 1, 56, true), (24, 144, 32, 2, 56, false), (32, 192, 32, 1, 28, true),
        (32, 192, 64, 2, 28, false), (64, 384, 64, 1, 14, true), (96, 576, 96, 1, 14, true), (96, 576, 160, 2, 14, false),
        (160, 960, 160, 1, 7, true),
    ];

    public static IEnumerable<BenchFigure> Run(int rounds)
    {
        // STRIATE_BENCH_BAND_FLOATS (the bands' working-set budget in floats) is applied with the other switches (BenchSwitches.Apply).
        foreach (var (cin, hid, cout, s, size, hasResidual) in Blocks)
        {
            string prefix = $"b1_ir_{cin}_{hid}_{cout}_s{s}_{size}";
            if (!BenchFilter.Wants(prefix + "_Bands") && !BenchFilter.Wants(prefix + "_Steps")) continue;
            var (bands, steps) = Measure(cin, hid, cout, s, size, hasResidual, rounds);
            yield return new BenchFigure(prefix + "_Bands", bands * 1e6, "us");
            yield return new BenchFigure(prefix + "_Steps", steps * 1e6, "us");
        }
    }

    /// <summary>Best seconds of the banded kernel and of the three kernel calls, alternated over rounds.</summary>
    private static unsafe (double Bands, double Steps) Measure(int cin, int hid, int cout, int s, int size, bool hasResidual, int rounds)
    {
        {
            var g = new InvertedResidualGeometry(cin, hid, cout, size, size, s);
            var ge = new Conv2dGeometry(1, cin, size, size, hid, 1, 1);
            var gd = new Conv2dGeometry(1, hid, size, size, hid, 3, 3, s, s, 1, 1, 1, 1, hid);
            var gp = new Conv2dGeometry(1, hid, g.OutHeight, g.OutWidth, cout, 1, 1);
            var gen = new Generator(7);
            var x = Random((int)ge.InputLength, gen);
            var we = Tensor.Randn([hid, cin, 1, 1], gen);
            var wd = Random(hid * 9, gen);
            var wp = Tensor.Randn([cout, hid, 1, 1], gen);
            var be = Random(hid, gen);
            var bd = Random(hid, gen);
            var bp = Random(cout, gen);
            var residual = hasResidual ? Random((int)gp.OutputLength, gen) : [];
            var e = new float[ge.OutputLength];
            var d = new float[gd.OutputLength];
            var y = new float[gp.OutputLength];
            var path = Gemm.BestPath;
            var pe = GC.AllocateArray<float>((int)Gemm.PackedALength(path, hid, cin) + 16, pinned: true);
            var pp = GC.AllocateArray<float>((int)Gemm.PackedALength(path, cout, hid) + 16, pinned: true);
            var clamps = new InvertedResidualBands.Clamps(0f, 6f, 0f, 6f, float.NegativeInfinity, float.PositiveInfinity);
            fixed (float* pwe = we.ReadOnlySpan, pwp = wp.ReadOnlySpan, ppe0 = pe, ppp0 = pp)
            {
                float* ppe = CacheLine.Align(ppe0), ppp = CacheLine.Align(ppp0);
                Gemm.PackA(path, false, hid, cin, 1f, pwe, cin, ppe);
                Gemm.PackA(path, false, cout, hid, 1f, pwp, hid, ppp);
                nint pea = (nint)ppe, ppa = (nint)ppp;
                void Bands()
                {
                    fixed (float* px = x, pwd = wd, pbe = be, pbd = bd, pbp = bp, pr = residual, py = y)
                        InvertedResidualBands.Forward(path, KernelThreads.Count, g, px, (float*)pea, pbe, pwd, pbd, (float*)ppa, pbp, hasResidual ? pr : null, clamps, py);
                }
                void Steps()
                {
                    Conv2dKernels.Forward(ge, x, we.ReadOnlySpan, be, e, new Conv2dEpilogue { Clamp = (0f, 6f) }, new WeightKey(we, we.Version));
                    DepthwiseConv2d.Forward(gd, e, wd, bd, d, 0f, 6f);
                    Conv2dKernels.Forward(gp, d, wp.ReadOnlySpan, bp, y, new Conv2dEpilogue { Residual = residual }, new WeightKey(wp, wp.Version));
                }
                double bands = double.MaxValue, steps = double.MaxValue;
                for (int r = 0; r < rounds; r++)
                {
                    bands = Math.Min(bands, BenchTimer.BestSeconds(Bands, minSeconds: 0.05, minRuns: 5));
                    steps = Math.Min(steps, BenchTimer.BestSeconds(Steps, minSeconds: 0.05, minRuns: 5));
                }
                return (bands, steps);
            }
        }
    }

    private static float[] Random(int n, Generator g)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = g.NextFloat() * 2 - 1;
        return a;
    }
}
