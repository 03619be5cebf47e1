using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Scratch buffers a kernel keeps per thread in a <c>[ThreadStatic]</c> slot of its own: made on a thread's first call,
/// grown when a call needs more, never shrunk. Kernels run on the same few pool threads call after call, so a buffer per
/// thread and call site is allocated a handful of times in a process rather than rented on every call.
/// </summary>
internal static unsafe class ThreadScratch
{
    /// <summary>
    /// The first 64-byte-aligned float of the pinned buffer in <paramref name="slot"/>, followed by at least
    /// <paramref name="floats"/> floats; a new buffer holds at least <paramref name="minimum"/> floats, so that the
    /// small calls of a run do not grow it step by step. Pinned: the pointer stays valid while the slot holds the buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float* Aligned(ref float[]? slot, long floats, int minimum = 1024)
    {
        var s = slot;
        if (s == null || s.Length < floats + CacheLine.SlackFloats)
            slot = s = GC.AllocateUninitializedArray<float>((int)Math.Max(floats + CacheLine.SlackFloats, minimum), pinned: true);
        return CacheLine.Align((float*)Unsafe.AsPointer(ref s[0]));
    }

    /// <summary>
    /// The buffer in <paramref name="slot"/>, at least <paramref name="floats"/> long (a new one at least
    /// <paramref name="minimum"/>), for kernels that work on spans; <paramref name="pinned"/> when callers take its address.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float[] Array(ref float[]? slot, long floats, int minimum = 1024, bool pinned = false)
    {
        var s = slot;
        if (s == null || s.Length < floats)
            slot = s = GC.AllocateUninitializedArray<float>((int)Math.Max(floats, minimum), pinned);
        return s;
    }
}
