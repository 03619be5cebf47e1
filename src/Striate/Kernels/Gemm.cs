using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>The microkernel family a GEMM call runs on (chosen from the hardware unless a test forces one).</summary>
internal enum GemmPath
{
    /// <summary>4×4 scalar tile.</summary>
    Scalar,
    /// <summary>6×8 tile of 128-bit vectors (SSE or NEON).</summary>
    Vector128,
    /// <summary>6×16 tile of 256-bit vectors (AVX2 + FMA).</summary>
    Vector256,
    /// <summary>14×32 tile of 512-bit vectors (AVX-512).</summary>
    Vector512,
}

/// <summary>
/// Single-precision matrix multiply, the engine under linear layers and most convolutions: a packed,
/// cache-blocked GEMM in the BLIS layout (Van Zee &amp; van de Geijn, "BLIS: A Framework for Rapidly
/// Instantiating BLAS Functionality", 2015) with a register-tile microkernel per SIMD width, threaded over
/// blocks of C with <see cref="ParallelFor"/>.
/// </summary>
public static partial class Gemm
{
    /// <summary>
    /// For benchmarks: false packs B̃ in a pass of its own before the AVX2 tiles also where A comes packed
    /// (STRIATE_BENCH_PACK_WHILE_MULTIPLYING=0); true lets a block's first row strip pack it as it multiplies (GemmDriver.Block).
    /// </summary>
    internal static bool PackWhileMultiplying = true;

    /// <summary>Below this many multiply-adds (m·n·k) a call runs on the calling thread alone: waking workers costs more.</summary>
    internal const long ParallelThreshold = 64L * 64 * 64;

    /// <summary>The widest path this process can run fast; honours DOTNET_EnableAVX512F=0 and DOTNET_EnableHWIntrinsic=0.</summary>
    internal static readonly GemmPath BestPath = DetectPath();

