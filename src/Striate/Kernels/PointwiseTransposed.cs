using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// A 1×1 convolution on a small map (7×7, 14×14) as the transposed product: pixels as GEMM's rows, output channels as
/// its columns, yᵀ [P, Cout] = xᵀ [P, Cin] · Wᵀ [Cin, Cout]. The usual product (channels as rows, pixels as columns)
/// pads the pixel axis to whole 32-column tiles on AVX-512: 49 → 64 (31 % of the multiply-adds on zeros), 196 → 224
/// (14 %). As rows, 196 pixels are exactly 14 tiles of 14, and 49 are three tiles of 14 and one of 7 (run by the
/// 8-row tile); on AVX2 (6-row tiles) 49 → 54 and 196 → 198 instead of 64 and 208. Output channels (MobileNet-V2's,
/// ResNet-50's, most of GoogLeNet's) are multiples of 32 and 16, so the columns pad nothing there.
/// The weights, Wᵀ packed as B̃ (<see cref="PackWeights"/>), are packed once (an inference session keeps them); the
/// image, xᵀ packed as Ã, is packed per call, a copy of MR pixels per channel. Each thread takes one part of the tiles
/// (its pixels, packing their Ã itself, or its output channels) and runs it depth block by depth block into yᵀ (a
/// scratch; a product of one depth block keeps each tile in a small L1 buffer instead), storing each tile transposed into y's NCHW planes on
/// the last block, by in-register 16×16 (AVX-512) or 8×8 (AVX2) transposes, with the bias, residual and clamp on the
/// way (ORT/MLAS avoid the transpose by running NCHWc end to end).
/// Shapes: x [k, n] (Cin × P, row-major); W [m, k] (Cout × Cin); y [m, n] (Cout × P); bias [m]; residual [m, Ldr].
/// </summary>
internal static unsafe class PointwiseTransposed
{
    /// <summary>Most pixels taken: 14×14 maps. From 28×28 (784 = 24.5 tiles of 32) the usual product pads 2 % or less.</summary>
    public const int MaxPixels = 196;

    /// <summary>For benchmarks: false sends every product to the usual orientation.</summary>
    internal static bool Enabled = true;

    /// <summary>
    /// Whether the 1×1 product y [m, n] = W [m, k] · x [k, n] runs here: on AVX-512 and AVX2 (whose tiles' transposes
    /// exist), with enough output channels to fill a tile's columns, and where the padding saved outweighs the
    /// transposed store (about a tenth of a 64-deep tile's multiply-adds, a quarter on AVX2's smaller tile).
    /// Measured per shape in one process (bench --only layers, Zen 4, 2 threads, one quiet window): AVX-512 on 7×7 every
    /// MobileNet-V2, GoogLeNet and ResNet-50 shape ran 5–21 % faster (960→320 189 → 150 µs, 2048→512 610 → 481); on
    /// 14×14 depths of 256 and more 4–38 % faster (576→96 137 → 104, 1024→256 536 → 490), depths 64 and 192 slower
    /// (64→384 53 → 60, 192→64 33 → 48), 96 even. AVX2 (196 pads only to 208 there): 7×7 with depth 256 and more
    /// 8–16 % faster (2048→512 624 → 525, 960→160 100 → 89), 160→960 slower (93 → 101), every 14×14 shape slower.
    /// Since the pixel-split parts (each packing its own rows), AVX2 on 14×14 wins at depth 1024 and still loses below
    /// (ResNet-50 at batch 1, in-model, 3 clean rounds: 1024→256 0.56 → 0.51 ms, 1024→512 1.07 → 1.00; depth 512
    /// 512→1024 1.09 → 1.13, depth 256 256→1024 0.54 → 0.64).
    /// Since the AVX2 tile runs a lone last column as a matrix-vector product (49 = 3 · 16 + 1, GemmEdgeColumns.cs), the
    /// usual product is as fast or faster on 7×7 maps up to depth 960 (AVX2, in-model, 3 rounds: 320→1280 0.25–0.28 →
    /// 0.24–0.25 ms, 576→160 0.068–0.094 → 0.062–0.067, 960→320 and 960→160 even, ResNet-50's 512→2048 even; DenseNet-121's
    /// 512…992→128 take their batch norm into the packing again, −0.2 ms over the 16) and slower at 2048 (2048→512 0.59–0.62
    /// → 0.65–0.75): so AVX2 takes depth ≥ 1024 on both map sizes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Takes(GemmPath path, int m, int n, int k) =>
        Enabled && n <= MaxPixels && (long)m * n * k >= Gemm.ParallelThreshold
        && path switch
        {
            GemmPath.Vector512 => m >= 32 && (n <= 64 || k >= 256),
            GemmPath.Vector256 => m >= 16 && (k >= 1024 || (Avx2SevenBySeven && n <= 64 && k >= 256)),
            _ => false,
        };

