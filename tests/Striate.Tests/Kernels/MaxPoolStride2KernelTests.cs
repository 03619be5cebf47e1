using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The AVX2 max pool of 2- or 3-wide windows at stride 2 without padding on rows of 8–32 floats (window-row maxima in
/// registers, even/odd columns by vshufps, a NaN plane redone by the padded-rows kernel) against the reference
/// twin: every row width 8–32, both window sizes each way, floor and ceil mode, ReLU-like ties, signed zeros and NaNs;
/// stores that stay inside the planes given; then GoogLeNet's maxpool3 and maxpool4 through the public entry. With
/// AVX-512 (which keeps the padded-rows kernel), or no AVX2, the kernel tests report Skipped; CI's DOTNET_EnableAVX512=0
/// run takes the AVX2 form.
/// </summary>
public class MaxPoolStride2KernelTests
{
    private static void SkipUnlessAvx2Only() =>
        Assert.SkipUnless(Avx2.IsSupported && !Vector512.IsHardwareAccelerated, "The stride-2 pool runs on AVX2 without AVX-512 only (AVX-512 present, or AVX2 missing or disabled).");

    private static Pool2dGeometry Geometry(int planes, int h, int w, int kH, int kW, bool ceil) =>
        new(planes, h, w, Pool2dGeometry.OutputSize(h, kH, 2, 0, ceil), Pool2dGeometry.OutputSize(w, kW, 2, 0, ceil), kH, kW, 2, 2, 0, 0);

    [Fact]
    public void ValuesMatchReferenceOnEveryRowWidth()
    {
        SkipUnlessAvx2Only();
        var gen = new Generator(41);
        int trial = 0, taken = 0;
        for (int w = 8; w <= 32; w++)
            foreach (int h in new[] { 2, 3, 4, 7, 14, 28, 2 + gen.NextInt(30) })
                foreach (var (kH, kW) in new[] { (2, 2), (3, 3), (2, 3), (3, 2) })
                    foreach (bool ceil in new[] { false, true })
                    {
                        if (h < kH) continue;
                        var g = Geometry(1 + gen.NextInt(4), h, w, kH, kW, ceil);
                        if (!Pooling.IsStride2ShortRows(g)) { Assert.True(g.OutW < 4, $"{g} not taken"); continue; }
                        taken++;
                        var x = MaxPoolInputs.Random(g, trial++, gen);
                        int outLen = g.Planes * g.OutPlane;
                        var (y, yRef) = (Guarded.Nan(outLen), new float[outLen]); // NaN inputs aside, an output the kernel skips stays NaN and fails
                        PoolingReference.MaxPool2dForward(g, x, yRef, new int[outLen]);
                        Pooling.MaxPlanesStride2(g, x, y, 0, g.Planes);
                        Close.Assert(yRef, y, 0, 0, $"stride-2 max pool {g}");
                    }
        Assert.True(taken > 500, $"only {taken} geometries taken");
    }

    [Theory]
    [InlineData(8, 2, false)]
    [InlineData(9, 3, false)]
    [InlineData(14, 2, true)]
    [InlineData(15, 3, true)]
    [InlineData(17, 2, false)]
    [InlineData(28, 3, true)]
    [InlineData(32, 2, false)]
    public void WritesOnlyItsPlanes(int w, int k, bool ceil)
    {
        SkipUnlessAvx2Only();
        // Planes [1, 3) of 4: an 8-lane store of a plane's last output row (4–7 outputs) would spill into plane 3.
        var g = Geometry(4, w, w, k, k, ceil);
        Assert.True(Pooling.IsStride2ShortRows(g), $"{g}");
        var x = Close.RandomArray(4 * g.InPlane, new Generator(5));
        var y = Guarded.Zeros(4 * g.OutPlane);
        y.Span.Fill(42f);
        Pooling.MaxPlanesStride2(g, x, y, 1, 3);
        y.Check($"planes 1 to 3 of {g}");
        Assert.All(y.Span.Slice(0, g.OutPlane).ToArray(), v => Assert.Equal(42f, v));
        Assert.All(y.Span.Slice(3 * g.OutPlane).ToArray(), v => Assert.Equal(42f, v));
        Assert.DoesNotContain(42f, y.Span.Slice(g.OutPlane, 2 * g.OutPlane).ToArray());
    }

    [Fact]
    public void NaNPlanesAmongCleanOnesMatchReference()
    {
        SkipUnlessAvx2Only();
        // A NaN in some planes only (those planes are redone by the padded-rows kernel), at corners and inside, with ties.
        var gen = new Generator(78);
        foreach (int w in new[] { 8, 9, 14, 16, 17, 24, 28, 31, 32 })
            foreach (int k in new[] { 2, 3 })
            {
                var g = Geometry(12, w, w, k, k, ceil: true);
                var x = Close.RandomArray(g.Planes * g.InPlane, gen);
                for (int i = 0; i < x.Length; i++) x[i] = x[i] > 0 ? x[i] : i % 3 == 0 ? -0f : 0f;
                foreach (int p in new[] { 0, 3, 4, 11 })
                    x[p * g.InPlane + gen.NextInt(g.InPlane)] = p == 4 ? -float.NaN : float.NaN;
                x[7 * g.InPlane + g.InPlane - 1] = float.NaN; // the last element of a plane
                int outLen = g.Planes * g.OutPlane;
                var (y, yRef) = (Guarded.Zeros(outLen), new float[outLen]);
                y.Span.Fill(42f);
                PoolingReference.MaxPool2dForward(g, x, yRef, new int[outLen]);
                Pooling.MaxPlanesStride2(g, x, y, 0, g.Planes);
                Close.Assert(yRef, y, 0, 0, $"stride-2 max pool with NaN planes {g}");
            }
    }

    /// <summary>Through the public entry on every ISA (AVX-512, Vector128-only and scalar take the padded-rows kernel).</summary>
    [Theory]
    [InlineData(480, 28, 3)]
    [InlineData(832, 14, 2)]
    public void GoogLeNetStridedPoolsMatchReference(int planes, int size, int k)
    {
        var g = Geometry(planes, size, size, k, k, ceil: true);
        var x = MaxPoolInputs.Random(g, 1, new Generator((ulong)planes));
        int outLen = g.Planes * g.OutPlane;
        var (y, yRef) = (Guarded.Nan(outLen), new float[outLen]);
        PoolingReference.MaxPool2dForward(g, x, yRef, new int[outLen]);
        Pooling.MaxPool2dForward(g, x, y, Span<int>.Empty);
        Close.Assert(yRef, y, 0, 0, $"GoogLeNet pool {g}");
    }
}
