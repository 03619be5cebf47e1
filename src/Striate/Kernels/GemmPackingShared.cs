using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// One packed B̃ for every row part of a call (<see cref="GemmDriver{TKernel}"/>, products whose parts all take every
/// column): each depth-and-column panel is cut into pieces of whole strips, each piece packed once by whichever part
/// claims it first, and every part then multiplies from the whole panel. A part never waits for a piece nobody has
/// started (it packs it itself), so the pool running all parts one after another on one thread still finishes; it
/// waits only for a piece another part is packing at that moment, and not longer than packing it would take, after
/// which it packs the panel into its own scratch instead (a packer descheduled by the host).
/// Layout: [depth blocks][ceil(n / NR) strips][kc][NR], the panel at (jc, pc) starting at pc · ceil(n / NR) · NR + jc · kc.
/// </summary>
internal sealed unsafe class GemmSharedPackedB
{
    private const int Unpacked = 0, Packing = 1, Packed = 2;

    /// <summary>The buffer the last call returned, taken by the next (a concurrent caller allocates its own).</summary>
    private static GemmSharedPackedB? spare;

    private float[]? array;
    private float* aligned;
    private long capacity;
    /// <summary>[panels, pieces]: Unpacked, Packing or Packed.</summary>
    private int[] states = [];

    /// <summary>A buffer of at least <paramref name="floats"/> floats with <paramref name="pieces"/> piece states, all unpacked.</summary>
    public static GemmSharedPackedB Take(long floats, int pieces)
    {
        var shared = Interlocked.Exchange(ref spare, null) ?? new GemmSharedPackedB();
        if (shared.capacity < floats)
        {
            shared.array = GC.AllocateUninitializedArray<float>(checked((int)floats + 16), pinned: true);
            nint address = (nint)Unsafe.AsPointer(ref shared.array[0]);
            shared.aligned = (float*)((address + 63) & ~(nint)63);
            shared.capacity = floats;
        }
        if (shared.states.Length < pieces) shared.states = new int[pieces];
        else Array.Clear(shared.states, 0, pieces);
        return shared;
    }

    /// <summary>Gives the buffer back for the next call, once every part of this one has finished.</summary>
    public static void Return(GemmSharedPackedB shared) => Volatile.Write(ref spare, shared);

    public float* Floats => aligned;

    /// <summary>Claims piece <paramref name="index"/> ([panel, piece]) if nobody has: true when the caller is to pack it (then <see cref="MarkPacked"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryClaim(int index)
    {
        ref int state = ref states[index];
        return Volatile.Read(ref state) == Unpacked && Interlocked.CompareExchange(ref state, Packing, Unpacked) == Unpacked;
    }

    /// <summary>Publishes a claimed piece: its floats are written before the state says so (release).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkPacked(int index) => Volatile.Write(ref states[index], Packed);

    /// <summary>
    /// Waits until piece <paramref name="index"/> is packed (another part claimed it): false when it stayed in packing
    /// past <paramref name="waitFloats"/> floats' worth of packing time (0.5 ns each, three times the measured rate),
    /// and the caller packs the panel into its own scratch instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool WaitPacked(int index, long waitFloats)
    {
        ref int state = ref states[index];
        if (Volatile.Read(ref state) == Packed) return true;
        long deadline = Stopwatch.GetTimestamp() + (long)(waitFloats * 0.5e-9 * Stopwatch.Frequency) + 1;
        while (Volatile.Read(ref state) != Packed)
        {
            if (Stopwatch.GetTimestamp() > deadline) return false;
            Thread.SpinWait(8);
        }
        return true;
    }
}
