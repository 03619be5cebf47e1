using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class AdaptivePoolingKernelTests
{
    [Fact]
    public void MatchesReferenceOnRandomShapesIncludingOutputsLargerThanInputs()
    {
        var g = new Generator(3);
        for (int trial = 0; trial < 150; trial++)
        {
            int planes = 1 + g.NextInt(4), h = 1 + g.NextInt(15), w = 1 + g.NextInt(15);
            int oh = 1 + g.NextInt(trial % 3 == 0 ? 1 : 9), ow = 1 + g.NextInt(trial % 3 == 0 ? 1 : 9);
            var x = Close.RandomArray(planes * h * w, g);
            if (trial % 2 == 1) for (int i = 0; i < x.Length; i++) x[i] = Math.Max(x[i], 0f); // tied zeros
            int outLen = planes * oh * ow;
            var (y, yRef) = (Guarded.Zeros(outLen), new float[outLen]);
            AdaptivePooling.AvgForward(planes, h, w, oh, ow, x, y);
            AdaptivePoolingReference.AvgForward(planes, h, w, oh, ow, x, yRef);
            Close.Assert(yRef, y, 1e-5, 1e-6, $"avg forward {h}x{w}->{oh}x{ow}");
            var dy = Close.RandomArray(outLen, g);
            var (dx, dxRef) = (Guarded.Zeros(x.Length), new float[x.Length]);
            AdaptivePooling.AvgBackward(planes, h, w, oh, ow, dy, dx);
            AdaptivePoolingReference.AvgBackward(planes, h, w, oh, ow, dy, dxRef);
            Close.Assert(dxRef, dx, 1e-5, 1e-6, $"avg backward {h}x{w}->{oh}x{ow}");

            var (idx, idxRef) = (Guarded.Ints(outLen), new int[outLen]);
            AdaptivePooling.MaxForward(planes, h, w, oh, ow, x, y, idx);
            AdaptivePoolingReference.MaxForward(planes, h, w, oh, ow, x, yRef, idxRef);
            Close.Assert(yRef, y, 0, 0, $"max forward {h}x{w}->{oh}x{ow}");
            idx.Check($"indices {h}x{w}->{oh}x{ow}");
            Assert.Equal(idxRef, idx.ToArray());
        }
    }

    [Theory]
    [InlineData(10, 3, new[] { 0, 3, 6 }, new[] { 4, 7, 10 })]
    [InlineData(7, 2, new[] { 0, 3 }, new[] { 4, 7 })]
    [InlineData(3, 5, new[] { 0, 0, 1, 1, 2 }, new[] { 1, 2, 2, 3, 3 })]
    public void CellBoundsAreFloorAndCeilOfTheProportionalSplit(int input, int output, int[] starts, int[] ends)
    {
        for (int i = 0; i < output; i++)
        {
            Assert.Equal(starts[i], AdaptivePooling.Start(i, input, output));
            Assert.Equal(ends[i], AdaptivePooling.End(i, input, output));
        }
    }

    [Fact]
    public void LargeInputsSplitAcrossThreadsMatchReference()
    {
        var g = new Generator(22);
        int planes = 37, h = 41, w = 43;
        var x = Close.RandomArray(planes * h * w, g);
        foreach (var (oh, ow) in new[] { (1, 1), (6, 5) })
        {
            int outLen = planes * oh * ow;
            var (y, yRef) = (Guarded.Zeros(outLen), new float[outLen]);
            AdaptivePooling.AvgForward(planes, h, w, oh, ow, x, y);
            AdaptivePoolingReference.AvgForward(planes, h, w, oh, ow, x, yRef);
            Close.Assert(yRef, y, 1e-5, 1e-6, $"avg forward {oh}x{ow}");
            var dy = Close.RandomArray(outLen, g);
            var (dx, dxRef) = (Guarded.Zeros(x.Length), new float[x.Length]);
            AdaptivePooling.AvgBackward(planes, h, w, oh, ow, dy, dx);
            AdaptivePoolingReference.AvgBackward(planes, h, w, oh, ow, dy, dxRef);
            Close.Assert(dxRef, dx, 1e-5, 1e-6, $"avg backward {oh}x{ow}");
            var (idx, idxRef) = (Guarded.Ints(outLen), new int[outLen]);
            AdaptivePooling.MaxForward(planes, h, w, oh, ow, x, y, idx);
            AdaptivePoolingReference.MaxForward(planes, h, w, oh, ow, x, yRef, idxRef);
            Close.Assert(yRef, y, 0, 0, $"max forward {oh}x{ow}");
            idx.Check($"indices {h}x{w}->{oh}x{ow}");
            Assert.Equal(idxRef, idx.ToArray());
        }
    }
}
