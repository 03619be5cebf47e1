using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

// PointwiseBlocked on 16-channel blocks (the AVX-512 direct 3×3's, Conv2dDirect.VectorLength(Vector512)): the same
// product, packed weights and border rules, with an AVX-512 tile of 4 output blocks × 6 pixels (MLAS's NCHWc16
// pointwise shape): 24 zmm accumulators, per input channel 4 weight loads and 6 broadcasts for 24 FMAs, so the two
// 512-bit FMA ports (Intel) are not held up by the two load ports. One output block is one packed 16-channel panel,
// so the 4 weight streams are 4 panels, CinP·16 floats apart, with no repacking.
internal static unsafe partial class PointwiseBlocked
{
    /// <summary>Channels per block on AVX-512.</summary>
    public const int V16 = 16;

    /// <summary>Output blocks (16-channel panels) per AVX-512 tile.</summary>
    private const int QuadPanels = 4;

    /// <summary>For tests and benchmarks: false runs the plain loops on 16-channel blocks even where AVX-512 exists.</summary>
    internal static bool Vectorized16 = true;

    /// <summary>Whether 16-channel calls run the AVX-512 tiles (else the plain loops over the packed weights).</summary>
    public static bool UsesTiles16 => Vectorized16 && Avx512F.IsSupported;

    /// <summary>
    /// Whether an inference session keeps activations blocked through the 1×1s on 16-channel blocks (the AVX-512 direct
    /// 3×3's) as it does on 8 (STRIATE_BENCH_PWB16=0: off, the 1×1s on NCHW through the GEMM paths). ResNet-50 b1 on an
    /// AVX-512 Intel Xeon (steps_b1 --procs 3, 60 rounds): sum of steps 0.896 of off, ORT ÷ Striate 0.874 → 0.975
    /// (bench/RESULTS.md 2026-12-08, pw512).
    /// </summary>
    internal static bool BlockedThrough16 = true;

    /// <summary>Whether a session may run blocked-through 1×1s on blocks of <paramref name="v"/> channels (the direct 3×3's block): tiles for that block exist and run here.</summary>
    public static bool TakesBlocks(int v) => v == V ? UsesTiles : v == V16 && UsesTiles16 && BlockedThrough16;

    /// <summary>
    /// Input channels per depth chunk on 16-channel blocks (STRIATE_BENCH_PWB16_CHUNK=C, a multiple of 16): 128 keeps a
    /// tile's 4 panels of the chunk (32 KiB) in a 48 KiB L1 over its range of pixels.
    /// </summary>
    internal static int ChunkChannels16 = 128;

    /// <summary>Floats of a range's input chunk aimed at on 16-channel blocks (read again from L2 by each group of 4 panels; STRIATE_BENCH_PWB16_RANGE=F).</summary>
    internal static int RangeFloats16 = 1 << 16;

    /// <summary>Items per thread aimed at on 16-channel blocks, maps larger than <see cref="SmallMapPixels"/> (there: 1; STRIATE_BENCH_PWB16_ITEMS=N).</summary>
    internal static int ItemsPerThread16 = 4;

    /// <summary>Items per thread on maps of at most <see cref="SmallMapPixels"/> output pixels (14×14, 7×7) on 16-channel blocks (STRIATE_BENCH_PWB16_SMALL_ITEMS=N).</summary>
    internal static int SmallMapItemsPerThread16 = 1;

    /// <summary>Runs a 16-channel call (<see cref="Run"/> checked the shapes): the strided input gathered first, then fixed items over the threads.</summary>
    private static void Run16(float* packedW, float* x, in BlockedShape xs, int stride, float* y, in BlockedShape ys,
        float* bias, float* residual, in BlockedShape rs, bool relu, int threads)
    {
        var xRun = xs;
        if (stride > 1)
        {
            // As on 8-channel blocks (SubsampleStrided): a compact copy of the pixels read, so the tiles run at stride 1.
            xRun = new BlockedShape(xs.Batch, xs.Channels, ys.Height, ys.Width, V16);
            float* compact = ThreadScratch.Aligned(ref t_subsampled, xRun.Length);
            var gather = new SubsampleBody { Source = x, Target = compact, Xs = xs, Cs = xRun, Stride = stride };
            ParallelFor.Run(xs.Batch * xs.Blocks, ref gather, threads);
            x = compact;
        }
        var body = new Body16 { W = packedW, X = x, Y = y, Bias = bias, Residual = residual, Xs = xRun, Ys = ys, Rs = rs, Relu = relu, Tiles = UsesTiles16 };
        body.Plan(threads);
        ParallelFor.Run(body.Items * ys.Batch, ref body, threads);
    }

