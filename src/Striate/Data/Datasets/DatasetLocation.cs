namespace Striate.Data;

/// <summary>Where a dataset was found.</summary>
/// <param name="Name">The dataset's short name.</param>
/// <param name="Directory">The folder that directly holds the dataset's files.</param>
/// <param name="Verified">True when every file (or the archive it came from) matches a known SHA-256.</param>
/// <param name="Source">How it was found, e.g. "--data", "STRIATE_DATA", "project data folder", "cache", or "downloaded from URL".</param>
public sealed record DatasetLocation(string Name, string Directory, bool Verified, string Source);

/// <summary>One line of <see cref="DatasetLocator.Describe"/>: a known dataset and its state on this machine.</summary>
/// <param name="Name">The dataset's short name.</param>
/// <param name="Title">What it is, with its licence.</param>
/// <param name="Present">True when all its files were found in some folder.</param>
/// <param name="Directory">That folder, or null.</param>
/// <param name="Verified">True when the files match the known SHA-256 values.</param>
/// <param name="Source">Which search location it came from, or null.</param>
/// <param name="Detail">Hash results or, when absent, what is missing where.</param>
public sealed record DatasetStatus(string Name, string Title, bool Present, string? Directory, bool Verified, string? Source, string Detail)
{
    public override string ToString() => Present
        ? $"{Name,-14} present  {(Verified ? "verified  " : "unverified")}  {Directory}  ({Source}; {Detail})"
        : $"{Name,-14} absent    -           {Detail}";
}

/// <summary>
/// Thrown when a dataset is in none of the searched folders and could not be downloaded. The message lists the
/// expected files, every folder looked in and every address tried with its error.
/// </summary>
public sealed class DatasetNotFoundException : Exception
{
    public string DatasetName { get; }
    public IReadOnlyList<string> ExpectedFiles { get; }
    public IReadOnlyList<string> SearchedFolders { get; }
    public IReadOnlyList<string> DownloadAttempts { get; }

    public DatasetNotFoundException(string name, IReadOnlyList<string> expectedFiles, IReadOnlyList<string> searched,
        IReadOnlyList<string> attempts, string? downloadNote)
        : base(BuildMessage(name, expectedFiles, searched, attempts, downloadNote))
    {
        DatasetName = name;
        ExpectedFiles = expectedFiles;
        SearchedFolders = searched;
        DownloadAttempts = attempts;
    }

    private static string BuildMessage(string name, IReadOnlyList<string> expected, IReadOnlyList<string> searched,
        IReadOnlyList<string> attempts, string? downloadNote)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"Dataset '{name}' was not found.");
        sb.AppendLine($"Expected files: {string.Join(", ", expected)}");
        sb.AppendLine("Looked in:");
        foreach (var s in searched) sb.AppendLine("  " + s);
        if (attempts.Count > 0)
        {
            sb.AppendLine("Download attempts:");
            foreach (var a in attempts) sb.AppendLine("  " + a);
        }
        if (downloadNote is not null) sb.AppendLine(downloadNote);
        sb.Append($"To fix: put the files in one of the folders above, set STRIATE_DATA to a folder holding '{name}/', or name the "
            + $"folder yourself (striate: --data PATH; C#: Datasets.Open(\"{name}\", train, dataPath: PATH)).");
        return sb.ToString();
    }
}
