namespace Striate.Kernels;

/// <summary>
/// The AVX2 6×16 GEMM's tunables and benchmark switches, kept out of <see cref="Gemm256x6x16"/> so that the tile type has
/// no static constructor. A tile method compiled before its own type's statics were initialised (FullOpts at the first
/// call: AggressiveOptimization) kept CORINFO_HELP_GET_NONGCSTATIC_BASE calls after its depth loop, and the JIT then
/// spilled all 12 accumulators inside the loop (a store after every FMA): 35 % of the FMA peak instead of 95 %. This
/// class has initialisers (a static constructor), so the tile bodies read none of its fields: the switches they read
/// are in <see cref="Avx2TileSwitches"/>, which has none.
/// </summary>
internal static class Avx2GemmTunables
{
    /// <summary>
    /// <see cref="Gemm256x6x16.NC"/>, a multiple of 16; settable for benchmarks (STRIATE_BENCH_AVX2_NC). On a Zen 3 core
    /// (512 KiB L2) a 512 KiB B̃ block filled the whole L2: ResNet-50's two 256→64 1×1s on 56×56 at batch 1 (depth 256, full blocks) ran
    /// 1.45–1.56 ms together (median 1.47 over 10 clean rounds in four windows) against 1.37–1.60 (median 1.43, 11 rounds)
    /// with 256 columns, 256→128 on 56×56 median 1.29 against 1.27; the other 1×1s and the whole run even within the host's
    /// noise (bench/RESULTS.md 2026-12-05 23:30–23:54). A small gain; 384 and 128 columns ran slower.
    /// </summary>
    internal static int ColumnBlock = CpuCaches.SmallL2 ? 16 * 16 : 16 * 32;

    /// <summary>
    /// Deepest block when a product packs A itself (GemmDriver.Block; a pre-packed A keeps <see cref="Gemm256x6x16.KC"/>, the cut its
    /// packing was made with); settable for benchmarks (STRIATE_BENCH_AVX2_KC_SELF). 512 halves the passes over C of
    /// 256: on one Zen 3 core (AVX2 only, 512 KiB L2) the driver's loops ran sgemm_1024 at 94 GFLOPS best against 90, and
    /// in one process on two threads, arms alternated (5 rounds) sgemm_512 / 1024 / 2048 read 2–4 / 5–6 / 3–5 % faster;
    /// 1024 deep ran even with 512 (its 24 KiB Ã strip would fill most of L1). The Ã strip is 12 KiB, a B̃ strip 32 KiB.
    /// </summary>
    internal static int SelfPackedDepth = 512;

    /// <summary>
    /// For benchmarks: false packs B̃'s whole row pieces as four 64-byte block copies instead of eight loads then eight
    /// stores (GemmPacking.CopyPiece; STRIATE_BENCH_PACK_B_PIECES=0).
    /// </summary>
    internal static bool PackBPieces = true;

    /// <summary>
    /// For benchmarks: false packs full 6-row Ã strips by 8 × 8 transposes (GemmPacking.PackAStripAvx) instead of 4 depths
    /// of rows r and r + 4 per vector (GemmPacking.PackAStrip6Avx; STRIATE_BENCH_PACK_A_HALVES=0).
    /// </summary>
    internal static bool PackAHalves = true;

    /// <summary>
    /// For benchmarks: false keeps whole 6-row strips and one short strip per block, and row parts in whole strips
    /// (STRIATE_BENCH_FIVE_ROW_STRIPS=0).
    /// </summary>
    internal static bool FiveRowStrips = true;

    /// <summary>For benchmarks: false packs every 5-row strip row by row (STRIATE_BENCH_FIVE_ROW_WHOLE_PACK=0).</summary>
    internal static bool FiveRowWholePack = true;

    /// <summary>
    /// For benchmarks: false packs every Ã strip in a pass of its own before its tiles (STRIATE_BENCH_PACK_A_WHILE_MULTIPLYING=0).
    /// </summary>
    internal static bool PackAWhileMultiplying = true;

    /// <summary>
    /// Floats of a part's rows of A (rows × depth) from which its strips are packed while multiplying; settable for
    /// benchmarks (STRIATE_BENCH_PACK_A_FLOATS). Below it A sits in L2 or near, where the separate pack is cheap
    /// and the packing tile's strided reads cost more than they save.
    /// </summary>
    internal static long PackAWhileMultiplyingFloats = 1 << 20;

    /// <summary>
    /// Floats of a whole B̃ (columns rounded up to 16 × depth) up to which the row parts of a product that packs A itself
    /// share one B̃, each packing a piece of every panel (<see cref="GemmSharedPackedB"/>); 0 packs all of B̃ in every part.
    /// Settable for benchmarks (STRIATE_BENCH_AVX2_SHARED_B). Zen 3, AVX2 only, two threads, calls alternated in one
    /// process (bench/RESULTS.md 2026-12-07 16:06–17:06): shared ÷ private time sgemm_512 0.943–0.957, 768 0.985, 1024
    /// 0.991–1.001; 2048 (16 MiB of B̃, not shared) 0.974 over only 60 calls, 1536 1.005.
    /// </summary>
    internal static long SharedPackedBFloats = 1 << 20;

