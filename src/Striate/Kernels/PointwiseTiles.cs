using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// The product of a 1×1 convolution on a small map (an image's 7×7 or 14×14 plane: 49 or 196 columns), spread over
/// the threads register tile by register tile. The general driver (<see cref="GemmDriver{TKernel}"/>) cuts C into
/// a few rectangles and each packs its own columns of B; with few row strips (16–32 output channels) and few column
/// strips it makes one part, and one thread computes it (GoogLeNet's 512→24 on 14×14). Here B̃ is packed once,
/// shared, and the MR × NR tiles are the parallel tasks, each running every depth block of its tile with C kept in
/// cache between them and the epilogue on the last.
/// Shapes: A packed whole (<see cref="Gemm.PackA"/>) [m, k]; B [k, n] row-major; C [m, n] row-major.
/// </summary>
internal static unsafe class PointwiseTiles
{
    /// <summary>Widest column count (pixels of one image's plane) taken: 16×16 maps; wider ones split columns well already.</summary>
    public const int MaxColumns = 256;

    /// <summary>For benchmarks: false sends every product to the general driver.</summary>
    internal static bool Enabled = true;

    /// <summary>
    /// Whether the product C [m, n] = A [m, k] · B [k, n] runs here on <paramref name="threads"/> threads: when the
    /// general driver's cut (<see cref="GemmDriver{TKernel}.Split"/>) would keep its busiest thread at least
    /// <see cref="MinImbalance"/> times longer than an even spread of the tiles. Where its cut is even, it stays: each of
    /// its threads packs its own B in parallel, where here one thread packs B̃ for both (k·n floats before any tile),
    /// and MobileNet-V2's 64→384 on 14×14 ran 54 µs there against 61 µs here (AVX-512, one quiet window).
    /// On AVX2 by that rule never (the driver cuts AVX2's 6×16 tiles more evenly; of the two shapes it leaves uneven,
    /// GoogLeNet's 832→32 on 7×7 ran faster here, 35 → 28 µs, but 480→16 on 14×14 slower, 30 → 34–37 µs), but by
    /// <see cref="Avx2"/>: many output channels on a 14×14 map.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Takes(GemmPath path, int threads, int m, int n, int k) =>
        Enabled && threads > 1 && n <= MaxColumns && Gemm.UsesPackedA(path, m) && (long)m * n * k >= Gemm.ParallelThreshold
        && (path == GemmPath.Vector256 && Avx2 && n > 64 && m >= Avx2MinRows || path == GemmPath.Vector512 && path switch
        {
            GemmPath.Vector512 => Imbalance<Gemm512x14x32>(threads, m, n, k),
            GemmPath.Vector256 => Imbalance<Gemm256x6x16>(threads, m, n, k),
            GemmPath.Vector128 => Imbalance<Gemm128x6x8>(threads, m, n, k),
            _ => Imbalance<GemmScalar4x4>(threads, m, n, k),
        } >= MinImbalance);

    /// <summary>
    /// AVX2 runs a 14×14 map's product of <see cref="Avx2MinRows"/> output channels or more here (ResNet-50's 256→1024),
    /// not in the general driver (STRIATE_BENCH_AVX2_POINTWISE_TILES=0: the driver). The 2223 tiles balance over the threads
    /// as they finish; the driver's two fixed parts ran it at 1.56× one thread's speed (per-call pairs, weights from memory).
    /// ResNet-50 at batch 1 (Zen 3, AVX2 only, steps_b1 --procs 3, 60 rounds, both orientations): the six 256→1024 @14
    /// 0.016–0.057 and 0.040–0.095 ms faster each (sums −0.25 / −0.34 ms); 512→2048 @7 even (−0.03…+0.04), so 7×7 maps stay
    /// with the driver. In one process, arms alternated call by call: 256→1024 @14 0.976 of the driver, 512→2048 @7 0.981.
    /// </summary>
    internal static bool Avx2 = true;

    /// <summary>Fewest output channels AVX2 takes here: ResNet-50's expansions; GoogLeNet's and MobileNet-V2's 14×14 1×1s (≤ 576) stay unmeasured with the driver.</summary>
    internal const int Avx2MinRows = 1024;

    /// <summary>
    /// The driver's busiest thread against an even spread, both in register tiles: 2 for GoogLeNet's 512→24 on 14×14
    /// with AVX-512 (2 row strips: one part), 1.14 for MobileNet-V2's 576→96 (7 row strips in two parts, 4 + 3), 1 for 64→384.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Imbalance<TK>(int threads, int m, int n, int k) where TK : struct, IGemmMicrokernel
    {
        int mTiles = (m + TK.MR - 1) / TK.MR, nTiles = (n + TK.NR - 1) / TK.NR;
        var (mParts, nParts) = GemmDriver<TK>.Split(m, n, k, mTiles, nTiles, packedA: true, threads);
        int parts = mParts * nParts;
        long partTiles = (long)((mTiles + mParts - 1) / mParts) * ((nTiles + nParts - 1) / nParts);
        double busiest = (double)((parts + threads - 1) / threads) * partTiles, even = (double)mTiles * nTiles / threads;
        return busiest / even;
    }

