using Striate.Functional;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class BroadcastKernelTests
{
    // Random shape pairs that broadcast: each dimension of each operand is the output's size or 1, and operands may
    // lack leading dimensions; outputs start as NaN so an element the kernel skips cannot pass.
    [Fact]
    public void BinaryAndSumToMatchTheReferenceOnRandomBroadcasts()
    {
        var g = new Generator(21);
        for (int trial = 0; trial < 200; trial++)
        {
            int rank = g.NextInt(5);
            var outShape = new int[rank];
            for (int d = 0; d < rank; d++) outShape[d] = 1 + g.NextInt(5);
            var a = Operand(outShape, g);
            var b = Operand(outShape, g);
            var expectedShape = F.BroadcastShapes(a, b);
            var sa = Broadcast.StridesWithin(a, expectedShape);
            var sb = Broadcast.StridesWithin(b, expectedShape);
            int n = Tensor.CountElements(expectedShape, "test");
            var x = Close.RandomArray(Tensor.CountElements(a, "a"), g);
            var y = Close.RandomArray(Tensor.CountElements(b, "b"), g);
            foreach (var op in Enum.GetValues<BinaryOp>())
            {
                var z = Guarded.Nan(n);
                var zRef = new float[n];
                Broadcast.Binary(op, x, sa, y, sb, expectedShape, z);
                BroadcastReference.Binary(op, x, sa, y, sb, expectedShape, zRef);
                Close.Assert(zRef, z, 0, 0, $"{op} {Tensor.FormatShape(a)} with {Tensor.FormatShape(b)}");
            }
            var grad = Close.RandomArray(n, g);
            var target = Guarded.Zeros(x.Length);
            var targetRef = new float[x.Length];
            Broadcast.SumTo(grad, expectedShape, target, sa);
            BroadcastReference.SumTo(grad, expectedShape, targetRef, sa);
            Close.Assert(targetRef, target, 1e-5, 1e-5, $"sum of {Tensor.FormatShape(expectedShape)} to {Tensor.FormatShape(a)}");
        }
    }

    [Fact]
    public void StridesAreZeroAlongBroadcastAndMissingDimensions()
    {
        Assert.Equal([0, 1, 0, 0], Broadcast.StridesWithin([3, 1, 1], [2, 3, 4, 5]));
        Assert.Equal([20, 5, 1], Broadcast.StridesWithin([2, 4, 5], [2, 4, 5]));
        Assert.Equal([0, 0], Broadcast.StridesWithin([], [2, 3]));
    }

    private static int[] Operand(int[] outShape, Generator g)
    {
        int drop = g.NextInt(outShape.Length + 1);
        var shape = outShape[drop..].ToArray();
        for (int d = 0; d < shape.Length; d++) if (g.NextInt(3) == 0) shape[d] = 1;
        return shape;
    }
}
