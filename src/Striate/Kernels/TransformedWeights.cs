using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Names the contents of a weight for <see cref="TransformedWeights"/>: the object that owns the values (compared by
/// reference; the autograd layer passes the weight tensor) and a version that changes whenever the values do
/// (<c>Tensor.Version</c>, bumped by in-place writes and optimizer steps).
/// </summary>
public readonly record struct WeightKey(object Owner, long Version);

/// <summary>Writes one transformed weight into the cache's array (a struct, so the call is direct).</summary>
internal unsafe interface IWeightFill
{
    void Fill(float* destination);
}

/// <summary>Which transformed form of a weight an entry holds (the kernel's layout and its parameters).</summary>
internal readonly record struct WeightTransform(WeightTransformKind Kind, int V, int Blocks);

/// <summary>The transformed weight layouts kernels keep.</summary>
internal enum WeightTransformKind
{
    /// <summary><see cref="Conv2dDirect"/> forward weights, [groups][ICB][kH][kW][V][Blocks·V].</summary>
    DirectForward,
    /// <summary><see cref="Conv2dDirect"/> input-gradient weights (channels swapped, taps mirrored), same layout.</summary>
    DirectBackwardData,
    /// <summary>Each group's [Cout/g, K] weight matrix packed as GEMM's left operand (V holds the <see cref="GemmPath"/>).</summary>
    GemmWeights,
    /// <summary>Each group's transposed weight matrix [K, Cout/g] packed as GEMM's left operand, for the input gradient.</summary>
    GemmWeightsTransposed,
}

/// <summary>
/// One cache, shared by every kernel, of transformed copies of weights (channel-blocked, transposed, flipped): a
/// kernel that needs weight w in its own layout asks here first, so an eval-mode model reorders each weight once and
/// then reuses it, and a training step reuses one buffer per weight instead of renting and refilling a new one.
/// Entries are keyed by the owner's identity (held weakly: an entry dies with its weight) and the transform; an entry
/// whose version differs from the caller's is refilled in place. Total size is bounded by <see cref="BudgetBytes"/>:
/// past it the least recently used entries are dropped.
/// <para>
/// Lookups take only the owner's own lock, so kernels on different weights never wait for each other; the global
/// lock is taken only when an entry is created or the budget is enforced. Two threads must not use the same weight
/// while one of them changes it (the refill in place would race, as the weight itself would).
/// </para>
/// </summary>
public static class TransformedWeights
{
    private static readonly ConditionalWeakTable<object, OwnerSlot> Owners = new();
    private static readonly object Sync = new();
    private static readonly List<Tracked> All = new();
    private static long totalBytes;
    private static long budgetBytes = 256L << 20;
    private static long clock;

    /// <summary>Most bytes the cache keeps (default 256 MiB); lowering it evicts at the next insertion.</summary>
    public static long BudgetBytes
    {
        get => Volatile.Read(ref budgetBytes);
        set
        {
            if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "TransformedWeights.BudgetBytes must be non-negative.");
            Volatile.Write(ref budgetBytes, value);
        }
    }

    /// <summary>Bytes held by live entries (entries of collected weights are counted until the next insertion prunes them).</summary>
    public static long Bytes => Interlocked.Read(ref totalBytes);

    /// <summary>Drops every entry.</summary>
    public static void Clear()
    {
        lock (Sync)
        {
            foreach (var t in All)
                if (t.Entry.TryGetTarget(out var e))
                    lock (e.Slot) e.Slot.Remove(e);
            All.Clear();
            totalBytes = 0;
        }
    }

    /// <summary>
    /// The cached array for (<paramref name="key"/>, <paramref name="transform"/>) holding <paramref name="length"/> floats
    /// from <see cref="Start"/> (64-byte aligned), pinned (kernels hold pointers into it), holding this version's values: <paramref name="fill"/> writes them
    /// when the entry is new or older than <paramref name="key"/>'s version. Filling holds the owner's lock, so a
    /// second caller with the same weight waits for the values instead of reading half-written ones.
    /// </summary>
    internal static unsafe float[] Get<TFill>(WeightKey key, WeightTransform transform, int length, ref TFill fill) where TFill : struct, IWeightFill
    {
        var slot = Owners.GetValue(key.Owner, static _ => new OwnerSlot());
        long now = Interlocked.Increment(ref clock);
        Entry? created = null;
        float[] data;
        lock (slot)
        {
            var e = slot.Find(transform);
            if (e == null || e.Data.Length != length + CacheLine.SlackFloats)
            {
                created = new Entry(slot, transform, GC.AllocateUninitializedArray<float>(length + CacheLine.SlackFloats, pinned: true)) { Version = long.MinValue };
                slot.Replace(created);
                e = created;
            }
            e.LastUse = now;
            if (e.Version != key.Version || key.Version == long.MinValue)
            {
                e.Version = long.MinValue; // stale until the fill completes (a throwing fill leaves it stale)
                fill.Fill(Start(e.Data));
                e.Version = key.Version;
            }
            data = e.Data;
        }
        if (created != null)
        {
            lock (Sync)
            {
                long bytes = (long)created.Data.Length * sizeof(float);
                All.Add(new Tracked(new WeakReference<Entry>(created), bytes));
                totalBytes += bytes;
                if (totalBytes > BudgetBytes) Evict(created);
            }
        }
        return data;
    }

    /// <summary>Where the values of an array returned by <see cref="Get{TFill}"/> start: its first 64-byte-aligned element.</summary>
    internal static unsafe float* Start(float[] data) => CacheLine.Align((float*)Unsafe.AsPointer(ref data[0]));

    /// <summary>Under <see cref="Sync"/>: forgets collected and replaced entries, then drops least recently used ones (never <paramref name="keep"/>) until within budget.</summary>
    private static void Evict(Entry keep)
    {
        for (int i = All.Count - 1; i >= 0; i--)
        {
            var t = All[i];
            if (!t.Entry.TryGetTarget(out var e) || e.Dropped)
            {
                totalBytes -= t.Bytes;
                All.RemoveAt(i);
            }
        }
        if (totalBytes <= BudgetBytes) return;
        var live = new List<(Entry Entry, Tracked Tracked)>();
        foreach (var t in All)
            if (t.Entry.TryGetTarget(out var e) && e != keep) live.Add((e, t));
        live.Sort((a, b) => a.Entry.LastUse.CompareTo(b.Entry.LastUse));
        foreach (var (e, t) in live)
        {
            if (totalBytes <= BudgetBytes) break;
            lock (e.Slot) e.Slot.Remove(e);
            All.Remove(t);
            totalBytes -= t.Bytes;
        }
    }

    private sealed record Tracked(WeakReference<Entry> Entry, long Bytes);

    private sealed class Entry(OwnerSlot slot, WeightTransform transform, float[] data)
    {
        public readonly OwnerSlot Slot = slot;
        public readonly WeightTransform Transform = transform;
        public readonly float[] Data = data;
        public long Version, LastUse;
        public bool Dropped;
    }

    /// <summary>The entries of one owner (a handful: one per transform); locked by the entry's users.</summary>
    private sealed class OwnerSlot
    {
        private readonly List<Entry> entries = new(2);

        public Entry? Find(WeightTransform transform)
        {
            foreach (var e in entries) if (e.Transform == transform) return e;
            return null;
        }

        public void Replace(Entry fresh)
        {
            var old = Find(fresh.Transform);
            if (old != null) Remove(old);
            entries.Add(fresh);
        }

        public void Remove(Entry e)
        {
            if (entries.Remove(e)) e.Dropped = true;
        }
    }
}
