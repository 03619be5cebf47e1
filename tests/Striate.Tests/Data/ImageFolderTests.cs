using Striate.Data;

namespace Striate.Tests.Data;

public class ImageFolderTests
{
    private static void Copy(string testFile, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.Copy(Path.Combine(DataTestPaths.TestData, testFile), destination);
    }

    [Fact]
    public void ClassesAreSortedOrdinallyAndSamplesListedClassByClass()
    {
        using var tmp = new TempFolder();
        Copy("rgb8.png", tmp.File("dog/b.PNG"));
        Copy("gray.pgm", tmp.File("dog/a.pgm"));
        Copy("color.ppm", tmp.File("Zebra/x.ppm"));
        Copy("gray8.png", tmp.File("cat/sub/z.png"));
        Copy("gray8.png", tmp.File("cat/y.png"));
        File.WriteAllText(tmp.File("cat/notes.txt"), "not an image");
        var folder = new ImageFolder(tmp.Path);
        Assert.Equal(["Zebra", "cat", "dog"], folder.ClassNames); // ordinal: upper case first, as Python's sorted()
        var listed = folder.Samples.Select(s => (Path.GetRelativePath(tmp.Path, s.Path).Replace('\\', '/'), s.ClassIndex)).ToList();
        Assert.Equal([("Zebra/x.ppm", 0), ("cat/y.png", 1), ("cat/sub/z.png", 1), ("dog/a.pgm", 2), ("dog/b.PNG", 2)], listed);
        var image = folder.Load(4);
        var (w, h, c, pixels) = PngCodecTests.Expected["rgb8.png"];
        Assert.Equal((w, h, c), (image.Width, image.Height, image.Channels));
        Assert.Equal(pixels, image.Pixels);
        Assert.Equal(PngCodecTests.Expected["gray.pgm"].Pixels, folder.Load(3).Pixels);
    }

    [Fact]
    public void MissingRootIsReported()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder("/nonexistent/striate/images"));
        Assert.Contains("/nonexistent/striate/images", e.Message);
    }

    [Fact]
    public void RootWithoutClassFoldersIsReported()
    {
        using var tmp = new TempFolder();
        Copy("gray8.png", tmp.File("loose.png"));
        var e = Assert.Throws<InvalidDataException>(() => new ImageFolder(tmp.Path));
        Assert.Contains("no class subfolders", e.Message);
    }

    [Fact]
    public void ClassFolderWithoutImagesIsNamed()
    {
        using var tmp = new TempFolder();
        Copy("gray8.png", tmp.File("a/1.png"));
        Directory.CreateDirectory(tmp.File("empty_class"));
        File.WriteAllText(tmp.File("empty_class/readme.txt"), "");
        var e = Assert.Throws<InvalidDataException>(() => new ImageFolder(tmp.Path));
        Assert.Contains("empty_class", e.Message);
    }

    [Fact]
    public void UndecodableFileIsNamedWhenLoaded()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("a"));
        File.WriteAllText(tmp.File("a/broken.png"), "this is not a png");
        var png = File.ReadAllBytes(Path.Combine(DataTestPaths.TestData, "rgb8.png"));
        File.WriteAllBytes(tmp.File("a/cut.png"), png[..(png.Length / 2)]);
        var folder = new ImageFolder(tmp.Path);
        var e1 = Assert.Throws<InvalidDataException>(() => folder.Load(0));
        Assert.Contains("broken.png", e1.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => folder.Load(1));
        Assert.Contains("cut.png", e2.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => folder.Load(2));
    }

    [Fact]
    public void TheTestSplitOfAFolderWithTrainButNoTestIsRefusedNotReadAsClassesTrainAndVal()
    {
        using var tmp = new TempFolder();
        Copy("gray8.png", tmp.File("train/a/1.png"));
        Copy("gray8.png", tmp.File("train/b/1.png"));
        Copy("gray8.png", tmp.File("val/a/1.png"));
        Copy("gray8.png", tmp.File("val/b/1.png"));
        Assert.Equal(["a", "b"], Datasets.Open("folder:" + tmp.Path, train: true).ClassNames);
        var e = Assert.Throws<InvalidDataException>(() => Datasets.Open("folder:" + tmp.Path, train: false));
        Assert.Contains("has train/ but no test/ folder", e.Message);
    }
}