    /// <summary>
    /// Floats of a whole B̃ up to which every row part packs its own (<see cref="SharedPackedBFloats"/>): a core's L2, where
    /// a private B̃ stays for the whole call; settable for benchmarks (STRIATE_BENCH_AVX2_SHARED_B_MIN). Shared there, sgemm_256
    /// (256 KiB of B̃) ran 2.6–11 % slower on Zen 3: each part then reads half of B̃ from the other core's cache.
    /// </summary>
    internal static long SharedPackedBMinFloats = (CpuCaches.L2Bytes > 0 ? CpuCaches.L2Bytes : 512 * 1024) / sizeof(float);

    /// <summary>
    /// For benchmarks: false packs a block's last strip of 1–4 columns into B̃ (zero-padded to 16) and runs it on the
    /// one-vector or one-column tile, instead of reading it from B in place on <see cref="Gemm256x6x16.RunFewColumnsInPlace"/>
    /// (STRIATE_BENCH_AVX2_EDGE_IN_PLACE=0). On one Zen 3 core (AVX2 only) GoogLeNet's 64 × 196 × 480 1×1 product ran 0.995
    /// of its time with 208 columns (the 4-column edge strip cost a whole strip: its tile and its separate pack),
    /// 128 × 49 × 832 lost 17 % to its one column (bench/RESULTS.md 2026-12-07, gemm13).
    /// </summary>
    internal static bool EdgeColumnsInPlace = true;

}

/// <summary>
/// The switches the AVX2 6×16 tile bodies read (<see cref="Gemm256x6x16.Run"/>, its Tile6, RunInPlacePacking): properties
/// over fields that are all zero by default, so this class has no initialiser, no static constructor, and the JIT reads
/// them without a class-initialisation check even when it compiles a tile before anything else touched the GEMM (see
/// <see cref="Avx2GemmTunables"/>: such a check is a call, and across it the JIT keeps the 12 accumulators in memory
/// through the whole depth loop). Keep it so: no initialisers here.
/// </summary>
internal static class Avx2TileSwitches
{
    private static bool fewColumnsOnFullTile, oneColumnOnVectorTile, epilogueRowByRow;
    private static int packingPrefetchBelow32;

    /// <summary>For benchmarks: false runs a last strip of at most 8 columns on the full 6×16 tile (STRIATE_BENCH_AVX2_EDGE_COLUMNS=0).</summary>
    internal static bool FewColumnsTile { get => !fewColumnsOnFullTile; set => fewColumnsOnFullTile = !value; }

    /// <summary>
    /// For benchmarks: false runs a last strip of one column on the one-vector tile (Gemm256x6x16.RunFewColumns) instead
    /// of as a matrix-vector product (STRIATE_BENCH_AVX2_ONE_COLUMN=0).
    /// </summary>
    internal static bool OneColumnTile { get => !oneColumnOnVectorTile; set => oneColumnOnVectorTile = !value; }

    /// <summary>
    /// For benchmarks: false stores a whole 6×16 tile with an epilogue (bias, residual, clamp) row by row through the edge
    /// store, its column masks built and every term tested per row, instead of <see cref="Gemm256x6x16.StoreEpilogue6"/>
    /// (STRIATE_BENCH_AVX2_EPILOGUE_STORE=0). Zen 3, AVX2 only: 64→256 on 56×56 with the residual and ReLU (layers suite,
    /// in-process A/B, 10 rounds) 798 → 721 µs median; ResNet-50 at batch 1 per step (separate processes, both
    /// orientations) layer1's conv3s −0.08…−0.12 ms, its 64→256 downsample −0.05/−0.09, layer2's conv3s −0.04…−0.08,
    /// layer3's −0.01…−0.05, layer4's −0.00…−0.04 (bench/RESULTS.md 2026-12-06 22:40–23:57).
    /// </summary>
    internal static bool WholeEpilogueStore { get => !epilogueRowByRow; set => epilogueRowByRow = !value; }

    /// <summary>
    /// How far ahead in B's row (floats) <see cref="Gemm256x6x16.RunInPlacePacking"/> prefetches each depth's line: two
    /// strips, so the lines the next tiles read arrive from L3 while this one multiplies; 0 none. Without it (ResNet-50's 1×1s at batch 1,
    /// Zen 3, one thread, 8 rounds, sum of 17 steps' medians) packing while multiplying ran 5 % slower than the separate
    /// pack, 16 floats ahead as slow, 32 1 % faster, 64 even (host busy; 256→64 on 56×56 1.38 → 1.25 ms with 32).
    /// </summary>
    internal static int PackingPrefetchFloats { get => 32 - packingPrefetchBelow32; set => packingPrefetchBelow32 = 32 - value; }
}
