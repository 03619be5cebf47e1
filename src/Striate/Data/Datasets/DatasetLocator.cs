using System.Security.Cryptography;
using System.IO.Compression;

namespace Striate.Data;

/// <summary>
/// Finds a dataset's files on this machine or downloads them. Search order, first match wins:
/// 1. the explicit path (--data PATH): PATH/&lt;name&gt;, then PATH itself;
/// 2. $STRIATE_DATA/&lt;name&gt;;
/// 3. &lt;project&gt;/data/&lt;name&gt;, where &lt;project&gt; is the nearest folder holding Striate.sln above
///    AppContext.BaseDirectory or the current directory;
/// 4. &lt;application&gt;/data/&lt;name&gt; beside the running program (the striate tool carries MNIST there, so an
///    installed tool trains offline outside a clone);
/// 5. the per-user cache, &lt;cache&gt;/&lt;name&gt; (see <see cref="DefaultCacheRoot"/>);
/// 6. a download into the cache from the dataset's mirrors, in order, each file verified by SHA-256 before an
///    atomic rename into place (a mismatch moves on to the next mirror).
/// Local copies are hash-checked too; a copy whose hashes are unknown or differ is still used, reported as unverified.
/// </summary>
public static partial class DatasetLocator
{
    public const string EnvironmentVariable = "STRIATE_DATA";

    /// <summary>
    /// Finds (or downloads) dataset <paramref name="name"/> ("mnist", "fashion-mnist", "cifar10").
    /// For CIFAR-10 an archive found without its extracted folder is extracted next to it.
    /// Throws <see cref="ArgumentException"/> for an unknown name and <see cref="DatasetNotFoundException"/>
    /// listing every folder and address tried when all fail.
    /// </summary>
    public static DatasetLocation Locate(string name, string? explicitPath = null, bool allowDownload = true,
        DatasetLocatorSettings? settings = null)
    {
        settings ??= DatasetLocatorSettings.Default;
        var spec = KnownDatasets.Find(name)
            ?? throw new ArgumentException($"Unknown dataset '{name}'. Known: {string.Join(", ", KnownDatasets.All.Select(s => s.Name))}.", nameof(name));
        var searched = new List<string>();
        foreach (var (dir, source) in Candidates(spec, explicitPath, settings))
        {
            var probe = Probe(spec, dir, extract: true, settings);
            if (probe.FilesDirectory is null)
            {
                searched.Add($"{dir} ({source}): {probe.Note}");
                continue;
            }
            var (verified, _) = Verify(spec, probe.FilesDirectory);
            return new DatasetLocation(spec.Name, probe.FilesDirectory, verified, source);
        }

        string cacheDir = Path.Combine(settings.CacheRoot ?? DefaultCacheRoot(), spec.Name);
        IReadOnlyList<string> expected = spec.ArchiveSubfolder is null
            ? [.. spec.RequiredFiles, "(each also accepted uncompressed, without .gz)"]
            : [.. spec.RequiredFiles, $"(or the archive {spec.DownloadFiles[0]}, extracted on first use into {spec.ArchiveSubfolder}/)"];
        if (!allowDownload)
            throw new DatasetNotFoundException(spec.Name, expected, searched, [], "Downloading was not allowed.");
        var attempts = new List<string>();
        var location = Download(spec, cacheDir, settings, attempts);
        if (location is not null) return location;
        throw new DatasetNotFoundException(spec.Name, expected, searched, attempts,
            $"Downloads go to {cacheDir}; every mirror failed.");
    }