    /// <summary>
    /// C = alpha · op(A) · op(B) + beta · C, row-major, where op(X) is X or Xᵀ. When beta is 0, C is not read.
    /// Shapes: op(A) [m, k], op(B) [k, n], C [m, n]; A is stored [m, lda] (or [k, lda] when transposed),
    /// B is stored [k, ldb] (or [n, ldb]), C is stored [m, ldc].
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Sgemm(BestPath, KernelThreads.Count, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>As the public overload, on a given path and thread budget (for tests and benchmarks).</summary>
    internal static unsafe void Sgemm(GemmPath path, int threads, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Sgemm: path {path} is not accelerated on this machine.");
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        if ((long)m * n * k < ParallelThreshold) threads = 1;
        fixed (float* pa = a, pb = b, pc = c)
        {
            var job = new GemmJob(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, null, GemmEpilogue.None);
            if (!transA && transB && m <= Gemv.MaxRows && alpha == 1 && beta == 0 && path != GemmPath.Scalar)
            {
                // A few rows times a row-major matrix transposed (a linear layer's x·Wᵀ): B read once, in place.
                Gemv.MultiplyTransposed(path, threads, m, n, k, pa, lda, pb, ldb, null, pc, ldc);
                return;
            }
            if (m <= GemmSmallM.MaxM && path != GemmPath.Scalar)
            {
                GemmSmallM.Run(ref job, threads);
                return;
            }
            switch (path)
            {
                case GemmPath.Vector512: GemmDriver<Gemm512x14x32>.Run(ref job, threads); break;
                case GemmPath.Vector256: GemmDriver<Gemm256x6x16>.Run(ref job, threads); break;
                case GemmPath.Vector128: GemmDriver<Gemm128x6x8>.Run(ref job, threads); break;
                default: GemmDriver<GemmScalar4x4>.Run(ref job, threads); break;
            }
        }
    }

    // ---- a left operand packed once, for many products with it (a convolution's weights, image after image) ------

    /// <summary>
    /// Whether products with <paramref name="m"/> rows read a packed A at all; the few-rows path
    /// (<see cref="GemmSmallM"/>) reads A directly, so callers pass A unpacked there.
    /// </summary>
    internal static bool UsesPackedA(GemmPath path, int m) => m > GemmSmallM.MaxM || path == GemmPath.Scalar;

    /// <summary>Floats <see cref="PackA"/> writes for op(A) [m, k] on <paramref name="path"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static long PackedALength(GemmPath path, int m, int k) => path switch
    {
        GemmPath.Vector512 => GemmDriver<Gemm512x14x32>.PackedLength(m, k),
        GemmPath.Vector256 => GemmDriver<Gemm256x6x16>.PackedLength(m, k),
        GemmPath.Vector128 => GemmDriver<Gemm128x6x8>.PackedLength(m, k),
        _ => GemmDriver<GemmScalar4x4>.PackedLength(m, k),
    };

    /// <summary>dst ← alpha · op(A) [m, k] (A stored [m, lda], or [k, lda] when transposed), packed for <paramref name="path"/>'s tile.</summary>
    internal static unsafe void PackA(GemmPath path, bool transA, int m, int k, float alpha, float* a, int lda, float* dst)
    {
        switch (path)
        {
            case GemmPath.Vector512: GemmDriver<Gemm512x14x32>.PackWhole(transA, a, lda, m, k, alpha, dst); break;
            case GemmPath.Vector256: GemmDriver<Gemm256x6x16>.PackWhole(transA, a, lda, m, k, alpha, dst); break;
            case GemmPath.Vector128: GemmDriver<Gemm128x6x8>.PackWhole(transA, a, lda, m, k, alpha, dst); break;
            default: GemmDriver<GemmScalar4x4>.PackWhole(transA, a, lda, m, k, alpha, dst); break;
        }
    }

    /// <summary>
    /// C [m, n] = packedA · op(B) + beta · C, with packedA from <see cref="PackA"/> on the same path (alpha already in
    /// it). Requires <see cref="UsesPackedA"/>. Shapes: op(B) [k, n] (B stored [k, ldb], or [n, ldb] when transposed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Sgemm(GemmPath path, int threads, float* packedA, int m, int k, bool transB, int n,
        float* b, int ldb, float beta, float* c, int ldc)
        => Sgemm(path, threads, packedA, m, k, transB, n, b, ldb, beta, c, ldc, GemmEpilogue.None);

