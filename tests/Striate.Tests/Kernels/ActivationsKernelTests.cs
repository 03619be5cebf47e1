using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class ActivationsKernelTests
{
    [Fact]
    public void EveryActivationAndGradientMatchesReferenceOnOddLengths()
    {
        var g = new Generator(6);
        foreach (int len in new[] { 0, 1, 7, 15, 16, 17, 63, 100, 1031 })
        {
            var x = Close.RandomArray(len, g);
            for (int i = 0; i < len; i++) x[i] *= 6;
            var dy = Close.RandomArray(len, g);
            Guarded<float> y = Guarded.Zeros(len);
            float[] yRef = new float[len];
            Guarded<float> dx = Guarded.Zeros(len);
            float[] dxRef = new float[len];

            Activations.Relu(x, y); ActivationsReference.Relu(x, yRef); Close.Assert(yRef, y, 0, 0, $"relu {len}");
            Activations.ReluBackward(y, dy, dx); ActivationsReference.ReluBackward(yRef, dy, dxRef); Close.Assert(dxRef, dx, 0, 0, $"relu' {len}");

            Activations.LeakyRelu(x, 0.2f, y); ActivationsReference.LeakyRelu(x, 0.2f, yRef); Close.Assert(yRef, y, 0, 0, $"leaky {len}");
            Activations.LeakyReluBackward(x, dy, 0.2f, dx); ActivationsReference.LeakyReluBackward(x, dy, 0.2f, dxRef); Close.Assert(dxRef, dx, 0, 0, $"leaky' {len}");

            Activations.Sigmoid(x, y); ActivationsReference.Sigmoid(x, yRef); Close.Assert(yRef, y, 1e-6, 1e-7, $"sigmoid {len}");
            Activations.SigmoidBackward(yRef, dy, dx); ActivationsReference.SigmoidBackward(yRef, dy, dxRef); Close.Assert(dxRef, dx, 1e-6, 1e-7, $"sigmoid' {len}");

            Activations.Tanh(x, y); ActivationsReference.Tanh(x, yRef); Close.Assert(yRef, y, 1e-6, 1e-7, $"tanh {len}");
            Activations.TanhBackward(yRef, dy, dx); ActivationsReference.TanhBackward(yRef, dy, dxRef); Close.Assert(dxRef, dx, 1e-6, 1e-7, $"tanh' {len}");
        }
    }

    [Fact]
    public void ReluPropagatesNaNAndZeroesNegatives()
    {
        float[] x = new float[20];
        x[3] = float.NaN; x[4] = -2f; x[19] = float.NaN; x[18] = 3f;
        var y = new float[20];
        Activations.Relu(x, y);
        Assert.True(float.IsNaN(y[3]));
        Assert.True(float.IsNaN(y[19]));
        Assert.Equal(0f, y[4]);
        Assert.Equal(3f, y[18]);
    }
}
