using System.IO.Compression;
using Striate.Data;

namespace Striate.Tests.Data;

// Alone: CI reruns the reader tests under a 512 MiB heap limit, where loading the whole Fashion-MNIST training set beside
// other tests' allocations ran out of memory (18:20 CI run), although the load alone fits easily.
[Collection(nameof(HeapMeasuringCollection))]
public class IdxFileTests
{
    private static byte[] Idx(byte type, int[] dims, byte[] data)
    {
        var header = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (var d in dims) header.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        return [.. header, .. data];
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    [Fact]
    public void RawAndGzipFilesGiveTheSameDimensionsAndData()
    {
        using var tmp = new TempFolder();
        var payload = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        var bytes = Idx(0x08, [2, 3, 4], payload);
        File.WriteAllBytes(tmp.File("raw.idx"), bytes);
        File.WriteAllBytes(tmp.File("packed.bin"), Gzip(bytes)); // no .gz extension: detected by magic
        foreach (var name in new[] { "raw.idx", "packed.bin" })
        {
            var idx = IdxFile.Read(tmp.File(name));
            Assert.Equal([2, 3, 4], idx.Dimensions);
            Assert.Equal(payload, idx.Data);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedDataNamesFileAndByteCounts(bool gzip)
    {
        using var tmp = new TempFolder();
        var bytes = Idx(0x08, [10, 5], new byte[37]);
        File.WriteAllBytes(tmp.File("t.idx"), gzip ? Gzip(bytes) : bytes);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(tmp.File("t.idx")));
        Assert.Contains("t.idx", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("50", e.Message);
        Assert.Contains("37", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrailingBytesAreAnError(bool gzip)
    {
        using var tmp = new TempFolder();
        var bytes = Idx(0x08, [4], new byte[6]);
        File.WriteAllBytes(tmp.File("x.idx"), gzip ? Gzip(bytes) : bytes);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(tmp.File("x.idx")));
        Assert.Contains("2 unexpected trailing bytes", e.Message);
    }

    [Fact]
    public void GzipFileCutShortReportsTruncation()
    {
        using var tmp = new TempFolder();
        var gz = File.ReadAllBytes(Path.Combine(DataTestPaths.Mnist, MnistFiles.TestLabels));
        File.WriteAllBytes(tmp.File("cut.gz"), gz[..(gz.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(tmp.File("cut.gz")));
        Assert.Contains("cut.gz", e.Message);
        Assert.Contains("need 10000 data bytes", e.Message);
    }

    [Fact]
    public void HeaderClaimingHugeSizeIsRefusedWithoutAllocating()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("huge.gz"), Gzip(Idx(0x08, [60000, 60000, 28], new byte[10])));
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(tmp.File("huge.gz")));
        Assert.Contains("refusing", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 9 }, "bad magic")]
    [InlineData(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 1, 9, 9, 9, 9 }, "float32")]
    [InlineData(new byte[] { 0, 0, 8, 5, 0, 0, 0, 1 }, "5 dimensions")]
    [InlineData(new byte[] { 0, 0, 8, 0 }, "0 dimensions")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 0 }, "dimension 1 is 0")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 1 }, "truncated header")]
    [InlineData(new byte[] { 0, 0 }, "too short")]
    public void MalformedHeadersAreRejectedWithAReason(byte[] bytes, string reason)
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("bad.idx"), bytes);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(tmp.File("bad.idx")));
        Assert.Contains(reason, e.Message);
        Assert.Contains("bad.idx", e.Message);
    }

    [Fact]
    public void CorruptGzipStreamNamesTheFile()
    {
        using var tmp = new TempFolder();
        var gz = Gzip(Idx(0x08, [100], Enumerable.Range(0, 100).Select(i => (byte)i).ToArray()));
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A; // scramble the deflate body, keep the gzip header
        File.WriteAllBytes(tmp.File("c.gz"), gz);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(tmp.File("c.gz")));
        Assert.Contains("c.gz", e.Message);
    }

    [Fact]
    public void MnistTrainingSetHasSixtyThousandImagesAndFirstLabelFive()
    {
        var (images, count, rows, cols, labels) = MnistFiles.LoadIdxPair(DataTestPaths.Mnist, train: true);
        Assert.Equal(60000, count);
        Assert.Equal(28, rows);
        Assert.Equal(28, cols);
        Assert.Equal(60000 * 28 * 28, images.Length);
        Assert.Equal(5, labels[0]);
        // Class counts of the canonical MNIST training set.
        var histogram = new int[10];
        foreach (var l in labels) histogram[l]++;
        Assert.Equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], histogram);
        // Mean pixel intensity 0.1307 (the normalisation constant every MNIST example uses).
        double mean = images.Select(b => (double)b).Average() / 255;
        Assert.Equal(0.1307, mean, 4);
    }

    [Fact]
    public void MnistTestSetHasTenThousandImagesAndFirstLabelSeven()
    {
        var (images, count, rows, cols, labels) = MnistFiles.LoadIdxPair(DataTestPaths.Mnist, train: false);
        Assert.Equal((10000, 28, 28), (count, rows, cols));
        Assert.Equal(10000 * 784, images.Length);
        Assert.Equal([7, 2, 1, 0, 4], labels[..5]);
        var histogram = new int[10];
        foreach (var l in labels) histogram[l]++;
        Assert.Equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], histogram);
    }

    [Fact]
    public void FashionMnistFromSharedFolderLoads()
    {
        string? dir = DataTestPaths.FashionMnist;
        Assert.SkipWhen(dir is null, "no shared/datasets/fashion-mnist beside the repository.");
        var (images, count, rows, cols, labels) = MnistFiles.LoadIdxPair(dir, train: true);
        Assert.Equal((60000, 28, 28), (count, rows, cols));
        var histogram = new int[10];
        foreach (var l in labels) histogram[l]++;
        Assert.All(histogram, h => Assert.Equal(6000, h));
        Assert.Equal(0.2861, images.Select(b => (double)b).Average() / 255, 4);
        var test = MnistFiles.LoadIdxPair(dir, train: false);
        Assert.Equal(10000, test.count);
    }

    [Fact]
    public void ImageAndLabelCountMismatchNamesBothFiles()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File(MnistFiles.TestImages), Gzip(Idx(0x08, [3, 2, 2], new byte[12])));
        File.WriteAllBytes(Path.Combine(tmp.Path, "t10k-labels-idx1-ubyte"), Idx(0x08, [4], new byte[4])); // raw form accepted
        var e = Assert.Throws<InvalidDataException>(() => MnistFiles.LoadIdxPair(tmp.Path, train: false));
        Assert.Contains(MnistFiles.TestImages, e.Message);
        Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
        Assert.Contains("3 images", e.Message);
        Assert.Contains("4 labels", e.Message);
    }
}
