using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 products that pack A themselves cut their depth in blocks of up to <see cref="Avx2GemmTunables.SelfPackedDepth"/>
/// (512) while a pre-packed A keeps KC (256): both depths against the three-loop twin, on depths that take one, two and
/// three blocks of either, on one and two threads, with edge rows and columns and every transpose.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmSelfPackedDepthTests
{
    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    public void EveryDepthBlockingMatchesReference(int depth)
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        using var _ = Switches.Set(() => Avx2GemmTunables.SelfPackedDepth, depth);
        GemmBlockingCases.AssertMatchReference(GemmPath.Vector256, 900, [(70, 37, 300), (45, 50, 512), (13, 81, 513), (66, 33, 1100), (100, 130, 257)],
            $"depth={depth}");
    }
}
