using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// The AVX2 6×16 tile reading its six rows of A in place and storing them to the Ã strip as it multiplies: in a
/// product that packs A itself (<see cref="GemmDriver{TKernel}"/>), each row strip's first tile packs the strip, so the
/// driver's separate pass over A (whose reads of A from L3 or memory stall with no multiply-adds to hide them) is not
/// needed. Same Ã values (alpha 1, A not transposed) and the same multiply-adds in the same order as the packed tile:
/// the results are bit-identical. Its twin is the separate pack (<see cref="GemmPacking{TKernel}.PackA"/>) followed by
/// <see cref="Run"/>.
/// </summary>
internal readonly unsafe partial struct Gemm256x6x16
{
    /// <summary>
    /// C[6, 16] = A[6, kc] · B̃ strip + beta · C, A's row r at a + r·lda, and Ã[kc, 6] ← A's strip (depth p at
    /// aPacked + 6·p). A whole tile with the plain store only (the driver's products that pack A have no epilogue).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void RunPackingA(int kc, float* a, nint lda, float* aPacked, float* b, float* c, nint ldc, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        var s = new GemmTileStore(6, 16, true, GemmEpilogue.None);
        PrefetchTile(c, ldc, in s);
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> ai;
            ai = Vector256.Create(a[p]); aPacked[0] = ai.ToScalar();
            c00 = Vector256.MultiplyAddEstimate(ai, b0, c00); c01 = Vector256.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector256.Create(a1[p]); aPacked[1] = ai.ToScalar();
            c10 = Vector256.MultiplyAddEstimate(ai, b0, c10); c11 = Vector256.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector256.Create(a2[p]); aPacked[2] = ai.ToScalar();
            c20 = Vector256.MultiplyAddEstimate(ai, b0, c20); c21 = Vector256.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector256.Create(a3[p]); aPacked[3] = ai.ToScalar();
            c30 = Vector256.MultiplyAddEstimate(ai, b0, c30); c31 = Vector256.MultiplyAddEstimate(ai, b1, c31);
            ai = Vector256.Create(a4[p]); aPacked[4] = ai.ToScalar();
            c40 = Vector256.MultiplyAddEstimate(ai, b0, c40); c41 = Vector256.MultiplyAddEstimate(ai, b1, c41);
            ai = Vector256.Create(a5[p]); aPacked[5] = ai.ToScalar();
            c50 = Vector256.MultiplyAddEstimate(ai, b0, c50); c51 = Vector256.MultiplyAddEstimate(ai, b1, c51);
            aPacked += 6;
            b += 16;
        }
        StorePlain6(c, ldc, beta, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
    }
}
