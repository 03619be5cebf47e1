using Striate.Functional;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class HardtanhKernelTests
{
    [Fact]
    public void ForwardAndBackwardMatchTheTwinOnOddLengths()
    {
        var g = new Generator(61);
        foreach (int len in new[] { 0, 1, 7, 15, 16, 17, 63, 100, 1031 })
        foreach (var (lo, hi) in new[] { (-1f, 1f), (0f, 6f), (-0.5f, 2.5f) })
        {
            var x = Close.RandomArray(len, g);
            for (int i = 0; i < len; i++) x[i] *= 8;
            var dy = Close.RandomArray(len, g);
            Guarded<float> y = Guarded.Zeros(len);
            float[] yRef = new float[len];
            Guarded<float> dx = Guarded.Zeros(len);
            float[] dxRef = new float[len];
            Hardtanh.Forward(x, lo, hi, y); HardtanhReference.Forward(x, lo, hi, yRef);
            Close.Assert(yRef, y, 0, 0, $"hardtanh [{lo}, {hi}] {len}");
            Hardtanh.Backward(x, dy, lo, hi, dx); HardtanhReference.Backward(x, dy, lo, hi, dxRef);
            Close.Assert(dxRef, dx, 0, 0, $"hardtanh' [{lo}, {hi}] {len}");
        }
    }

    [Fact]
    public void GradientIsZeroAtTheClipsAndNaNPropagates()
    {
        // 20 elements: the vector body and the scalar tail both see each case.
        var x = new float[20];
        x[0] = 0f; x[1] = 6f; x[2] = 3f; x[3] = float.NaN; x[4] = -1f; x[5] = 7f;
        x[16] = 0f; x[17] = 6f; x[18] = float.NaN; x[19] = 5.5f;
        var dy = Enumerable.Repeat(2f, 20).ToArray();
        var y = new float[20];
        var dx = new float[20];
        Hardtanh.Forward(x, 0f, 6f, y);
        Hardtanh.Backward(x, dy, 0f, 6f, dx);
        Assert.Equal([0f, 6f, 3f], y[..3]);
        Assert.True(float.IsNaN(y[3]) && float.IsNaN(y[18]));
        Assert.Equal(0f, y[4]); Assert.Equal(6f, y[5]);
        Assert.Equal([0f, 0f, 2f, 2f, 0f, 0f], dx[..6]);
        Assert.Equal([0f, 0f, 2f, 2f], dx[16..]);
    }

    [Fact]
    public void Relu6ClipsToZeroAndSixAndBackpropagates()
    {
        var x = Tensor.FromArray([-3f, 0.5f, 5.9f, 6.1f], [1, 4]).RequireGrad();
        var y = F.Relu6(x);
        Assert.Equal([0f, 0.5f, 5.9f, 6f], y.ReadOnlySpan.ToArray());
        F.Sum(y).Backward();
        Assert.Equal([0f, 1f, 1f, 0f], x.Grad!.ReadOnlySpan.ToArray());
        Assert.Equal([0f, 0.5f, 5.9f, 6f], new Striate.Nn.ReLU6().Call(x).ReadOnlySpan.ToArray());
    }

    [Fact]
    public void RejectsMinAboveMax()
    {
        var ex = Assert.Throws<ArgumentException>(() => F.Hardtanh(Tensor.Zeros([2]), 1f, -1f));
        Assert.Contains("minVal ≤ maxVal", ex.Message);
    }
}
