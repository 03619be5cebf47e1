using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class LocalResponseNormKernelTests
{
    [Fact]
    public void MatchesReferenceOnRandomShapesAndWindowSizes()
    {
        var g = new Generator(5);
        for (int trial = 0; trial < 60; trial++)
        {
            int n = 1 + g.NextInt(3), c = 1 + g.NextInt(9), s = 1 + g.NextInt(37), size = 1 + g.NextInt(12);
            float alpha = trial % 2 == 0 ? 1e-4f : 0.3f, beta = trial % 3 == 0 ? 0.5f : trial % 3 == 1 ? 0.75f : 0.6f, k = trial % 2 == 0 ? 2f : 1f;
            var x = Close.RandomArray(n * c * s, g);
            for (int i = 0; i < x.Length; i++) x[i] *= 3;
            Guarded<float> y = Guarded.Zeros(x.Length);
            float[] yRef = new float[x.Length];
            Guarded<float> sc = Guarded.Zeros(x.Length);
            float[] scRef = new float[x.Length];
            LocalResponseNorm.Forward(n, c, s, size, alpha, beta, k, x, y, sc);
            LocalResponseNormReference.Forward(n, c, s, size, alpha, beta, k, x, yRef, scRef);
            Close.Assert(scRef, sc, 1e-5, 1e-6, $"scale n={n} c={c} s={s} size={size}");
            Close.Assert(yRef, y, 1e-5, 1e-6, $"forward n={n} c={c} s={s} size={size}");
            var dy = Close.RandomArray(x.Length, g);
            Guarded<float> dx = Guarded.Zeros(x.Length);
            float[] dxRef = new float[x.Length];
            LocalResponseNorm.Backward(n, c, s, size, alpha, beta, x, yRef, scRef, dy, dx);
            LocalResponseNormReference.Backward(n, c, s, size, alpha, beta, x, yRef, scRef, dy, dxRef);
            Close.Assert(dxRef, dx, 1e-4, 1e-5, $"backward n={n} c={c} s={s} size={size}");
        }
    }

    [Fact]
    public void LargeInputsSplitAcrossThreadsMatchReference()
    {
        var g = new Generator(24);
        int n = 5, c = 6, s = 700, size = 5;
        var x = Close.RandomArray(n * c * s, g);
        Guarded<float> y = Guarded.Zeros(x.Length);
        float[] yRef = new float[x.Length];
        Guarded<float> sc = Guarded.Zeros(x.Length);
        float[] scRef = new float[x.Length];
        LocalResponseNorm.Forward(n, c, s, size, 0.2f, 0.75f, 1f, x, y, sc);
        LocalResponseNormReference.Forward(n, c, s, size, 0.2f, 0.75f, 1f, x, yRef, scRef);
        Close.Assert(yRef, y, 1e-5, 1e-6, "forward");
        var dy = Close.RandomArray(x.Length, g);
        Guarded<float> dx = Guarded.Zeros(x.Length);
        float[] dxRef = new float[x.Length];
        LocalResponseNorm.Backward(n, c, s, size, 0.2f, 0.75f, x, yRef, scRef, dy, dx);
        LocalResponseNormReference.Backward(n, c, s, size, 0.2f, 0.75f, x, yRef, scRef, dy, dxRef);
        Close.Assert(dxRef, dx, 1e-4, 1e-5, "backward");
    }
}
