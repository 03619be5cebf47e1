using System.Diagnostics;
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
    /// <summary><see cref="Conv2dDirect"/> forward weights of the pixel-input path (few input channels), [groups][kH][kW][Cin][Blocks·V].</summary>
    DirectForwardPixels,
    /// <summary><see cref="Conv2dDirect.BackwardDataStrided"/> weights: each phase's taps, transposed and mirrored, one phase after another.</summary>
    DirectBackwardDataPhases,
    /// <summary>Each group's [Cout/g, K] weight matrix packed as GEMM's left operand (V holds the <see cref="GemmPath"/>).</summary>
    GemmWeights,
    /// <summary>Each group's transposed weight matrix [K, Cout/g] packed as GEMM's left operand, for the input gradient.</summary>
    GemmWeightsTransposed,
    /// <summary>Each group's weight matrix [Cout/g, Cin/g] transposed and packed as <see cref="PointwiseTransposed"/>'s right operand (V holds the <see cref="GemmPath"/>).</summary>
    PointwiseTransposed,
    /// <summary><see cref="PointwiseBlocked"/>'s weights, [ceil(Cout/16)][Cin rounded to the input's block][16] (pairs of 8-channel output blocks, or one 16-channel block; V holds the block).</summary>
    PointwiseBlocked,
}

/// <summary>
/// One cache, shared by every kernel, of transformed copies of weights (channel-blocked, transposed, flipped): a
/// kernel that needs weight w in its own layout asks here first, so an eval-mode model reorders each weight once and
/// then reuses it. Entries are keyed by the owner's identity (held weakly: an entry lives with its weight tensor and
/// dies with it) and the transform; an entry whose version differs from the caller's is refilled in place.
/// <para>
/// Policy: callers key a weight only when its copy will be reused — F.Conv2d does so under NoGrad and for weights that
/// do not require grad (inference, frozen layers); a training step changes every weight every step, so a kept copy
/// would be refilled each step anyway and only cost memory. Total size is bounded by <see cref="BudgetBytes"/>: past
/// it, entries unused for a while make room for new ones, but entries in use are never evicted for a newcomer — the
/// newcomer is refused (the kernel transforms into scratch) — so a model larger than the budget does not thrash.
/// </para>
/// <para>
/// Lookups take only the owner's own lock, so kernels on different weights never wait for each other; the global
/// lock is taken only when an entry is created or the budget is enforced. Two threads must not use the same weight
/// while one of them changes it (the refill in place would race, as the weight itself would).
/// </para>
/// </summary>
public static class TransformedWeights
{
    /// <summary>The cache kernels use.</summary>
    internal static readonly Store Shared = new();

    /// <summary>Most bytes the cache keeps (default 256 MiB); lowering it applies at the next insertion.</summary>
    public static long BudgetBytes
    {
        get => Shared.BudgetBytes;
        set => Shared.BudgetBytes = value;
    }

    /// <summary>Bytes held by live entries (entries of collected weights are counted until the next insertion prunes them).</summary>
    public static long Bytes => Shared.Bytes;

    /// <summary>Drops every entry.</summary>
    public static void Clear() => Shared.Clear();

    /// <summary>The shared cache's <see cref="Store.Get{TFill}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float[]? Get<TFill>(WeightKey key, WeightTransform transform, int length, ref TFill fill) where TFill : struct, IWeightFill
        => Shared.Get(key, transform, length, ref fill);

    /// <summary>Whether the shared cache keeps an entry of <paramref name="kind"/> for <paramref name="owner"/>.</summary>
    internal static bool Holds(object owner, WeightTransformKind kind) => Shared.Holds(owner, kind);

    /// <summary>The shared cache's entries for <paramref name="owner"/>: each transform and its array (for placement reports).</summary>
    internal static IReadOnlyList<(WeightTransform Transform, float[] Data)> EntriesOf(object owner) => Shared.EntriesOf(owner);

    /// <summary>Where the values of an array returned by <see cref="Store.Get{TFill}"/> start: its first 64-byte-aligned element.</summary>
    internal static unsafe float* Start(float[] data) => CacheLine.Align((float*)Unsafe.AsPointer(ref data[0]));

    /// <summary>One cache's entries, budget and locks (tests make their own; kernels use <see cref="Shared"/>).</summary>
    internal sealed class Store
    {
        private readonly ConditionalWeakTable<object, OwnerSlot> owners = new();
        private readonly object sync = new();
        private readonly List<Tracked> all = new();
        private long totalBytes;
        private long budgetBytes = 256L << 20;

        /// <summary>Most bytes the cache keeps (default 256 MiB); lowering it applies at the next insertion.</summary>
        public long BudgetBytes
        {
            get => Volatile.Read(ref budgetBytes);
            set
            {
                if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "TransformedWeights.BudgetBytes must be non-negative.");
                Volatile.Write(ref budgetBytes, value);
            }
        }

        /// <summary>Bytes held by live entries (entries of collected weights are counted until the next insertion prunes them).</summary>
        public long Bytes => Interlocked.Read(ref totalBytes);

