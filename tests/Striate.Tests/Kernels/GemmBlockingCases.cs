using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The check the blocking tests share (GemmSelfPackedDepthTests, GemmAvx512PanelTests): with a blocking switch set by
/// the caller, every (m, n, k) of <paramref name="shapes"/>, on one and two threads and every transpose, against the
/// three-loop twin, with β 0 (C starts as NaN) and 0.5 alternating and C's rows padded.
/// </summary>
internal static class GemmBlockingCases
{
    public static void AssertMatchReference(GemmPath path, ulong seed, (int M, int N, int K)[] shapes, string label)
    {
        foreach (int threads in new[] { 1, 2 })
        foreach (var (m, n, k) in shapes)
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        {
            var gen = new Generator(seed++);
            float beta = seed % 2 == 0 ? 0f : 0.5f;
            int lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 2;
            var ops = GemmOperands.Draw(gen, transA, transB, m, n, k, lda, ldb, ldc, nanC: beta == 0);
            var expected = ops.CopyOfC();
            var actual = ops.GuardedC();
            GemmReference.Sgemm(transA, transB, m, n, k, 1.5f, ops.A, lda, ops.B, ldb, beta, expected, ldc);
            Gemm.Sgemm(path, threads, transA, transB, m, n, k, 1.5f, ops.A, lda, ops.B, ldb, beta, actual, ldc);
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * 3,
                $"{label} threads={threads} transA={transA} transB={transB} m={m} n={n} k={k} beta={beta}");
        }
    }
}
