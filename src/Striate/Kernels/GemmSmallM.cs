using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// GEMM with very few rows of C (a batch-1 linear layer is m = 1): packing B would cost as much as the product
/// and most of an MR-tall register tile would multiply zero padding, so op(A)'s rows are applied to B directly.
/// Memory-bound on B, which is streamed once; threaded over column ranges of C.
/// </summary>
internal static unsafe class GemmSmallM
{
    /// <summary>Largest m this path takes; beyond it the packed kernel's register reuse wins.</summary>
    public const int MaxM = 4;

    /// <summary>Columns per parallel iteration (a multiple of the widest vector).</summary>
    private const int Chunk = 256;

    public static void Run(ref GemmJob job, int threads)
    {
        int parts = (job.N + Chunk - 1) / Chunk;
        var body = new Body(job);
        if (threads <= 1 || parts == 1) for (int i = 0; i < parts; i++) body.Invoke(i);
        else ParallelFor.Run(parts, ref body, threads);
    }

    /// <summary>acc[0..n] += Σ_q w[q] · b[q·ldb + j], q &lt; 4: four rows of B per pass over acc.</summary>
    private static void Axpy4(ReadOnlySpan<float> w, float* b, int ldb, float* acc, int n)
    {
        float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        float* b1 = b + ldb, b2 = b + 2 * (long)ldb, b3 = b + 3 * (long)ldb;
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var v0 = Vector256.Create(w0); var v1 = Vector256.Create(w1);
            var v2 = Vector256.Create(w2); var v3 = Vector256.Create(w3);
            for (; j + 8 <= n; j += 8)
            {
                var sum = Vector256.MultiplyAddEstimate(Vector256.Load(b + j), v0, Vector256.Load(acc + j));
                sum = Vector256.MultiplyAddEstimate(Vector256.Load(b1 + j), v1, sum);
                sum = Vector256.MultiplyAddEstimate(Vector256.Load(b2 + j), v2, sum);
                sum = Vector256.MultiplyAddEstimate(Vector256.Load(b3 + j), v3, sum);
                Vector256.Store(sum, acc + j);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var v0 = Vector128.Create(w0); var v1 = Vector128.Create(w1);
            var v2 = Vector128.Create(w2); var v3 = Vector128.Create(w3);
            for (; j + 4 <= n; j += 4)
            {
                var sum = Vector128.MultiplyAddEstimate(Vector128.Load(b + j), v0, Vector128.Load(acc + j));
                sum = Vector128.MultiplyAddEstimate(Vector128.Load(b1 + j), v1, sum);
                sum = Vector128.MultiplyAddEstimate(Vector128.Load(b2 + j), v2, sum);
                sum = Vector128.MultiplyAddEstimate(Vector128.Load(b3 + j), v3, sum);
                Vector128.Store(sum, acc + j);
            }
        }
        for (; j < n; j++) acc[j] += w0 * b[j] + w1 * b1[j] + w2 * b2[j] + w3 * b3[j];
    }

    private readonly struct Body(GemmJob job) : IParallelBody
    {
        public void Invoke(int index)
        {
            int j0 = index * Chunk, nc = Math.Min(Chunk, job.N - j0);
            int m = job.M, k = job.K;
            // scratch: op(A) [m, k] gathered contiguous (only when A is transposed), then acc [m, Chunk]
            float* scratch = GemmScratch.Get((job.TransA ? m * k : 0) + m * Chunk);
            float* aRows = job.A;
            nint lda = job.Lda;
            if (job.TransA)
            {
                for (int p = 0; p < k; p++)
                for (int i = 0; i < m; i++) scratch[i * k + p] = job.A[(long)p * job.Lda + i];
                aRows = scratch;
                lda = k;
            }
            float* acc = scratch + (job.TransA ? m * k : 0);
            for (int i = 0; i < m; i++)
            {
                var a = new ReadOnlySpan<float>(aRows + i * lda, k);
                var c = new Span<float>(job.C + (long)i * job.Ldc + j0, nc);
                if (job.TransB)
                {
                    // op(B)[:, j] is row j of B: each C element is one contiguous dot product.
                    for (int j = 0; j < nc; j++)
                    {
                        float dot = job.Alpha * SpanMath.Dot(a, new ReadOnlySpan<float>(job.B + (long)(j0 + j) * job.Ldb, k));
                        c[j] = job.Beta == 0 ? dot : dot + job.Beta * c[j];
                    }
                    continue;
                }
                // op(B) rows are contiguous: C[i, :] = Σ_p A[i, p] · B[p, :], accumulated in L1-resident acc.
                var row = new Span<float>(acc + i * Chunk, nc);
                row.Clear();
                int p = 0;
                for (; p + 4 <= k; p += 4)
                    Axpy4(a.Slice(p, 4), job.B + (long)p * job.Ldb + j0, job.Ldb, acc + i * Chunk, nc);
                for (; p < k; p++)
                    SpanMath.MultiplyAdd(new ReadOnlySpan<float>(job.B + (long)p * job.Ldb + j0, nc), a[p], row, row);
                if (job.Beta == 0) SpanMath.Multiply(row, job.Alpha, c);
                else
                {
                    SpanMath.Multiply(c, job.Beta, c);
                    SpanMath.MultiplyAdd(row, job.Alpha, c, c);
                }
            }
        }
    }
}
