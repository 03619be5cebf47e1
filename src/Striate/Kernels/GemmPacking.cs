using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the layouts the microkernels stream through (Goto &amp; van de Geijn,
/// "Anatomy of High-Performance Matrix Multiplication", 2008): every transpose is resolved here, edges are
/// zero-padded to whole tiles, and alpha is folded into Ã, so the microkernel sees one case only.
/// </summary>
internal static unsafe class GemmPacking<TKernel> where TKernel : struct, IGemmMicrokernel
{
    /// <summary>
    /// Ã: [ceil(mc/MR), kc, MR] ← alpha · op(A)[i0 .. i0+mc, p0 .. p0+kc]; rows past mc are zero.
    /// </summary>
    public static void PackA(bool transA, float* a, int lda, int i0, int mc, int p0, int kc, float alpha, float* dst)
    {
        int mr = TKernel.MR;
        for (int s = 0; s < mc; s += mr, dst += mr * kc)
        {
            int rows = Math.Min(mr, mc - s);
            if (!transA)
            {
                // A stored [m, lda]: each row of the strip is contiguous in p; write it as a column of Ã.
                for (int r = 0; r < rows; r++)
                {
                    float* src = a + (long)(i0 + s + r) * lda + p0;
                    float* d = dst + r;
                    for (int p = 0; p < kc; p++, d += mr) *d = alpha * src[p];
                }
                for (int r = rows; r < mr; r++)
                {
                    float* d = dst + r;
                    for (int p = 0; p < kc; p++, d += mr) *d = 0;
                }
            }
            else
            {
                // A stored [k, lda]: the MR values of one p are contiguous, already Ã's order.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)(p0 + p) * lda + i0 + s;
                    float* d = dst + p * mr;
                    int r = 0;
                    for (; r < rows; r++) d[r] = alpha * src[r];
                    for (; r < mr; r++) d[r] = 0;
                }
            }
        }
    }

    /// <summary>
    /// B̃: [ceil(nc/NR), kc, NR] ← op(B)[p0 .. p0+kc, j0 .. j0+nc]; columns past nc are zero.
    /// </summary>
    public static void PackB(bool transB, float* b, int ldb, int p0, int kc, int j0, int nc, float* dst)
    {
        int nr = TKernel.NR;
        for (int s = 0; s < nc; s += nr, dst += nr * kc)
        {
            int cols = Math.Min(nr, nc - s);
            if (!transB)
            {
                // B stored [k, ldb]: NR consecutive columns of one row are contiguous, already B̃'s order.
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)(p0 + p) * ldb + j0 + s;
                    float* d = dst + p * nr;
                    if (cols == nr)
                    {
                        Unsafe.CopyBlockUnaligned(d, src, (uint)(nr * sizeof(float)));
                    }
                    else
                    {
                        int j = 0;
                        for (; j < cols; j++) d[j] = src[j];
                        for (; j < nr; j++) d[j] = 0;
                    }
                }
            }
            else
            {
                // B stored [n, ldb]: each column of op(B) is a contiguous row of B; scatter it down B̃.
                for (int j = 0; j < cols; j++)
                {
                    float* src = b + (long)(j0 + s + j) * ldb + p0;
                    float* d = dst + j;
                    for (int p = 0; p < kc; p++, d += nr) *d = src[p];
                }
                for (int j = cols; j < nr; j++)
                {
                    float* d = dst + j;
                    for (int p = 0; p < kc; p++, d += nr) *d = 0;
                }
            }
        }
    }
}

/// <summary>
/// Per-thread packing buffers, grown on demand and kept for the thread's lifetime, so a GEMM call allocates
/// nothing once warm. 64-byte aligned so packed strips start on cache lines.
/// </summary>
internal sealed unsafe class GemmScratch
{
    [ThreadStatic] private static GemmScratch? current;
    private float[]? array;
    private float* aligned;
    private int capacity;

    /// <summary>A buffer of at least <paramref name="floats"/> floats owned by the calling thread.</summary>
    public static float* Get(int floats)
    {
        var scratch = current ??= new GemmScratch();
        if (scratch.capacity < floats)
        {
            int size = Math.Max(floats, scratch.capacity * 3 / 2);
            scratch.array = GC.AllocateUninitializedArray<float>(size + 16, pinned: true);
            nint address = (nint)Unsafe.AsPointer(ref scratch.array[0]);
            scratch.aligned = (float*)((address + 63) & ~(nint)63);
            scratch.capacity = size;
        }
        return scratch.aligned;
    }
}
