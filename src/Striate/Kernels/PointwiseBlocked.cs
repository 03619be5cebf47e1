using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// A 1×1 convolution on 8-channel-blocked activations (<see cref="BlockedShape"/> with V = 8), input and output both
/// blocked, as ONNX Runtime's MLAS runs its NCHWc pointwise convolutions: no packing of the input per call (each
/// pixel's 8 channels are adjacent, so the tile broadcasts them straight from the activation), no transposed store
/// (the tile's accumulators are the output's blocked vectors). For the 1×1s around a direct 3×3 that keeps its input
/// and output blocked (ResNet-50's bottlenecks): the reduce 1×1 writes the 3×3's padded input, the expand 1×1 reads the
/// 3×3's output, and the residual add comes blocked too.
/// y = act(W · x + bias + residual), act ReLU or none, stride 1 or 2 (the downsample), input with any zero border (read
/// only inside), output written whole: the products inside, a zero border of its own padding around them, and zero in
/// the missing channels of the last block (zero weights and bias there), so the next blocked convolution may read it.
/// The AVX2 tile: 2 output blocks × 6 pixels = 12 ymm accumulators, per input channel 2 weight loads and 6 broadcasts
/// (GEMM's 6×16 tile, without its packed Ã); the weights are packed once (<see cref="PackWeights"/>, kept by
/// <see cref="TransformedWeights"/>) as pairs of output blocks, [pairs][Cin rounded to 8][16]. Depth runs in chunks of
/// <see cref="ChunkChannels"/> (a pair's chunk of weights, 16 KiB, stays in L1 over a range of pixels) with partial sums
/// kept in the output between chunks. Work items: (group of pairs, range of pixels) per image, over the kernel threads.
/// On AVX-512 the same product runs on 16-channel blocks (the direct 3×3's there; PointwiseBlocked.Avx512.cs), each
/// packed panel then one output block.
/// Shapes: x [N, ceil(Cin/V), H + 2·px, W + 2·px, V]; W [Cout, Cin]; bias [Cout]; y and residual
/// [N, ceil(Cout/V), Ho + 2·p, Wo + 2·p, V] (each with its own pad), Ho = (H − 1) / stride + 1; V = 8, or 16 on AVX-512.
/// </summary>
internal static unsafe partial class PointwiseBlocked
{
    /// <summary>Channels per block (AVX2's vector).</summary>
    public const int V = 8;

    /// <summary>Output channels per packed weight panel: two blocks.</summary>
    private const int PairChannels = 2 * V;

    /// <summary>For tests and benchmarks: false runs the plain loops over the packed weights even where AVX2 + FMA exist.</summary>
    internal static bool Vectorized = true;

    /// <summary>Input channels per depth chunk (a multiple of 8): 256 keeps a pair's chunk of weights (16 KiB) in L1.</summary>
    internal static int ChunkChannels = 256;

    /// <summary>Input channels from which a product takes <see cref="DeepChunkChannels"/> (ResNet-50's 1024 and 2048).</summary>
    internal static int DeepChannels = 1024;

    /// <summary>
    /// Input channels per depth chunk of products at least <see cref="DeepChannels"/> deep (0: <see cref="ChunkChannels"/>;
    /// STRIATE_BENCH_PWB_DEEP_CHUNK=C): half as many partial sums stored and read back. 512 against 256 (in-process A/B,
    /// blocked ÷ step per round, 8 rounds): 1024→512 @14 0.897 vs 0.994 (A/A 0.990), 1024→256 @14 0.946 vs 0.976 (0.965),
    /// 2048→512 @7 0.993 vs 1.018 (1.008), 1024→2048 s2 @14 0.974 vs 1.002 (1.021).
    /// </summary>
    internal static int DeepChunkChannels = 512;

    /// <summary>Floats of a range's input chunk (pixels × chunk channels) aimed at, so it stays in L2 while each pair of the item runs over it.</summary>
    internal static int RangeFloats = 1 << 15;

    /// <summary>
    /// For benchmarks: false cuts every product into groups of 2 pairs and ranges of <see cref="RangeFloats"/> (the
    /// first form), whatever the sizes of input and weights (<see cref="Body.Plan"/>).
    /// </summary>
    internal static bool SplitLarger = true;

    /// <summary>
    /// For benchmarks: false fills every tile's six addresses pixel by pixel, as for a tile that crosses rows (the first
    /// form), instead of from the first one when the six share a row.
    /// </summary>
    internal static bool RowTiles = true;

