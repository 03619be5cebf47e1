namespace Striate.Kernels;

/// <summary>
/// The AVX-512 14×32 GEMM's blocking, settable for benchmarks (STRIATE_BENCH_512_*). Kept out of
/// <see cref="Gemm512x14x32"/> so that the tile type has no static constructor (see <see cref="Avx2GemmTunables"/>:
/// a tile compiled before its own statics were initialised spilled its accumulators).
/// </summary>
internal static class Avx512GemmTunables
{
    /// <summary>
    /// <see cref="Gemm512x14x32.NC"/>: columns of B̃ packed at once when A comes packed (a convolution's weights), a
    /// multiple of 32 (STRIATE_BENCH_512_NC). 1024 × KC 512 = a 2 MiB B̃ block, tuned on a Zen 4 (1 MiB L2).
    /// </summary>
    internal static int ColumnBlock = 32 * 32;

    /// <summary>
    /// Deepest block when a product packs A itself (a pre-packed A keeps <see cref="Gemm512x14x32.KC"/>, the cut its
    /// packing was made with); STRIATE_BENCH_512_KC_SELF.
    /// </summary>
    internal static int SelfPackedDepth = 512;

    /// <summary>
    /// Floats of B̃ packed at once when a product packs A itself (GemmDriver.ColumnBlock); STRIATE_BENCH_512_PANEL.
    /// Each 14-row Ã strip streams the whole block past it, so where the block outgrows L2 it streams from L3. On a Zen 4
    /// (1 MiB L2) 4 MiB per thread won: A packed once per depth block up to 2048 columns. On an Intel Xeon with 2 MiB of
    /// L2 per core the tile alone on hot packed panels ran at ~99 % of one thread's FMA peak with up to 1 MiB of B̃
    /// strips, 92 % with 2 MiB and 85 % with 4 MiB, and 1 MiB panels (262144) ran sgemm_1024 / 2048 1.05 / 1.13 × as fast
    /// as 4 MiB on two threads — but ResNet-50's training step at batch 8 ran 2–5 % slower with them (two A/B runs, both
    /// orders; bench/RESULTS.md 2026-12-08, gemm512), so 4 MiB stays everywhere until the training products are
    /// understood (its weight gradients pack a transposed A, which a narrower panel packs more often).
    /// </summary>
    internal static int SelfPackedPanelFloats = 1 << 20;
}