    /// <summary>
    /// As above, with <paramref name="epilogue"/> (per-row bias, residual, clamp) applied in the microkernel's store
    /// of the last depth block: C = clamp(packedA · op(B) + beta · C + bias + residual).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Sgemm(GemmPath path, int threads, float* packedA, int m, int k, bool transB, int n,
        float* b, int ldb, float beta, float* c, int ldc, in GemmEpilogue epilogue, in GemmRowAffine bRows = default)
    {
        if (!bRows.IsEmpty && transB) throw new ArgumentException("Sgemm: a transform of B's rows needs B untransposed.");
        if (!UsesPackedA(path, m)) throw new ArgumentException($"Sgemm: {m} rows take the few-rows path, which reads A unpacked.");
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Sgemm: path {path} is not accelerated on this machine.");
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            ScaleC(m, n, beta, new Span<float>(c, (m - 1) * ldc + n), ldc);
            epilogue.ApplyTo(c, m, n, ldc);
            return;
        }
        if ((long)m * n * k < ParallelThreshold) threads = 1;
        var job = new GemmJob(false, transB, m, n, k, 1f, null, 0, b, ldb, beta, c, ldc, packedA, epilogue, bRows);
        switch (path)
        {
            case GemmPath.Vector512: GemmDriver<Gemm512x14x32>.Run(ref job, threads); break;
            case GemmPath.Vector256: GemmDriver<Gemm256x6x16>.Run(ref job, threads); break;
            case GemmPath.Vector128: GemmDriver<Gemm128x6x8>.Run(ref job, threads); break;
            default: GemmDriver<GemmScalar4x4>.Run(ref job, threads); break;
        }
    }

    /// <summary>
    /// As the packed-A <see cref="Sgemm(GemmPath, int, float*, int, int, bool, int, float*, int, float, float*, int, in GemmEpilogue, in GemmRowAffine)"/>
    /// with beta 0 and B untransposed, C's rows stored in two places: rows [0, splitRow) at <paramref name="c"/>, rows
    /// [splitRow, m) at <paramref name="c2"/>, both with row stride ldc (the register tile that straddles the cut runs
    /// into a scratch tile, whose rows are then stored in their places). The epilogue's bias and residual are indexed by
    /// the product's rows.
    /// Shapes: packedA [m, k] packed, B [k, ldb], C [splitRow, ldc], C2 [m − splitRow, ldc].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void SgemmSplitRows(GemmPath path, int threads, float* packedA, int m, int k, int n,
        float* b, int ldb, float* c, float* c2, int splitRow, int ldc, in GemmEpilogue epilogue)
    {
        if (splitRow <= 0 || splitRow >= m) throw new ArgumentException($"SgemmSplitRows: the cut at row {splitRow} must be inside the product's {m} rows.");
        if (!UsesPackedA(path, m)) throw new ArgumentException($"SgemmSplitRows: {m} rows take the few-rows path, which reads A unpacked.");
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"SgemmSplitRows: path {path} is not accelerated on this machine.");
        if (n == 0) return;
        if (k == 0) throw new ArgumentException("SgemmSplitRows: an empty depth (k = 0) has no product to store.");
        if ((long)m * n * k < ParallelThreshold) threads = 1;
        var job = new GemmJob(false, false, m, n, k, 1f, null, 0, b, ldb, 0f, c, ldc, packedA, epilogue, default, c2, splitRow);
        switch (path)
        {
            case GemmPath.Vector512: GemmDriver<Gemm512x14x32>.Run(ref job, threads); break;
            case GemmPath.Vector256: GemmDriver<Gemm256x6x16>.Run(ref job, threads); break;
            case GemmPath.Vector128: GemmDriver<Gemm128x6x8>.Run(ref job, threads); break;
            default: GemmDriver<GemmScalar4x4>.Run(ref job, threads); break;
        }
    }

    /// <summary>Whether <paramref name="path"/> runs on accelerated hardware in this process.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool IsSupported(GemmPath path) => path switch
    {
        GemmPath.Vector512 => Vector512.IsHardwareAccelerated,
        GemmPath.Vector256 => Vector256.IsHardwareAccelerated,
        GemmPath.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    private static GemmPath DetectPath()
    {
        // The wide paths rely on fused multiply-add; without it (pre-Haswell x86) 128-bit multiply + add is as good.
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported) return GemmPath.Vector512;
        if (Vector256.IsHardwareAccelerated && Fma.IsSupported) return GemmPath.Vector256;
        if (Vector128.IsHardwareAccelerated) return GemmPath.Vector128;
        return GemmPath.Scalar;
    }

    /// <summary>C ← beta · C, the whole product when op(A)·op(B) contributes nothing (k = 0 or alpha = 0).</summary>
    private static void ScaleC(int m, int n, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0) row.Clear();
            else if (beta != 1) Striate.Kernels.SpanMath.Multiply(row, beta, row);
        }
    }

    /// <summary>Checks sizes and leading dimensions against the spans, naming what is wrong.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Validate(bool transA, bool transB, int m, int n, int k, int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Sgemm: sizes must be non-negative, got m={m}, n={n}, k={k}.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckMatrix("A", aRows, aCols, lda, aLength);
        CheckMatrix("B", bRows, bCols, ldb, bLength);
        CheckMatrix("C", m, n, ldc, cLength);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckMatrix(string name, int rows, int cols, int ld, int length)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"Sgemm: ld{name.ToLowerInvariant()} = {ld} is smaller than the {cols} columns of {name} ({rows}×{cols}).");
        if (rows > 0 && cols > 0 && (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"Sgemm: {name} is {rows}×{cols} with leading dimension {ld}, needing {(long)(rows - 1) * ld + cols} elements, but its span has {length}.");
    }
}
