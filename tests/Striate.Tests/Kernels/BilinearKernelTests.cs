using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class BilinearKernelTests
{
    [Fact]
    public void MatchesReferenceWhenUpAndDownSampling()
    {
        var g = new Generator(9);
        for (int trial = 0; trial < 80; trial++)
        {
            int planes = 1 + g.NextInt(3), h = 1 + g.NextInt(12), w = 1 + g.NextInt(12), oh = 1 + g.NextInt(25), ow = 1 + g.NextInt(25);
            // Every third trial uses a scale factor instead of the size ratio.
            double factor = trial % 3 == 0 ? 0.5 + g.NextDouble() * 2 : 0;
            float sh = Bilinear.SourceScale(h, oh, factor), sw = Bilinear.SourceScale(w, ow, factor);
            var x = Close.RandomArray(planes * h * w, g);
            Guarded<float> y = Guarded.Zeros(planes * oh * ow);
            float[] yRef = new float[y.Length];
            Bilinear.Forward(planes, h, w, oh, ow, sh, sw, x, y);
            BilinearReference.Forward(planes, h, w, oh, ow, sh, sw, x, yRef);
            Close.Assert(yRef, y, 1e-5, 1e-5, $"forward {h}x{w}->{oh}x{ow}");
            var dy = Close.RandomArray(y.Length, g);
            Guarded<float> dx = Guarded.Zeros(x.Length);
            float[] dxRef = new float[x.Length];
            Bilinear.Backward(planes, h, w, oh, ow, sh, sw, dy, dx);
            BilinearReference.Backward(planes, h, w, oh, ow, sh, sw, dy, dxRef);
            Close.Assert(dxRef, dx, 1e-4, 1e-5, $"backward {h}x{w}->{oh}x{ow}");
        }
    }

    [Fact]
    public void BackwardIsTheAdjointOfForward()
    {
        // <A x, y> = <x, Aᵀ y> for the linear map A.
        var g = new Generator(10);
        int h = 5, w = 7, oh = 11, ow = 4;
        var x = Close.RandomArray(h * w, g);
        var dy = Close.RandomArray(oh * ow, g);
        float[] y = new float[oh * ow], dx = new float[h * w];
        float sh = Bilinear.SourceScale(h, oh, 0), sw = Bilinear.SourceScale(w, ow, 0);
        Bilinear.Forward(1, h, w, oh, ow, sh, sw, x, y);
        Bilinear.Backward(1, h, w, oh, ow, sh, sw, dy, dx);
        double left = 0, right = 0;
        for (int i = 0; i < y.Length; i++) left += y[i] * (double)dy[i];
        for (int i = 0; i < x.Length; i++) right += x[i] * (double)dx[i];
        Assert.Equal(left, right, 4);
    }

    [Fact]
    public void LargeInputsSplitAcrossThreadsMatchReference()
    {
        var g = new Generator(25);
        int planes = 9, h = 23, w = 19, oh = 61, ow = 47;
        float sh = Bilinear.SourceScale(h, oh, 0), sw = Bilinear.SourceScale(w, ow, 0);
        var x = Close.RandomArray(planes * h * w, g);
        Guarded<float> y = Guarded.Zeros(planes * oh * ow);
        float[] yRef = new float[y.Length];
        Bilinear.Forward(planes, h, w, oh, ow, sh, sw, x, y);
        BilinearReference.Forward(planes, h, w, oh, ow, sh, sw, x, yRef);
        // Inputs are O(1): float weights against the double twin differ by ~1e-6 absolute where outputs cancel to near 0.
        Close.Assert(yRef, y, 1e-5, 1e-5, "forward");
        var dy = Close.RandomArray(y.Length, g);
        Guarded<float> dx = Guarded.Zeros(x.Length);
        float[] dxRef = new float[x.Length];
        Bilinear.Backward(planes, h, w, oh, ow, sh, sw, dy, dx);
        BilinearReference.Backward(planes, h, w, oh, ow, sh, sw, dy, dxRef);
        Close.Assert(dxRef, dx, 1e-4, 1e-5, "backward");
    }
}
