using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static Striate.Kernels.IntMath;

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
                if (Avx.IsSupported && rows == mr && mr == 6 && kc >= 4 && Avx2GemmTunables.PackAHalves)
                {
                    PackAStrip6Avx(a + (long)(i0 + s) * lda + p0, lda, kc, alpha, dst);
                    continue;
                }
                if (Avx.IsSupported && rows == mr && (mr == 14 || mr == 6) && kc >= 8)
                {
                    PackAStripAvx(a + (long)(i0 + s) * lda + p0, lda, kc, alpha, dst);
                    continue;
                }
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
                if (Avx.IsSupported && rows == mr && (mr == 14 || mr == 6))
                {
                    CopyATransposedStrip(a + (long)p0 * lda + i0 + s, lda, kc, alpha, dst);
                    continue;
                }
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
    /// One full MR-tall strip of Ã (MR = 14 or 6) from A stored [m, lda]: 8 rows × 8 depths at a time are transposed in
    /// registers, so A is read a vector per row and Ã written a vector per depth, instead of one float at a time down
    /// strided columns. Rows 8..13 (or 0..5) are stored 8 wide: the two lanes past the strip's rows land on the next
    /// depth's first slots, which are written after them; only the strip's very last depth takes a masked store.
    /// </summary>
    private static void PackAStripAvx(float* src, int lda, int kc, float alpha, float* dst)
    {
        int mr = TKernel.MR;
        var va = Vector256.Create(alpha);
        bool scale = alpha != 1;
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            // The upper group first when there are two (MR = 14), so the lower group's stores overwrite its spill.
            for (int g = mr > 8 ? 8 : 0; g >= 0; g -= 8)
            {
                int last = Math.Min(g + 8, mr) - 1; // pad rows repeat the last real one; their lanes are overwritten
                float* s0 = src + p;
                var r0 = Avx.LoadVector256(s0 + (long)Math.Min(g, last) * lda);
                var r1 = Avx.LoadVector256(s0 + (long)Math.Min(g + 1, last) * lda);
                var r2 = Avx.LoadVector256(s0 + (long)Math.Min(g + 2, last) * lda);
                var r3 = Avx.LoadVector256(s0 + (long)Math.Min(g + 3, last) * lda);
                var r4 = Avx.LoadVector256(s0 + (long)Math.Min(g + 4, last) * lda);
                var r5 = Avx.LoadVector256(s0 + (long)Math.Min(g + 5, last) * lda);
                var r6 = Avx.LoadVector256(s0 + (long)Math.Min(g + 6, last) * lda);
                var r7 = Avx.LoadVector256(s0 + (long)Math.Min(g + 7, last) * lda);
                Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
                if (scale)
                {
                    r0 *= va; r1 *= va; r2 *= va; r3 *= va; r4 *= va; r5 *= va; r6 *= va; r7 *= va;
                }
                float* d = dst + p * mr + g;
                Avx.Store(d, r0);
                Avx.Store(d + mr, r1);
                Avx.Store(d + 2 * mr, r2);
                Avx.Store(d + 3 * mr, r3);
                Avx.Store(d + 4 * mr, r4);
                Avx.Store(d + 5 * mr, r5);
                Avx.Store(d + 6 * mr, r6);
                if (g + 8 > mr && p + 8 == kc)
                    Avx.MaskStore(d + 7 * mr, Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(mr - g)).AsSingle(), r7);
                else
                    Avx.Store(d + 7 * mr, r7);
            }
        }
        for (; p < kc; p++)
        for (int r = 0; r < mr; r++)
            dst[p * mr + r] = alpha * src[(long)r * lda + p];
    }

    /// <summary>
    /// One full 6-row strip of Ã from A stored [m, lda], 4 depths at a time: each vector holds 4 depths of one row in its
    /// low half and of the row 4 below in its high half (rows 2 and 3 with zeros above), so an in-lane 4×4 transpose
    /// (4 unpacks, 4 shuffles) leaves each depth's 6 values (and 2 zeros) in one vector — no cross-lane permutes and no
    /// loads of pad rows, where <see cref="PackAStripAvx"/> transposes 8 rows (2 of them repeats) × 8 depths with 24
    /// shuffles. Stored 8 wide like <see cref="PackAStripAvx"/>: the two lanes past a depth land on the next depth's first
    /// slots, written after them; only the strip's last depth takes a masked store. One Zen 3 core packed 126 rows × 256
    /// depths of a 256-wide A in 3.3 µs instead of 4.7 (a memcpy of the same bytes 2.65; /tmp/gemm6-probe3).
    /// </summary>
    private static void PackAStrip6Avx(float* src, int lda, int kc, float alpha, float* dst)
    {
        float* r0 = src, r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda;
        var va = Vector256.Create(alpha);
        bool scale = alpha != 1;
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            var v0 = Vector256.Create(Vector128.Load(r0 + p), Vector128.Load(r4 + p));
            var v1 = Vector256.Create(Vector128.Load(r1 + p), Vector128.Load(r5 + p));
            var v2 = Vector256.Create(Vector128.Load(r2 + p), Vector128<float>.Zero);
            var v3 = Vector256.Create(Vector128.Load(r3 + p), Vector128<float>.Zero);
            var t0 = Avx.UnpackLow(v0, v1); var t1 = Avx.UnpackHigh(v0, v1);
            var t2 = Avx.UnpackLow(v2, v3); var t3 = Avx.UnpackHigh(v2, v3);
            // o_j = [rows 0..3 | rows 4, 5, 0, 0] at depth p + j
            var o0 = Avx.Shuffle(t0, t2, 0x44); var o1 = Avx.Shuffle(t0, t2, 0xEE);
            var o2 = Avx.Shuffle(t1, t3, 0x44); var o3 = Avx.Shuffle(t1, t3, 0xEE);
            if (scale)
            {
                o0 *= va; o1 *= va; o2 *= va; o3 *= va;
            }
            float* d = dst + p * 6;
            Avx.Store(d, o0);
            Avx.Store(d + 6, o1);
            Avx.Store(d + 12, o2);
            if (p + 4 == kc)
                Avx.MaskStore(d + 18, Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(6)).AsSingle(), o3);
            else
                Avx.Store(d + 18, o3);
        }
        for (; p < kc; p++)
        for (int r = 0; r < 6; r++)
            dst[p * 6 + r] = alpha * src[(long)r * lda + p];
    }

    /// <summary>
    /// One full MR-tall strip of Ã (MR = 14 or 6) from A stored [k, lda], where one depth's MR values are contiguous:
    /// two overlapping vector copies per depth (values 0..7 and 6..13, or 0..3 and 2..5), which neither read nor
    /// write past the strip.
    /// </summary>
    private static void CopyATransposedStrip(float* src, int lda, int kc, float alpha, float* dst)
    {
        int mr = TKernel.MR;
        if (mr == 14)
        {
            var va = Vector256.Create(alpha);
            for (int p = 0; p < kc; p++, src += lda, dst += 14)
            {
                Avx.Store(dst, Avx.LoadVector256(src) * va);
                Avx.Store(dst + 6, Avx.LoadVector256(src + 6) * va);
            }
        }
        else
        {
            var va = Vector128.Create(alpha);
            for (int p = 0; p < kc; p++, src += lda, dst += 6)
            {
                Vector128.Store(Vector128.Load(src) * va, dst);
                Vector128.Store(Vector128.Load(src + 2) * va, dst + 2);
            }
        }
    }

    /// <summary>In-register transpose of the 8×8 block whose rows are r0..r7 (r_i[j] becomes r_j[i]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref Vector256<float> r0, ref Vector256<float> r1, ref Vector256<float> r2, ref Vector256<float> r3,
        ref Vector256<float> r4, ref Vector256<float> r5, ref Vector256<float> r6, ref Vector256<float> r7)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        r0 = Avx.Permute2x128(u0, u4, 0x20);
        r1 = Avx.Permute2x128(u1, u5, 0x20);
        r2 = Avx.Permute2x128(u2, u6, 0x20);
        r3 = Avx.Permute2x128(u3, u7, 0x20);
        r4 = Avx.Permute2x128(u0, u4, 0x31);
        r5 = Avx.Permute2x128(u1, u5, 0x31);
        r6 = Avx.Permute2x128(u2, u6, 0x31);
        r7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>Columns of B packed per group of strips on the AVX2 tile (see <see cref="PackB"/>): four 16-wide strips.</summary>
    private const int GroupFloats = 64;

    /// <summary>Rows of B per pass over the groups of strips on the AVX2 tile (see <see cref="PackB"/>).</summary>
    private const int RowsPerPass = 8;

    /// <summary>
    /// B̃: [ceil(nc/NR), kc, NR] ← op(B)[p0 .. p0+kc, j0 .. j0+nc]; columns past nc are zero. With <paramref name="rows"/>
    /// (B not transposed), each row p is act(B[p, :]·scale[p] + shift[p]) as it is dealt out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transB, float* b, int ldb, int p0, int kc, int j0, int nc, float* dst, in GemmRowAffine rows = default)
    {
        int nr = TKernel.NR;
        if (!rows.IsEmpty && transB) throw new ArgumentException("PackB: a row transform needs B untransposed.");
        if (!transB)
        {
            // B stored [k, ldb]: NR consecutive columns of one row are contiguous, already B̃'s order. Rows are taken
            // RowsPerPass at a time, and within them a group of strips at a time: each row hands the group one piece
            // (256 bytes on the AVX2 tile), and the group's strips fill as a few short sequential runs. Dealing each
            // whole row out to every strip (32 streams 16 KiB apart at 512 columns) packed a warm B at 0.124 ns per
            // float and one from memory at 1.0; groups of four 16-wide strips over 8 rows 0.072 and 0.66 (Zen 4). The
            // AVX-512 tile keeps whole rows (one group): its 512-deep blocks read a 4 KiB-strided B in 256-byte pieces
            // 1.6–3.3× slower from memory, and sgemm_1024 lost 4 %.
            int group = nr == 16 ? GroupFloats : RoundUp(nc, nr);
            int rowsPerPass = nr == 16 ? RowsPerPass : kc;
            // A whole group's row piece as eight vector loads, then eight stores (CopyPiece).
            bool pieces = nr == 16 && rows.IsEmpty && Avx.IsSupported && Avx2GemmTunables.PackBPieces;
            for (int q0 = 0; q0 < kc; q0 += rowsPerPass)
            {
                int q1 = Math.Min(kc, q0 + rowsPerPass);
                for (int g = 0; g < nc; g += group)
                {
                    int cols = Math.Min(group, nc - g);
                    int full = cols / nr, rest = cols - full * nr;
                    float* dGroup = dst + (long)g * kc;
                    if (pieces && cols == GroupFloats)
                    {
                        for (int p = q0; p < q1; p++)
                            CopyPiece(b + (long)(p0 + p) * ldb + j0 + g, dGroup + p * nr, (long)nr * kc);
                        continue;
                    }
                    for (int p = q0; p < q1; p++)
                    {
                        float* src = b + (long)(p0 + p) * ldb + j0 + g;
                        float* d = dGroup + p * nr;
                        if (rows.IsEmpty)
                        {
                            for (int s = 0; s < full; s++, src += nr, d += (long)nr * kc)
                                Unsafe.CopyBlockUnaligned(d, src, (uint)(nr * sizeof(float)));
                            if (rest > 0)
                            {
                                int j = 0;
                                for (; j < rest; j++) d[j] = src[j];
                                for (; j < nr; j++) d[j] = 0;
                            }
                        }
                        else
                        {
                            for (int s = 0; s < full; s++, src += nr, d += (long)nr * kc) rows.Apply(src, d, nr, p0 + p);
                            if (rest > 0)
                            {
                                rows.Apply(src, d, rest, p0 + p);
                                for (int j = rest; j < nr; j++) d[j] = 0;
                            }
                        }
                    }
                }
            }
            return;
        }
        for (int s = 0; s < nc; s += nr, dst += nr * kc)
        {
            int cols = Math.Min(nr, nc - s);
            if (Avx.IsSupported && cols == nr && nr % 8 == 0)
            {
                PackBTransposedAvx(b + (long)(j0 + s) * ldb + p0, ldb, kc, dst);
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

    /// <summary>
    /// One row's 64-float piece of a group of four 16-wide B̃ strips (<see cref="PackB"/>, AVX2 tile): all eight loads
    /// before the eight stores, the strips <paramref name="strip"/> floats apart. Four block copies of 64 bytes each
    /// (a load then a store, four times) packed a 256 × 256 B with B and B̃ in L2 in 6.8 µs, this in 5.95, a plain
    /// memcpy of the same bytes 6.0 (one Zen 3 core, min of 200 calls; /tmp/gemm6-probe).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPiece(float* src, float* d, long strip)
    {
        var x0 = Avx.LoadVector256(src); var x1 = Avx.LoadVector256(src + 8);
        var x2 = Avx.LoadVector256(src + 16); var x3 = Avx.LoadVector256(src + 24);
        var x4 = Avx.LoadVector256(src + 32); var x5 = Avx.LoadVector256(src + 40);
        var x6 = Avx.LoadVector256(src + 48); var x7 = Avx.LoadVector256(src + 56);
        Avx.Store(d, x0); Avx.Store(d + 8, x1);
        Avx.Store(d + strip, x2); Avx.Store(d + strip + 8, x3);
        Avx.Store(d + 2 * strip, x4); Avx.Store(d + 2 * strip + 8, x5);
        Avx.Store(d + 3 * strip, x6); Avx.Store(d + 3 * strip + 8, x7);
    }

    /// <summary>
    /// One full NR-wide strip of B̃ from a transposed B (linear layers' x·Wᵀ, convolution weight gradients):
    /// 8×8 blocks are transposed in registers, so both the loads and the stores are whole vectors.
    /// </summary>
    private static void PackBTransposedAvx(float* src, int ldb, int kc, float* dst)
    {
        int nr = TKernel.NR;
        int kc8 = kc & ~7;
        for (int jb = 0; jb < nr; jb += 8)
        {
            float* s0 = src + (long)jb * ldb;
            for (int p = 0; p < kc8; p += 8)
            {
                float* s = s0 + p;
                // r_j = op(B)[p .. p+8, jb + j]
                var r0 = Avx.LoadVector256(s);
                var r1 = Avx.LoadVector256(s + ldb);
                var r2 = Avx.LoadVector256(s + 2 * (long)ldb);
                var r3 = Avx.LoadVector256(s + 3 * (long)ldb);
                var r4 = Avx.LoadVector256(s + 4 * (long)ldb);
                var r5 = Avx.LoadVector256(s + 5 * (long)ldb);
                var r6 = Avx.LoadVector256(s + 6 * (long)ldb);
                var r7 = Avx.LoadVector256(s + 7 * (long)ldb);
                Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
                float* d = dst + p * nr + jb;
                Avx.Store(d, r0);
                Avx.Store(d + nr, r1);
                Avx.Store(d + 2 * nr, r2);
                Avx.Store(d + 3 * nr, r3);
                Avx.Store(d + 4 * nr, r4);
                Avx.Store(d + 5 * nr, r5);
                Avx.Store(d + 6 * nr, r6);
                Avx.Store(d + 7 * nr, r7);
            }
            for (int j = 0; j < 8; j++)
            {
                float* s = s0 + (long)j * ldb;
                for (int p = kc8; p < kc; p++) dst[p * nr + jb + j] = s[p];
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

    /// <summary>The calling thread's buffer: its aligned start and the floats it holds (0, 0 before the thread's first GEMM), for placement reports.</summary>
    internal static (nint Address, long Floats) OfCurrentThread() => current == null ? (0, 0) : ((nint)current.aligned, current.capacity);

    /// <summary>A buffer of at least <paramref name="floats"/> floats owned by the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
