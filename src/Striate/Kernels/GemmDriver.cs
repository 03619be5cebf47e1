using System.Runtime.CompilerServices;
using static Striate.Kernels.IntMath;

namespace Striate.Kernels;

/// <summary>
/// The operands of one validated, pinned GEMM call. <see cref="PackedA"/>, when set, is op(A) already packed for
/// the tile (<see cref="Gemm.PackA"/>), and A is not read. <see cref="Epilogue"/> rides on the last depth block's store.
/// </summary>
internal readonly unsafe struct GemmJob(bool transA, bool transB, int m, int n, int k, float alpha,
    float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, float* packedA, in GemmEpilogue epilogue,
    in GemmRowAffine bRows = default, float* c2 = null, int splitRow = int.MaxValue)
{
    public readonly bool TransA = transA, TransB = transB;
    public readonly int M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc;
    public readonly float Alpha = alpha, Beta = beta;
    public readonly float* A = a, B = b, C = c, PackedA = packedA;
    public readonly GemmEpilogue Epilogue = epilogue;
    /// <summary>Applied to B's rows as they are packed (B not transposed); empty for none.</summary>
    public readonly GemmRowAffine BRows = bRows;
    /// <summary>C's rows from <see cref="SplitRow"/> on live at C2 (same row stride); int.MaxValue for none.</summary>
    public readonly float* C2 = c2;
    public readonly int SplitRow = splitRow;

    /// <summary>Where row <paramref name="i"/> of C starts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* RowOfC(int i) => i < SplitRow ? C + (long)i * Ldc : C2 + (long)(i - SplitRow) * Ldc;
}

/// <summary>
/// The five loops around the microkernel (jc → pc → ic → ir → jr) for one tile shape. C is cut into a grid of
/// independent rectangles, one per parallel iteration; each thread packs its own Ã and B̃ into its own scratch,
/// so threads share nothing but the read-only inputs.
/// </summary>
internal static unsafe class GemmDriver<TKernel> where TKernel : struct, IGemmMicrokernel
{
    /// <summary>Columns of B packed at once (multiple of NR): the KC × NC block B̃ stays in L2 (see <see cref="Block"/>).</summary>
    private static int NC => TKernel.NC;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(ref GemmJob job, int threads)
    {
        int mTiles = (job.M + TKernel.MR - 1) / TKernel.MR;
        int nTiles = (job.N + TKernel.NR - 1) / TKernel.NR;
        int mParts = 1, nParts = 1;
        if (threads > 1) (mParts, nParts) = Split(job.M, job.N, job.K, mTiles, nTiles, job.PackedA != null, threads);
        // Products that take 5-row strips (Avx2GemmTunables.FiveRowStrips) cut their rows evenly, not in whole strips:
        // every part's rows are then whole 6- and 5-row strips, whatever their count.
        bool evenRows = mParts > 1 && FiveRowStrips(in job) && job.M / mParts >= 30;
        // Row parts that take every column share one B̃ (GemmSharedPackedB), each packing its piece of every panel.
        int pieces = nParts == 1 && mParts > 1 && SharesPackedB(in job) ? Math.Min(mParts, nTiles) : 0;
        var shared = pieces > 0 ? GemmSharedPackedB.Take((long)nTiles * TKernel.NR * job.K, PanelsOf(in job) * pieces) : null;
        var body = new Body(job, mParts, nParts, mTiles, nTiles, evenRows, shared, pieces);
        if (mParts * nParts == 1) body.Invoke(0);
        else ParallelFor.Run(mParts * nParts, ref body, threads);
        if (shared != null) GemmSharedPackedB.Return(shared);
    }

    /// <summary>
    /// Whether the row parts of <paramref name="job"/> share one packed B̃ (<see cref="GemmSharedPackedB"/>): the AVX2 tile,
    /// A packed here (a pre-packed A packs B̃ while multiplying), the whole B̃ larger than
    /// <see cref="Avx2GemmTunables.SharedPackedBMinFloats"/> and within <see cref="Avx2GemmTunables.SharedPackedBFloats"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SharesPackedB(in GemmJob job)
    {
        long floats = (long)RoundUp(job.N, TKernel.NR) * job.K;
        return typeof(TKernel) == typeof(Gemm256x6x16) && job.PackedA == null
            && floats > Avx2GemmTunables.SharedPackedBMinFloats && floats <= Avx2GemmTunables.SharedPackedBFloats;
    }

