using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Five-row strips for the AVX2 products that pack A themselves. With MR = 6, a block of m rows leaves m mod 6 rows
/// for a short strip, and the short tiles waste time: the 4-row tile (8 accumulators, exactly the chains two FMA pipes
/// with a 4-cycle latency need) ran its 4 rows in about the time of 6 (Zen 3: one 4-row strip of sgemm_256 ~7 µs, a
/// 6-row strip ~7.9), and 2 or 1 rows took that tile too. A 5-row tile (10 accumulators, 5 broadcasts and 10 FMAs per
/// depth) runs at the 6-row tile's rate per row, and any block of m ≥ 5·f + 6 rows is exactly whole 6-row strips and
/// f = (5·(m mod 6)) mod 6 five-row strips: no padded rows at all (256 = 41·6 + 2·5, 128 = 18·6 + 4·5). That also lets
/// two threads split rows evenly (sgemm_256: 128 + 128 rows instead of 126 + 130 with the 4-row strip on one side,
/// the thread with it finishing ~4 % later). The 5-row strips are packed as 6-wide Ã strips (the sixth row zero), so
/// the tile reads Ã as the others do. Every element of C takes the same multiply-adds in the same depth order as
/// under the 6- and 4-row tiles: the results are bit-identical.
/// </summary>
internal readonly unsafe partial struct Gemm256x6x16
{
    /// <summary>
    /// How many 5-row strips a block of <paramref name="rows"/> rows takes so that the rest is whole 6-row strips
    /// (at least one, so a block still starts with a whole strip); 0 when the block divides by 6 or is too short.
    /// </summary>
    internal static int FiveRowStripsIn(int rows)
    {
        int fives = 5 * (rows % 6) % 6;
        return rows - 5 * fives >= 6 ? fives : 0;
    }

    /// <summary>
    /// C[5, cols] = Ã strip (5 of its 6 rows) · B̃ strip + beta · C: 10 ymm accumulators. The plain store for a whole
    /// tile without an epilogue, else the edge store (masks, epilogue).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void RunFiveRows(int kc, float* a, float* b, float* c, nint ldc, float beta, in GemmTileStore s)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default;
        PrefetchTile(c, ldc, in s);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> ai;
            ai = Vector256.Create(a[0]); c00 = Vector256.MultiplyAddEstimate(ai, b0, c00); c01 = Vector256.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector256.Create(a[1]); c10 = Vector256.MultiplyAddEstimate(ai, b0, c10); c11 = Vector256.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector256.Create(a[2]); c20 = Vector256.MultiplyAddEstimate(ai, b0, c20); c21 = Vector256.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector256.Create(a[3]); c30 = Vector256.MultiplyAddEstimate(ai, b0, c30); c31 = Vector256.MultiplyAddEstimate(ai, b1, c31);
            ai = Vector256.Create(a[4]); c40 = Vector256.MultiplyAddEstimate(ai, b0, c40); c41 = Vector256.MultiplyAddEstimate(ai, b1, c41);
            a += 6;
            b += 16;
        }
        if (s.Plain)
        {
            StorePlain5(c, ldc, beta, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41);
            return;
        }
        bool whole = s.Cols == 16;
        var (m0, m1) = EdgeMasks(s.Cols);
        StoreEdge(c, c00, c01, beta, in s, 0, m0, m1, whole); c += ldc;
        StoreEdge(c, c10, c11, beta, in s, 1, m0, m1, whole); c += ldc;
        StoreEdge(c, c20, c21, beta, in s, 2, m0, m1, whole); c += ldc;
        StoreEdge(c, c30, c31, beta, in s, 3, m0, m1, whole); c += ldc;
        StoreEdge(c, c40, c41, beta, in s, 4, m0, m1, whole);
    }
}
