namespace Striate.Tests.TestSupport;

/// <summary>The guard bands catch a store on either side of the slice, name its offset, and let an untouched slice pass.</summary>
public class GuardedTests
{
    [Fact]
    public void AnUntouchedBufferPassesWhateverItsSliceHolds()
    {
        var g = Guarded.Nan(10);
        g.Span.Fill(float.NaN);
        g[3] = 1f;
        g.Check("untouched");
        Guarded.Ints(0).Check("empty");
        Guarded.Of(new[] { 1f, 2f }).Check("copy");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(17)]
    [InlineData(10 + Guarded.Band - 1)]
    public void AStorePastTheEndFailsAndNamesItsOffset(int offset)
    {
        var g = Guarded.Nan(10);
        g.Array[g.Offset + offset] = float.NaN; // a computed NaN is not the sentinel
        var e = Assert.ThrowsAny<Exception>(() => g.Check("kernel K [2, 5]"));
        Assert.Contains("kernel K [2, 5]", e.Message);
        Assert.Contains($"past its 10-element output, at offset {offset}", e.Message);
    }

    [Fact]
    public void AStoreBeforeTheStartFailsAndNamesItsOffset()
    {
        var g = Guarded.Zeros(4);
        g.Array[g.Offset - 3] = 0f;
        var e = Assert.ThrowsAny<Exception>(() => g.Check("kernel K"));
        Assert.Contains("before its 4-element output, at offset -3", e.Message);
    }

    [Fact]
    public void IntBuffersAndCloseAssertCheckTheBandsToo()
    {
        var idx = Guarded.Ints(3);
        idx.Array[idx.Offset + 3] = -1;
        Assert.ThrowsAny<Exception>(() => idx.Check("indices"));
        var y = Guarded.Of(new[] { 1f, 2f });
        y.Array[y.Offset + 2] = 2f;
        var e = Assert.ThrowsAny<Exception>(() => Close.Assert(new[] { 1f, 2f }, y, 0, 0, "values equal"));
        Assert.Contains("wrote past", e.Message);
    }
}
