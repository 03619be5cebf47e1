using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using Striate.Data;

namespace Striate.Tests.Data;

public class DatasetLocatorTests
{
    /// <summary>Serves canned responses by URL and records every request; unknown URLs fail like a dead host.</summary>
    private sealed class FakeHandler : HttpMessageHandler
    {
        public Dictionary<string, Func<HttpResponseMessage>> Routes { get; } = new();
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string url = request.RequestUri!.ToString();
            lock (Requests) Requests.Add(url);
            if (Routes.TryGetValue(url, out var make)) return Task.FromResult(make());
            throw new HttpRequestException("Name or service not known (fake)");
        }

        public static HttpResponseMessage Bytes(byte[] body) => new(HttpStatusCode.OK) { Content = new ByteArrayContent(body) };
        public static HttpResponseMessage Status(HttpStatusCode code) => new(code);
    }

    private static DatasetLocatorSettings Isolated(string cache, HttpMessageHandler? handler = null) => new()
    {
        CacheRoot = cache,
        HttpHandler = handler ?? new FakeHandler(),
        UseEnvironmentVariable = false,
        SearchProjectData = false,
    };

    private const string OssciMnist = "https://ossci-datasets.s3.amazonaws.com/mnist/";
    private const string LecunMnist = "http://yann.lecun.com/exdb/mnist/";

    [Fact]
    public void ShippedMnistIsFoundInTheProjectDataFolderAndVerified()
    {
        using var tmp = new TempFolder();
        var settings = new DatasetLocatorSettings { CacheRoot = tmp.Path, UseEnvironmentVariable = false, HttpHandler = new FakeHandler() };
        var location = DatasetLocator.Locate("mnist", allowDownload: false, settings: settings);
        Assert.Equal(Path.GetFullPath(DataTestPaths.Mnist), location.Directory);
        Assert.Equal("project data folder", location.Source);
        Assert.True(location.Verified, "the shipped MNIST decompresses to the canonical bytes, so its content hashes match");
    }

    [Fact]
    public void ExplicitPathWinsAndAcceptsEitherTheDatasetFolderOrItsParent()
    {
        using var tmp = new TempFolder();
        var settings = Isolated(tmp.File("cache"));
        var direct = DatasetLocator.Locate("mnist", DataTestPaths.Mnist, allowDownload: false, settings: settings);
        Assert.Equal(Path.GetFullPath(DataTestPaths.Mnist), direct.Directory);
        Assert.Equal("--data", direct.Source);
        var parent = DatasetLocator.Locate("MNIST", Path.Combine(DataTestPaths.RepoRoot, "data"), allowDownload: false, settings: settings);
        Assert.Equal(Path.GetFullPath(DataTestPaths.Mnist), parent.Directory);
    }

    [Fact]
    public void RecompressedFashionMnistIsPresentButUnverified()
    {
        string? shared = DataTestPaths.FashionMnist;
        Assert.SkipWhen(shared is null, "no shared/datasets/fashion-mnist beside the repository.");
        using var tmp = new TempFolder();
        var location = DatasetLocator.Locate("fashion-mnist", shared, allowDownload: false, settings: Isolated(tmp.Path));
        Assert.Equal(shared, location.Directory);
        Assert.False(location.Verified);
    }

    [Fact]
    public void NothingFoundWithoutDownloadListsFilesAndFolders()
    {
        using var tmp = new TempFolder();
        var e = Assert.Throws<DatasetNotFoundException>(() =>
            DatasetLocator.Locate("fashion-mnist", tmp.File("nowhere"), allowDownload: false, settings: Isolated(tmp.File("cache"))));
        Assert.Contains(MnistFiles.TrainImages, e.Message);
        Assert.Contains(MnistFiles.TestLabels, e.Message);
        Assert.Contains(Path.Combine(tmp.File("nowhere"), "fashion-mnist"), e.Message);
        Assert.Contains(Path.Combine(tmp.File("cache"), "fashion-mnist"), e.Message);
        Assert.Contains("not allowed", e.Message);
    }

    [Fact]
    public void DownloadTriesMirrorsInOrderVerifiesAndRenamesIntoTheCache()
    {
        using var tmp = new TempFolder();
        var handler = new FakeHandler();
        foreach (var file in MnistFiles.All)
        {
            byte[] good = File.ReadAllBytes(Path.Combine(DataTestPaths.Mnist, file)); // verifies by content hash
            handler.Routes[OssciMnist + file] = () => FakeHandler.Status(HttpStatusCode.ServiceUnavailable);
            handler.Routes[LecunMnist + file] = () => FakeHandler.Bytes(good);
        }
        var location = DatasetLocator.Locate("mnist", settings: Isolated(tmp.Path, handler));
        Assert.True(location.Verified);
        Assert.Equal(Path.Combine(tmp.Path, "mnist"), location.Directory);
        Assert.StartsWith("downloaded from", location.Source);
        Assert.Equal(8, handler.Requests.Count);
        Assert.Equal(OssciMnist + MnistFiles.TrainImages, handler.Requests[0]);
        Assert.Equal(LecunMnist + MnistFiles.TrainImages, handler.Requests[1]);
        Assert.Equal(MnistFiles.All.Order(), Directory.GetFiles(location.Directory).Select(Path.GetFileName).Order()!);
        Assert.Equal(60000, MnistFiles.LoadIdxPair(location.Directory, train: true).count);

        // A second call finds the cache and does not download again.
        var again = DatasetLocator.Locate("mnist", settings: Isolated(tmp.Path, handler));
        Assert.Equal("cache", again.Source);
        Assert.Equal(8, handler.Requests.Count);
    }

    [Fact]
    public void ChecksumMismatchMovesToTheNextMirrorAndFinallyReportsEveryAttempt()
    {
        using var tmp = new TempFolder();
        var handler = new FakeHandler();
        foreach (var file in MnistFiles.All)
            handler.Routes[OssciMnist + file] = () => FakeHandler.Bytes("tampered"u8.ToArray());
        // the second mirror is unreachable (no route → HttpRequestException)
        var e = Assert.Throws<DatasetNotFoundException>(() => DatasetLocator.Locate("mnist", settings: Isolated(tmp.Path, handler)));
        foreach (var file in MnistFiles.All)
        {
            Assert.Contains($"{OssciMnist}{file}: SHA-256 mismatch", e.Message);
            Assert.Contains($"{LecunMnist}{file}: HttpRequestException", e.Message);
        }
        Assert.Contains(KnownDatasets.Mnist.FileSha256[MnistFiles.TrainImages], e.Message);
        Assert.Contains(Path.Combine(tmp.Path, "mnist"), e.Message);
        Assert.Equal(8, e.DownloadAttempts.Count);
        // nothing half-written is left behind
        Assert.Empty(Directory.GetFiles(Path.Combine(tmp.Path, "mnist")));
    }

    [Fact]
    public void WrongBytesFromTheFirstMirrorAreReplacedByGoodBytesFromTheSecond()
    {
        using var tmp = new TempFolder();
        var handler = new FakeHandler();
        foreach (var file in MnistFiles.All)
        {
            byte[] good = File.ReadAllBytes(Path.Combine(DataTestPaths.Mnist, file));
            byte[] bad = (byte[])good.Clone();
            bad[^10] ^= 1;
            handler.Routes[OssciMnist + file] = () => FakeHandler.Bytes(bad);
            handler.Routes[LecunMnist + file] = () => FakeHandler.Bytes(good);
        }
        var location = DatasetLocator.Locate("mnist", settings: Isolated(tmp.Path, handler));
        Assert.True(location.Verified);
        Assert.Equal(File.ReadAllBytes(Path.Combine(DataTestPaths.Mnist, MnistFiles.TestLabels)),
            File.ReadAllBytes(Path.Combine(location.Directory, MnistFiles.TestLabels)));
    }

    [Fact]
    public void CifarArchiveIsExtractedOnFirstUseAndTheBatchesRead()
    {
        using var tmp = new TempFolder();
        string root = tmp.File("data");
        string cifarDir = Path.Combine(root, "cifar10");
        Directory.CreateDirectory(cifarDir);
        using (var file = File.Create(Path.Combine(cifarDir, KnownDatasets.CifarArchive)))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Gnu))
        {
            void Add(string name, byte[] content)
            {
                var entry = new GnuTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };
                tar.WriteEntry(entry);
            }
            tar.WriteEntry(new GnuTarEntry(TarEntryType.Directory, "cifar-10-batches-bin/"));
            for (int i = 1; i <= 5; i++) Add($"cifar-10-batches-bin/data_batch_{i}.bin", Cifar10FileTests.MakeBatch([(byte)i], i));
            Add("cifar-10-batches-bin/test_batch.bin", Cifar10FileTests.MakeBatch([7, 8], 9));
            Add("cifar-10-batches-bin/batches.meta.txt", "airplane\nautomobile\n"u8.ToArray());
            Add("cifar-10-batches-bin/readme.html", "ignored"u8.ToArray());
        }
        var status = DatasetLocator.Describe(root, Isolated(tmp.File("cache"))).Single(s => s.Name == "cifar10");
        Assert.True(status.Present);
        Assert.False(status.Verified); // not the real archive
        Assert.False(Directory.Exists(Path.Combine(cifarDir, "cifar-10-batches-bin")), "Describe must not extract");

        var location = DatasetLocator.Locate("cifar10", root, allowDownload: false, settings: Isolated(tmp.File("cache")));
        Assert.Equal(Path.Combine(cifarDir, "cifar-10-batches-bin"), location.Directory);
        Assert.False(location.Verified);
        Assert.False(File.Exists(Path.Combine(location.Directory, "readme.html")));
        Assert.Equal([1, 2, 3, 4, 5], Cifar10File.ReadSplit(location.Directory, train: true).Labels);
        Assert.Equal([7, 8], Cifar10File.ReadSplit(location.Directory, train: false).Labels);
    }

    [Fact]
    public void TarEntriesEscapingTheDestinationAreRefused()
    {
        using var tmp = new TempFolder();
        string archive = tmp.File("evil.tar");
        using (var file = File.Create(archive))
        using (var tar = new TarWriter(file, TarEntryFormat.Pax))
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "../escaped.txt") { DataStream = new MemoryStream([1, 2, 3]) });
        Directory.CreateDirectory(tmp.File("out"));
        var e = Assert.Throws<InvalidDataException>(() => TarExtract.Extract(archive, tmp.File("out"), _ => true));
        Assert.Contains("outside the destination", e.Message);
        Assert.False(File.Exists(tmp.File("escaped.txt")));
    }

    [Fact]
    public void DescribeReportsEveryKnownDataset()
    {
        using var tmp = new TempFolder();
        var statuses = DatasetLocator.Describe(settings: new DatasetLocatorSettings { CacheRoot = tmp.Path, UseEnvironmentVariable = false });
        Assert.Equal(["mnist", "fashion-mnist", "cifar10"], statuses.Select(s => s.Name));
        var mnist = statuses[0];
        Assert.True(mnist.Present && mnist.Verified, mnist.ToString());
        Assert.Contains("all 4 files match", mnist.Detail);
        var cifar = statuses[2];
        Assert.False(cifar.Present);
        Assert.Contains(Path.Combine(tmp.Path, "cifar10"), cifar.ToString());
    }

    [Fact]
    public void UnknownDatasetNameListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => DatasetLocator.Locate("imagenet", allowDownload: false));
        Assert.Contains("mnist, fashion-mnist, cifar10", e.Message);
    }
}