    /// <summary>One work item on 16-channel blocks: output blocks [g·GroupPanels, …) over pixels [r·RangePixels, …) of one image (input at stride 1).</summary>
    private struct Body16 : IParallelBody
    {
        public float* W, X, Y, Bias, Residual;
        public BlockedShape Xs, Ys, Rs;
        public bool Relu, Tiles;
        public int Panels, CinP, Chunk, GroupPanels, Groups, RangePixels, Ranges;

        public readonly int Items => Groups * Ranges;

        /// <summary>
        /// The chunk and the split, as <see cref="Body.Plan"/>: of the splits into groups of whole quads of panels and
        /// ranges of whole tiles (each range's chunk of input at most <see cref="RangeFloats16"/>), the one with the most
        /// items up to the wanted count, then the least input × groups + weights × ranges read.
        /// </summary>
        public void Plan(int threads)
        {
            int pixels = Ys.Height * Ys.Width, tiles = (pixels + 5) / 6;
            Panels = Ys.Blocks;
            CinP = RoundUp(Xs.Channels, V16);
            Chunk = Math.Max(V16, Math.Min(CinP, ChunkChannels16 / V16 * V16));
            int want = (pixels <= SmallMapPixels ? SmallMapItemsPerThread16 : ItemsPerThread16) * threads;
            int rangeLimit = Math.Clamp(RangeFloats16 / (6 * Chunk), 1, tiles);
            int quads = (Panels + QuadPanels - 1) / QuadPanels;
            double inputFloats = (double)CinP * pixels, weightFloats = (double)CinP * Panels * V16;
            var (bestQuads, bestRange) = LeastReadSplit(quads, tiles, rangeLimit, want, inputFloats, weightFloats);
            GroupPanels = bestQuads * QuadPanels;
            Groups = (Panels + GroupPanels - 1) / GroupPanels;
            // As many ranges, of (nearly) equal whole tiles.
            int rangeCount = (tiles + bestRange - 1) / bestRange;
            RangePixels = (tiles + rangeCount - 1) / rangeCount * 6;
            Ranges = (pixels + RangePixels - 1) / RangePixels;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int n = index / Items, item = index % Items;
            int g = item / Ranges, r = item % Ranges;
            int pixels = Ys.Height * Ys.Width;
            int p0 = r * RangePixels, p1 = Math.Min(pixels, p0 + RangePixels);
            int j0 = g * GroupPanels, j1 = Math.Min(Panels, j0 + GroupPanels);
            float* x = X + n * Xs.ImageStride, y = Y + n * Ys.ImageStride, res = Residual == null ? null : Residual + n * Rs.ImageStride;
            ZeroBorder(y, Ys, j0, j1, p0, p1);
            if (Tiles) RunTiles(x, y, res, j0, j1, p0, p1);
            else RunPlain(x, y, res, j0, j1, p0, p1);
        }

