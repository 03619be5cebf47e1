using Striate.Data;

namespace Striate.Cli;

/// <summary>
/// Counts the unreadable images folder datasets skip (each is named in a warning on standard error as it is met), so
/// that a run can end by saying how many there were.
/// </summary>
internal static class SkippedImages
{
    // The training and test datasets of a flat folder are the same files: a file is counted and named once.
    private static readonly HashSet<string> Lines = [];

    public static int Count { get { lock (Lines) return Lines.Count; } }

    public static void Install() => ImageFolderDataset.DefaultWarning = line =>
    {
        lock (Lines)
            if (!Lines.Add(line)) return;
        Console.Error.WriteLine(line);
    };

    /// <summary>One line when images were skipped, nothing otherwise.</summary>
    public static void PrintSummary()
    {
        if (Count > 0)
            Console.WriteLine($"{Count:N0} unreadable image{(Count == 1 ? " was" : "s were")} skipped, each named in a warning above; the next readable image of its class took its place.");
    }
}
