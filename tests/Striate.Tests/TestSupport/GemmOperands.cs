namespace Striate.Tests.TestSupport;

/// <summary>
/// The operands of one GEMM test case, C = alpha·op(A)·op(B) + beta·C, drawn from one generator in the order A, B, C
/// (<see cref="Close.RandomArray"/>: uniform in [-1, 1)), so a class that drew them by hand in that order keeps its values
/// for the same seeds. With <c>nanC</c> C starts as NaN instead (its draw is still taken, so what the caller draws next
/// does not move): beta = 0 must not read C, and an element a kernel skips stays NaN and fails the comparison.
/// Every arm of a case (the reference, the kernel, a second kernel path) starts from its own <see cref="CopyOfC"/>.
/// Shapes: A [transA ? k : m, lda], B [transB ? n : k, ldb], C [m, ldc] (row-major, leading dimensions in floats).
/// </summary>
public sealed class GemmOperands
{
    private GemmOperands(float[] a, float[] b, float[] c) => (A, B, C) = (a, b, c);

    public float[] A { get; }
    public float[] B { get; }

    /// <summary>C as every arm starts it: random, or all NaN; never written by the tests (compare padding against it).</summary>
    public float[] C { get; }

    /// <summary>Draws whole rows: A [transA ? k : m, lda], B [transB ? n : k, ldb], C [m, ldc].</summary>
    public static GemmOperands Draw(Generator generator, bool transA, bool transB, int m, int n, int k, int lda, int ldb, int ldc, bool nanC) =>
        Draw(generator, (transA ? k : m) * lda, (transB ? n : k) * ldb, m * ldc, nanC);

    /// <summary>Draws arrays of the given lengths (for cases whose last row stops at the matrix's width, not its stride).</summary>
    public static GemmOperands Draw(Generator generator, int aLength, int bLength, int cLength, bool nanC)
    {
        var a = Close.RandomArray(aLength, generator);
        var b = Close.RandomArray(bLength, generator);
        var c = Close.RandomArray(cLength, generator);
        if (nanC) Array.Fill(c, float.NaN);
        return new GemmOperands(a, b, c);
    }

    /// <summary>A fresh copy of the starting C, for one arm to write into.</summary>
    public float[] CopyOfC() => (float[])C.Clone();

    /// <summary>A copy of the starting C as a guarded slice (<see cref="Guarded"/>), for the arm under test: a store before or past C fails.</summary>
    public Guarded<float> GuardedC() => Guarded.Of(C);
}