    /// <summary>The least <see cref="Imbalance{TK}"/> taken here.</summary>
    internal const double MinImbalance = 1.3;

    [ThreadStatic] private static float[]? t_packedB;

    /// <summary>C ← epilogue(A·B), A packed for <paramref name="path"/>'s tile; C's row stride is n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(GemmPath path, int threads, float* packedA, int m, int k, int n, float* b, float* c, in GemmEpilogue epilogue)
    {
        switch (path)
        {
            case GemmPath.Vector512: Run<Gemm512x14x32>(threads, packedA, m, k, n, b, c, epilogue); break;
            case GemmPath.Vector256: Run<Gemm256x6x16>(threads, packedA, m, k, n, b, c, epilogue); break;
            case GemmPath.Vector128: Run<Gemm128x6x8>(threads, packedA, m, k, n, b, c, epilogue); break;
            default: Run<GemmScalar4x4>(threads, packedA, m, k, n, b, c, epilogue); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TK>(int threads, float* packedA, int m, int k, int n, float* b, float* c, in GemmEpilogue epilogue)
        where TK : struct, IGemmMicrokernel
    {
        int mTiles = (m + TK.MR - 1) / TK.MR, nTiles = (n + TK.NR - 1) / TK.NR;
        // Depth blocks as the driver cuts them (and as the packed A is laid out): k split evenly, at most KC deep.
        int kcBlock = GemmDriver<TK>.DepthBlock(k), kBlocks = (k + kcBlock - 1) / kcBlock;
        // B̃: per depth block pc, nTiles strips of kc × NR (zero past column n), as the driver packs one block:
        // block pc starts at pc · RoundUp(n, NR), as Ã's block pc starts at pc · RoundUp(m, MR).
        long bFloats = (long)nTiles * TK.NR * k;
        float* bPack = ThreadScratch.Aligned(ref t_packedB, bFloats, minimum: 4096);
        var holder = t_packedB;
        var pack = new PackBody<TK> { B = b, N = n, K = k, KcBlock = kcBlock, NTiles = nTiles, BPack = bPack };
        // Packing is a copy of k × n floats: a fork pays off only for the larger ones.
        if (bFloats >= 1 << 15) ParallelFor.Run(kBlocks * nTiles, ref pack, threads);
        else for (int t = 0; t < kBlocks * nTiles; t++) pack.Invoke(t);
        var tiles = new TileBody<TK> { A = packedA, BPack = bPack, C = c, M = m, N = n, K = k, KcBlock = kcBlock, NTiles = nTiles, Epilogue = epilogue };
        ParallelFor.Run(mTiles * nTiles, ref tiles, threads);
        GC.KeepAlive(holder);
    }

    private struct PackBody<TK> : IParallelBody where TK : struct, IGemmMicrokernel
    {
        public float* B, BPack;
        public int N, K, KcBlock, NTiles;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int task)
        {
            int pc = task / NTiles * KcBlock, j = task % NTiles * TK.NR;
            int kc = Math.Min(KcBlock, K - pc);
            float* dst = BPack + (long)pc * NTiles * TK.NR + (long)j * kc;
            GemmPacking<TK>.PackB(false, B, N, pc, kc, j, Math.Min(TK.NR, N - j), dst);
        }
    }

    private struct TileBody<TK> : IParallelBody where TK : struct, IGemmMicrokernel
    {
        public float* A, BPack, C;
        public int M, N, K, KcBlock, NTiles;
        public GemmEpilogue Epilogue;

        /// <summary>Tile (i, j): C[i·MR.., j·NR..] over every depth block, the epilogue riding on the last one's store.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int task)
        {
            int i = task / NTiles * TK.MR, j = task % NTiles * TK.NR;
            int mr = Math.Min(TK.MR, M - i), nr = Math.Min(TK.NR, N - j);
            bool whole = mr == TK.MR && nr == TK.NR;
            long mPadded = (M + TK.MR - 1) / TK.MR * TK.MR, nPadded = (long)NTiles * TK.NR;
            float* c = C + (long)i * N + j;
            for (int pc = 0; pc < K; pc += KcBlock)
            {
                int kc = Math.Min(KcBlock, K - pc);
                bool last = pc + kc >= K;
                var store = new GemmTileStore(mr, nr, whole, last ? Epilogue.At(i, j) : GemmEpilogue.None);
                TK.Run(kc, A + pc * mPadded + (long)i * kc, BPack + pc * nPadded + (long)j * kc, c, N, pc == 0 ? 0f : 1f, in store);
            }
        }
    }
}
