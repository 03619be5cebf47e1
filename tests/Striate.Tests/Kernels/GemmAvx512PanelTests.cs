using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX-512 products that pack A themselves cut their columns in blocks of
/// <see cref="Avx512GemmTunables.SelfPackedPanelFloats"/> ÷ depth (4 MiB; 1 MiB ran sgemm faster on a 2 MiB-L2 Intel), and
/// their depth in blocks of <see cref="Avx512GemmTunables.SelfPackedDepth"/>: panels of one to several column blocks and
/// depths of one to three blocks against the three-loop twin, on one and two threads, with edge rows and columns and every
/// transpose.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmAvx512PanelTests
{
    [Theory]
    [InlineData(32 * 8 * 8, 512)]   // 8 columns' worth at depth 8: one 32-wide tile per block
    [InlineData(64 * 512, 512)]     // 64 columns at depth 512
    [InlineData(64 * 512, 256)]
    [InlineData(1 << 20, 512)]      // Zen 4's 4 MiB: every column in one block
    public void EveryColumnBlockingMatchesReference(int panelFloats, int depth)
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector512), "Vector512 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        using var panel = Switches.Set(() => Avx512GemmTunables.SelfPackedPanelFloats, panelFloats);
        using var deep = Switches.Set(() => Avx512GemmTunables.SelfPackedDepth, depth);
        GemmBlockingCases.AssertMatchReference(GemmPath.Vector512, 1200, [(70, 37, 300), (45, 150, 512), (13, 181, 513), (33, 97, 1100), (100, 130, 257)],
            $"panel={panelFloats} depth={depth}");
    }
}