    /// <summary>
    /// For benchmarks: false runs a range's last one or two pixels through the 3-pixel tile again instead of
    /// <see cref="Tile1"/> per pixel (STRIATE_BENCH_PWB_ONE_PIXEL=0).
    /// </summary>
    internal static bool OnePixelTile = true;

    /// <summary>
    /// Whether a strided call (the downsample 1×1) first gathers the pixels it reads into a compact copy and runs the
    /// product on that at stride 1 (STRIATE_BENCH_PWB_SUBSAMPLE=0: the tiles read every other pixel in place, half of
    /// each 64-byte line used, and every pair of output blocks reads the chunk's lines again from L2).
    /// </summary>
    internal static bool SubsampleStrided = true;

    /// <summary>
    /// Whether the pixel ranges of a split are cut even (STRIATE_BENCH_PWB_EVEN_RANGES=0: ranges of the most tiles that
    /// fit <see cref="RangeFloats"/> and a short last one, 1024→256 on 14×14 in 21 + 12 tiles).
    /// </summary>
    internal static bool EvenRanges = true;

    /// <summary>
    /// Input blocks ahead at which <see cref="Tile6"/> prefetches its pixels' lines (0: none; STRIATE_BENCH_PWB_PREFETCH_X=N).
    /// The six broadcasts read 3–4 lines per block, a block stride apart (1568 B on 7×7, 6272 B on 14×14), where the GEMM
    /// tile reads one contiguous packed Ã. Alone it is mixed (2 threads, arms alternated call by call: 256→64 @56 0.91,
    /// 1024→256 @14 0.96, 512→2048 @7 1.03); with <see cref="PrefetchWeights"/> see there.
    /// </summary>
    internal static int PrefetchInputBlocks = 1;

    /// <summary>
    /// Whether each <see cref="Tile6"/> also prefetches one line of the next weight panel (the next pair's chunk, or the
    /// next chunk's first pair) per input block (STRIATE_BENCH_PWB_PREFETCH_W=0: none). A pair's panel (16–32 KiB) is read
    /// once per tile from L2; the hardware prefetcher starts over on each new panel's pages, so the first tile of each pair
    /// waited on L3 or memory. With <see cref="PrefetchInputBlocks"/> 1, both ÷ neither (AVX2 Zen 3, 2 threads, median of
    /// per-call ratios, arms in random order call by call, A/A 0.998–1.006): weights in L3 2048→512 @7 0.960, 1024→256 @14
    /// 0.949, 256→64 @56 0.900, 1024→2048 s2 @14 0.830, 256→128 @56 0.901, 256→512 s2 @56 0.902, others 0.94–1.00;
    /// weights from memory (10 copies used in turn, as in a model's 100 MB) 2048→512 @7 0.816, 512→2048 @7 0.839,
    /// 1024→2048 s2 @14 0.853, 1024→256 @14 0.899, 512→1024 s2 @28 0.950, 256→1024 @14 0.969. On 64-channel inputs
    /// 1.011–1.017: off below <see cref="PrefetchMinChannels"/>.
    /// </summary>
    internal static bool PrefetchWeights = true;

    /// <summary>Input channels from which the tiles prefetch (<see cref="PrefetchInputBlocks"/>, <see cref="PrefetchWeights"/>): 64-channel inputs sit in L1/L2.</summary>
    internal static int PrefetchMinChannels = 128;

    /// <summary>Items per thread <see cref="Body.Plan"/> aims at (more balance the threads' finishing times, fewer read the input or the weights fewer times).</summary>
    internal static int ItemsPerThread = 4;

    /// <summary>Output pixels up to which a map takes <see cref="SmallMapItemsPerThread"/> (14×14).</summary>
    internal const int SmallMapPixels = 196;

    /// <summary>
    /// Items per thread on maps of at most <see cref="SmallMapPixels"/> output pixels (0: <see cref="ItemsPerThread"/>
    /// there too; STRIATE_BENCH_PWB_SMALL_ITEMS=N). One: each thread runs all the pairs over half of the pixels (or half
    /// of the pairs over all of a 7×7 map), reading its input from L3 once instead of once per group, as
    /// PointwiseTransposed splits them; the larger maps keep 4 (1 there: 64→256 on 56×56 +17 %, 512→128 on 28×28 +12 %).
    /// </summary>
    internal static int SmallMapItemsPerThread = 1;

