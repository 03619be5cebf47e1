namespace Striate.Tests.TestSupport;

/// <summary>Folders the tests read from, found relative to the repository rather than the working directory.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> _root = new(FindRoot);

    /// <summary>The folder holding <c>Striate.sln</c>, found by walking up from the test assembly.</summary>
    public static string Root => _root.Value;

    /// <summary>
    /// The PyTorch reference op cases: <c>$STRIATE_REFERENCE_DIR</c> if set (either the <c>reference</c>
    /// folder that contains <c>ops/</c>, or the ops folder itself), else <c>tests/reference/ops</c>.
    /// </summary>
    public static string ReferenceOps
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("STRIATE_REFERENCE_DIR");
            if (!string.IsNullOrEmpty(overridden))
            {
                var ops = Path.Combine(overridden, "ops");
                return Directory.Exists(ops) ? ops : overridden;
            }
            return Path.Combine(Root, "tests", "reference", "ops");
        }
    }

    /// <summary>
    /// The shared folder (holding <c>reference/models</c> etc.) outside the repository: <c>$STRIATE_SHARED_DIR</c>
    /// if set, else the nearest <c>shared</c> folder next to the repository or one of its ancestors
    /// (<c>/work/main</c> → <c>/work/shared</c>, and likewise from a worktree <c>/work/wt/x</c>); null if none.
    /// </summary>
    public static string? SharedDir
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("STRIATE_SHARED_DIR");
            if (!string.IsNullOrEmpty(overridden)) return Directory.Exists(overridden) ? overridden : null;
            for (var dir = Directory.GetParent(Root); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared");
                if (Directory.Exists(Path.Combine(candidate, "reference"))) return candidate;
            }
            return null;
        }
    }

    /// <summary>
    /// The interop reference (PyTorch .pth and .onnx files with PyTorch's logits): <c>$STRIATE_INTEROP_REFERENCE_DIR</c>
    /// if set, else <c>SHARED/reference/interop</c>; null if neither exists.
    /// </summary>
    public static string? InteropReference
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("STRIATE_INTEROP_REFERENCE_DIR");
            if (!string.IsNullOrEmpty(overridden)) return Directory.Exists(overridden) ? overridden : null;
            return SharedDir is { } shared && Directory.Exists(Path.Combine(shared, "reference", "interop")) ? Path.Combine(shared, "reference", "interop") : null;
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Striate.sln"))) return dir.FullName;
        throw new InvalidOperationException($"RepoPaths: no folder containing Striate.sln above {AppContext.BaseDirectory}.");
    }
}
