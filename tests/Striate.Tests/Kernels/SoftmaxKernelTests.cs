using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class SoftmaxKernelTests
{
    [Fact]
    public void SoftmaxAndLogSoftmaxMatchReferenceForContiguousAndStridedDims()
    {
        var g = new Generator(7);
        for (int trial = 0; trial < 60; trial++)
        {
            int outer = 1 + g.NextInt(4), dim = 1 + g.NextInt(13), inner = trial % 2 == 0 ? 1 : 1 + g.NextInt(21);
            var x = Close.RandomArray(outer * dim * inner, g);
            for (int i = 0; i < x.Length; i++) x[i] *= 20;
            var dy = Close.RandomArray(x.Length, g);
            Guarded<float> y = Guarded.Zeros(x.Length);
            float[] yRef = new float[x.Length];
            Guarded<float> dx = Guarded.Zeros(x.Length);
            float[] dxRef = new float[x.Length];

            Softmax.Forward(outer, dim, inner, x, y); SoftmaxReference.Forward(outer, dim, inner, x, yRef);
            Close.Assert(yRef, y, 1e-5, 1e-7, $"softmax [{outer},{dim},{inner}]");
            Softmax.Backward(outer, dim, inner, yRef, dy, dx); SoftmaxReference.Backward(outer, dim, inner, yRef, dy, dxRef);
            Close.Assert(dxRef, dx, 1e-4, 1e-6, $"softmax' [{outer},{dim},{inner}]");

            Softmax.LogForward(outer, dim, inner, x, y); SoftmaxReference.LogForward(outer, dim, inner, x, yRef);
            Close.Assert(yRef, y, 1e-5, 1e-5, $"log_softmax [{outer},{dim},{inner}]");
            Softmax.LogBackward(outer, dim, inner, yRef, dy, dx); SoftmaxReference.LogBackward(outer, dim, inner, yRef, dy, dxRef);
            Close.Assert(dxRef, dx, 1e-4, 1e-5, $"log_softmax' [{outer},{dim},{inner}]");
        }
    }

    [Fact]
    public void HugeLogitsStayFinite()
    {
        float[] x = [1000f, 999f, -1000f, 1000f];
        float[] y = new float[4], logY = new float[4];
        Softmax.Forward(1, 4, 1, x, y);
        Softmax.LogForward(1, 4, 1, x, logY);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1f, y.Sum(), 5);
        Assert.Equal(-MathF.Log(2 + MathF.Exp(-1)), logY[0], 5);
    }
}