    /// <summary>
    /// The state of every known dataset without downloading or extracting anything: where it is, and whether
    /// its files match the known SHA-256 values (this hashes the files, a fraction of a second for MNIST).
    /// </summary>
    public static IReadOnlyList<DatasetStatus> Describe(string? explicitPath = null, DatasetLocatorSettings? settings = null)
    {
        settings ??= DatasetLocatorSettings.Default;
        var result = new List<DatasetStatus>();
        foreach (var spec in KnownDatasets.All)
        {
            var looked = new List<string>();
            DatasetStatus? status = null;
            foreach (var (dir, source) in Candidates(spec, explicitPath, settings))
            {
                var probe = Probe(spec, dir, extract: false, settings);
                if (probe.FilesDirectory is not null)
                {
                    var (verified, detail) = Verify(spec, probe.FilesDirectory);
                    status = new DatasetStatus(spec.Name, spec.Title, true, probe.FilesDirectory, verified, source, detail);
                    break;
                }
                if (probe.ArchivePath is not null)
                {
                    bool ok = HashFile(probe.ArchivePath) == spec.FileSha256[KnownDatasets.CifarArchive];
                    status = new DatasetStatus(spec.Name, spec.Title, true, dir, ok, source,
                        $"archive {Path.GetFileName(probe.ArchivePath)} {(ok ? "matches" : "does NOT match")} its SHA-256; extracted on first use");
                    break;
                }
                looked.Add(dir);
            }
            result.Add(status ?? new DatasetStatus(spec.Name, spec.Title, false, null, false, null,
                $"not in {string.Join(", ", looked)}"));
        }
        return result;
    }