        /// <summary>Drops every entry.</summary>
        public void Clear()
        {
            lock (sync)
            {
                foreach (var t in all)
                    if (t.Entry.TryGetTarget(out var e))
                        lock (e.Slot) e.Slot.Remove(e);
                all.Clear();
                totalBytes = 0;
            }
        }

        /// <summary>
        /// The cached array for (<paramref name="key"/>, <paramref name="transform"/>) holding <paramref name="length"/> floats
        /// from <see cref="Start"/> (64-byte aligned), pinned (kernels hold pointers into it), holding this version's
        /// values: <paramref name="fill"/> writes them when the entry is new or older than <paramref name="key"/>'s version.
        /// Filling holds the owner's lock, so a second caller with the same weight waits for the values instead of reading
        /// half-written ones. Null when a new entry does not fit the budget (see <see cref="Admit"/>): the caller then
        /// transforms into its own scratch, as without a key.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public unsafe float[]? Get<TFill>(WeightKey key, WeightTransform transform, int length, ref TFill fill) where TFill : struct, IWeightFill
        {
            var slot = owners.GetValue(key.Owner, static _ => new OwnerSlot());
            long now = Stopwatch.GetTimestamp();
            int floats = length + CacheLine.SlackFloats;
            lock (slot)
            {
                var e = slot.Find(transform);
                if (e != null && e.Data.Length == floats) return Refresh(e, key, now, ref fill);
            }
            long bytes = (long)floats * sizeof(float);
            if (!Admit(bytes, now)) return null;
            var created = new Entry(slot, transform, GC.AllocateUninitializedArray<float>(floats, pinned: true)) { Version = long.MinValue };
            float[] data;
            lock (slot)
            {
                slot.Replace(created);
                data = Refresh(created, key, now, ref fill);
            }
            lock (sync) all.Add(new Tracked(new WeakReference<Entry>(created), bytes));
            return data;
        }

        /// <summary>Under the entry's owner lock: marks it used and refills it when its version is not the key's.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static unsafe float[] Refresh<TFill>(Entry e, WeightKey key, long now, ref TFill fill) where TFill : struct, IWeightFill
        {
            e.LastUse = now;
            if (e.Version != key.Version || key.Version == long.MinValue)
            {
                e.Version = long.MinValue; // stale until the fill completes (a throwing fill leaves it stale)
                fill.Fill(Start(e.Data));
                e.Version = key.Version;
            }
            return e.Data;
        }

        /// <summary>Whether an entry of <paramref name="kind"/> is kept for <paramref name="owner"/> (for tests of who keys what).</summary>
        public bool Holds(object owner, WeightTransformKind kind)
        {
            if (!owners.TryGetValue(owner, out var slot)) return false;
            lock (slot) return slot.Has(kind);
        }

        /// <summary>The entries kept for <paramref name="owner"/>: each transform and its array.</summary>
        public IReadOnlyList<(WeightTransform Transform, float[] Data)> EntriesOf(object owner)
        {
            if (!owners.TryGetValue(owner, out var slot)) return [];
            lock (slot) return slot.Entries.Select(e => (e.Transform, e.Data)).ToList();
        }

        /// <summary>How long an entry must go unused before a newcomer may evict it (Stopwatch ticks; default 5 s).</summary>
        public long StaleAfterTicks = 5 * Stopwatch.Frequency;

        /// <summary>
        /// Whether a new entry of <paramref name="bytes"/> may be kept, reserving them when so. Entries of collected weights
        /// are forgotten first; past the budget, only entries unused for <see cref="StaleAfterTicks"/> are evicted (least
        /// recently used first), never ones in current use: a model whose weights exceed the budget keeps the layers that
        /// fit and transforms the rest per call, rather than evicting, on every call, the entry the next layer needs.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool Admit(long bytes, long now)
        {
            lock (sync)
            {
                for (int i = all.Count - 1; i >= 0; i--)
                {
                    var t = all[i];
                    if (!t.Entry.TryGetTarget(out var e) || e.Dropped)
                    {
                        totalBytes -= t.Bytes;
                        all.RemoveAt(i);
                    }
                }
                long budget = BudgetBytes;
                if (totalBytes + bytes > budget)
                {
                    var stale = new List<(Entry Entry, Tracked Tracked)>();
                    foreach (var t in all)
                        if (t.Entry.TryGetTarget(out var e) && now - Volatile.Read(ref e.LastUse) > StaleAfterTicks) stale.Add((e, t));
                    stale.Sort((a, b) => a.Entry.LastUse.CompareTo(b.Entry.LastUse));
                    foreach (var (e, t) in stale)
                    {
                        if (totalBytes + bytes <= budget) break;
                        lock (e.Slot) e.Slot.Remove(e);
                        all.Remove(t);
                        totalBytes -= t.Bytes;
                    }
                    if (totalBytes + bytes > budget) return false;
                }
                totalBytes += bytes;
                return true;
            }
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

        public IEnumerable<Entry> Entries => entries;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Entry? Find(WeightTransform transform)
        {
            foreach (var e in entries) if (e.Transform == transform) return e;
            return null;
        }

        public bool Has(WeightTransformKind kind)
        {
            foreach (var e in entries) if (e.Transform.Kind == kind) return true;
            return false;
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
