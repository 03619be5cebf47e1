using Striate.Tests.TestSupport;

namespace Striate.Tests.Data;

/// <summary>This folder's test files and the datasets the data tests read (paths from <see cref="RepoPaths"/>).</summary>
internal static class DataTestPaths
{
    public static string RepoRoot => RepoPaths.Root;

    public static string TestData => Path.Combine(RepoRoot, "tests", "Striate.Tests", "Data", "testdata");

    public static string Mnist => Path.Combine(RepoRoot, "data", "mnist");

    /// <summary>The shared Fashion-MNIST copy beside the repository, or null when this checkout has none.</summary>
    public static string? FashionMnist =>
        RepoPaths.SharedDir is { } shared && File.Exists(Path.Combine(shared, "datasets", "fashion-mnist", "train-images-idx3-ubyte.gz"))
            ? Path.Combine(shared, "datasets", "fashion-mnist")
            : null;
}

/// <summary>A fresh temporary folder, deleted on Dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("striate-data-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
