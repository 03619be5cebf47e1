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
}