    /// <summary>Whether the AVX2 tiles run here (else the plain loops).</summary>
    public static bool UsesTiles => Vectorized && Fma.IsSupported && Avx.IsSupported;

    /// <summary>Floats of the packed weights of W [cout, cin] for input blocks of <paramref name="v"/> channels (cin rounded up to v).</summary>
    public static long PackedWeightsLength(int cout, int cin, int v = V) => (long)Pairs(cout) * RoundUp(cin, v) * PairChannels;

    private static int Pairs(int cout) => (cout + PairChannels - 1) / PairChannels;

    private static int RoundUp8(int c) => (c + V - 1) / V * V;

    private static int RoundUp(int c, int v) => (c + v - 1) / v * v;

    /// <summary>
    /// dst [pairs][RoundUp(cin, v)][16] ← W [cout, cin]: dst[j][c][o] = W[16j + o, c], zero past cout and cin (v: the
    /// input's block, 8 or 16; with 16-channel blocks a "pair" is one output block).
    /// </summary>
    public static void PackWeights(float* w, int cout, int cin, float* dst, int v = V)
    {
        int pairs = Pairs(cout), cinP = RoundUp(cin, v);
        for (int j = 0; j < pairs; j++)
        for (int c = 0; c < cinP; c++)
        {
            float* d = dst + ((long)j * cinP + c) * PairChannels;
            for (int o = 0; o < PairChannels; o++)
            {
                int co = j * PairChannels + o;
                d[o] = co < cout && c < cin ? w[(long)co * cin + c] : 0f;
            }
        }
    }

    [ThreadStatic] private static float[]? t_weights;

    /// <summary>
    /// W [cout, cin] packed by <see cref="PackWeights"/>: from <see cref="TransformedWeights"/> when keyed (packed once
    /// per weight version), else into the calling thread's scratch. Keep <paramref name="holder"/> alive while it is used.
    /// </summary>
    public static float* Weights(float* w, int cout, int cin, WeightKey? key, out float[]? holder, int v = V)
    {
        int length = checked((int)PackedWeightsLength(cout, cin, v));
        var fill = new WeightFill { W = w, Cout = cout, Cin = cin, Block = v };
        if (key is { } k)
        {
            holder = TransformedWeights.Get(k, new WeightTransform(WeightTransformKind.PointwiseBlocked, v, 0), length, ref fill);
            if (holder != null) return TransformedWeights.Start(holder);
        }
        float* dst = ThreadScratch.Aligned(ref t_weights, length);
        holder = t_weights;
        fill.Fill(dst);
        return dst;
    }

    private struct WeightFill : IWeightFill
    {
        public float* W;
        public int Cout, Cin, Block;

        public readonly void Fill(float* destination) => PackWeights(W, Cout, Cin, destination, Block);
    }