    /// <summary>Panels (column blocks × depth blocks) <see cref="Block"/> packs for all of <paramref name="job"/>'s columns.</summary>
    private static int PanelsOf(in GemmJob job)
    {
        var (kcBlock, ncBlock) = BlockSizes(in job);
        return ((job.N + ncBlock - 1) / ncBlock) * ((job.K + kcBlock - 1) / kcBlock);
    }

    /// <summary>
    /// The depth and column block sizes <see cref="Block"/> cuts <paramref name="job"/> into (every block but the last this
    /// deep and wide): a pre-packed A keeps the depth cut it was packed with (<see cref="DepthBlock"/>) and the tile's NC
    /// columns; a product that packs A itself takes <see cref="SelfPackedDepth"/> and wide column blocks (<see cref="ColumnBlock"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Depth, int Columns) BlockSizes(in GemmJob job)
    {
        int kcBlock = job.PackedA != null ? DepthBlock(job.K) : DepthBlockOf(job.K, SelfPackedDepth);
        return (kcBlock, ColumnBlock(job.PackedA != null, kcBlock));
    }

    /// <summary>
    /// How C is cut into parts (rows × columns), one parallel iteration each: the cut whose busiest thread finishes first
    /// by a model of packing and multiply-adds. Each part packs its own rows of A once per depth block and its own
    /// columns of B once per depth block, so every part beyond one per thread packs B again (or A): with four row parts on
    /// two threads, each thread packed all of B twice, 12 % of sgemm_256's time on Zen 4. Twice as many parts as
    /// threads (so a thread slowed by a neighbour takes fewer) is kept unless one part per thread is clearly faster.
    /// A packed element by element costs about <see cref="PackACost"/> times a B row copied whole (splitting columns
    /// four ways packed all of A four times, a fifth of sgemm_1024's time), so square products take rows and a
    /// convolution, whose weights come packed, takes columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static (int MParts, int NParts) Split(int m, int n, int k, int mTiles, int nTiles, bool packedA, int threads)
    {
        int maxN = Math.Clamp(nTiles / 4, 1, 2 * threads), maxM = Math.Max(1, mTiles / 2);
        (int, int) best = (1, 1);
        double bestTime = double.MaxValue;
        for (int np = maxN; np >= 1; np--)
        for (int perThread = 2; perThread >= 1; perThread--)
        {
            int mp = Math.Clamp((perThread * threads + np - 1) / np, 1, maxM);
            int parts = mp * np, rounds = (parts + threads - 1) / threads;
            // The largest part: whole tiles of rows and columns.
            double rows = (double)((mTiles + mp - 1) / mp) * TKernel.MR, cols = (double)((nTiles + np - 1) / np) * TKernel.NR;
            double part = (packedA ? 0 : rows * k * PackACost) + k * cols + rows * cols * k * MultiplyAddCost;
            double time = rounds * part;
            if (parts < threads) time *= 4; // a thread would idle
            // Fewer parts must win, if narrowly: they give up balancing against neighbours. With 1.02 here sgemm_2048 kept
            // two row parts per thread and ran 2–4 % slower than with one (Zen 4, both ISAs, three rounds in one window).
            if (perThread == 1) time *= 1.005;
            if (time < bestTime) { bestTime = time; best = (mp, np); }
        }
        return best;
    }

    /// <summary>Relative cost of packing one float of A (strided stores) against one of B (whole-row copies).</summary>
    private const double PackACost = 4;

    /// <summary>
    /// Time of one multiply-add against packing one float of B: a thread runs ~58 G multiply-adds/s at its FMA peak
    /// (Zen 4, 3.6 GHz) and packs ~7 G floats/s (0.14 ns each, measured for both operands).
    /// </summary>
    private const double MultiplyAddCost = 0.12;

