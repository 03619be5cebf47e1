using Striate.Autograd;
using Striate.Functional;

namespace Striate.Tests.TestSupport;

/// <summary>
/// Central-difference gradient check in float32: loss = Σ op(inputs)·r with a fixed random r, so every output
/// element's gradient matters. Step 1e-2 balances truncation against float rounding; tolerances are set to match.
/// </summary>
internal static class FiniteDifference
{
    public static void Check(Func<Tensor[], Tensor> op, Tensor[] inputs, string what, double rtol = 2e-2, double atol = 2e-3, float step = 1e-2f)
    {
        foreach (var t in inputs) t.RequireGrad();
        var output = op(inputs);
        var r = Tensor.Wrap(Close.RandomArray(output.Numel, new Generator(99)), output.ShapeArray);
        F.Sum(F.Mul(output, r)).Backward();
        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            var numeric = new float[x.Numel];
            using (GradMode.NoGrad())
            {
                for (int i = 0; i < x.Numel; i++)
                {
                    float saved = x.Span[i];
                    x.Span[i] = saved + step;
                    double plus = Loss(op, inputs, r);
                    x.Span[i] = saved - step;
                    double minus = Loss(op, inputs, r);
                    x.Span[i] = saved;
                    numeric[i] = (float)((plus - minus) / (2 * step));
                }
            }
            Assert.NotNull(x.Grad);
            Close.Assert(numeric, x.Grad!.ReadOnlySpan, rtol, atol, $"{what}: gradient of input {k}");
        }
    }

    private static double Loss(Func<Tensor[], Tensor> op, Tensor[] inputs, Tensor r)
    {
        var y = op(inputs);
        double sum = 0;
        for (int i = 0; i < y.Numel; i++) sum += (double)y.ReadOnlySpan[i] * r.ReadOnlySpan[i];
        return sum;
    }

    public static Tensor Random(ulong seed, params int[] shape) => Tensor.Wrap(Close.RandomArray(shape.Aggregate(1, (a, b) => a * b), new Generator(seed)), shape);
}
