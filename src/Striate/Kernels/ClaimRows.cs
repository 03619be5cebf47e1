using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>The work of a <see cref="ClaimRows"/> schedule.</summary>
internal interface IClaimedItem
{
    /// <summary>Runs item <paramref name="item"/> of row <paramref name="row"/>; <paramref name="next"/> is the item of that row this thread likely takes next (−1: none), for prefetching.</summary>
    void Run(int row, int item, int next);
}

/// <summary>
/// The claim words of a self-balancing batch-1 schedule (PointwiseBlocked.Balanced, Conv2dDirect.Balanced): one row of
/// items per thread, each row's word on its own cache line holding (front, back) — front in the low half, back in the
/// high half — and moved by compare-and-swap, so an item runs once however many threads come (a lone thread runs them
/// all: <see cref="ParallelFor"/> may run every index on the caller). A thread takes its own row's items from the front,
/// then the other rows' from the back: the items their owners would reach last.
/// </summary>
internal readonly unsafe struct ClaimRows
{
    private readonly long* words;

    /// <summary>Rows of items (one per thread that owns a row).</summary>
    public int Rows { get; }

    /// <summary>Longs of storage <paramref name="rows"/> rows need (one 64-byte line each, plus one to align), stack-allocated by the caller.</summary>
    public static int StorageLongs(int rows) => 8 * rows + 8;

    /// <summary><paramref name="rows"/> rows in <paramref name="storage"/> (<see cref="StorageLongs"/> longs); every row empty until <see cref="Set"/>.</summary>
    public ClaimRows(long* storage, int rows)
    {
        words = (long*)(((nint)storage + 63) & ~(nint)63);
        Rows = rows;
        for (int row = 0; row < rows; row++) words[8 * row] = 0;
    }

    /// <summary>Gives row <paramref name="row"/> the items [<paramref name="front"/>, <paramref name="back"/>).</summary>
    public void Set(int row, int front, int back) => words[8 * row] = (uint)front | (long)back << 32;

    /// <summary>Runs thread <paramref name="index"/>'s part: its own row (index mod <see cref="Rows"/>) from the front, then every other row from the back, until no item is left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Drain<TItem>(int index, TItem item) where TItem : struct, IClaimedItem
    {
        int own = index % Rows;
        while (TakeFront(own, out int i, out bool more)) item.Run(own, i, more ? i + 1 : -1);
        for (int k = 1; k < Rows; k++)
        {
            int row = (own + k) % Rows;
            while (TakeBack(row, out int i, out bool more)) item.Run(row, i, more ? i - 1 : -1);
        }
    }

    /// <summary>Item <paramref name="i"/> from the front of row <paramref name="row"/>; <paramref name="more"/>: the row has another after it.</summary>
    private bool TakeFront(int row, out int i, out bool more)
    {
        ref long word = ref words[8 * row];
        while (true)
        {
            long v = Volatile.Read(ref word);
            int front = (int)v, back = (int)(v >> 32);
            i = front;
            more = front + 1 < back;
            if (front >= back) return false;
            if (Interlocked.CompareExchange(ref word, v + 1, v) == v) return true;
        }
    }

    /// <summary>Item <paramref name="i"/> from the back of row <paramref name="row"/>; <paramref name="more"/>: the row has another before it.</summary>
    private bool TakeBack(int row, out int i, out bool more)
    {
        ref long word = ref words[8 * row];
        while (true)
        {
            long v = Volatile.Read(ref word);
            int front = (int)v, back = (int)(v >> 32);
            i = back - 1;
            more = front < back - 1;
            if (front >= back) return false;
            if (Interlocked.CompareExchange(ref word, v - (1L << 32), v) == v) return true;
        }
    }
}
