namespace Striate.Kernels;

/// <summary>
/// Splits independent planes (or channels, or samples) of the non-conv kernels over the thread pool in a few
/// contiguous chunks — one per core — so each chunk pays for its delegate call and scratch buffers once.
/// Small jobs run inline: below <see cref="MinParallelWork"/> touched elements a fork costs more than it saves.
/// </summary>
internal static class PlaneParallel
{
    public const long MinParallelWork = 1 << 16;

    /// <summary>Calls body(start, end) over [0, count) — inline when small, else in up to ProcessorCount chunks.</summary>
    public static void For(int count, long work, Action<int, int> body)
    {
        int chunks = Math.Min(count, Environment.ProcessorCount);
        if (chunks <= 1 || work < MinParallelWork)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, chunks, c => body((int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks)));
    }
}
