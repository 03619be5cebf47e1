using System.Runtime.Intrinsics.X86;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The 3×3/1 "same" max pool on rows of at most 32 floats (AVX-512: one or two vectors per row; AVX2: one, two or four 8-lane vectors
/// with plain stores in row order and a NaN plane redone by the padded-rows kernel; neighbours by lane permutes) against
/// the reference twin: every row width 1–32, heights from 1, ReLU-like ties, signed zeros and NaNs; then GoogLeNet's
/// branch-4 pools through the public entry (planes split over the kernel threads). CI's run with DOTNET_EnableAVX512=0
/// takes the AVX2 form; with no intrinsics these report Skipped and the public entry takes the padded-rows kernel.
/// </summary>
public class MaxPoolSame3x3KernelTests
{
    private static void SkipUnlessVectorForm() =>
        Assert.SkipUnless(Avx512F.IsSupported || Avx2.IsSupported, "Neither AVX-512 nor AVX2 is available here (or they are disabled by DOTNET_Enable* settings).");

    [Fact]
    public void ValuesMatchReferenceOnEveryRowWidth()
    {
        SkipUnlessVectorForm();
        var gen = new Generator(31);
        int trial = 0;
        for (int w = 1; w <= 32; w++)
            foreach (int h in new[] { 1, 2, 3, 7, 14, 1 + gen.NextInt(20) })
            {
                var g = new Pool2dGeometry(1 + gen.NextInt(4), h, w, h, w, 3, 3, 1, 1, 1, 1);
                Assert.True(Pooling.IsSame3x3ShortRows(g), $"{g}");
                var x = MaxPoolInputs.Random(g, trial++, gen);
                int outLen = g.Planes * g.OutPlane;
                var (y, yRef) = (Guarded.Nan(outLen), new float[outLen]); // NaN inputs aside, an output the kernel skips stays NaN and fails
                PoolingReference.MaxPool2dForward(g, x, yRef, new int[outLen]);
                Pooling.MaxPlanesSame3x3(g, x, y, 0, g.Planes);
                Close.Assert(yRef, y, 0, 0, $"3×3/1 same max pool {g}");
            }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(14)]
    [InlineData(3)]
    [InlineData(12)]
    [InlineData(17)]
    [InlineData(20)]
    [InlineData(28)]
    public void WritesOnlyItsPlanes(int w)
    {
        SkipUnlessVectorForm();
        // Planes [1, 3) of 4: a full-vector store of a plane's last row would spill into plane 3's first row (7, 3),
        // or its second vector would (14, 12).
        var g = new Pool2dGeometry(4, w, w, w, w, 3, 3, 1, 1, 1, 1);
        int plane = w * w;
        var x = Close.RandomArray(4 * plane, new Generator(5));
        var y = Guarded.Zeros(4 * plane);
        y.Span.Fill(42f);
        Pooling.MaxPlanesSame3x3(g, x, y, 1, 3);
        y.Check($"planes 1 to 3 of {g}");
        Assert.All(y.Span.Slice(0, plane).ToArray(), v => Assert.Equal(42f, v));
        Assert.All(y.Span.Slice(3 * plane).ToArray(), v => Assert.Equal(42f, v));
        Assert.DoesNotContain(42f, y.Span.Slice(plane, 2 * plane).ToArray());
    }

    [Fact]
    public void NaNPlanesAmongCleanOnesMatchReference()
    {
        SkipUnlessVectorForm();
        // A NaN in some planes only (the AVX2 form redoes just those planes), at corners, edges and inside, with ties.
        var gen = new Generator(77);
        foreach (int w in new[] { 5, 7, 8, 9, 14, 16, 17, 24, 25, 28, 32 })
        {
            var g = new Pool2dGeometry(12, w, w, w, w, 3, 3, 1, 1, 1, 1);
            var x = Close.RandomArray(g.Planes * g.InPlane, gen);
            for (int i = 0; i < x.Length; i++) x[i] = x[i] > 0 ? x[i] : i % 3 == 0 ? -0f : 0f;
            foreach (int p in new[] { 0, 3, 4, 11 })
                x[p * g.InPlane + gen.NextInt(g.InPlane)] = p == 4 ? -float.NaN : float.NaN;
            x[7 * g.InPlane + g.InPlane - 1] = float.NaN; // the last element of a plane
            var (y, yRef) = (Guarded.Zeros(x.Length), new float[x.Length]);
            y.Span.Fill(42f);
            PoolingReference.MaxPool2dForward(g, x, yRef, new int[x.Length]);
            Pooling.MaxPlanesSame3x3(g, x, y, 0, g.Planes);
            Close.Assert(yRef, y, 0, 0, $"3×3/1 same max pool with NaN planes {g}");
        }
    }

    /// <summary>Through the public entry on every ISA (scalar and Vector128-only take the padded-rows kernel).</summary>
    [Theory]
    [InlineData(480, 14)]
    [InlineData(528, 14)]
    [InlineData(832, 7)]
    [InlineData(192, 28)]
    [InlineData(256, 28)]
    public void GoogLeNetBranchPoolsMatchReference(int planes, int size)
    {
        var g = new Pool2dGeometry(planes, size, size, size, size, 3, 3, 1, 1, 1, 1);
        var x = MaxPoolInputs.Random(g, 2, new Generator((ulong)planes));
        var (y, yRef) = (Guarded.Nan(x.Length), new float[x.Length]);
        PoolingReference.MaxPool2dForward(g, x, yRef, new int[x.Length]);
        Pooling.MaxPool2dForward(g, x, y, Span<int>.Empty);
        Close.Assert(yRef, y, 0, 0, $"GoogLeNet pool {g}");
    }
}
