namespace Striate.Tests.TestSupport;

/// <summary>
/// <see cref="GemmOperands"/> draws A, B, C in that order from one generator, exactly as the GEMM tests did by hand with
/// <see cref="Close.RandomArray"/> (same seed → same values, and the generator left where the hand-written draw left it);
/// NaN replaces C's values without skipping its draw; and every copy of C is its own array.
/// </summary>
public sealed class GemmOperandsTests
{
    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    [InlineData(true, true, false)]
    public void DrawsAThenBThenCLikeTheHandWrittenDraw(bool transA, bool transB, bool nanC)
    {
        const int m = 5, n = 7, k = 3, lda = 9, ldb = 8, ldc = 10;
        var byHand = new Generator(42);
        var a = Close.RandomArray((transA ? k : m) * lda, byHand);
        var b = Close.RandomArray((transB ? n : k) * ldb, byHand);
        var c = Close.RandomArray(m * ldc, byHand);
        if (nanC) Array.Fill(c, float.NaN);

        var gen = new Generator(42);
        var ops = GemmOperands.Draw(gen, transA, transB, m, n, k, lda, ldb, ldc, nanC);
        Assert.Equal(a, ops.A);
        Assert.Equal(b, ops.B);
        Assert.Equal(c, ops.C); // xunit's float equality counts NaN equal to NaN
        Assert.Equal(byHand.NextFloat(), gen.NextFloat());
    }

    [Fact]
    public void LengthsAreTakenAsGiven()
    {
        var ops = GemmOperands.Draw(new Generator(1), 11, 0, 4, nanC: false);
        Assert.Equal(11, ops.A.Length);
        Assert.Empty(ops.B);
        Assert.Equal(4, ops.C.Length);
    }

    [Fact]
    public void EachCopyOfCIsItsOwnArray()
    {
        var ops = GemmOperands.Draw(new Generator(3), false, false, 2, 3, 4, 4, 3, 3, nanC: false);
        var first = ops.CopyOfC();
        var second = ops.CopyOfC();
        Assert.NotSame(first, second);
        Assert.NotSame(ops.C, first);
        Assert.Equal(ops.C, first);
        first[0] = 99f;
        Assert.NotEqual(99f, ops.C[0]);
        Assert.NotEqual(99f, second[0]);
    }
}
