using System.Text.RegularExpressions;
using Striate.Benchmarks;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Bench;

/// <summary>
/// The STRIATE_BENCH_* lists of <see cref="BenchSwitches"/> against the sources: every switch <c>--ab</c> accepts is read
/// by the bench (it sets a field of src/ or a suite's path; a name listed and never read would run both arms alike and
/// report "no difference"), each name stands once, and every STRIATE_BENCH_* name the comments in src/ cite is one the
/// bench knows (a renamed or never-added switch would send a reader to an A/B that cannot be run).
/// </summary>
public sealed partial class BenchSwitchesTests
{
    private static readonly string Bench = Path.Combine(RepoPaths.Root, "bench", "Striate.Benchmarks");

    /// <summary>A whole name; a family (STRIATE_BENCH_POOL_*) is not one.</summary>
    [GeneratedRegex(@"STRIATE_BENCH_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*\*)")]
    private static partial Regex Name();

    [GeneratedRegex(@"GetEnvironmentVariable\(""(STRIATE_BENCH_[A-Z0-9_]+)""\)")]
    private static partial Regex Read();

    [Fact]
    public void EverySwitchTheBenchAcceptsIsReadByTheBench()
    {
        var read = Directory.GetFiles(Bench, "*.cs")
            .SelectMany(f => Read().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet();
        var switches = BenchSwitches.Applied.Concat(BenchSwitches.ReadAtUse).ToList();
        Assert.True(switches.Count > 70, $"only {switches.Count} switches listed: the lists were not read");
        var unread = switches.Where(n => !read.Contains(n)).ToList();
        Assert.True(unread.Count == 0, $"listed in BenchSwitches but read by no GetEnvironmentVariable in bench/Striate.Benchmarks: {string.Join(", ", unread)}");
    }

    [Fact]
    public void EverySwitchIsListedOnce()
    {
        var all = BenchSwitches.Applied.Concat(BenchSwitches.ReadAtUse).Concat(BenchSwitches.NotSwitches.Keys).ToList();
        Assert.Empty(all.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key));
    }

    [Fact]
    public void EverySwitchTheLibrarySourcesNameIsKnown()
    {
        var known = BenchSwitches.Applied.Concat(BenchSwitches.ReadAtUse).Concat(BenchSwitches.NotSwitches.Keys).ToHashSet();
        var named = Directory.GetFiles(Path.Combine(RepoPaths.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => Name().Matches(File.ReadAllText(f)).Select(m => (File: Path.GetRelativePath(RepoPaths.Root, f), m.Value)))
            .ToList();
        Assert.True(named.Count > 30, $"only {named.Count} switch names found under src/: the sources were not read");
        Assert.Empty(named.Where(n => !known.Contains(n.Value)).Select(n => $"{n.File}: {n.Value}").Distinct());
    }
}