    /// <summary>
    /// y ← act(W · x + bias + residual) (see the class): <paramref name="packedW"/> from <see cref="PackWeights"/> for
    /// (ys.Channels, xs.Channels); <paramref name="bias"/> [Cout] or null; <paramref name="residual"/> blocked as
    /// <paramref name="rs"/> (same batch, channels and map as y, any pad) or null. Writes all of y, border included.
    /// <para>Per ResNet-50 shape at batch 1 (AVX2 Zen 3, 2 threads; bench --only pwblocked, in-process A/B 2026-12-07
    /// 10:55, blocked ÷ (today's NCHW step + the pack/unpack a blocked plan removes), arm A / control A'): every 7×7 and
    /// 14×14 shape is even or ahead since s41 (2048→512 @7 0.96 / 1.01, was 1.08 in the same run with the s41 switches
    /// off; 1024→2048 s2 @14 0.98 / 0.99, was 1.10; 1024→256 @14 0.87 / 0.79, was 1.07; 1024→512 @14 0.93 / 0.78;
    /// 512→2048 @7 0.94 / 0.96): take the blocked path there. Mixed within the run's noise (take either; blocked saves
    /// the layout pass): 256→1024 @14 expand 1.01 / 1.09, 512→1024 s2 @28 0.97 / 1.10, 256→128 @56 1.01 / 1.06, 64→256
    /// @56 expand 0.99 / 0.76. The rest 0.87–1.02. Decide in the session (steps_b1.py --procs 3).</para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* packedW, float* x, in BlockedShape xs, int stride, float* y, in BlockedShape ys,
        float* bias, float* residual, in BlockedShape rs, bool relu, int threads = 0)
    {
        Check(xs, stride, ys, residual == null ? null : rs);
        if (threads <= 0) threads = KernelThreads.Count;
        if (xs.V == V16)
        {
            Run16(packedW, x, xs, stride, y, ys, bias, residual, rs, relu, threads);
            return;
        }
        bool balanced = Balanced(xs, ys, stride, threads);
        var xRun = xs;
        if (stride > 1 && SubsampleStrided)
        {
            // The pixels a strided 1×1 reads, gathered into a compact unpadded copy first (the product then runs at stride 1).
            xRun = new BlockedShape(xs.Batch, xs.Channels, ys.Height, ys.Width, V);
            float* compact = ThreadScratch.Aligned(ref t_subsampled, xRun.Length);
            var gather = new SubsampleBody { Source = x, Target = compact, Xs = xs, Cs = xRun, Stride = stride };
            ParallelFor.Run(xs.Batch * xs.Blocks, ref gather, threads);
            x = compact;
            stride = 1;
        }
        var body = new Body
        {
            W = packedW, X = x, Y = y, Bias = bias, Residual = residual, Xs = xRun, Ys = ys, Rs = rs, Stride = stride, Relu = relu,
            Tiles = UsesTiles,
        };
        if (balanced)
        {
            RunBalanced(ref body, threads);
            return;
        }
        body.Plan(threads);
        ParallelFor.Run(body.Items * ys.Batch, ref body, threads);
    }

    /// <summary>The compact copy of a strided call's input (the calling thread's; see <see cref="SubsampleStrided"/>).</summary>
    [ThreadStatic] private static float[]? t_subsampled;

    /// <summary>One block of one image of a strided call's input: its pixels at the stride, row by row, into the compact copy.</summary>
    private struct SubsampleBody : IParallelBody
    {
        public float* Source, Target;
        public BlockedShape Xs, Cs;
        public int Stride;

        public readonly void Invoke(int index)
        {
            int n = index / Xs.Blocks, cb = index % Xs.Blocks;
            float* src = Source + n * Xs.ImageStride + cb * Xs.BlockStride + Xs.PadW * Xs.V;
            float* dst = Target + n * Cs.ImageStride + cb * Cs.BlockStride;
            int v = Xs.V;
            long step = (long)Stride * v;
            for (int h = 0; h < Cs.Height; h++)
            {
                float* row = src + (h * Stride + Xs.PadH) * Xs.RowPitch;
                for (int w = 0; w < Cs.Width; w++, dst += v)
                    for (int k = 0; k < v; k += 8) Vector256.Store(Vector256.Load(row + w * step + k), dst + k);
            }
        }
    }

    /// <summary>The shape checks of <see cref="Run"/> and <see cref="RunReference"/>.</summary>
    private static void Check(in BlockedShape xs, int stride, in BlockedShape ys, BlockedShape? rs)
    {
        if (xs.V is not (V or V16) || ys.V != xs.V || (rs is { } r && r.V != xs.V))
            throw new ArgumentException($"PointwiseBlocked takes 8- or 16-channel blocks, the same in x, y and residual, not x V={xs.V}, y V={ys.V}, residual V={rs?.V}.");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "stride must be at least 1.");
        if (xs.Batch != ys.Batch || ys.Height != (xs.Height - 1) / stride + 1 || ys.Width != (xs.Width - 1) / stride + 1)
            throw new ArgumentException($"PointwiseBlocked: output {ys} does not match input {xs} at stride {stride}.");
        if (rs is { } r2 && (r2.Batch != ys.Batch || r2.Channels != ys.Channels || r2.Height != ys.Height || r2.Width != ys.Width))
            throw new ArgumentException($"PointwiseBlocked: residual {r2} does not match output {ys}.");
    }

    /// <summary>One work item: pairs [g·GroupPairs, …) of the output over pixels [r·RangePixels, …) of one image.</summary>
    private struct Body : IParallelBody
    {
        public float* W, X, Y, Bias, Residual;
        public BlockedShape Xs, Ys, Rs;
        public int Stride;
        public bool Relu, Tiles;
        public int Pairs, GroupPairs, Groups, RangePixels, Ranges, Chunk;

        public readonly int Items => Groups * Ranges;

        /// <summary>The output-block pairs and the input chunk (its weights stay in L1 over a range): fixed items and the balanced schedule alike.</summary>
        public void PlanPairsAndChunk()
        {
            Pairs = PointwiseBlocked.Pairs(Ys.Channels);
            int chunkChannels = Xs.Channels >= DeepChannels && DeepChunkChannels > 0 ? DeepChunkChannels : ChunkChannels;
            Chunk = Math.Max(V, Math.Min(RoundUp8(Xs.Channels), chunkChannels / V * V));
        }

        /// <summary>
        /// Chooses the chunk, the groups and the ranges. An item reads its range's input once per pair of its group (from
        /// L2: a range's chunk of input lines, stride 2 reading every other pixel of each line, is at most
        /// <see cref="RangeFloats"/>) and its group's weights once (each pair's chunk stays in L1 over the range), so the
        /// product reads from memory or L3 about Groups × input + Ranges × weights: the split with the least of it among
        /// those with at least <see cref="ItemsPerThread"/> items per thread (or the most items the map allows) (<see cref="SplitLarger"/>).
        /// </summary>
        public void Plan(int threads)
        {
            int pixels = Ys.Height * Ys.Width;
            PlanPairsAndChunk();
            int perThread = pixels <= SmallMapPixels && SmallMapItemsPerThread > 0 ? SmallMapItemsPerThread : ItemsPerThread;
            int tiles = (pixels + 5) / 6, want = perThread * threads;
            int rangeLimit = Math.Clamp(RangeFloats / (6 * Chunk * Math.Min(Stride, 2)), 1, tiles);
            if (!SplitLarger)
            {
                GroupPairs = Math.Min(Pairs, 2);
                int rangeTiles0 = rangeLimit;
                while (rangeTiles0 > 1 && (Pairs + GroupPairs - 1) / GroupPairs * ((tiles + rangeTiles0 - 1) / rangeTiles0) < want) rangeTiles0 = (rangeTiles0 + 1) / 2;
                while (GroupPairs > 1 && (Pairs + GroupPairs - 1) / GroupPairs * ((tiles + rangeTiles0 - 1) / rangeTiles0) < want) GroupPairs--;
                SetSplit(GroupPairs, rangeTiles0, pixels);
                return;
            }
            double inputFloats = (double)RoundUp8(Xs.Channels) * pixels * Math.Min(Stride, 2), weightFloats = (double)RoundUp8(Xs.Channels) * Pairs * PairChannels;
            var (bestGroup, bestRange) = LeastReadSplit(Pairs, tiles, rangeLimit, want, inputFloats, weightFloats);
            SetSplit(bestGroup, bestRange, pixels);
        }

        private void SetSplit(int groupPairs, int rangeTiles, int pixels)
        {
            GroupPairs = groupPairs;
            Groups = (Pairs + groupPairs - 1) / groupPairs;
            if (EvenRanges)
            {
                // As many ranges, of (nearly) equal tiles: 33 tiles (14×14) in 17 + 16, not 21 + 12.
                int tiles = (pixels + 5) / 6, ranges = (tiles + rangeTiles - 1) / rangeTiles;
                rangeTiles = (tiles + ranges - 1) / ranges;
            }
            RangePixels = rangeTiles * 6;
            Ranges = (pixels + RangePixels - 1) / RangePixels;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int n = index / Items, item = index % Items;
            int g = item / Ranges, r = item % Ranges;
            int pixels = Ys.Height * Ys.Width;
            int p0 = r * RangePixels, p1 = Math.Min(pixels, p0 + RangePixels);
            int j0 = g * GroupPairs, j1 = Math.Min(Pairs, j0 + GroupPairs);
            float* x = X + n * Xs.ImageStride, y = Y + n * Ys.ImageStride, res = Residual == null ? null : Residual + n * Rs.ImageStride;
            ZeroBorder(y, Ys, j0 * 2, Math.Min(Ys.Blocks, j1 * 2), p0, p1);
            if (Tiles) RunTiles(x, y, res, j0, j1, p0, p1);
            else RunPlain(x, y, res, j0, j1, p0, p1);
        }

        /// <summary>
        /// The AVX2 tiles of one item: chunk by chunk, pair by pair (its chunk of weights in L1), 6 pixels at a time;
        /// <paramref name="nextPair"/> (≥ 0) is the pair whose first panel follows the item's last (the next item's).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal readonly void RunTiles(float* x, float* y, float* res, int j0, int j1, int p0, int p1, int nextPair = -1)
        {
            int cinP = RoundUp8(Xs.Channels);
            float* bias16 = stackalloc float[PairChannels];
            var t = new Tile
            {
                XBlock = (nint)Xs.BlockStride, YBlock = (nint)Ys.BlockStride, RBlock = (nint)Rs.BlockStride, Relu = Relu,
                PrefetchX = Xs.Channels >= PrefetchMinChannels ? (nint)(PrefetchInputBlocks * Xs.BlockStride) : 0,
            };
            for (int c0 = 0; c0 < cinP; c0 += Chunk)
            {
                int chunk = Math.Min(Chunk, cinP - c0);
                t.Blocks = chunk / V;
                t.First = c0 == 0;
                t.Last = c0 + chunk >= cinP;
                float* xChunk = x + c0 / V * Xs.BlockStride;
                for (int j = j0; j < j1; j++)
                {
                    t.Second = 2 * j + 1 < Ys.Blocks;
                    if (t.First) { LoadBias(Bias, Ys.Channels, j, bias16); t.Bias = bias16; }
                    t.W = W + ((long)j * cinP + c0) * PairChannels;
                    float* yPair = y + 2 * j * Ys.BlockStride;
                    float* rPair = res == null ? null : res + 2 * j * Rs.BlockStride;
                    float* pw = NextPanel(cinP, c0, j, j0, j1, nextPair, out float* pwEnd);
                    int h = p0 / Ys.Width, w = p0 % Ys.Width;
                    for (int p = p0; p < p1; p += 6, pw += t.Blocks * PairChannels)
                    {
                        t.Pw = pw < pwEnd ? pw : null;
                        int count = Math.Min(6, p1 - p);
                        if (count == 6 && w + 6 <= Ys.Width && RowTiles)
                        {
                            // Six pixels of one row: evenly spaced in x, y and the residual.
                            float* xa = xChunk + ((long)(h * Stride + Xs.PadH) * Xs.PaddedWidth + w * Stride + Xs.PadW) * V;
                            float* ya = yPair + ((long)(h + Ys.PadH) * Ys.PaddedWidth + w + Ys.PadW) * V;
                            float* ra = rPair == null ? null : rPair + ((long)(h + Rs.PadH) * Rs.PaddedWidth + w + Rs.PadW) * V;
                            long xStep = (long)Stride * V * sizeof(float), rStep = ra == null ? 0 : V * sizeof(float);
                            t.X[0] = (long)xa; t.X[1] = (long)xa + xStep; t.X[2] = (long)xa + 2 * xStep;
                            t.X[3] = (long)xa + 3 * xStep; t.X[4] = (long)xa + 4 * xStep; t.X[5] = (long)xa + 5 * xStep;
                            t.Y[0] = (long)ya; t.Y[1] = (long)(ya + V); t.Y[2] = (long)(ya + 2 * V);
                            t.Y[3] = (long)(ya + 3 * V); t.Y[4] = (long)(ya + 4 * V); t.Y[5] = (long)(ya + 5 * V);
                            t.R[0] = (long)ra; t.R[1] = (long)ra + rStep; t.R[2] = (long)ra + 2 * rStep;
                            t.R[3] = (long)ra + 3 * rStep; t.R[4] = (long)ra + 4 * rStep; t.R[5] = (long)ra + 5 * rStep;
                            if ((w += 6) == Ys.Width) { w = 0; h++; }
                            t.Count = 6;
                            Tile6(ref t);
                            continue;
                        }
                        // Each pixel's own addresses (tiles cross rows, and strides and borders differ between x, y and residual).
                        for (int i = 0; i < 6; i++)
                        {
                            if (i < count)
                            {
                                t.X[i] = (long)(xChunk + ((long)(h * Stride + Xs.PadH) * Xs.PaddedWidth + w * Stride + Xs.PadW) * V);
                                t.Y[i] = (long)(yPair + ((long)(h + Ys.PadH) * Ys.PaddedWidth + w + Ys.PadW) * V);
                                t.R[i] = rPair == null ? 0 : (long)(rPair + ((long)(h + Rs.PadH) * Rs.PaddedWidth + w + Rs.PadW) * V);
                                if (++w == Ys.Width) { w = 0; h++; }
                            }
                            else
                            {
                                // Past the range's last pixel: the last one again (computed, not stored).
                                t.X[i] = t.X[count - 1];
                                t.Y[i] = t.Y[count - 1];
                                t.R[i] = t.R[count - 1];
                            }
                        }
                        t.Count = count;
                        if (count > 3) Tile6(ref t);
                        else if (count <= 2 && OnePixelTile)
                        {
                            Tile1(ref t, 0);
                            if (count == 2) Tile1(ref t, 1);
                        }
                        else Tile3(ref t);
                    }
                }
            }
        }

        /// <summary>
        /// The weight panel after pair <paramref name="j"/>'s at chunk <paramref name="c0"/> in an item with pairs [j0, j1)
        /// (pair j + 1 at this chunk, or pair j0 at the next; after the last chunk pair <paramref name="nextPair"/>'s first
        /// chunk, if ≥ 0), its end in <paramref name="end"/>; null without one, or with <see cref="PrefetchWeights"/> off
        /// or the input shallower than <see cref="PrefetchMinChannels"/>.
        /// </summary>
        private readonly float* NextPanel(int cinP, int c0, int j, int j0, int j1, int nextPair, out float* end)
        {
            end = null;
            if (!PrefetchWeights || Xs.Channels < PrefetchMinChannels) return null;
            int nj = j + 1, nc = c0;
            if (nj >= j1) { nj = j0; nc = c0 + Chunk; }
            if (nc >= cinP)
            {
                if (nextPair < 0) return null;
                (nj, nc) = (nextPair, 0);
            }
            float* start = W + ((long)nj * cinP + nc) * PairChannels;
            end = start + (long)Math.Min(Chunk, cinP - nc) * PairChannels;
            return start;
        }

        /// <summary>The plain loops of one item (no AVX2 + FMA, or <see cref="Vectorized"/> off): per pixel and pair, the whole depth.</summary>
        private readonly void RunPlain(float* x, float* y, float* res, int j0, int j1, int p0, int p1)
        {
            int cinP = RoundUp8(Xs.Channels);
            float* acc = stackalloc float[PairChannels];
            float* bias16 = stackalloc float[PairChannels];
            for (int j = j0; j < j1; j++)
            {
                LoadBias(Bias, Ys.Channels, j, bias16);
                int blocks = Math.Min(2, Ys.Blocks - 2 * j);
                for (int p = p0; p < p1; p++)
                {
                    int h = p / Ys.Width, w = p % Ys.Width;
                    float* xp = x + ((long)(h * Stride + Xs.PadH) * Xs.PaddedWidth + w * Stride + Xs.PadW) * V;
                    for (int o = 0; o < PairChannels; o++) acc[o] = bias16[o];
                    float* wp = W + (long)j * cinP * PairChannels;
                    for (int c = 0; c < cinP; c++, wp += PairChannels)
                    {
                        float xv = xp[c / V * Xs.BlockStride + c % V];
                        for (int o = 0; o < PairChannels; o++) acc[o] += wp[o] * xv;
                    }
                    for (int b = 0; b < blocks; b++)
                    {
                        long cb = 2 * j + b;
                        float* yp = y + cb * Ys.BlockStride + ((long)(h + Ys.PadH) * Ys.PaddedWidth + w + Ys.PadW) * V;
                        float* rp = res == null ? null : res + cb * Rs.BlockStride + ((long)(h + Rs.PadH) * Rs.PaddedWidth + w + Rs.PadW) * V;
                        for (int l = 0; l < V; l++)
                        {
                            float v = acc[b * V + l];
                            if (rp != null) v += rp[l];
                            if (Relu) v = MathF.Max(v, 0f);
                            yp[l] = v;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The split of <paramref name="units"/> weight panels (pairs, or quads on 16-channel blocks) into groups and of
    /// <paramref name="tiles"/> pixel tiles into ranges of at most <paramref name="rangeLimit"/>, each halved in turn: of
    /// those with the most items up to <paramref name="want"/>, the one that reads the least from memory or L3, groups ×
    /// input + ranges × weights. Returns the units per group and the tiles per range.
    /// </summary>
    private static (int GroupUnits, int RangeTiles) LeastReadSplit(int units, int tiles, int rangeLimit, int want, double inputFloats, double weightFloats)
    {
        int bestGroup = 1, bestRange = 1, bestItems = 0;
        double bestCost = double.MaxValue;
        for (int groupUnits = units; ; groupUnits = (groupUnits + 1) / 2)
        {
            for (int rangeTiles = rangeLimit; ; rangeTiles = (rangeTiles + 1) / 2)
            {
                int groups = (units + groupUnits - 1) / groupUnits, ranges = (tiles + rangeTiles - 1) / rangeTiles;
                int items = Math.Min(want, groups * ranges);
                double cost = groups * inputFloats + ranges * weightFloats;
                if (items > bestItems || (items == bestItems && cost < bestCost)) (bestGroup, bestRange, bestCost, bestItems) = (groupUnits, rangeTiles, cost, items);
                if (rangeTiles == 1) break;
            }
            if (groupUnits == 1) break;
        }
        return (bestGroup, bestRange);
    }

    /// <summary>bias16 ← bias of pair <paramref name="j"/>'s 16 channels, zero past <paramref name="cout"/> (and all zero without a bias).</summary>
    private static void LoadBias(float* bias, int cout, int j, float* bias16)
    {
        for (int o = 0; o < PairChannels; o++)
        {
            int co = j * PairChannels + o;
            bias16[o] = bias != null && co < cout ? bias[co] : 0f;
        }
    }

    /// <summary>
    /// Zeroes the border of blocks [cb0, cb1) of one image of y that belongs to pixels [p0, p1): the left border of each
    /// row whose first pixel is in the range, the right border of each row whose last pixel is, the top rows with pixel 0
    /// and the bottom rows with the last pixel (every item of a group zeroes its own part: the ranges cover the map).
    /// </summary>
    private static void ZeroBorder(float* y, in BlockedShape s, int cb0, int cb1, int p0, int p1)
    {
        if (s.PadH == 0 && s.PadW == 0) return;
        int last = s.Height * s.Width - 1;
        for (int cb = cb0; cb < cb1; cb++)
        {
            float* plane = y + cb * s.BlockStride;
            if (p0 == 0) new Span<float>(plane, (int)(s.PadH * s.RowPitch)).Clear();
            if (p1 > last) new Span<float>(plane + (s.PadH + s.Height) * s.RowPitch, (int)(s.PadH * s.RowPitch)).Clear();
            if (s.PadW == 0) continue;
            for (int h = p0 / s.Width; h <= (p1 - 1) / s.Width; h++)
            {
                float* row = plane + (s.PadH + h) * s.RowPitch;
                if ((long)h * s.Width >= p0) new Span<float>(row, s.PadW * s.V).Clear();
                if ((long)h * s.Width + s.Width - 1 < p1) new Span<float>(row + (long)(s.PadW + s.Width) * s.V, s.PadW * s.V).Clear();
            }
        }
    }

    /// <summary>
    /// The plain twin (the specification): y ← act(W · x + bias + residual) element by element from the unpacked
    /// W [Cout, Cin]; the border of y and its missing channels zero.
    /// </summary>
    internal static void RunReference(float* w, float* x, in BlockedShape xs, int stride, float* y, in BlockedShape ys,
        float* bias, float* residual, in BlockedShape rs, bool relu)
    {
        Check(xs, stride, ys, residual == null ? null : rs);
        int cin = xs.Channels, cout = ys.Channels, v = xs.V;
        for (int n = 0; n < ys.Batch; n++)
        for (int cb = 0; cb < ys.Blocks; cb++)
        for (int hp = 0; hp < ys.PaddedHeight; hp++)
        for (int wp = 0; wp < ys.PaddedWidth; wp++)
        for (int l = 0; l < v; l++)
        {
            int h = hp - ys.PadH, wo = wp - ys.PadW, co = cb * v + l;
            float value = 0f;
            if ((uint)h < (uint)ys.Height && (uint)wo < (uint)ys.Width && co < cout)
            {
                double sum = bias == null ? 0 : bias[co];
                for (int c = 0; c < cin; c++)
                {
                    long at = n * xs.ImageStride + c / v * xs.BlockStride + (h * stride + xs.PadH) * xs.RowPitch + (long)(wo * stride + xs.PadW) * v + c % v;
                    sum += (double)w[(long)co * cin + c] * x[at];
                }
                if (residual != null) sum += residual[n * rs.ImageStride + cb * rs.BlockStride + (h + rs.PadH) * rs.RowPitch + (long)(wo + rs.PadW) * v + l];
                value = (float)sum;
                if (relu) value = MathF.Max(value, 0f);
            }
            y[n * ys.ImageStride + cb * ys.BlockStride + hp * ys.RowPitch + (long)wp * v + l] = value;
        }
    }
}
