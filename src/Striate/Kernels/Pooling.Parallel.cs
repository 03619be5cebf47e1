using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Splits independent planes (or channels, or samples) of the non-conv kernels over the kernel threads of
/// <see cref="ParallelFor"/> in a few contiguous chunks — one per thread — so each chunk pays for its delegate
/// call and scratch buffers once. Small jobs run inline: below <see cref="MinParallelWork"/> touched elements
/// a fork costs more than it saves.
/// </summary>
internal static class PlaneParallel
{
    public const long MinParallelWork = 1 << 16;

    /// <summary>Calls body(start, end) over [0, count) — inline when small, else in up to <see cref="KernelThreads.Count"/> chunks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void For(int count, long work, Action<int, int> body)
    {
        int chunks = Math.Min(count, KernelThreads.Count);
        if (chunks <= 1 || work < MinParallelWork)
        {
            body(0, count);
            return;
        }
        var loop = new ChunkBody { Body = body, Count = count, Chunks = chunks };
        ParallelFor.Run(chunks, ref loop);
    }

    private struct ChunkBody : IParallelBody
    {
        public Action<int, int> Body;
        public int Count, Chunks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int c) => Body((int)((long)Count * c / Chunks), (int)((long)Count * (c + 1) / Chunks));
    }
}
