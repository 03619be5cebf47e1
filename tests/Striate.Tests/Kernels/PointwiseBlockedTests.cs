using System.Runtime.Intrinsics.X86;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The 1×1 convolution on 8-channel-blocked activations (<see cref="PointwiseBlocked"/>) against its element-by-element
/// twin, each way (the AVX2 tiles, Skipped where AVX2 + FMA cannot run; the plain loops, forced by
/// <see cref="PointwiseBlocked.Vectorized"/>): random shapes with channels not a multiple of 8 or 16 (a partial last
/// block, a pair with one block), maps from 1×1 up, stride 1 and 2, padded and unpadded input, output and residual,
/// bias, residual and ReLU each on or off, batch 1 and 2, 1–3 threads, and small depth chunks and pixel ranges (partial
/// sums kept in the output, many items) on half the seeds. Outputs through <see cref="Guarded"/>, filled with NaN
/// first: the kernel must write every element, its border and missing channels (zero) included.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public unsafe class PointwiseBlockedTests
{
    public static TheoryData<int> Seeds() => new(Enumerable.Range(0, 24));

    [Theory, MemberData(nameof(Seeds))]
    public void TilesMatchReference(int seed)
    {
        Assert.SkipUnless(Fma.IsSupported && Avx.IsSupported, "AVX2 + FMA is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings): the plain loops run instead.");
        Check(seed, vectorized: true);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void PlainLoopsMatchReference(int seed) => Check(seed, vectorized: false);

    /// <summary>
    /// The tiles and the plain loops with the kept changes' switches off: a range's last one or two pixels through the
    /// 3-pixel tile (<see cref="PointwiseBlocked.OnePixelTile"/>), a strided input read in place
    /// (<see cref="PointwiseBlocked.SubsampleStrided"/>), ranges cut uneven (<see cref="PointwiseBlocked.EvenRanges"/>),
    /// small maps split as the large (<see cref="PointwiseBlocked.SmallMapItemsPerThread"/>), no prefetches
    /// (<see cref="PointwiseBlocked.PrefetchInputBlocks"/>, <see cref="PointwiseBlocked.PrefetchWeights"/>), batch-1
    /// small maps on fixed items (<see cref="PointwiseBlocked.Balance"/>).
    /// </summary>
    [Theory, MemberData(nameof(Seeds))]
    public void SwitchedOffPathsMatchReference(int seed)
    {
        bool vectorized = seed % 2 == 0;
        if (vectorized) Assert.SkipUnless(Fma.IsSupported && Avx.IsSupported, "AVX2 + FMA is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings): the plain loops run instead.");
        using (Switches.Set(() => PointwiseBlocked.OnePixelTile, false))
        using (Switches.Set(() => PointwiseBlocked.SubsampleStrided, false))
        using (Switches.Set(() => PointwiseBlocked.EvenRanges, false))
        using (Switches.Set(() => PointwiseBlocked.SmallMapItemsPerThread, 0))
        using (Switches.Set(() => PointwiseBlocked.PrefetchInputBlocks, 0))
        using (Switches.Set(() => PointwiseBlocked.PrefetchWeights, false))
        using (Switches.Set(() => PointwiseBlocked.Balance, false))
            Check(seed, vectorized);
    }

    /// <summary>
    /// The balanced schedule (<see cref="PointwiseBlocked.Balance"/>) forced on batch-1 calls of every map size: one
    /// pixel range per thread (even seeds) or one range, 1–3 pairs per item, 1–3 threads, and on every fourth seed the
    /// call made from inside a parallel loop, where it runs serially: one thread takes every range's items, its own from
    /// the front and the others' from the back.
    /// </summary>
    [Theory, MemberData(nameof(Seeds))]
    public void BalancedScheduleMatchesReference(int seed)
    {
        Assert.SkipUnless(Fma.IsSupported && Avx.IsSupported, "AVX2 + FMA is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings): the plain loops run instead.");
        using (Switches.Set(() => PointwiseBlocked.Balance, true))
        using (Switches.Set(() => PointwiseBlocked.BalanceMaxPixels, int.MaxValue))
        using (Switches.Set(() => PointwiseBlocked.BalanceMaxRangeFloats, int.MaxValue))
        using (Switches.Set(() => PointwiseBlocked.BalanceStrided, true))
        using (Switches.Set(() => PointwiseBlocked.BalanceRangesFromPixels, seed % 2 == 0 ? 1 : int.MaxValue))
        using (Switches.Set(() => PointwiseBlocked.BalancePairs, 1 + seed / 2 % 3))
            Check(seed, vectorized: true, balanced: true, nested: seed % 4 == 3);
    }

    /// <summary>
    /// The tiles with their prefetches at other distances and from any depth (<see cref="PointwiseBlocked.PrefetchInputBlocks"/>
    /// 0–3, <see cref="PointwiseBlocked.PrefetchWeights"/> on odd seeds, <see cref="PointwiseBlocked.PrefetchMinChannels"/> 8):
    /// no value may change (the prefetched addresses may run past the arrays, which a prefetch never faults on).
    /// </summary>
    [Theory, MemberData(nameof(Seeds))]
    public void PrefetchesChangeNoValue(int seed)
    {
        Assert.SkipUnless(Fma.IsSupported && Avx.IsSupported, "AVX2 + FMA is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings): the plain loops run instead.");
        using (Switches.Set(() => PointwiseBlocked.PrefetchInputBlocks, seed % 4))
        using (Switches.Set(() => PointwiseBlocked.PrefetchWeights, seed % 2 == 1))
        using (Switches.Set(() => PointwiseBlocked.PrefetchMinChannels, 8))
            Check(seed, vectorized: true);
    }

    /// <summary>
    /// 16-channel blocks (the AVX-512 direct 3×3's): the AVX-512 tiles of 4 output blocks × 6 pixels (Skipped where
    /// AVX-512 cannot run) on the same random cases, Cout past a multiple of 64 (the one-block tiles) and up to 9 blocks.
    /// </summary>
    [Theory, MemberData(nameof(Seeds))]
    public void Tiles16MatchReference(int seed)
    {
        Assert.SkipUnless(Avx512F.IsSupported, "AVX-512 is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings): the plain loops run instead.");
        // The one-pixel tile for a range's last 1–3 pixels (default), for every short tile (even seeds: 5), or never (seed % 4 == 1).
        // Weight prefetches from any depth on odd seeds, none on every fourth even one: no value may change.
        using (Switches.Set(() => PointwiseBlocked.OnePixelMaxCount16, seed % 4 == 1 ? 0 : seed % 2 == 0 ? 5 : PointwiseBlocked.OnePixelMaxCount16))
        using (Switches.Set(() => PointwiseBlocked.PrefetchWeights16, seed % 4 != 2))
        using (Switches.Set(() => PointwiseBlocked.PrefetchInput16, seed % 3))
        using (Switches.Set(() => PointwiseBlocked.PrefetchMinChannels, seed % 2 == 1 ? 8 : PointwiseBlocked.PrefetchMinChannels))
            Check(seed, vectorized: true, v: PointwiseBlocked.V16);
    }

    /// <summary>16-channel blocks through the plain loops (<see cref="PointwiseBlocked.Vectorized16"/> off): what runs where AVX-512 does not.</summary>
    [Theory, MemberData(nameof(Seeds))]
    public void PlainLoops16MatchReference(int seed) => Check(seed, vectorized: false, v: PointwiseBlocked.V16);

    private static void Check(int seed, bool vectorized, bool balanced = false, bool nested = false, int v = PointwiseBlocked.V)
    {
        var r = new Generator(9100 + (ulong)seed);
        int cin = 1 + r.NextInt(seed % 3 == 0 ? 300 : 70), cout = 1 + r.NextInt(v == 16 ? 150 : 70);
        if (seed % 4 == 1) { cin = v * (1 + r.NextInt(8)); cout = 16 * (1 + r.NextInt(v == 16 ? 9 : 4)); } // whole blocks and pairs (quads)
        int stride = seed % 5 == 2 || seed % 8 == 5 ? 2 : 1, batch = seed % 7 == 3 && !balanced ? 2 : 1;
        int h = 1 + r.NextInt(15), w = 1 + r.NextInt(15);
        if (seed < 3) { h = seed == 0 ? 7 : 14; w = h; } // ResNet-50's small maps: 49 = 8 · 6 + 1, 196 = 32 · 6 + 4 (seed 2: stride 2 to 7×7)
        int xPad = r.NextInt(3), yPad = r.NextInt(3), rPad = r.NextInt(2);
        bool relu = r.NextInt(2) == 0, withBias = r.NextInt(3) > 0, withResidual = r.NextInt(2) == 0;
        int threads = 1 + seed % 3;
        bool small = seed % 2 == 1; // depth chunks of 16 channels and ranges of a tile or two
        var xs = new BlockedShape(batch, cin, h, w, v, xPad, xPad);
        var ys = new BlockedShape(batch, cout, (h - 1) / stride + 1, (w - 1) / stride + 1, v, yPad, yPad);
        var rs = ys with { PadH = rPad, PadW = rPad };
        var x = Blocked(xs, r);
        var res = Blocked(rs, r);
        var weight = Close.RandomArray(cout * cin, r); // W: [Cout, Cin]
        var bias = Close.RandomArray(cout, r);
        var expected = new float[ys.Length];
        var actual = Guarded.Nan(ys.Length);
        var packed = Guarded.Nan(PointwiseBlocked.PackedWeightsLength(cout, cin, v)); // PackWeights writes all of it, zeros included
        string what = $"PointwiseBlocked V{v} {(vectorized ? "tiles" : "plain")} x {xs} stride {stride} y {ys} residual {(withResidual ? rs.ToString() : "none")} relu {relu} bias {withBias} threads {threads} small {small}"
            + (balanced ? $" balanced (pairs {PointwiseBlocked.BalancePairs}, ranges from {PointwiseBlocked.BalanceRangesFromPixels} px{(nested ? ", nested" : "")})" : "");
        using (Switches.Set(() => PointwiseBlocked.Vectorized, vectorized))
        using (Switches.Set(() => PointwiseBlocked.Vectorized16, vectorized))
        using (Switches.Set(() => PointwiseBlocked.ChunkChannels16, small ? 16 : PointwiseBlocked.ChunkChannels16))
        using (Switches.Set(() => PointwiseBlocked.RangeFloats16, small ? 100 + r.NextInt(200) : PointwiseBlocked.RangeFloats16))
        using (Switches.Set(() => PointwiseBlocked.ChunkChannels, small ? 16 : PointwiseBlocked.ChunkChannels))
        using (Switches.Set(() => PointwiseBlocked.DeepChannels, seed % 6 == 3 ? 1 : PointwiseBlocked.DeepChannels)) // (deep chunks of 24 channels)
        using (Switches.Set(() => PointwiseBlocked.DeepChunkChannels, seed % 6 == 3 ? 24 : PointwiseBlocked.DeepChunkChannels))
        using (Switches.Set(() => PointwiseBlocked.RangeFloats, small ? 100 + r.NextInt(200) : PointwiseBlocked.RangeFloats))
        fixed (float* px = x, pr = res, pw = weight, pb = bias, pe = expected, pa = actual.Span, pp = packed.Span)
        {
            float* b = withBias ? pb : null, rr = withResidual ? pr : null;
            PointwiseBlocked.RunReference(pw, px, xs, stride, pe, ys, b, rr, rs, relu);
            PointwiseBlocked.PackWeights(pw, cout, cin, pp, v);
            if (balanced) Assert.Equal(threads > 1, PointwiseBlocked.Balanced(xs, ys, stride, threads));
            if (nested)
            {
                float* cpx = px, cpa = pa, cpp = pp;
                var xs1 = xs; var ys1 = ys; var rs1 = rs;
                NestedCall.Run(() => PointwiseBlocked.Run(cpp, cpx, xs1, stride, cpa, ys1, b, rr, rs1, relu, threads));
            }
            else PointwiseBlocked.Run(pp, px, xs, stride, pa, ys, b, rr, rs, relu, threads);
        }
        Guarded.CheckAll(what, actual, packed);
        Close.Assert(expected, actual, 1e-4, 2e-5 * Math.Sqrt(cin) * 4, what);
    }

    /// <summary>A random activation in the blocked layout: random inside, zero border and zero missing channels.</summary>
    private static float[] Blocked(in BlockedShape s, Generator r)
    {
        var nchw = Close.RandomArray(s.Batch * s.Channels * s.Height * s.Width, r);
        var blocked = new float[s.Length];
        var one = s with { Batch = 1 };
        fixed (float* src = nchw, dst = blocked)
            for (int n = 0; n < s.Batch; n++)
            for (int cb = 0; cb < s.Blocks; cb++)
                ChannelBlocked.PackBlockReference(src + (long)n * s.Channels * s.Height * s.Width, one, cb, dst + n * s.ImageStride);
        return blocked;
    }

    /// <summary>The packed weights are kept per weight version: the same array while the version holds, refilled in place when it changes.</summary>
    [Fact]
    public void WeightsAreKeptUntilTheVersionChanges()
    {
        var r = new Generator(9200);
        int cout = 24, cin = 13;
        var weight = Close.RandomArray(cout * cin, r);
        var owner = new object();
        var expected = new float[PointwiseBlocked.PackedWeightsLength(cout, cin)];
        fixed (float* pw = weight, pe = expected)
        {
            float* first = PointwiseBlocked.Weights(pw, cout, cin, new WeightKey(owner, 1), out var h1);
            float* again = PointwiseBlocked.Weights(pw, cout, cin, new WeightKey(owner, 1), out var h2);
            Assert.True(first == again, "the second call with the same version must return the kept copy");
            Assert.Same(h1, h2);
            pw[0] += 1f;
            float* changed = PointwiseBlocked.Weights(pw, cout, cin, new WeightKey(owner, 2), out var h3);
            PointwiseBlocked.PackWeights(pw, cout, cin, pe);
            Close.Assert(expected, new ReadOnlySpan<float>(changed, expected.Length), 0, 0, "PointwiseBlocked weights after a version change");
            GC.KeepAlive(h1);
            GC.KeepAlive(h3);
        }
    }
}