    /// <summary>For benchmarks: true takes AVX2's 7×7 maps of depth 256 … 1023 here again, as before the one-column tile (STRIATE_BENCH_AVX2_TRANSPOSED_7=1).</summary>
    internal static bool Avx2SevenBySeven = false;

    /// <summary>Floats of the packed weights for W [m, k] on <paramref name="path"/>.</summary>
    public static long PackedWeightsLength(GemmPath path, int m, int k) => path switch
    {
        GemmPath.Vector512 => Length<Gemm512x14x32>(m, k),
        GemmPath.Vector256 => Length<Gemm256x6x16>(m, k),
        GemmPath.Vector128 => Length<Gemm128x6x8>(m, k),
        _ => Length<GemmScalar4x4>(m, k),
    };

    private static long Length<TK>(int m, int k) where TK : struct, IGemmMicrokernel => (long)((m + TK.NR - 1) / TK.NR) * TK.NR * k;

    /// <summary>dst ← Wᵀ [k, m] packed as <paramref name="path"/>'s B̃, every depth block one after another (block pc at pc · RoundUp(m, NR)).</summary>
    public static void PackWeights(GemmPath path, float* w, int m, int k, float* dst)
    {
        switch (path)
        {
            case GemmPath.Vector512: PackWeights<Gemm512x14x32>(w, m, k, dst); break;
            case GemmPath.Vector256: PackWeights<Gemm256x6x16>(w, m, k, dst); break;
            case GemmPath.Vector128: PackWeights<Gemm128x6x8>(w, m, k, dst); break;
            default: PackWeights<GemmScalar4x4>(w, m, k, dst); break;
        }
    }

    private static void PackWeights<TK>(float* w, int m, int k, float* dst) where TK : struct, IGemmMicrokernel
    {
        int kcBlock = GemmDriver<TK>.DepthBlock(k);
        long mPadded = Length<TK>(m, 1);
        for (int pc = 0; pc < k; pc += kcBlock)
            GemmPacking<TK>.PackB(true, w, k, pc, Math.Min(kcBlock, k - pc), 0, m, dst + pc * mPadded);
    }

    [ThreadStatic] private static float[]? t_packedX;
    [ThreadStatic] private static float[]? t_product;

