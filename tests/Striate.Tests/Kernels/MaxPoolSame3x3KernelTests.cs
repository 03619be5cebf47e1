using System.Runtime.Intrinsics.X86;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The 3×3/1 "same" max pool on rows of at most 16 floats (AVX-512 only: one vector per row, neighbours by lane
/// permutes) against the reference twin: every row width 1–16, heights from 1, ReLU-like ties, signed zeros and NaNs;
/// then GoogLeNet's branch-4 pools through the public entry (planes split over the kernel threads).
/// </summary>
public class MaxPoolSame3x3KernelTests
{
    private static void SkipUnlessAvx512() =>
        Assert.SkipUnless(Avx512F.IsSupported, "AVX-512 is not available here (or is disabled by DOTNET_Enable* settings).");

    [Fact]
    public void ValuesMatchReferenceOnEveryRowWidth()
    {
        SkipUnlessAvx512();
        var gen = new Generator(31);
        int trial = 0;
        for (int w = 1; w <= 16; w++)
            foreach (int h in new[] { 1, 2, 3, 7, 14, 1 + gen.NextInt(20) })
            {
                var g = new Pool2dGeometry(1 + gen.NextInt(4), h, w, h, w, 3, 3, 1, 1, 1, 1);
                Assert.True(Pooling.IsSame3x3Row16(g), $"{g}");
                var x = Input(g, trial++, gen);
                int outLen = g.Planes * g.OutPlane;
                float[] y = new float[outLen], yRef = new float[outLen];
                Array.Fill(y, float.NaN); // NaN inputs aside, an output the kernel skips stays NaN and fails
                PoolingReference.MaxPool2dForward(g, x, yRef, new int[outLen]);
                Pooling.MaxPlanesSame3x3(g, x, y, 0, g.Planes);
                Close.Assert(yRef, y, 0, 0, $"3×3/1 same max pool {g}");
            }
    }

    [Fact]
    public void WritesOnlyItsPlanes()
    {
        SkipUnlessAvx512();
        // Planes [1, 3) of 4 on 7-wide rows: a full-vector store would spill into plane 3's first row.
        var g = new Pool2dGeometry(4, 7, 7, 7, 7, 3, 3, 1, 1, 1, 1);
        var x = Close.RandomArray(4 * 49, new Generator(5));
        var y = new float[4 * 49];
        Array.Fill(y, 42f);
        Pooling.MaxPlanesSame3x3(g, x, y, 1, 3);
        Assert.All(y.AsSpan(0, 49).ToArray(), v => Assert.Equal(42f, v));
        Assert.All(y.AsSpan(3 * 49).ToArray(), v => Assert.Equal(42f, v));
    }

    /// <summary>Through the public entry on every ISA (AVX2 and scalar take the padded-rows kernel).</summary>
    [Theory]
    [InlineData(480, 14)]
    [InlineData(528, 14)]
    [InlineData(832, 7)]
    public void GoogLeNetBranchPoolsMatchReference(int planes, int size)
    {
        var g = new Pool2dGeometry(planes, size, size, size, size, 3, 3, 1, 1, 1, 1);
        var x = Input(g, 2, new Generator((ulong)planes));
        float[] y = new float[x.Length], yRef = new float[x.Length];
        Array.Fill(y, float.NaN);
        PoolingReference.MaxPool2dForward(g, x, yRef, new int[x.Length]);
        Pooling.MaxPool2dForward(g, x, y, Span<int>.Empty);
        Close.Assert(yRef, y, 0, 0, $"GoogLeNet pool {g}");
    }

    // Random values; two trials in three ReLU-like (many equal zeros, some −0), every third with NaNs.
    private static float[] Input(Pool2dGeometry g, int trial, Generator gen)
    {
        var x = Close.RandomArray(g.Planes * g.InPlane, gen);
        if (trial % 3 != 0) for (int i = 0; i < x.Length; i++) x[i] = x[i] > 0 ? x[i] : i % 5 == 0 ? -0f : 0f;
        if (trial % 3 == 2) for (int i = 3; i < x.Length; i += 11) x[i] = float.NaN;
        return x;
    }
}
