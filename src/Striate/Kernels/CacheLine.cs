namespace Striate.Kernels;

/// <summary>
/// 64-byte alignment for kernel buffers: a 512-bit load that straddles two cache lines costs two loads, and .NET
/// arrays start 16 bytes past a line at best. Buffers are allocated <see cref="SlackFloats"/> longer and used from
/// <see cref="Align"/>; pinned arrays never move, so the aligned start of one stays where it is.
/// </summary>
internal static unsafe class CacheLine
{
    /// <summary>Extra floats to allocate so that an aligned start still leaves the requested length.</summary>
    public const int SlackFloats = 16;

    /// <summary>The first 64-byte-aligned address at or after <paramref name="p"/>.</summary>
    public static float* Align(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>
    /// Prefetches (T0) every cache line of [<paramref name="p"/>, <paramref name="p"/> + <paramref name="floats"/>): for
    /// copies that read short runs of many lines (a channel plane of a 7×7 map is 3–4 lines), which the hardware
    /// prefetchers never pick up, so that the lines come from memory side by side rather than one miss at a time.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Prefetch(float* p, long floats)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        float* end = p + floats;
        for (float* line = (float*)((nint)p & ~(nint)63); line < end; line += 16) System.Runtime.Intrinsics.X86.Sse.Prefetch0(line);
    }
}