    /// <summary>
    /// y [m, n] ← epilogue(W · x), W packed by <see cref="PackWeights"/> on the same path; the epilogue's bias is per
    /// output channel (y's row) and its residual laid out as y (row stride Ldr).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(GemmPath path, int threads, float* packedW, int m, int k, int n, float* x, float* y, in GemmEpilogue epilogue)
    {
        switch (path)
        {
            case GemmPath.Vector512: Run<Gemm512x14x32>(threads, packedW, m, k, n, x, y, epilogue); break;
            case GemmPath.Vector256: Run<Gemm256x6x16>(threads, packedW, m, k, n, x, y, epilogue); break;
            case GemmPath.Vector128: Run<Gemm128x6x8>(threads, packedW, m, k, n, x, y, epilogue); break;
            default: Run<GemmScalar4x4>(threads, packedW, m, k, n, x, y, epilogue); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TK>(int threads, float* packedW, int m, int k, int n, float* x, float* y, in GemmEpilogue epilogue)
        where TK : struct, IGemmMicrokernel
    {
        if (m == 0 || n == 0) return;
        threads = Math.Max(1, threads);
        // GEMM's rows are the pixels (n of them), its columns the output channels (m).
        int rowTiles = (n + TK.MR - 1) / TK.MR, colTiles = (m + TK.NR - 1) / TK.NR;
        int kcBlock = GemmDriver<TK>.DepthBlock(k), kBlocks = (k + kcBlock - 1) / kcBlock;
        long nPadded = (long)rowTiles * TK.MR, mPadded = (long)colTiles * TK.NR;
        // Ã = xᵀ: per depth block pc, rowTiles strips of kc × MR (zero past pixel n), block pc at pc · nPadded.
        float* aPack = Scratch(ref t_packedX, nPadded * k, out var aHolder);
        float[]? cHolder = null;
        // yᵀ [nPadded + 16, mPadded]: the product before its transposed store; the 16 rows past it are what the
        // transposes of the last row tile read beyond its MR rows (into lanes never stored).
        // One depth block (k ≤ KC): no partial sums to keep between blocks, so each tile's product goes to a small buffer
        // of the thread that runs it instead (TileInL1).
        bool oneBlock = kBlocks == 1 && TileInL1;
        float* product = oneBlock ? null : Scratch(ref t_product, (nPadded + 16) * mPadded, out cHolder);
        // One part per thread, each running every depth block over its tiles (depth outer, so a block of Ã and of the
        // part's B̃ stay in L2 while its tiles use them; each tile's own rows of yᵀ keep the sum between blocks).
        // Parts split the pixels on 14×14 maps (14 row tiles share evenly) and where they split more evenly than the
        // output channels (7×7 maps with 1, 3 or 5 channel tiles); else the channels, each thread streaming half of the
        // weights. Split by pixels, each part packs its own rows of Ã just before its tiles use them (no pass over x by
        // both threads first, and the strips stay in the cache of the thread that reads them). Against channel parts
        // and a shared packing pass first (AVX-512, in-process, one window): 384→64 on 14×14 57 → 48 µs, 480→192 183 →
        // 164, 528→256 264 → 240, 1024→256 489 → 458; 576→160 on 7×7 57 → 48, 832→32 18.8 → 16.4; the rest even.
        int colParts = Math.Min(threads, colTiles), rowParts = Math.Min(threads, rowTiles);
        long byCols = (long)((colTiles + colParts - 1) / colParts) * rowTiles, byRows = (long)((rowTiles + rowParts - 1) / rowParts) * colTiles;
        bool splitRows = n > 64 || byRows < byCols || colParts == 1;
        if (!splitRows)
        {
            var pack = new PackBody<TK> { X = x, N = n, K = k, KcBlock = kcBlock, RowTiles = rowTiles, APack = aPack };
            // Packing is a copy of k × n floats: a fork pays off only for the larger ones.
            if (nPadded * k >= 1 << 15) ParallelFor.Run(kBlocks * rowTiles, ref pack, threads);
            else for (int t = 0; t < kBlocks * rowTiles; t++) pack.Invoke(t);
        }
        var tiles = new PartBody<TK>
        {
            A = aPack, B = packedW, Product = product, Y = y, X = x, M = m, N = n, K = k, KcBlock = kcBlock, RowTiles = rowTiles, ColTiles = colTiles,
            RowParts = splitRows ? rowParts : 1, ColParts = splitRows ? 1 : colParts, PackOwnRows = splitRows, Epilogue = epilogue,
        };
        ParallelFor.Run(tiles.RowParts * tiles.ColParts, ref tiles, threads);
        GC.KeepAlive(aHolder);
        GC.KeepAlive(cHolder);
    }

    /// <summary>The calling thread's pinned scratch of at least <paramref name="floats"/> floats, 64-byte aligned.</summary>
    private static float* Scratch(ref float[]? slot, long floats, out float[] holder)
    {
        float* p = ThreadScratch.Aligned(ref slot, floats, minimum: 4096);
        holder = slot!;
        return p;
    }

    private struct PackBody<TK> : IParallelBody where TK : struct, IGemmMicrokernel
    {
        public float* X, APack;
        public int N, K, KcBlock, RowTiles;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int task)
        {
            int pc = task / RowTiles * KcBlock, i = task % RowTiles * TK.MR;
            int kc = Math.Min(KcBlock, K - pc);
            float* dst = APack + (long)pc * RowTiles * TK.MR + (long)i * kc;
            GemmPacking<TK>.PackA(true, X, N, i, Math.Min(TK.MR, N - i), pc, kc, 1f, dst);
        }
    }

    private struct PartBody<TK> : IParallelBody where TK : struct, IGemmMicrokernel
    {
        public float* A, B, Product, Y, X;
        public int M, N, K, KcBlock, RowTiles, ColTiles, RowParts, ColParts;
        public bool PackOwnRows;
        public GemmEpilogue Epilogue;

        /// <summary>
        /// Part (rows × columns of tiles): depth block by depth block, column tile by column tile (its B̃ panel read from
        /// memory once and kept in L1 across the part's row tiles, <see cref="WeightsOuter"/>; else row tile by row tile
        /// over column blocks), each tile into yᵀ, and on the last block stored transposed into y with the epilogue.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int part)
        {
            int pi = part / ColParts, pj = part % ColParts;
            int i0 = (int)((long)RowTiles * pi / RowParts), i1 = (int)((long)RowTiles * (pi + 1) / RowParts);
            int j0 = (int)((long)ColTiles * pj / ColParts), j1 = (int)((long)ColTiles * (pj + 1) / ColParts);
            long nPadded = (long)RowTiles * TK.MR, mPadded = (long)ColTiles * TK.NR;
            nint ldc = (nint)mPadded;
            // Without a product scratch (one depth block), every tile's product goes to this thread's [16, NR] buffer,
            // which stays in L1: yᵀ's rows are mPadded floats apart (4 KiB for 1024 channels: 14 rows in one L1 set) and
            // the scratch would be written and read back once per element, as large as y.
            float* own = Product == null ? TileBuffer() : null;
            nint ldt = Product == null ? TK.NR : ldc;
            for (int pc = 0; pc < K; pc += KcBlock)
            {
                int kc = Math.Min(KcBlock, K - pc);
                bool last = pc + kc >= K;
                float beta = pc == 0 ? 0f : 1f;
                if (PackOwnRows)
                    GemmPacking<TK>.PackA(true, X, N, i0 * TK.MR, Math.Min(i1 * TK.MR, N) - i0 * TK.MR, pc, kc, 1f, A + pc * nPadded + (long)i0 * TK.MR * kc);
                // The part's rows of x for the next depth block, prefetched a share per tile (PrefetchInput).
                bool prefetchX = PrefetchInput && PackOwnRows && !last;
                int xRows = prefetchX ? Math.Min(KcBlock, K - pc - kc) : 0, xFrom = i0 * TK.MR, xWidth = Math.Min(i1 * TK.MR, N) - xFrom;
                float* xNext = X + (long)(pc + kc) * N + xFrom;
                long xShares = (long)(j1 - j0) * (i1 - i0);
                if (WeightsOuter)
                {
                    // Each column tile's B̃ panel (kc × NR) once from memory, then every row tile of the part over it.
                    // The panel after this one (the next depth block's first after the block's last), spread over
                    // the row tiles, a share of its lines before each (PrefetchPanels).
                    int rowTiles = i1 - i0;
                    for (int tj = j0; tj < j1; tj++)
                    {
                        int j = tj * TK.NR, cols = Math.Min(TK.NR, M - j);
                        float* panel = B + pc * mPadded + (long)j * kc;
                        float* nextPanel = null;
                        long nextBytes = 0;
                        if (PrefetchPanels && rowTiles > 0)
                        {
                            if (tj + 1 < j1) { nextPanel = panel + (long)TK.NR * kc; nextBytes = (long)TK.NR * kc * sizeof(float); }
                            else if (!last)
                            {
                                int kcNext = Math.Min(KcBlock, K - pc - kc);
                                nextPanel = B + (pc + kc) * mPadded + (long)j0 * TK.NR * kcNext;
                                nextBytes = (long)TK.NR * kcNext * sizeof(float);
                            }
                        }
                        long lines = (nextBytes + 63) / 64, perTile = (lines + rowTiles - 1) / Math.Max(1, rowTiles);
                        for (int ti = i0; ti < i1; ti++)
                        {
                            int i = ti * TK.MR, mr = Math.Min(TK.MR, N - i);
                            float* tile = Product == null ? own : Product + i * ldc + j;
                            if (nextPanel != null) PrefetchLines(nextPanel, (ti - i0) * perTile, Math.Min(lines, (ti - i0 + 1) * perTile));
                            if (prefetchX) PrefetchRows(xNext, N, xRows, xWidth, (long)(tj - j0) * rowTiles + ti - i0, xShares);
                            if (last && PrefetchStores && Epilogue.Residual != null) PrefetchStore(Y + (long)j * N + i, N, Epilogue.At(j, i), mr, cols);
                            RunTile<TK>(kc, A + pc * nPadded + (long)i * kc, mr, panel, tile, ldt, beta);
                            if (last) StoreTransposed<TK>(tile, ldt, mr, cols, Y + (long)j * N + i, N, Epilogue.At(j, i));
                        }
                    }
                    continue;
                }
                // Column blocks of B̃ small enough to stay in L2 while every row tile of the part runs over them.
                int colBlock = Math.Max(1, ColumnBlockFloats / (kc * TK.NR));
                for (int jb = j0; jb < j1; jb += colBlock)
                for (int ti = i0; ti < i1; ti++)
                {
                    int i = ti * TK.MR, mr = Math.Min(TK.MR, N - i);
                    // B̃ is zero past channel M, so the tile's columns are always whole.
                    float* aStrip = A + pc * nPadded + (long)i * kc;
                    for (int tj = jb, jEnd = Math.Min(j1, jb + colBlock); tj < jEnd; tj++)
                    {
                        int j = tj * TK.NR;
                        float* tile = Product == null ? own : Product + i * ldc + j;
                        if (last && PrefetchStores && Epilogue.Residual != null) PrefetchStore(Y + (long)j * N + i, N, Epilogue.At(j, i), mr, Math.Min(TK.NR, M - j));
                        RunTile<TK>(kc, aStrip, mr, B + pc * mPadded + (long)j * kc, tile, ldt, beta);
                        if (last) StoreTransposed<TK>(tile, ldt, mr, Math.Min(TK.NR, M - j), Y + (long)j * N + i, N, Epilogue.At(j, i));
                    }
                }
            }
        }
    }

    /// <summary>
    /// Weights-outer parts prefetch the next B̃ panel while the row tiles run over this one, a share of its lines before
    /// each row tile (STRIATE_BENCH_TRANSPOSED_PREFETCH=0: not). At batch 1 every 1×1 reads its whole weight matrix from
    /// memory once per call (ResNet-50's ~100 MB of weights pass through a 32 MiB L3): each panel's first row tile waited
    /// for it. Zen 3, AVX2 only, one process, arms alternated call by call, weights from memory (48 copies), x written by
    /// the step before: 1024→256 @14 0.963 / 0.983 of the time without, 1024→512 @14 0.988 / 0.955, 2048→512 @7 0.942 /
    /// 0.956 (A/A 0.992–1.003). ResNet-50 b1, steps_b1 --procs 3 both orientations: the nine steps it reaches 0.02–0.14 ms
    /// slower without in one (12 of 55 CIs out of 0), mixed in the other (sums −0.27 / +2.16 ms over all steps, CIs hold 1).
    /// </summary>
    internal static bool PrefetchPanels = true;

    /// <summary>
    /// Pixel-split parts prefetch their rows of x for the next depth block while this block's tiles run, a share before
    /// each tile (STRIATE_BENCH_TRANSPOSED_PREFETCH=2 or 3), so the next block's packing reads them from this core's
    /// caches: at batch 1 x was just written by the step before, half of it by the other thread. Off: alone 0.971 / 0.994
    /// (1024→256 / 1024→512 @14, per-call pairs), with the panels no better than the panels alone (0.984 / 0.960), and a
    /// step's x written by the other split cost only ~1 % (per-call pairs with and without the producer step before).
    /// </summary>
    internal static bool PrefetchInput = false;

    /// <summary>The cache lines of [<paramref name="p"/> + 16·from, <paramref name="p"/> + 16·to) floats, prefetched (T0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchLines(float* p, long from, long to)
    {
        if (from < to) CacheLine.Prefetch(p + from * 16, (to - from) * 16);
    }

    /// <summary>
    /// Share <paramref name="q"/> of <paramref name="shares"/> of <paramref name="rows"/> rows of x (one every
    /// <paramref name="ldx"/> floats) from <paramref name="x"/>, <paramref name="width"/> floats of each, prefetched (T0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRows(float* x, nint ldx, int rows, int width, long q, long shares)
    {
        if (width <= 0) return;
        long r0 = rows * q / shares, r1 = rows * (q + 1) / shares;
        for (long r = r0; r < r1; r++) CacheLine.Prefetch(x + r * ldx, width);
    }

    /// <summary>
    /// For benchmarks (STRIATE_BENCH_TRANSPOSED_TILES=0 turns all three off, the form before 2026-12-05 06:30): one-block
    /// products keep each tile in L1 (<see cref="TileBuffer"/>), not in the [P, Cout] scratch; the tiles run in column
    /// blocks of <see cref="ColumnBlockFloats"/>; the store's lines are prefetched as the tile starts (<see cref="PrefetchStore"/>).
    /// </summary>
    internal static bool TileInL1 = true, PrefetchStores = true;

    /// <summary>
    /// Column tile outer, row tiles inner, in every depth block (STRIATE_BENCH_TRANSPOSED_WEIGHTS_OUTER=0: row tile outer
    /// over column blocks of <see cref="ColumnBlockFloats"/>). At batch 1 the weights (1–4 MiB per layer, ResNet-50's
    /// ~100 MB in all) come from memory on every run: row tile outer, the part's first row tile reads its whole depth
    /// block of B̃ (256 KiB) in 16 tiles' time; panel by panel, each 16 KiB panel feeds all of the part's row tiles
    /// (9 on 7×7, 16–17 on 14×14) before the next is needed.
    /// </summary>
    internal static bool WeightsOuter = true;

    /// <summary>
    /// One tile of the product: <paramref name="rows"/> pixels (the strip's first; Ã strips are MR pixels wide) by NR
    /// channels into <paramref name="tile"/>, C = Ã·B̃ + beta·C. An AVX2 map's lone last pixel (49 = 8 · 6 + 1) runs
    /// <see cref="Tile1"/> instead of the 4-row tile (<see cref="OneRowTile"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunTile<TK>(int kc, float* aStrip, int rows, float* panel, float* tile, nint ldt, float beta)
        where TK : struct, IGemmMicrokernel
    {
        if (typeof(TK) == typeof(Gemm256x6x16) && rows == 1 && OneRowTile && Fma.IsSupported)
        {
            Tile1(kc, aStrip, panel, tile, beta);
            return;
        }
        var store = new GemmTileStore(rows, TK.NR, rows == TK.MR, GemmEpilogue.None);
        TK.Run(kc, aStrip, panel, tile, ldt, beta, in store);
    }

    /// <summary>
    /// For benchmarks: false runs an AVX2 map's lone last pixel through the 4-row tile again
    /// (STRIATE_BENCH_TRANSPOSED_ONE_ROW=0).
    /// </summary>
    internal static bool OneRowTile = true;

    /// <summary>
    /// c[0, 0..15] ← Σ_p a[6p] · b̃[16p + j] + beta · c, the first pixel of a packed AVX2 strip (6 floats per depth) by a
    /// 16-channel B̃ panel: ResNet-50's 2048→512 on 7×7 leaves one pixel in its ninth row tile, which the 4-row tile ran
    /// at two thirds of a whole tile's time (4 cycles a depth for 1 useful row of 6). Four pairs of accumulators over
    /// interleaved depths (p mod 4) keep both FMA pipes fed (two would wait on the FMA latency), summed at the end: the
    /// sum's order differs from the tiles' (not bit-identical to the 4-row tile, within rounding).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Tile1(int kc, float* a, float* b, float* c, float beta)
    {
        Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default,
            s30 = default, s31 = default;
        int p = 0;
        for (; p + 4 <= kc; p += 4, a += 24, b += 64)
        {
            var a0 = Vector256.Create(a[0]);
            s00 = Vector256.MultiplyAddEstimate(a0, Vector256.Load(b), s00); s01 = Vector256.MultiplyAddEstimate(a0, Vector256.Load(b + 8), s01);
            var a1 = Vector256.Create(a[6]);
            s10 = Vector256.MultiplyAddEstimate(a1, Vector256.Load(b + 16), s10); s11 = Vector256.MultiplyAddEstimate(a1, Vector256.Load(b + 24), s11);
            var a2 = Vector256.Create(a[12]);
            s20 = Vector256.MultiplyAddEstimate(a2, Vector256.Load(b + 32), s20); s21 = Vector256.MultiplyAddEstimate(a2, Vector256.Load(b + 40), s21);
            var a3 = Vector256.Create(a[18]);
            s30 = Vector256.MultiplyAddEstimate(a3, Vector256.Load(b + 48), s30); s31 = Vector256.MultiplyAddEstimate(a3, Vector256.Load(b + 56), s31);
        }
        for (; p < kc; p++, a += 6, b += 16)
        {
            var a0 = Vector256.Create(a[0]);
            s00 = Vector256.MultiplyAddEstimate(a0, Vector256.Load(b), s00); s01 = Vector256.MultiplyAddEstimate(a0, Vector256.Load(b + 8), s01);
        }
        var x0 = (s00 + s10) + (s20 + s30);
        var x1 = (s01 + s11) + (s21 + s31);
        if (beta != 0)
        {
            var vb = Vector256.Create(beta);
            x0 = Vector256.MultiplyAddEstimate(Vector256.Load(c), vb, x0);
            x1 = Vector256.MultiplyAddEstimate(Vector256.Load(c + 8), vb, x1);
        }
        Vector256.Store(x0, c);
        Vector256.Store(x1, c + 8);
    }

    /// <summary>
    /// Floats of B̃ (kc × NR per column tile) in one column block: every row tile of a part runs over a block before the
    /// next, so the block stays in L2 (int.MaxValue: one block, each row tile over all of B̃). 256→1024 on 14×14 streams
    /// 1 MiB of B̃ per row tile without blocks, from L3.
    /// </summary>
    internal static int ColumnBlockFloats = 1 << 16;

    /// <summary>
    /// Prefetches (T0) what <see cref="StoreTransposed{TK}"/> will touch after the tile's product when it adds a residual:
    /// the residual's and y's <paramref name="cols"/> rows at <paramref name="rows"/> pixels each (a segment of 14 floats
    /// can cross a line). That store reads 32 residual rows and writes 32 output rows, each its own stream (rows 196 or 49
    /// floats apart), that the hardware prefetchers do not follow; the product (kc · 28 multiply-adds) runs long enough to
    /// hide them. Without a residual the prefetch of y alone made DenseNet-121's 1×1s on 14×14 ~5 µs slower each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchStore(float* y, nint ldy, in GemmEpilogue e, int rows, int cols)
    {
        if (!Sse.IsSupported) return;
        for (int c = 0; c < cols; c++, y += ldy)
        {
            Sse.Prefetch0(y);
            Sse.Prefetch0(y + rows - 1);
        }
        float* r = e.Residual;
        for (int c = 0; c < cols; c++, r += e.Ldr)
        {
            Sse.Prefetch0(r);
            Sse.Prefetch0(r + rows - 1);
        }
    }

    /// <summary>The calling thread's buffer for one tile's product: [16, 32] floats (rows past MR are read by the transposes, never stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* TileBuffer() => SmallBuffer(ref t_tile);

    [ThreadStatic] private static float[]? t_tile;

    /// <summary>The calling thread's buffer for a transposed tile: [32, 16] floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* TransposeBuffer() => SmallBuffer(ref t_transposed);

    [ThreadStatic] private static float[]? t_transposed;

    /// <summary>The calling thread's pinned, line-aligned buffer of 512 floats in <paramref name="slot"/> (a [ThreadStatic] field), made on first use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* SmallBuffer(ref float[]? slot)
    {
        var t = slot;
        if (t == null) slot = t = GC.AllocateArray<float>(512 + CacheLine.SlackFloats, pinned: true);
        return CacheLine.Align((float*)Unsafe.AsPointer(ref t[0]));
    }

    /// <summary>For benchmarks: false stores whole AVX2 tiles with masked stores too (STRIATE_BENCH_AVX2_PLAIN_STORE=0).</summary>
    internal static bool Avx2PlainStores = true;

    /// <summary>
    /// A whole AVX2 tile's 6 pixels per channel (t: [16, 8], lanes 6 and 7 unused) stored, and the residual read, as 4 + 2
    /// floats with plain moves: vmaskmovps, which the 8-lane form needs, is a slow store on AMD cores (microcoded there),
    /// and a whole tile always has exactly 6 pixels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreSixPixels(float* t, int cols, float* y, nint ldy, in GemmEpilogue e)
    {
        var lo = Vector128.Create(e.Lo);
        var hi = Vector128.Create(e.Hi);
        bool clamp = e.Clamps;
        for (int c = 0; c < cols; c++)
        {
            var v0 = Vector128.Load(t + c * 8);
            var v1 = Sse2.LoadScalarVector128((double*)(t + c * 8 + 4)).AsSingle();
            if (e.Bias != null)
            {
                var b = Vector128.Create(e.Bias[c]);
                v0 += b;
                v1 += b;
            }
            if (e.Residual != null)
            {
                float* r = e.Residual + c * e.Ldr;
                v0 += Vector128.Load(r);
                v1 += Sse2.LoadScalarVector128((double*)(r + 4)).AsSingle();
            }
            if (clamp)
            {
                // max(lo, x) then min(hi, ·) with x second: NaN passes through, as in the masked form.
                v0 = Vector128.MinNative(hi, Vector128.MaxNative(lo, v0));
                v1 = Vector128.MinNative(hi, Vector128.MaxNative(lo, v1));
            }
            float* d = y + c * ldy;
            Vector128.Store(v0, d);
            Sse2.StoreScalar((double*)(d + 4), v1.AsDouble());
        }
    }

    /// <summary>
    /// y[c, r] ← clamp(tile[r, c] + bias[c] + residual[c, r]) for pixels r &lt; rows and channels c &lt; cols; the tile's
    /// rows are <paramref name="ldt"/> apart (and readable up to the transpose block's height, 16 or 8), y's and the
    /// residual's rows <paramref name="ldy"/> and e.Ldr.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void StoreTransposed<TK>(float* tile, nint ldt, int rows, int cols, float* y, nint ldy, in GemmEpilogue e)
        where TK : struct, IGemmMicrokernel
    {
        float* t = TransposeBuffer();
        if (TK.MR == 14 && TK.NR == 32 && Avx512F.IsSupported)
        {
            // t: [32, 16] (channels × pixels), from the tile's two 16×16 halves (rows 14 and 15 past the tile).
            Transpose.Block16(tile, ldt, t, 16);
            Transpose.Block16(tile + 16, ldt, t + 256, 16);
            var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(rows)).AsSingle();
            var lo = Vector512.Create(e.Lo);
            var hi = Vector512.Create(e.Hi);
            bool clamp = e.Clamps;
            for (int c = 0; c < cols; c++)
            {
                var v = Vector512.Load(t + c * 16);
                if (e.Bias != null) v += Vector512.Create(e.Bias[c]);
                if (e.Residual != null) v += Avx512F.MaskLoad(e.Residual + c * e.Ldr, mask, Vector512<float>.Zero);
                // max(lo, x) then min(hi, ·) with x second: NaN passes through, as in the GEMM's own store.
                if (clamp) v = Vector512.MinNative(hi, Vector512.MaxNative(lo, v));
                Avx512F.MaskStore(y + c * ldy, mask, v);
            }
            return;
        }
        if (TK.MR == 6 && TK.NR == 16 && Avx.IsSupported)
        {
            // t: [16, 8] (channels × pixels), from the tile's two 8×8 halves (rows 6 and 7 past the tile).
            Transpose.Block8(tile, ldt, t, 8);
            Transpose.Block8(tile + 8, ldt, t + 64, 8);
            if (rows == 6 && Avx2PlainStores)
            {
                StoreSixPixels(t, cols, y, ldy, in e);
                return;
            }
            var mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(rows)).AsSingle();
            var lo = Vector256.Create(e.Lo);
            var hi = Vector256.Create(e.Hi);
            bool clamp = e.Clamps;
            for (int c = 0; c < cols; c++)
            {
                var v = Avx.LoadVector256(t + c * 8);
                if (e.Bias != null) v += Vector256.Create(e.Bias[c]);
                if (e.Residual != null) v += Avx.MaskLoad(e.Residual + c * e.Ldr, mask);
                if (clamp) v = Vector256.MinNative(hi, Vector256.MaxNative(lo, v));
                Avx.MaskStore(y + c * ldy, mask, v);
            }
            return;
        }
        for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++)
        {
            float v = tile[r * ldt + c];
            if (e.Bias != null) v += e.Bias[c];
            if (e.Residual != null) v += e.Residual[c * e.Ldr + r];
            if (e.Clamps) v = MathF.Min(e.Hi, MathF.Max(e.Lo, v)); // NaN passes through, as in the vector stores
            y[c * ldy + r] = v;
        }
    }
}
