using Striate.Data;
using Striate.IO;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Fuzz;

/// <summary>
/// The minimized inputs of issue 14 (tests/Striate.Tests/Fuzz/regressions, written by make_regressions.py): each is
/// refused with the reader's own error naming the file, before the reader allocates what the header claims.
/// </summary>
public sealed class HostileInputRegressionTests
{
    /// <summary>Generous for a few-byte file, far below the hundreds of megabytes the headers claim.</summary>
    private const long Budget = 16 * Allocation.MiB;

    internal static string Regressions => Path.Combine(RepoPaths.Root, "tests", "Striate.Tests", "Fuzz", "regressions");

    private static InvalidDataException RejectedCheaply(string file, Action<string> read)
    {
        string path = Path.Combine(Regressions, file);
        var m = Allocation.Measure(() => read(path));
        var e = Assert.IsType<InvalidDataException>(m.Thrown);
        Assert.Contains(path, e.Message);
        Assert.True(m.AllocatedBytes < Budget, $"{file} made the reader allocate {m.AllocatedBytes / Allocation.MiB} MiB before refusing it.");
        return e;
    }

    [Fact]
    public void IdxGzipClaimingAGigabyteIsRefusedWithoutAllocatingIt()
    {
        var e = RejectedCheaply("idx/claims-1gib.gz", p => IdxFile.Read(p));
        Assert.Contains("need 1073741824 data bytes", e.Message);
        Assert.Contains("ends after 0", e.Message);
    }

    [Theory]
    [InlineData("png/claims-20000x20000.png", "20000×20000", "needs 400020000 bytes")]
    [InlineData("png/claims-10000x10000-rgba16.png", "10000×10000", "needs 800010000 bytes")]
    public void PngHeaderClaimingHundredsOfMegabytesIsRefusedWithoutAllocatingThem(string file, string size, string need)
    {
        var e = RejectedCheaply(file, p => PngCodec.Load(p));
        Assert.Contains("truncated image data", e.Message);
        Assert.Contains(size, e.Message);
        Assert.Contains(need, e.Message);
    }

    [Fact]
    public void AsciiPgmClaimingHundredsOfMegabytesIsRefusedWithoutAllocatingThem()
    {
        var e = RejectedCheaply("pnm/ascii-claims-20000x20000.pgm", p => PnmCodec.Load(p));
        Assert.Contains("400000000 ASCII samples need at least 800000000 bytes", e.Message);
    }

    [Theory]
    [InlineData("lone-surrogate-name", "a tensor name", "lone UTF-16 surrogate")]
    [InlineData("lone-surrogate-dtype", "tensor 't': \"dtype\" is \"\\udfff\"", "lone UTF-16 surrogate")]
    [InlineData("lone-surrogate-metadata", "\"__metadata__\" entry 'format' is \"\\udc00\"", "lone UTF-16 surrogate")]
    public void LoneSurrogateInASafetensorsHeaderIsTheReadersOwnError(string file, string field, string problem)
    {
        var e = RejectedCheaply($"safetensors/{file}.safetensors", p => SafetensorsFile.Load(p));
        Assert.Contains(field, e.Message);
        Assert.Contains(problem, e.Message);
    }
}
