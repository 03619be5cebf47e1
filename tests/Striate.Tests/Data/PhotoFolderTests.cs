using Striate.Data;
using Striate.Data.Transforms;
using Striate.Imaging;
using Striate.Tests.Cli;

namespace Striate.Tests.Data;

/// <summary>Folders of real photos: mixed formats, files that are not images, and images that cannot be read.</summary>
public sealed class PhotoFolderTests
{
    static PhotoFolderTests() => ImageSharpDecoder.Register();

    private static string Photo(string name) => Path.Combine(DataTestPaths.TestData, "photos", name);

    private static void Put(TempFolder tmp, string relative, byte[] bytes)
    {
        string path = tmp.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private static void Copy(TempFolder tmp, string photo, string relative) => Put(tmp, relative, File.ReadAllBytes(Photo(photo)));

    private static byte[] Truncated(string photo) { var b = File.ReadAllBytes(Photo(photo)); return b[..(b.Length / 2)]; }

    [Fact]
    public void MixedFormatsAreListedAndOtherFilesIgnored()
    {
        using var tmp = new TempFolder();
        Copy(tmp, "baseline_420.jpg", "cat/a.jpg");
        Copy(tmp, "progressive_444.jpg", "cat/b.JPEG");
        Put(tmp, "cat/c.png", PngCodec.Encode(new byte[4 * 5 * 3], 4, 5, 3));
        Copy(tmp, "rgb24.bmp", "dog/d.bmp");
        Copy(tmp, "animated.gif", "dog/e.gif");
        Put(tmp, "dog/notes.txt", "not an image"u8.ToArray());
        Put(tmp, "dog/.DS_Store", [0, 0, 0, 1]);
        Put(tmp, "dog/Thumbs.db", [0xD0, 0xCF]);
        var dataset = new ImageFolderDataset(new ImageFolder(tmp.Path));
        Assert.Equal(["a.jpg", "b.JPEG", "c.png", "d.bmp", "e.gif"], dataset.Folder.Samples.Select(s => Path.GetFileName(s.Path)));
        var sample = new ImageSample();
        int[] widths = new int[dataset.Count];
        for (int i = 0; i < dataset.Count; i++)
        {
            dataset.Load(i, sample);
            widths[i] = sample.Width;
            Assert.Equal(3, sample.Channels);
        }
        Assert.Equal([64, 64, 4, 33, 40], widths);
        Assert.Empty(dataset.Skipped);
    }

    [Fact]
    public void UnreadableImagesAreSkippedOnceWithAWarningAndReplacedWithinTheirClass()
    {
        using var tmp = new TempFolder();
        Copy(tmp, "baseline_444.jpg", "cat/a.jpg");
        Put(tmp, "cat/b.jpg", Truncated("baseline_444.jpg"));
        Put(tmp, "cat/c.png", PhotoDecodingTests.PngHeaderOnly(60000, 60000));
        Copy(tmp, "gray.jpg", "dog/d.jpg");
        Put(tmp, "dog/e.jpg", "garbage, named like a photo"u8.ToArray());
        var warnings = new List<string>();
        var dataset = new ImageFolderDataset(new ImageFolder(tmp.Path), channels: 3) { Warning = line => { lock (warnings) warnings.Add(line); } };

        var reference = new ImageSample();
        dataset.Load(0, reference); // cat/a.jpg
        var sample = new ImageSample();
        for (int pass = 0; pass < 2; pass++)
        {
            dataset.Load(1, sample); // b is truncated, c is a bomb: a (the class's next readable image, wrapping) instead
            Assert.Equal(0, dataset.Label(1));
            Assert.Equal(reference.Pixels.ToArray(), sample.Pixels.ToArray());
            dataset.Load(4, sample); // e is garbage: d
            Assert.Equal(1, dataset.Label(4));
            Assert.Equal((3, 48, 64), (sample.Channels, sample.Height, sample.Width));
        }

        Assert.Equal(3, warnings.Count); // once per file, however often it is asked for
        Assert.Contains(warnings, w => w.Contains("b.jpg") && w.Contains("truncated") && w.Contains("class 'cat'"));
        Assert.Contains(warnings, w => w.Contains("c.png") && w.Contains("60000×60000") && w.Contains("decompression bomb"));
        Assert.Contains(warnings, w => w.Contains("e.jpg") && w.Contains("match no image format"));
        Assert.Equal(["b.jpg", "c.png", "e.jpg"], dataset.Skipped.Select(s => Path.GetFileName(s.Path)));
    }

    [Fact]
    public void BatchesCarryOnPastUnreadableImages()
    {
        using var tmp = new TempFolder();
        foreach (var (name, i) in new[] { "baseline_420.jpg", "baseline_422.jpg", "progressive_420.jpg" }.Select((n, i) => (n, i)))
        {
            Copy(tmp, name, $"a/{i}.jpg");
            Copy(tmp, name, $"b/{i}.jpg");
        }
        Put(tmp, "a/9.jpg", Truncated("baseline_420.jpg"));
        var dataset = new ImageFolderDataset(new ImageFolder(tmp.Path)) { Warning = _ => { } };
        var loader = new DataLoader(dataset, batchSize: 4, shuffle: true, transform: new Resize(24, 32), seed: 3, workers: 2);
        int seen = 0;
        foreach (var batch in loader.Epoch(0)) seen += batch.Count;
        Assert.Equal(7, seen);
        Assert.Single(dataset.Skipped);
    }

    [Fact]
    public void ClassWithNoReadableImageIsNamed()
    {
        using var tmp = new TempFolder();
        Copy(tmp, "baseline_444.jpg", "cat/a.jpg");
        Put(tmp, "dog/x.jpg", Truncated("baseline_444.jpg"));
        var dataset = new ImageFolderDataset(new ImageFolder(tmp.Path)) { Warning = _ => { } };
        var e = Assert.Throws<InvalidDataException>(() => dataset.Load(1, new ImageSample()));
        Assert.Contains("class 'dog'", e.Message);
    }

    [Fact]
    public void TrainingOnAFolderWithABadPhotoSaysSoAndFinishes()
    {
        using var tmp = new TempFolder();
        foreach (var cls in new[] { "a", "b" })
            for (int i = 0; i < 3; i++) Copy(tmp, i == 0 ? "gray.jpg" : "baseline_420.jpg", $"{cls}/{i}.jpg");
        Put(tmp, "b/broken.jpg", Truncated("baseline_420.jpg"));
        Put(tmp, "b/huge.png", PhotoDecodingTests.PngHeaderOnly(60000, 60000));
        var r = StriateProcess.Run("train", "lenet-relu", "--dataset", $"folder:{tmp.Path}", "--epochs", "1", "--resize", "28",
            "--out", Path.Combine(tmp.Path, "..", Path.GetFileName(tmp.Path) + "-run"));
        try
        {
            StriateProcess.AssertOk(r);
            Assert.Contains("broken.jpg", r.Stderr);
            Assert.Contains("huge.png", r.Stderr);
            Assert.Contains("2 unreadable images were skipped", r.Stdout);
        }
        finally
        {
            Directory.Delete(Path.Combine(tmp.Path, "..", Path.GetFileName(tmp.Path) + "-run"), recursive: true);
        }
    }
}