        /// <summary>The AVX-512 tiles of one item: chunk by chunk, quad of panels by quad (its chunk of weights in L1), 6 pixels at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void RunTiles(float* x, float* y, float* res, int j0, int j1, int p0, int p1)
        {
            float* bias64 = stackalloc float[QuadPanels * V16];
            var t = new Tile16
            {
                XBlock = (nint)Xs.BlockStride, YBlock = (nint)Ys.BlockStride, RBlock = (nint)Rs.BlockStride, WPanel = (nint)CinP * V16, Relu = Relu,
                PrefetchX = Xs.Channels >= PrefetchMinChannels ? (nint)(PrefetchInput16 * Xs.BlockStride) : 0,
            };
            for (int c0 = 0; c0 < CinP; c0 += Chunk)
            {
                int chunk = Math.Min(Chunk, CinP - c0);
                t.Blocks = chunk / V16;
                t.First = c0 == 0;
                t.Last = c0 + chunk >= CinP;
                float* xChunk = x + c0 / V16 * Xs.BlockStride;
                for (int j = j0; j < j1; j += QuadPanels)
                {
                    int panels = Math.Min(QuadPanels, j1 - j);
                    if (t.First)
                    {
                        for (int o = 0; o < QuadPanels * V16; o++)
                        {
                            int co = j * V16 + o;
                            bias64[o] = Bias != null && co < Ys.Channels ? Bias[co] : 0f;
                        }
                        t.Bias = bias64;
                    }
                    t.W = W + ((long)j * CinP + c0) * V16;
                    // The weights this item reads next (the next quad at this chunk, or the first quad at the next chunk), one
                    // panel per tile over the first four tiles (PrefetchWeights16).
                    float* next = null;
                    if (PrefetchWeights16 && Xs.Channels >= PrefetchMinChannels)
                    {
                        int nj = j + QuadPanels, nc = c0;
                        if (nj >= j1) { nj = j0; nc = c0 + Chunk; }
                        if (nc < CinP && nj + QuadPanels <= Panels && Math.Min(Chunk, CinP - nc) == chunk) next = W + ((long)nj * CinP + nc) * V16;
                    }
                    int tile = 0;
                    float* yQuad = y + j * Ys.BlockStride;
                    float* rQuad = res == null ? null : res + j * Rs.BlockStride;
                    int h = p0 / Ys.Width, w = p0 % Ys.Width;
                    for (int p = p0; p < p1; p += 6)
                    {
                        int count = Math.Min(6, p1 - p);
                        for (int i = 0; i < 6; i++)
                        {
                            if (i < count)
                            {
                                t.X[i] = (long)(xChunk + ((long)(h + Xs.PadH) * Xs.PaddedWidth + w + Xs.PadW) * V16);
                                t.Y[i] = (long)(yQuad + ((long)(h + Ys.PadH) * Ys.PaddedWidth + w + Ys.PadW) * V16);
                                t.R[i] = rQuad == null ? 0 : (long)(rQuad + ((long)(h + Rs.PadH) * Rs.PaddedWidth + w + Rs.PadW) * V16);
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
                        if (next != null && tile < QuadPanels) { t.Pw = next + tile * t.WPanel; t.PwStep = V16; }
                        else { t.Pw = t.W; t.PwStep = 0; }
                        tile++;
                        if (panels == QuadPanels && count <= OnePixelMaxCount16)
                            for (int i = 0; i < count; i++) Tile16x4One(ref t, i);
                        else if (panels == QuadPanels) Tile16x4(ref t);
                        else
                            for (int q = 0; q < panels; q++) Tile16x1(ref t, q);
                    }
                }
            }
        }

        /// <summary>The plain loops of one item (no AVX-512, or <see cref="Vectorized16"/> off): per pixel and output block, the whole depth.</summary>
        private readonly void RunPlain(float* x, float* y, float* res, int j0, int j1, int p0, int p1)
        {
            float* acc = stackalloc float[V16];
            for (int j = j0; j < j1; j++)
            for (int p = p0; p < p1; p++)
            {
                int h = p / Ys.Width, w = p % Ys.Width;
                float* xp = x + ((long)(h + Xs.PadH) * Xs.PaddedWidth + w + Xs.PadW) * V16;
                for (int o = 0; o < V16; o++)
                {
                    int co = j * V16 + o;
                    acc[o] = Bias != null && co < Ys.Channels ? Bias[co] : 0f;
                }
                float* wp = W + (long)j * CinP * V16;
                for (int c = 0; c < CinP; c++, wp += V16)
                {
                    float xv = xp[c / V16 * Xs.BlockStride + c % V16];
                    for (int o = 0; o < V16; o++) acc[o] += wp[o] * xv;
                }
                float* yp = y + j * Ys.BlockStride + ((long)(h + Ys.PadH) * Ys.PaddedWidth + w + Ys.PadW) * V16;
                float* rp = res == null ? null : res + j * Rs.BlockStride + ((long)(h + Rs.PadH) * Rs.PaddedWidth + w + Rs.PadW) * V16;
                for (int l = 0; l < V16; l++)
                {
                    float v = acc[l];
                    if (rp != null) v += rp[l];
                    if (Relu) v = MathF.Max(v, 0f);
                    yp[l] = v;
                }
            }
        }
    }

    /// <summary>
    /// One AVX-512 tile's addresses and flags: each pixel's input (at the chunk's first block), output and residual (at
    /// the quad's first block; 0 without a residual); pixels past <see cref="Count"/> repeat the last (computed, never stored).
    /// </summary>
    private struct Tile16
    {
        public fixed long X[6];
        public fixed long Y[6];
        public fixed long R[6];
        /// <summary>The quad's first panel at the chunk: [Blocks · 16][16]; the next panels <see cref="WPanel"/> floats on.</summary>
        public float* W;
        /// <summary>The quad's 64 biases (zero past Cout), the first chunk's starting sums.</summary>
        public float* Bias;
        /// <summary>Floats from one channel block to the next in x, y and the residual; from one weight panel to the next.</summary>
        public nint XBlock, YBlock, RBlock, WPanel;
        public int Blocks, Count;
        /// <summary>First chunk (start from the bias, else from the stored partial sums), last chunk (residual, ReLU).</summary>
        public bool First, Last, Relu;
        /// <summary>The line <see cref="Tile16x4"/> prefetches at each input channel, and the floats it then moves on (0: the tile's own weights again, a no-op).</summary>
        public float* Pw;
        public nint PwStep;
        /// <summary>Floats ahead at which <see cref="Tile16x4"/> prefetches its pixels' input lines (<see cref="PrefetchInput16"/> blocks; 0: none).</summary>
        public nint PrefetchX;
    }

    /// <summary>Up to 6 pixels × 4 output blocks (24 zmm accumulators) over the chunk's input blocks, then stored (<see cref="Store16"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile16x4(ref Tile16 t)
    {
        float* x0 = (float*)t.X[0];
        float* x1 = (float*)t.X[1];
        float* x2 = (float*)t.X[2];
        float* x3 = (float*)t.X[3];
        float* x4 = (float*)t.X[4];
        float* x5 = (float*)t.X[5];
        float* w = t.W;
        nint wp = t.WPanel, xb = t.XBlock, pws = t.PwStep, pfx = t.PrefetchX;
        float* pw = t.Pw;
        Vector512<float> a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23,
            a30, a31, a32, a33, a40, a41, a42, a43, a50, a51, a52, a53;
        if (t.First)
        {
            var b0 = Vector512.Load(t.Bias);
            var b1 = Vector512.Load(t.Bias + 16);
            var b2 = Vector512.Load(t.Bias + 32);
            var b3 = Vector512.Load(t.Bias + 48);
            a00 = b0; a01 = b1; a02 = b2; a03 = b3; a10 = b0; a11 = b1; a12 = b2; a13 = b3;
            a20 = b0; a21 = b1; a22 = b2; a23 = b3; a30 = b0; a31 = b1; a32 = b2; a33 = b3;
            a40 = b0; a41 = b1; a42 = b2; a43 = b3; a50 = b0; a51 = b1; a52 = b2; a53 = b3;
        }
        else
        {
            // Later chunks: the partial sums the earlier ones stored.
            nint yb = t.YBlock;
            float* y = (float*)t.Y[0];
            a00 = Vector512.Load(y); a01 = Vector512.Load(y + yb); a02 = Vector512.Load(y + 2 * yb); a03 = Vector512.Load(y + 3 * yb);
            y = (float*)t.Y[1];
            a10 = Vector512.Load(y); a11 = Vector512.Load(y + yb); a12 = Vector512.Load(y + 2 * yb); a13 = Vector512.Load(y + 3 * yb);
            y = (float*)t.Y[2];
            a20 = Vector512.Load(y); a21 = Vector512.Load(y + yb); a22 = Vector512.Load(y + 2 * yb); a23 = Vector512.Load(y + 3 * yb);
            y = (float*)t.Y[3];
            a30 = Vector512.Load(y); a31 = Vector512.Load(y + yb); a32 = Vector512.Load(y + 2 * yb); a33 = Vector512.Load(y + 3 * yb);
            y = (float*)t.Y[4];
            a40 = Vector512.Load(y); a41 = Vector512.Load(y + yb); a42 = Vector512.Load(y + 2 * yb); a43 = Vector512.Load(y + 3 * yb);
            y = (float*)t.Y[5];
            a50 = Vector512.Load(y); a51 = Vector512.Load(y + yb); a52 = Vector512.Load(y + 2 * yb); a53 = Vector512.Load(y + 3 * yb);
        }
        for (int ib = t.Blocks; ib > 0; ib--)
        {
            // Each pixel's line PrefetchInput16 blocks ahead (a block stride apart, 12.5 KiB on 14×14: past what the
            // hardware prefetchers follow); 0 prefetches the current lines again, a no-op.
            Sse.Prefetch0(x0 + pfx); Sse.Prefetch0(x1 + pfx); Sse.Prefetch0(x2 + pfx);
            Sse.Prefetch0(x3 + pfx); Sse.Prefetch0(x4 + pfx); Sse.Prefetch0(x5 + pfx);
            // One input channel per step: 4 weight loads, 6 broadcasts, 24 FMAs.
            for (int c = 0; c < V16; c++, w += V16)
            {
                Sse.Prefetch0(pw);
                pw += pws;
                var w0 = Vector512.Load(w);
                var w1 = Vector512.Load(w + wp);
                var w2 = Vector512.Load(w + 2 * wp);
                var w3 = Vector512.Load(w + 3 * wp);
                var b = Vector512.Create(x0[c]);
                a00 = Avx512F.FusedMultiplyAdd(b, w0, a00); a01 = Avx512F.FusedMultiplyAdd(b, w1, a01);
                a02 = Avx512F.FusedMultiplyAdd(b, w2, a02); a03 = Avx512F.FusedMultiplyAdd(b, w3, a03);
                b = Vector512.Create(x1[c]);
                a10 = Avx512F.FusedMultiplyAdd(b, w0, a10); a11 = Avx512F.FusedMultiplyAdd(b, w1, a11);
                a12 = Avx512F.FusedMultiplyAdd(b, w2, a12); a13 = Avx512F.FusedMultiplyAdd(b, w3, a13);
                b = Vector512.Create(x2[c]);
                a20 = Avx512F.FusedMultiplyAdd(b, w0, a20); a21 = Avx512F.FusedMultiplyAdd(b, w1, a21);
                a22 = Avx512F.FusedMultiplyAdd(b, w2, a22); a23 = Avx512F.FusedMultiplyAdd(b, w3, a23);
                b = Vector512.Create(x3[c]);
                a30 = Avx512F.FusedMultiplyAdd(b, w0, a30); a31 = Avx512F.FusedMultiplyAdd(b, w1, a31);
                a32 = Avx512F.FusedMultiplyAdd(b, w2, a32); a33 = Avx512F.FusedMultiplyAdd(b, w3, a33);
                b = Vector512.Create(x4[c]);
                a40 = Avx512F.FusedMultiplyAdd(b, w0, a40); a41 = Avx512F.FusedMultiplyAdd(b, w1, a41);
                a42 = Avx512F.FusedMultiplyAdd(b, w2, a42); a43 = Avx512F.FusedMultiplyAdd(b, w3, a43);
                b = Vector512.Create(x5[c]);
                a50 = Avx512F.FusedMultiplyAdd(b, w0, a50); a51 = Avx512F.FusedMultiplyAdd(b, w1, a51);
                a52 = Avx512F.FusedMultiplyAdd(b, w2, a52); a53 = Avx512F.FusedMultiplyAdd(b, w3, a53);
            }
            x0 += xb; x1 += xb; x2 += xb; x3 += xb; x4 += xb; x5 += xb;
        }
        Store16(ref t, 0, a00, a01, a02, a03);
        if (t.Count > 1) Store16(ref t, 1, a10, a11, a12, a13);
        if (t.Count > 2) Store16(ref t, 2, a20, a21, a22, a23);
        if (t.Count > 3) Store16(ref t, 3, a30, a31, a32, a33);
        if (t.Count > 4) Store16(ref t, 4, a40, a41, a42, a43);
        if (t.Count > 5) Store16(ref t, 5, a50, a51, a52, a53);
    }

    /// <summary>
    /// Pixels per tile up to which a range's last tile runs <see cref="Tile16x4One"/> per pixel instead of the 6-pixel
    /// tile (0: never; STRIATE_BENCH_PWB16_ONE=N): a 7×7 map is 8 tiles of 6 and 1 of 1, which the 6-pixel tile runs at a
    /// whole tile's time (the ninth of the call); one pixel is load-bound at ~2.5 cycles a channel against 12 for a tile.
    /// </summary>
    internal static int OnePixelMaxCount16 = 3;

    /// <summary>
    /// Whether the first four tiles of a quad's range prefetch the weights the item reads next, one panel each, a line per
    /// input channel (STRIATE_BENCH_PWB16_PREFETCH_W=0: none): in a model the weights come from L3 or memory, where the
    /// per-call bench reads them from L2.
    /// </summary>
    internal static bool PrefetchWeights16 = true;

    /// <summary>
    /// Input blocks ahead at which the 6-pixel tile prefetches its pixels' lines (0: none; STRIATE_BENCH_PWB16_PREFETCH_X=N),
    /// from <see cref="PrefetchMinChannels"/> input channels. ResNet-50 b1 (steps_b1, 50 rounds): 1 ÷ 0 0.974 [CI
    /// 0.961–0.982], 2 ÷ 0 0.975; the 1024→256 @14 conv1s −0.04 ms each (their input comes from the other core's L2).
    /// </summary>
    internal static int PrefetchInput16 = 1;

    /// <summary>
    /// One pixel (<paramref name="i"/> of the tile's addresses) × 4 output blocks: per input channel 4 weight loads, 1
    /// broadcast, 4 FMAs, into two sets of accumulators (even and odd channels, summed at the end: not bit-identical to
    /// the 6-pixel tile's order, within rounding) so 8 FMA chains hide the FMA latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile16x4One(ref Tile16 t, int i)
    {
        float* x = (float*)t.X[i];
        float* w = t.W;
        nint wp = t.WPanel, xb = t.XBlock;
        Vector512<float> s0, s1, s2, s3, u0 = default, u1 = default, u2 = default, u3 = default;
        if (t.First)
        {
            s0 = Vector512.Load(t.Bias); s1 = Vector512.Load(t.Bias + 16); s2 = Vector512.Load(t.Bias + 32); s3 = Vector512.Load(t.Bias + 48);
        }
        else
        {
            float* y = (float*)t.Y[i];
            nint yb = t.YBlock;
            s0 = Vector512.Load(y); s1 = Vector512.Load(y + yb); s2 = Vector512.Load(y + 2 * yb); s3 = Vector512.Load(y + 3 * yb);
        }
        for (int ib = t.Blocks; ib > 0; ib--)
        {
            for (int c = 0; c < V16; c += 2, w += 2 * V16)
            {
                var b = Vector512.Create(x[c]);
                s0 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w), s0);
                s1 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w + wp), s1);
                s2 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w + 2 * wp), s2);
                s3 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w + 3 * wp), s3);
                b = Vector512.Create(x[c + 1]);
                u0 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w + V16), u0);
                u1 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w + wp + V16), u1);
                u2 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w + 2 * wp + V16), u2);
                u3 = Avx512F.FusedMultiplyAdd(b, Vector512.Load(w + 3 * wp + V16), u3);
            }
            x += xb;
        }
        Store16(ref t, i, s0 + u0, s1 + u1, s2 + u2, s3 + u3);
    }

    /// <summary>
    /// Up to 6 pixels × output block <paramref name="q"/> of the quad (6 accumulators): the blocks past the last whole
    /// quad (Cout not a multiple of 64), so rare that its FMA-latency bound does not matter.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile16x1(ref Tile16 t, int q)
    {
        float* w = t.W + q * t.WPanel;
        nint xb = t.XBlock, yq = q * t.YBlock;
        var acc = stackalloc Vector512<float>[6];
        for (int i = 0; i < 6; i++) acc[i] = t.First ? Vector512.Load(t.Bias + q * V16) : Vector512.Load((float*)t.Y[i] + yq);
        for (int ib = 0; ib < t.Blocks; ib++)
            for (int c = 0; c < V16; c++, w += V16)
            {
                var wv = Vector512.Load(w);
                for (int i = 0; i < 6; i++) acc[i] = Avx512F.FusedMultiplyAdd(Vector512.Create(((float*)t.X[i])[ib * xb + c]), wv, acc[i]);
            }
        for (int i = 0; i < t.Count; i++)
        {
            var v = acc[i];
            float* y = (float*)t.Y[i] + yq;
            if (t.Last)
            {
                if (t.R[i] != 0) v += Vector512.Load((float*)t.R[i] + q * t.RBlock);
                if (t.Relu) v = Vector512.Max(v, Vector512<float>.Zero);
            }
            v.Store(y);
        }
    }

    /// <summary>Pixel <paramref name="i"/>'s four vectors into y: on the last chunk with the residual added and ReLU applied, else the partial sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store16(ref Tile16 t, int i, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        float* y = (float*)t.Y[i];
        nint yb = t.YBlock;
        if (t.Last)
        {
            float* r = (float*)t.R[i];
            if (r != null)
            {
                nint rb = t.RBlock;
                v0 += Vector512.Load(r); v1 += Vector512.Load(r + rb); v2 += Vector512.Load(r + 2 * rb); v3 += Vector512.Load(r + 3 * rb);
            }
            if (t.Relu)
            {
                v0 = Vector512.Max(v0, Vector512<float>.Zero); v1 = Vector512.Max(v1, Vector512<float>.Zero);
                v2 = Vector512.Max(v2, Vector512<float>.Zero); v3 = Vector512.Max(v3, Vector512<float>.Zero);
            }
        }
        v0.Store(y); v1.Store(y + yb); v2.Store(y + 2 * yb); v3.Store(y + 3 * yb);
    }
}
