using System.Runtime.CompilerServices;
using static Striate.Kernels.IntMath;

namespace Striate.Kernels;

/// <summary>
/// The product of a 1×1 convolution on a large map (an image's 28×28 or wider plane) with the activation read in place:
/// C [m, n] = A [m, k] · B [k, n], where B is the input image [Cin, H·W] as it lies in memory (or, for a strided 1×1
/// at batch 1, its subsampled copy). The general driver (<see cref="GemmDriver{TKernel}"/>) first copies B into B̃
/// panels, k · n floats per call (a 256 × 3136 image is 3.2 MB); here the register tile loads each depth's NR pixels
/// straight from row p of B (<see cref="IGemmRowsInPlace.RunInPlace"/>), and only a block's last, partial column strip
/// (784 = 24·32 + 16) is packed, once per block. Loops: part (as the driver cuts C) → column block (its kc rows of B
/// sized for L2) → depth block → row strip (Ã strip in L1) → column strip. ResNet-50 at batch 1 on Zen 4 (AVX-512):
/// its 1×1s on 56×56/28×28 9.1–9.3 → 8.6–8.9 ms (256→64@56 0.54–0.59 → 0.47); MobileNet-V2's 32→16@112 0.11 → 0.08–0.10.
/// Shapes: A packed whole (<see cref="Gemm.PackA"/>) [m, k]; B [k, n] row-major; C [m, n] row-major.
/// </summary>
internal static unsafe class PointwiseRows
{
    /// <summary>For benchmarks: false sends every product to the general driver (STRIATE_BENCH_POINTWISE_ROWS=0).</summary>
    internal static bool Enabled = true;

    /// <summary>Narrowest product taken (pixels of one plane): 28×28 and wider; smaller maps have their own paths.</summary>
    public const int MinColumns = 512;

    /// <summary>
    /// For benchmarks: false runs <see cref="RunHere"/>'s last 15–16 rows as the 14-row tile and a short one, not as one
    /// tall tile (STRIATE_BENCH_TALL_TILE=0). <see cref="Run"/> keeps the two: on MobileNet-V2's 32→16 @112 as a step of
    /// its own the tall tile ran no faster (0.089–0.111 ms against 0.089–0.100, its input coming from memory), inside the
    /// stem's bands (input in L2) 0.318–0.349 against 0.337 for the whole step (AVX-512, one window each).
    /// </summary>
    internal static bool TallTile = true;

    /// <summary>Floats of B (kc rows × the block's columns) one column block reads, sized to stay in a 1 MiB L2.</summary>
    internal static int BlockFloats = 1 << 17;

    /// <summary>
    /// Whether C [m, n] = A [m, k] · B [k, n] (A packed) runs here on <paramref name="path"/>: AVX-512 from n ≥
    /// <see cref="MinColumns"/>; AVX2 (whose tile is faster from B̃ on ResNet-50's 1×1s, see <see cref="IGemmRowsInPlace"/>)
    /// only for products of few rows on 28×28-sized maps (m ≤ <see cref="Avx2MaxRows"/>, n from <see cref="MinColumns"/>
    /// to <see cref="Avx2MaxColumns"/>), where packing B̃ costs most per multiply-add: each packed element serves only m rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Takes(GemmPath path, int m, int n, int k) =>
        Enabled && n >= MinColumns && Gemm.UsesPackedA(path, m)
        && (path == GemmPath.Vector512 || path == GemmPath.Vector256 && m <= Avx2MaxRows && n <= Avx2MaxColumns);

    /// <summary>
    /// Most rows (output channels) of an AVX2 product taken (<see cref="Takes"/>); 0 keeps every AVX2 product on B̃
    /// (STRIATE_BENCH_AVX2_POINTWISE_ROWS=0). GoogLeNet at batch 1 (Zen 3, AVX2 only, one session flipping this field
    /// between profiles, 16 × 20 runs, three windows): inception3a's 192→32 @28 0.087–0.089 → 0.071–0.072 ms (min),
    /// inception3b's 256→64 @28 0.186 → 0.168–0.171; ResNet-50's 64-row 1×1s on 56×56 are not taken
    /// (<see cref="Avx2MaxColumns"/>; GoogLeNet's 64→64 @56 ran 0–2 % slower in place), nor 14×14 maps (2–6 % slower in place).
    /// </summary>
    internal static int Avx2MaxRows = 64;

