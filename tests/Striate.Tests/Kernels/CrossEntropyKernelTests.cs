using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class CrossEntropyKernelTests
{
    [Fact]
    public void LossAndGradientMatchReferenceWithAndWithoutSmoothing()
    {
        var g = new Generator(8);
        for (int trial = 0; trial < 40; trial++)
        {
            int n = 1 + g.NextInt(9), c = 1 + g.NextInt(17);
            float eps = trial % 2 == 0 ? 0f : 0.1f * (1 + g.NextInt(5));
            var x = Close.RandomArray(n * c, g);
            for (int i = 0; i < x.Length; i++) x[i] *= 8;
            var targets = Enumerable.Range(0, n).Select(_ => g.NextInt(c)).ToArray();
            Guarded<float> p = Guarded.Zeros(x.Length);
            float[] pRef = new float[x.Length];
            float loss = CrossEntropy.Forward(n, c, x, targets, eps, p);
            float lossRef = CrossEntropyReference.Forward(n, c, x, targets, eps, pRef);
            Assert.Equal(lossRef, loss, 1e-4f * Math.Max(1, Math.Abs(lossRef)));
            Close.Assert(pRef, p, 1e-5, 1e-7, "probabilities");
            Guarded<float> dx = Guarded.Zeros(x.Length);
            float[] dxRef = new float[x.Length];
            CrossEntropy.Backward(n, c, p, targets, eps, 0.7f, dx);
            CrossEntropyReference.Backward(n, c, pRef, targets, eps, 0.7f, dxRef);
            Close.Assert(dxRef, dx, 1e-5, 1e-7, $"gradient n={n} c={c} eps={eps}");
        }
    }

    [Fact]
    public void OutOfRangeTargetIsRejectedWithItsIndex()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Forward(2, 3, new float[6], [0, 3], 0f, Span<float>.Empty));
        Assert.Contains("target 3 at sample 1", ex.Message);
    }
}
