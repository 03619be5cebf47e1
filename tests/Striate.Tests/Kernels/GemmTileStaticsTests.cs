using Striate.Kernels;

namespace Striate.Tests.Kernels;

/// <summary>
/// The tile types and the switches their bodies read have no static constructor. A tile compiled before such a type was
/// initialised (FullOpts at the first call) kept class-initialisation calls after its depth loop, and the JIT kept all 12
/// accumulators of the AVX2 6×16 tile in memory through the loop: 35 % of the FMA peak (see <see cref="Avx2GemmTunables"/>).
/// A field initialiser added to one of these types brings the static constructor back; this fails then.
/// </summary>
public class GemmTileStaticsTests
{
    [Fact]
    public void TileTypesAndTheirSwitchesHaveNoStaticConstructor()
    {
        foreach (var type in new[] { typeof(Gemm256x6x16), typeof(Avx2TileSwitches), typeof(Gemm512x14x32), typeof(Gemm128x6x8), typeof(GemmScalar4x4) })
            Assert.True(type.TypeInitializer == null, $"{type.Name} has a static constructor: move its initialised statics to a class the tile bodies do not read (Avx2GemmTunables).");
    }
}
