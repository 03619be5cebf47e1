namespace Striate.Tests.Data;

/// <summary>Locates the repository (folder with Striate.sln), the shipped data and this folder's test files.</summary>
internal static class DataTestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string TestData => Path.Combine(RepoRoot, "tests", "Striate.Tests", "Data", "testdata");

    public static string Mnist => Path.Combine(RepoRoot, "data", "mnist");

    /// <summary>The shared Fashion-MNIST copy beside the repository, or null when this checkout has none.</summary>
    public static string? FashionMnist
    {
        get
        {
            for (var dir = new DirectoryInfo(RepoRoot); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "datasets", "fashion-mnist");
                if (File.Exists(Path.Combine(candidate, "train-images-idx3-ubyte.gz"))) return candidate;
            }
            return null;
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Striate.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Striate.sln above {AppContext.BaseDirectory}.");
    }
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