    /// <summary>
    /// Per-user cache root: $XDG_CACHE_HOME/striate/datasets when XDG_CACHE_HOME is set, otherwise
    /// LocalApplicationData/striate/datasets, otherwise ~/.cache/striate/datasets.
    /// </summary>
    public static string DefaultCacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg)) return Path.Combine(xdg, "striate", "datasets");
        string local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        if (!string.IsNullOrEmpty(local)) return Path.Combine(local, "striate", "datasets");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "striate", "datasets");
    }

    /// <summary>Folders holding Striate.sln found walking up from AppContext.BaseDirectory and the current directory.</summary>
    public static IReadOnlyList<string> FindProjectRoots()
    {
        var roots = new List<string>();
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Striate.sln")))
                {
                    if (!roots.Contains(dir.FullName)) roots.Add(dir.FullName);
                    break;
                }
            }
        }
        return roots;
    }

    private static IEnumerable<(string Dir, string Source)> Candidates(DatasetSpec spec, string? explicitPath, DatasetLocatorSettings settings)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<(string, string)>();
        void Add(string dir, string source)
        {
            string full = Path.GetFullPath(dir);
            if (seen.Add(full)) list.Add((full, source));
        }
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            Add(Path.Combine(explicitPath, spec.Name), "--data");
            Add(explicitPath, "--data");
        }
        if (settings.UseEnvironmentVariable)
        {
            string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(env)) Add(Path.Combine(env, spec.Name), EnvironmentVariable);
        }
        if (settings.SearchProjectData)
        {
            foreach (var root in FindProjectRoots())
                Add(Path.Combine(root, "data", spec.Name), "project data folder");
            Add(Path.Combine(AppContext.BaseDirectory, "data", spec.Name), "bundled with the application");
        }
        Add(Path.Combine(settings.CacheRoot ?? DefaultCacheRoot(), spec.Name), "cache");
        return list;
    }

    private readonly record struct ProbeResult(string? FilesDirectory, string Note, string? ArchivePath = null);

    private static ProbeResult Probe(DatasetSpec spec, string dir, bool extract, DatasetLocatorSettings settings)
    {
        if (!Directory.Exists(dir)) return new(null, "folder does not exist");
        if (spec.ArchiveSubfolder is null)
        {
            var missing = spec.RequiredFiles.Where(f => MnistFiles.Resolve(dir, f) is null).ToList();
            return missing.Count == 0 ? new(dir, "found") : new(null, $"missing {string.Join(", ", missing)}");
        }

        // Archive datasets: the files may sit in dir itself or in the archive's subfolder.
        string sub = Path.Combine(dir, spec.ArchiveSubfolder);
        foreach (var d in new[] { dir, sub })
            if (spec.RequiredFiles.All(f => File.Exists(Path.Combine(d, f)))) return new(d, "found");
        string archive = Path.Combine(dir, spec.DownloadFiles[0]);
        if (!File.Exists(archive))
            return new(null, $"neither the files ({string.Join(", ", spec.RequiredFiles)}) nor {spec.ArchiveSubfolder}/ nor {spec.DownloadFiles[0]}");
        if (!extract) return new(null, "archive present, not extracted", archive);
        try
        {
            settings.Log?.Invoke($"extracting {archive} …");
            ExtractArchive(spec, archive, dir);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return new(null, $"{spec.DownloadFiles[0]} present but extraction failed: {e.Message}", archive);
        }
        if (spec.RequiredFiles.All(f => File.Exists(Path.Combine(sub, f)))) return new(sub, "extracted");
        var absent = spec.RequiredFiles.Where(f => !File.Exists(Path.Combine(sub, f)));
        return new(null, $"{spec.DownloadFiles[0]} extracted but lacks {string.Join(", ", absent)}", archive);
    }

    private static void ExtractArchive(DatasetSpec spec, string archive, string dir)
    {
        string prefix = spec.ArchiveSubfolder + "/";
        TarExtract.Extract(archive, dir, entry =>
            entry.StartsWith(prefix, StringComparison.Ordinal) && spec.RequiredFiles.Contains(entry[prefix.Length..]));
    }

    /// <summary>Hash check of a found dataset: (all match, human-readable detail).</summary>
    private static (bool Verified, string Detail) Verify(DatasetSpec spec, string filesDir)
    {
        if (spec.ArchiveSubfolder is not null)
        {
            foreach (var candidate in new[] { Path.Combine(filesDir, spec.DownloadFiles[0]), Path.Combine(Path.GetDirectoryName(filesDir) ?? filesDir, spec.DownloadFiles[0]) })
            {
                if (!File.Exists(candidate)) continue;
                bool ok = HashFile(candidate) == spec.FileSha256[spec.DownloadFiles[0]];
                return (ok, $"archive {candidate} {(ok ? "matches" : "does NOT match")} its SHA-256");
            }
            return (false, $"no {spec.DownloadFiles[0]} beside the files to check; the extracted files have no published hashes");
        }
        var problems = new List<string>();
        foreach (var file in spec.RequiredFiles)
        {
            string path = MnistFiles.Resolve(filesDir, file)!;
            if (!MatchesKnownHash(spec, file, path, out string got)) problems.Add($"{Path.GetFileName(path)} (SHA-256 {got[..12]}…)");
        }
        return problems.Count == 0
            ? (true, $"all {spec.RequiredFiles.Count} files match their SHA-256")
            : (false, $"no known SHA-256 matches {string.Join(", ", problems)}");
    }

    /// <summary>True when the file's SHA-256 equals the canonical file hash or, for gzip/raw IDX, the known content hash.</summary>
    private static bool MatchesKnownHash(DatasetSpec spec, string fileName, string path, out string fileHash)
    {
        fileHash = HashFile(path);
        if (spec.FileSha256.TryGetValue(fileName, out var expected) && fileHash == expected) return true;
        if (!spec.ContentSha256.TryGetValue(fileName, out var content)) return false;
        if (fileHash == content) return true; // an uncompressed copy
        if (!IsGzip(path)) return false;
        try
        {
            using var file = File.OpenRead(path);
            using var unzip = new GZipStream(file, CompressionMode.Decompress);
            return Convert.ToHexStringLower(SHA256.HashData(unzip)) == content;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private static bool IsGzip(string path)
    {
        using var f = File.OpenRead(path);
        return f.ReadByte() == 0x1f && f.ReadByte() == 0x8b;
    }

    private static string HashFile(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }
}
