using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// The AVX2 6×16 tile reading B in place (row p of the strip at b + p·ldb), for the products of a fused step's bands
/// only: there B's rows (a band's staged expansion input or its depthwise rows) were just written and sit in the
/// core's L2, so the tile trades <see cref="GemmDriver{TKernel}"/>'s copy of B into B̃ per band for one 64-byte line
/// per depth step. On whole maps read from memory the same tile ran ResNet-50's 56×56 1×1s ~15 % slower than from B̃
/// (see <see cref="IGemmRowsInPlace"/>), so <see cref="PointwiseRows.Takes"/> keeps AVX2's unfused 1×1s on B̃ but for
/// products of few rows on 28×28 maps (GoogLeNet's 192→32 and 256→64 branch-4 projections), where B̃'s copy serves too
/// few rows to pay for itself. Same Ã strips and store (masks, epilogue) as <see cref="Run"/>. <see cref="RunInPlacePacking"/>
/// also reads B in place on whole maps, for one row strip per block only, storing B̃ as it goes for the other strips
/// (GemmDriver.Block). The depth loops and stores of all three, and of the 4-row tiles, are one body each
/// (Tile6 and Tile4 in GemmTiles.Avx2.cs) instantiated per way of reading B.
/// </summary>
internal readonly unsafe partial struct Gemm256x6x16 : IGemmRowsInPlace
{
    /// <summary>No tall tile on AVX2: 16 rows of one column vector would need 16 accumulators and leave none for B.</summary>
    public static int TallRows => 0;

    public static int TallCols => 8;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void RunInPlace(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        // C's last 1–4 rows run a 4-row tile, as in the packed tile (GemmEdgeRows.cs).
        if (s.Rows <= 4) { RunInPlace4(kc, a, b, ldb, c, ldc, beta, in s); return; }
        Tile6<FromB>(kc, a, b, ldb, null, c, ldc, beta, in s);
    }

    /// <summary>
    /// As <see cref="RunInPlace"/> for a whole 6×16 tile, and each depth step's 16 values of B are also stored to the B̃
    /// strip at <paramref name="bPacked"/> (row p at bPacked + 16·p): the first row strip of a block packs B̃ as it
    /// multiplies, so the driver's separate pass over B (<see cref="GemmDriver{TKernel}"/>) is not needed. Same
    /// multiply-adds in the same order as the packed tile: the results are bit-identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void RunInPlacePacking(int kc, float* a, float* b, nint ldb, float* bPacked, float* c, nint ldc, float beta, in GemmTileStore s)
        => Tile6<FromBPacking>(kc, a, b, ldb, bPacked, c, ldc, beta, in s);

    /// <summary>Not used (<see cref="TallRows"/> is 0).</summary>
    public static void RunInPlaceTall(int kc, float* a, float* aNext, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s) =>
        throw new NotSupportedException("Gemm256x6x16 has no tall tile.");

    /// <summary>Rows 0..3 (4 broadcasts, 8 FMAs per depth).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RunInPlace4(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float beta, in GemmTileStore s)
        => Tile4<FromB>(kc, a, b, ldb, c, ldc, beta, in s);
}