    /// <summary>Widest AVX2 product taken: 28×28 maps (784 pixels); 56×56 ones stay on B̃.</summary>
    internal const int Avx2MaxColumns = 1024;

    /// <summary>
    /// C ← epilogue(A·B), A packed for <paramref name="path"/>'s tile; B's and C's row stride is n. Tests pass a small
    /// <paramref name="blockFloats"/> to cut the columns into several blocks; 0 takes <see cref="BlockFloats"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(GemmPath path, int threads, float* packedA, int m, int k, int n, float* b, float* c, in GemmEpilogue epilogue,
        int blockFloats = 0)
    {
        if (blockFloats <= 0) blockFloats = BlockFloats;
        if (path == GemmPath.Vector512) Run<Gemm512x14x32>(threads, packedA, m, k, n, b, c, epilogue, blockFloats);
        else if (path == GemmPath.Vector256) Run<Gemm256x6x16>(threads, packedA, m, k, n, b, c, epilogue, blockFloats);
        else throw new PlatformNotSupportedException($"PointwiseRows: no in-place tile for {path}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TK>(int threads, float* packedA, int m, int k, int n, float* b, float* c, in GemmEpilogue epilogue, int blockFloats)
        where TK : struct, IGemmRowsInPlace
    {
        int mTiles = (m + TK.MR - 1) / TK.MR, nTiles = (n + TK.NR - 1) / TK.NR;
        int mParts = 1, nParts = 1;
        if (threads > 1 && (long)m * n * k >= Gemm.ParallelThreshold)
            (mParts, nParts) = GemmDriver<TK>.Split(m, n, k, mTiles, nTiles, packedA: true, threads);
        var body = new Body<TK> { A = packedA, B = b, C = c, M = m, N = n, K = k, Ldb = n, Ldc = n, Tall = false, MParts = mParts, NParts = nParts,
            MTiles = mTiles, NTiles = nTiles, BlockFloats = blockFloats, Epilogue = epilogue };
        if (mParts * nParts == 1) body.Invoke(0);
        else ParallelFor.Run(mParts * nParts, ref body, threads);
    }

    /// <summary>
    /// For benchmarks: false packs each band's B̃ on AVX2 again (STRIATE_BENCH_AVX2_BANDS_IN_PLACE=0), as before the AVX2
    /// in-place tile (GemmRowsInPlace.Avx2.cs) was used there.
    /// </summary>
    internal static bool Avx2Bands = true;

    /// <summary>
    /// Whether a fused step's band product (B's rows just written, in L2) runs in place (<see cref="RunHere"/>) on
    /// <paramref name="path"/>: AVX-512, and AVX2, whose in-place tile loses on whole maps from memory but not on a band.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TakesBand(GemmPath path) =>
        Enabled && (path == GemmPath.Vector512 || path == GemmPath.Vector256 && Avx2Bands);

    /// <summary>
    /// As <see cref="Run"/> on the calling thread, with B's and C's own row strides (a band of a larger map: a fused
    /// step's staged rows, the band's columns of the output); AVX-512 and AVX2 (<see cref="TakesBand"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunHere(GemmPath path, float* packedA, int m, int k, int n, float* b, nint ldb, float* c, nint ldc, in GemmEpilogue epilogue)
    {
        if (m <= 0 || n <= 0 || k <= 0) throw new ArgumentException($"PointwiseRows: empty product {m}×{n}×{k}.");
        if (path == GemmPath.Vector512) RunHere<Gemm512x14x32>(packedA, m, k, n, b, ldb, c, ldc, epilogue);
        else if (path == GemmPath.Vector256) RunHere<Gemm256x6x16>(packedA, m, k, n, b, ldb, c, ldc, epilogue);
        else throw new PlatformNotSupportedException($"PointwiseRows: no in-place tile for {path}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunHere<TK>(float* packedA, int m, int k, int n, float* b, nint ldb, float* c, nint ldc, in GemmEpilogue epilogue)
        where TK : struct, IGemmRowsInPlace
    {
        // The AVX2 tile has no tall form (TallRows 0).
        var body = new Body<TK> { A = packedA, B = b, C = c, M = m, N = n, K = k, Ldb = ldb, Ldc = ldc, Tall = TallTile && TK.TallRows > 0, MParts = 1, NParts = 1,
            MTiles = (m + TK.MR - 1) / TK.MR, NTiles = (n + TK.NR - 1) / TK.NR, BlockFloats = BlockFloats, Epilogue = epilogue };
        body.Invoke(0);
    }

    private struct Body<TK> : IParallelBody where TK : struct, IGemmRowsInPlace
    {
        public float* A, B, C;
        public nint Ldb, Ldc;
        public bool Tall;
        public int M, N, K, MParts, NParts, MTiles, NTiles, BlockFloats;
        public GemmEpilogue Epilogue;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            var (i0, i1, j0, j1) = GemmDriver<TK>.Part(index, M, N, MParts, NParts, MTiles, NTiles);
            if (i0 < i1 && j0 < j1) Block(i0, i1, j0, j1);
        }

        /// <summary>C[i0..i1, j0..j1] = epilogue(A[i0..i1, :] · B[:, j0..j1]).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Block(int i0, int i1, int j0, int j1)
        {
            int MR = TK.MR, NR = TK.NR;
            int kcBlock = GemmDriver<TK>.DepthBlock(K);
            int ncBlock = Math.Max(NR, BlockFloats / kcBlock / NR * NR);
            long mPadded = RoundUp(M, MR);
            // edge: the block's last strip when it is narrower than NR, packed [kc, NR] (zero past column n)
            float* edge = GemmScratch.Get(kcBlock * NR);
            bool epilogue = !Epilogue.IsEmpty;
            for (int jc = j0; jc < j1; jc += ncBlock)
            {
                int nc = Math.Min(ncBlock, j1 - jc);
                int full = nc / NR * NR;
                for (int pc = 0; pc < K; pc += kcBlock)
                {
                    int kc = Math.Min(kcBlock, K - pc);
                    if (full < nc) GemmPacking<TK>.PackB(false, B, (int)Ldb, pc, kc, jc + full, nc - full, edge);
                    float beta = pc == 0 ? 0f : 1f;
                    bool last = pc + kc >= K;
                    var e = last && epilogue ? Epilogue : GemmEpilogue.None;
                    float* bRows = B + pc * Ldb;
                    for (int ir = i0; ir < i1; ir += MR)
                    {
                        int mr = Math.Min(MR, i1 - ir);
                        float* aStrip = A + pc * mPadded + (long)ir * kc;
                        if (Tall && i1 - ir > MR && i1 - ir <= TK.TallRows)
                        {
                            // This strip and the few rows after it (the part's last) as one tall tile per TallCols columns.
                            int tall = i1 - ir, tc = TK.TallCols;
                            for (int jr = jc; jr < jc + full; jr += tc)
                            {
                                var store = new GemmTileStore(tall, tc, false, e.At(ir, jr));
                                TK.RunInPlaceTall(kc, aStrip, aStrip + MR * kc, bRows + jr, Ldb, C + ir * Ldc + jr, Ldc, beta, in store);
                            }
                            if (full < nc)
                            {
                                int jr = jc + full;
                                TK.Run(kc, aStrip, edge, C + ir * Ldc + jr, Ldc, beta, new GemmTileStore(MR, nc - full, false, e.At(ir, jr)));
                                TK.Run(kc, aStrip + MR * kc, edge, C + (ir + MR) * Ldc + jr, Ldc, beta, new GemmTileStore(tall - MR, nc - full, false, e.At(ir + MR, jr)));
                            }
                            break;
                        }
                        for (int jr = jc; jr < jc + full; jr += NR)
                        {
                            var store = new GemmTileStore(mr, NR, mr == MR, e.At(ir, jr));
                            TK.RunInPlace(kc, aStrip, bRows + jr, Ldb, C + ir * Ldc + jr, Ldc, beta, in store);
                        }
                        if (full < nc)
                        {
                            int jr = jc + full;
                            var store = new GemmTileStore(mr, nc - full, false, e.At(ir, jr));
                            TK.Run(kc, aStrip, edge, C + ir * Ldc + jr, Ldc, beta, in store);
                        }
                    }
                }
            }
        }
    }
}