    private readonly struct Body(GemmJob job, int mParts, int nParts, int mTiles, int nTiles, bool evenRows,
        GemmSharedPackedB? shared, int pieces) : IParallelBody
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index)
        {
            var (i0, i1, j0, j1) = Part(index, job.M, job.N, mParts, nParts, mTiles, nTiles);
            if (evenRows)
            {
                int pi = index / nParts;
                (i0, i1) = ((int)((long)job.M * pi / mParts), (int)((long)job.M * (pi + 1) / mParts));
            }
            if (i0 < i1 && j0 < j1) Block(in job, i0, i1, j0, j1, shared, pieces, index % Math.Max(1, pieces));
        }
    }

    /// <summary>Whether <paramref name="job"/>'s blocks take 5-row strips (see <see cref="Avx2GemmTunables.FiveRowStrips"/>): the AVX2 tile, A packed here, C in one place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool FiveRowStrips(in GemmJob job)
        => typeof(TKernel) == typeof(Gemm256x6x16) && Avx2GemmTunables.FiveRowStrips && job.PackedA == null && job.SplitRow == int.MaxValue;

    /// <summary>
    /// The rows [I0, I1) and columns [J0, J1) of C that part <paramref name="index"/> of a <see cref="Split"/> takes
    /// (parts row-major, mParts × nParts): whole register tiles, spread as evenly as they divide.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (int I0, int I1, int J0, int J1) Part(int index, int m, int n, int mParts, int nParts, int mTiles, int nTiles)
    {
        int pi = index / nParts, pj = index % nParts;
        return ((int)((long)mTiles * pi / mParts) * TKernel.MR, Math.Min(m, (int)((long)mTiles * (pi + 1) / mParts) * TKernel.MR),
                (int)((long)nTiles * pj / nParts) * TKernel.NR, Math.Min(n, (int)((long)nTiles * (pj + 1) / nParts) * TKernel.NR));
    }

    /// <summary>
    /// C[i0..i1, j0..j1] = epilogue(alpha · op(A)[i0..i1, :] · op(B)[:, j0..j1] + beta · C[i0..i1, j0..j1]).
    /// <paramref name="shared"/>, when set, holds B̃ for all of C's columns (j0 = 0, j1 = n), cut into
    /// <paramref name="pieces"/> per panel; this part claims <paramref name="ownPiece"/> first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(in GemmJob job, int i0, int i1, int j0, int j1, GemmSharedPackedB? shared = null, int pieces = 0, int ownPiece = 0)
    {
        int MR = TKernel.MR, NR = TKernel.NR;
        var (kcBlock, ncBlock) = BlockSizes(in job);
        int kcMax = kcBlock;
        int ncMax = Math.Min(ncBlock, RoundUp(j1 - j0, NR));
        int mcMax = Math.Min(TKernel.MC, RoundUp(i1 - i0, MR));
        // scratch: Ã [mcMax/MR, kcMax, MR] then B̃ [ncMax/NR, kcMax, NR]
        int aFloats = job.PackedA != null ? 0 : RoundUp(mcMax * kcMax, 16);
        float* scratch = GemmScratch.Get(aFloats + ncMax * kcMax);
        float* aPack = scratch;
        float* bPack = scratch + aFloats;
        nint ldc = job.Ldc;
        // Whole tiles without an epilogue take the microkernel's plain store; edge tiles store their corner of C
        // (masked), and the last depth block adds the epilogue.
        var plain = new GemmTileStore(MR, NR, whole: true, GemmEpilogue.None);
        bool epilogue = !job.Epilogue.IsEmpty;
        // The AVX2 tile packs B̃ while a block's first row strip multiplies (Gemm256x6x16.RunInPlacePacking) instead of in
        // a pass of its own, whose reads of B from L3 (one 1 KiB row piece per depth, 12.5 KiB apart on a 56×56 map) stall
        // without any multiply-adds to hide them: ResNet-50's 256→64 1×1 on 56×56 at batch 1 1.27 → 1.17–1.25 ms on one
        // Zen 3 core. Only with A packed beforehand (a convolution's weights: B̃ blocks of NC columns, B just written by
        // the step before): on square products, whose wide blocks read B from memory, sgemm_1024/2048 ran 8–9 % slower.
        // The first row strip must be whole (6 rows) and stored in C (not split).
        bool packWhileMultiplying = typeof(TKernel) == typeof(Gemm256x6x16) && Gemm.PackWhileMultiplying && job.PackedA != null
            && !job.TransB && job.BRows.IsEmpty && i1 - i0 >= MR && job.SplitRow >= i0 + MR;
        // A product that packs A itself (not transposed, alpha 1) lets each whole row strip's first tile read its rows of A
        // in place and store the Ã strip as it multiplies (Gemm256x6x16.RunPackingA); only a block's last, partial strip
        // is packed here. That first tile must be 16 columns wide (the narrow tiles sum in their own way) with the plain
        // store (no epilogue: products that pack A have none), and no tile may straddle the split rows.
        bool fiveRows = FiveRowStrips(in job);
        bool packAWhileMultiplying = typeof(TKernel) == typeof(Gemm256x6x16) && Avx2GemmTunables.PackAWhileMultiplying
            && job.PackedA == null && !job.TransA && job.Alpha == 1f && job.Epilogue.IsEmpty && job.SplitRow >= i1
            && (long)(i1 - i0) * job.K >= Avx2GemmTunables.PackAWhileMultiplyingFloats;
        // A block's last strip of 1–4 columns (196 = 12 · 16 + 4, 49 = 3 · 16 + 1) is read from B in place by its own
        // tile (Gemm256x6x16.RunFewColumnsInPlace) and not packed: packed, its 16-wide B̃ strip was mostly zeros written
        // element by element, and its tile cost as much as a whole one (Avx2GemmTunables.EdgeColumnsInPlace).
        bool edgeInPlace = typeof(TKernel) == typeof(Gemm256x6x16) && Avx2GemmTunables.EdgeColumnsInPlace
            && !job.TransB && job.BRows.IsEmpty && shared == null;
        // Tiles run row strip by row strip (ir outer, jr inner): the microkernel broadcasts Ã and loads B̃ as vectors,
        // so the Ã strip (MR × kc, 14 KiB on AVX-512) is the operand to keep in L1 while the B̃ strips stream past
        // it from L2 — BLIS's rule that the broadcast micro-panel stays in L1 (BLIS's column-major kernels broadcast
        // B, hence its jr → ir). The other order kept a 32 KiB B̃ strip in L1 beside the streaming Ã and C rows, and
        // sgemm_1024 ran at about 65 % of the FMA peak instead of 85 % (one thread, AVX-512; bench/RESULTS.md).
        // Each C row strip is also written left to right, 14 sequential streams, instead of a page per tile row.

        float* bPrivate = bPack;
        for (int jc = j0, panel = 0; jc < j1; jc += ncBlock)
        {
            int nc = Math.Min(ncBlock, j1 - jc);
            for (int pc = 0; pc < job.K; pc += kcBlock, panel++)
            {
                int kc = Math.Min(kcBlock, job.K - pc);

                // The first depth block applies the caller's beta; later ones accumulate onto it; the last one adds the epilogue.
                float beta = pc == 0 ? job.Beta : 1f;
                bool last = pc + kc >= job.K;
                // Packing as the first row strip multiplies: only the block's last, partial strip is packed here, and
                // not that one either when it is read in place (1–4 columns).
                int fullPacking = packWhileMultiplying ? nc / NR * NR : 0;
                int edgeFrom = edgeInPlace && nc % NR is > 0 and <= 4 ? nc / NR * NR : nc;
                // Shared among the row parts (never with packing while multiplying: that needs A packed beforehand).
                if (shared != null) bPack = SharedPanel(in job, shared, panel, pieces, ownPiece, jc, nc, pc, kc, bPrivate);
                else if (fullPacking < edgeFrom)
                    GemmPacking<TKernel>.PackB(job.TransB, job.B, job.Ldb, pc, kc, jc + fullPacking, edgeFrom - fullPacking, bPack + (long)fullPacking * kc, job.BRows);
                for (int ic = i0; ic < i1; ic += TKernel.MC)
                {
                    int mc = Math.Min(TKernel.MC, i1 - ic);
                    // The block's rows: whole 6-row strips, then its 5-row strips (each packed as a 6-wide Ã strip), or
                    // without those one short strip last.
                    int fives = fiveRows ? Gemm256x6x16.FiveRowStripsIn(mc) : 0, sixes = mc - 5 * fives;
                    // The strips whose first tile packs them: all whole ones when the block's first tile is whole.
                    int aWhilePacking = packAWhileMultiplying && nc >= NR ? sixes / MR * MR : 0;
                    if (job.PackedA != null) aPack = job.PackedA + PackedOffset(job.M, pc, ic, kc);
                    else
                    {
                        if (aWhilePacking < sixes)
                            GemmPacking<TKernel>.PackA(job.TransA, job.A, job.Lda, ic + aWhilePacking, sixes - aWhilePacking, pc, kc, job.Alpha, aPack + aWhilePacking * kc);
                        // A 5-row strip is packed as 6 rows where A has a sixth (the next strip's first row, never read
                        // by the 5-row tile): the vectorized strip pack instead of the row-by-row one for partial strips.
                        for (int f = 0; f < fives; f++)
                        {
                            int row = ic + sixes + 5 * f;
                            GemmPacking<TKernel>.PackA(job.TransA, job.A, job.Lda, row, row + MR <= job.M && Avx2GemmTunables.FiveRowWholePack ? MR : 5, pc, kc, job.Alpha, aPack + (sixes + MR * f) * kc);
                        }
                    }
                    for (int ir = 0, strip = 0, mr = 0; ir < mc; ir += mr, strip++)
                    {
                        bool five = ir >= sixes;
                        mr = five ? 5 : Math.Min(MR, mc - ir);
                        float* aStrip = aPack + (long)strip * MR * kc;
                        for (int jr = 0; jr < nc; jr += NR)
                        {
                            int nr = Math.Min(NR, nc - jr);
                            float* bStrip = bPack + jr * kc;
                            // The edge strip read in place: row p of its columns at bInPlace + p·ldb.
                            float* bInPlace = jr >= edgeFrom ? job.B + (long)pc * job.Ldb + jc + jr : null;
                            if (ic + ir < job.SplitRow && ic + ir + mr > job.SplitRow)
                            {
                                StraddlingTile(in job, ic + ir, jc + jr, mr, nr, kc, aStrip, bStrip, bInPlace, beta, last);
                                continue;
                            }
                            float* cTile = job.RowOfC(ic + ir) + jc + jr;
                            if (bInPlace != null)
                            {
                                var edge = new GemmTileStore(mr, nr, false, last ? job.Epilogue.At(ic + ir, jc + jr) : GemmEpilogue.None);
                                Gemm256x6x16.RunFewColumnsInPlace(kc, aStrip, bInPlace, job.Ldb, cTile, ldc, beta, in edge);
                                continue;
                            }
                            if (five)
                            {
                                var fiveStore = new GemmTileStore(5, nr, nr == NR, last ? job.Epilogue.At(ic + ir, jc + jr) : GemmEpilogue.None);
                                Gemm256x6x16.RunFiveRows(kc, aStrip, bStrip, cTile, ldc, beta, in fiveStore);
                                continue;
                            }
                            if (jr == 0 && ir < aWhilePacking)
                            {
                                Gemm256x6x16.RunPackingA(kc, job.A + (long)(ic + ir) * job.Lda + pc, job.Lda, aStrip, bStrip, cTile, ldc, beta);
                                continue;
                            }
                            if (jr < fullPacking && ic + ir == i0)
                            {
                                // The block's first row strip (whole: packWhileMultiplying needs 6 rows) reads B in place and packs it.
                                var first = mr == MR && nr == NR && !(last && epilogue) ? plain
                                    : new GemmTileStore(mr, nr, true, last ? job.Epilogue.At(ic + ir, jc + jr) : GemmEpilogue.None);
                                Gemm256x6x16.RunInPlacePacking(kc, aStrip, job.B + (long)pc * job.Ldb + jc + jr, job.Ldb, bStrip, cTile, ldc, beta, in first);
                                continue;
                            }
                            if (mr == MR && nr == NR && !(last && epilogue))
                            {
                                TKernel.Run(kc, aStrip, bStrip, cTile, ldc, beta, in plain);
                            }
                            else
                            {
                                var store = new GemmTileStore(mr, nr, mr == MR && nr == NR,
                                    last ? job.Epilogue.At(ic + ir, jc + jr) : GemmEpilogue.None);
                                TKernel.Run(kc, aStrip, bStrip, cTile, ldc, beta, in store);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The panel of B̃ at columns [jc, jc + nc), depths [pc, pc + kc) in <paramref name="shared"/>, packed: this part packs
    /// every piece nobody has claimed (its own first), then waits for those another part is packing; if one of them is
    /// still packing after three times its packing time, the whole panel is packed into <paramref name="bPrivate"/> instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float* SharedPanel(in GemmJob job, GemmSharedPackedB shared, int panel, int pieces, int ownPiece,
        int jc, int nc, int pc, int kc, float* bPrivate)
    {
        int NR = TKernel.NR, strips = (nc + NR - 1) / NR;
        float* dst = shared.Floats + (long)pc * RoundUp(job.N, NR) + (long)jc * kc;
        for (int q = 0; q < pieces; q++)
        {
            int piece = (ownPiece + q) % pieces;
            if (!shared.TryClaim(panel * pieces + piece)) continue;
            int c0 = strips * piece / pieces * NR, c1 = Math.Min(nc, strips * (piece + 1) / pieces * NR);
            if (c0 < c1) GemmPacking<TKernel>.PackB(job.TransB, job.B, job.Ldb, pc, kc, jc + c0, c1 - c0, dst + (long)c0 * kc, job.BRows);
            shared.MarkPacked(panel * pieces + piece);
        }
        long pieceFloats = (long)(strips + pieces - 1) / pieces * NR * kc;
        for (int piece = 0; piece < pieces; piece++)
        {
            if (shared.WaitPacked(panel * pieces + piece, pieceFloats)) continue;
            GemmPacking<TKernel>.PackB(job.TransB, job.B, job.Ldb, pc, kc, jc, nc, bPrivate, job.BRows);
            return bPrivate;
        }
        return dst;
    }

    /// <summary>
    /// The register tile at C[row.., col..] whose rows straddle <see cref="GemmJob.SplitRow"/> (some in C, some in C2):
    /// it runs on a scratch tile holding its rows' C (or zeros when beta is 0), whose rows are then stored in their places.
    /// <paramref name="bInPlace"/>, when set, is the edge strip's B read in place (<see cref="Gemm256x6x16.RunFewColumnsInPlace"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StraddlingTile(in GemmJob job, int row, int col, int mr, int nr, int kc, float* aStrip, float* bStrip, float* bInPlace, float beta, bool last)
    {
        int NR = TKernel.NR;
        float* tile = stackalloc float[TKernel.MR * NR]; // [MR, NR]: the tile's rows, row stride NR
        for (int r = 0; r < mr; r++)
        {
            var dst = new Span<float>(tile + r * NR, nr);
            if (beta == 0f) dst.Clear();
            else new ReadOnlySpan<float>(job.RowOfC(row + r) + col, nr).CopyTo(dst);
        }
        var store = new GemmTileStore(mr, nr, mr == TKernel.MR && nr == NR, last ? job.Epilogue.At(row, col) : GemmEpilogue.None);
        if (bInPlace != null) Gemm256x6x16.RunFewColumnsInPlace(kc, aStrip, bInPlace, job.Ldb, tile, NR, beta, in store);
        else TKernel.Run(kc, aStrip, bStrip, tile, NR, beta, in store);
        for (int r = 0; r < mr; r++) new ReadOnlySpan<float>(tile + r * NR, nr).CopyTo(new Span<float>(job.RowOfC(row + r) + col, nr));
    }

    /// <summary>
    /// Columns of B packed at once, a multiple of NR. With A packed by the caller (a convolution's weights), the tile's
    /// <see cref="IGemmMicrokernel.NC"/>, sized for L2. When this call packs A itself, A is packed again for every block
    /// of columns, and those packs read A from memory (sgemm_2048's A is 16 MiB): with 512 columns the AVX2 tile lost
    /// 6–7 % of sgemm_2048 to them (86 % of the FMA peak against 91–92 % with 2048 or 4096 columns, Zen 4). So then the
    /// block takes up to <see cref="WidePanelFloats"/> floats of B̃, which stream from L3 as fast as the prefetchers
    /// need (B̃ is read in order), and A is packed once per depth block for products up to 4096 columns (AVX2) or 2048
    /// (AVX-512; see <see cref="Avx512GemmTunables.SelfPackedPanelFloats"/> for 1 MiB on a 2 MiB-L2 Intel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ColumnBlock(bool packedA, int kc)
    {
        if (packedA) return NC;
        // The AVX-512 tile's panel is a tunable of its own, and may be narrower than its NC (kc ≤ 512 keeps the default at
        // 2048 or more columns, as before).
        if (typeof(TKernel) == typeof(Gemm512x14x32))
            return Math.Max(TKernel.NR, Avx512GemmTunables.SelfPackedPanelFloats / kc / TKernel.NR * TKernel.NR);
        return Math.Max(NC, WidePanelFloats / kc / TKernel.NR * TKernel.NR);
    }

    /// <summary>Floats of B̃ packed at once when A is packed per call: 4 MiB per thread (see <see cref="ColumnBlock"/>).</summary>
    private const int WidePanelFloats = 1 << 20;

    /// <summary>
    /// Depth of the packed blocks for a product of depth <paramref name="k"/>: k cut into ceil(k / KC) blocks of
    /// equal depth (a multiple of 8), so that no block is a sliver (k = 600 with KC = 512 runs 304 + 296 instead of
    /// 512 + 88, whose microkernel calls and pass over C would do a sixth of the work). Every block but the last is
    /// this deep; <see cref="PackWhole"/> and <see cref="Block"/> both cut k this way, so a pre-packed A matches.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int DepthBlock(int k) => DepthBlockOf(k, TKernel.KC);

    /// <summary>As <see cref="DepthBlock(int)"/>, blocks of at most <paramref name="deepest"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int DepthBlockOf(int k, int deepest)
    {
        int blocks = Math.Max(1, (k + deepest - 1) / deepest);
        return Math.Min(deepest, RoundUp((k + blocks - 1) / blocks, 8));
    }

    /// <summary>
    /// Deepest block of a product that packs A itself (its depth blocking has no pre-packed A to match):
    /// <see cref="Avx2GemmTunables.SelfPackedDepth"/> on the AVX2 tile, the tile's KC otherwise. Each depth block passes over
    /// its rows of C once (load, add, store), so deeper blocks pass fewer times.
    /// </summary>
    private static int SelfPackedDepth => typeof(TKernel) == typeof(Gemm256x6x16) ? Avx2GemmTunables.SelfPackedDepth
        : typeof(TKernel) == typeof(Gemm512x14x32) ? Avx512GemmTunables.SelfPackedDepth : TKernel.KC;

    // ---- op(A) packed once for many products ------------------------------------------------------------

    /// <summary>Floats of op(A) [m, k] packed whole: every depth block, each as ceil(m/MR) strips of kc × MR.</summary>
    public static long PackedLength(int m, int k) => (long)RoundUp(m, TKernel.MR) * k;

    /// <summary>Where the strip holding row <paramref name="row"/> (a multiple of MR) of depth block <paramref name="pc"/> starts.</summary>
    private static long PackedOffset(int m, int pc, int row, int kc) => (long)pc * RoundUp(m, TKernel.MR) + (long)row * kc;

    /// <summary>dst ← alpha · op(A) [m, k] in the layout <see cref="Block"/> reads when given a packed A.</summary>
    public static void PackWhole(bool transA, float* a, int lda, int m, int k, float alpha, float* dst)
    {
        int kcBlock = DepthBlock(k);
        for (int pc = 0; pc < k; pc += kcBlock)
        {
            int kc = Math.Min(kcBlock, k - pc);
            GemmPacking<TKernel>.PackA(transA, a, lda, 0, m, pc, kc, alpha, dst + PackedOffset(m, pc, 0, kc));
        }
    }
}
