namespace Striate.Benchmarks;

/// <summary>
/// Which figures a run wants (<c>striate bench --figures SUBSTRING ...</c>): suites ask before doing the work of a
/// figure, so one model or one convolution can be measured alone. Empty means every figure.
/// </summary>
public static class BenchFilter
{
    private static string[] patterns = [];

    /// <summary>Substrings of the wanted figure names (any one matching is enough); empty selects everything.</summary>
    public static IReadOnlyList<string> Patterns
    {
        get => patterns;
        set => patterns = value.ToArray();
    }

    /// <summary>Whether the figure called <paramref name="name"/> is wanted.</summary>
    public static bool Wants(string name) => patterns.Length == 0 || patterns.Any(p => name.Contains(p, StringComparison.Ordinal));
}
