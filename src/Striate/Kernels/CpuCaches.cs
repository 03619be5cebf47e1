using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The data-cache sizes of the core this process runs on, for blockings that depend on them (see
/// <see cref="Gemm256x6x16.NC"/>). Read once from CPUID leaf 0x80000006 (ECX bits 31–16: the L2 of one core in KiB, as
/// both AMD and Intel report it); 0 where there is no such leaf (not x86, or a CPU or hypervisor that leaves it empty).
/// </summary>
internal static class CpuCaches
{
    /// <summary>Bytes of L2 per core, or 0 when unknown.</summary>
    public static readonly long L2Bytes = DetectL2Bytes();

    /// <summary>
    /// Whether the core's L2 is known and holds 512 KiB or less (AMD Zen 2/3): the blockings sized for 1 MiB and more
    /// (Zen 4, Intel) spill there — the AVX2 GEMM's B̃ block and the strided input gradient's task output.
    /// </summary>
    public static bool SmallL2 => L2Bytes is > 0 and <= 512 * 1024;

    private static long DetectL2Bytes()
    {
        if (!X86Base.IsSupported) return 0;
        var (maxExtended, _, _, _) = X86Base.CpuId(unchecked((int)0x80000000), 0);
        if ((uint)maxExtended < 0x80000006) return 0;
        var (_, _, ecx, _) = X86Base.CpuId(unchecked((int)0x80000006), 0);
        return (long)((uint)ecx >> 16) * 1024;
    }
}
