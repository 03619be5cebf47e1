using Striate.Autograd;
using Striate.Functional;
using Striate.Kernels;
using Striate.Models;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Functional;

/// <summary>
/// Conv2d → ReLU fused in training (<see cref="F.Conv2dRelu"/>, taken by <see cref="Sequential"/>) against the two ops
/// run apart: the same output, the same input and weight gradients (the same arithmetic), the bias gradient summed in
/// another order; and the fusion is not taken when a hook or a trace could see the convolution's own output.
/// </summary>
public class Conv2dReluTests
{
    private static Tensor Random(Generator g, params int[] shape) => Tensor.FromArray(Close.RandomArray(shape.Aggregate(1, (a, b) => a * b), g), shape);

    [Theory]
    [InlineData(37, 1, 28, 6, 2)]   // LeNet conv1
    [InlineData(29, 6, 14, 16, 0)]  // LeNet conv2
    public void FusedOpMatchesConvThenReluForwardAndBackward(int batch, int cin, int size, int cout, int padding)
    {
        var r = new Generator(11);
        var x = Random(r, batch, cin, size, size);
        var w = Random(r, cout, cin, 5, 5);
        var b = Random(r, cout);
        // Without SIMD the flat kernels do not run (nothing fuses in Sequential); F.Conv2dRelu still has to be right.
        Assert.Equal(Conv2dFlat.BestWidth != GemmPath.Scalar, F.Conv2dReluFuses(x, w, b, (1, 1), (padding, padding), (1, 1), 1));
        AssertFusedMatchesApart(x, w, b, seed: 12,
            (x, w, b) => F.Relu(F.Conv2d(x, w, b, padding: padding)), "ReluBackward",
            (x, w, b) => F.Conv2dRelu(x, w, b, (1, 1), (padding, padding), (1, 1), 1), "Conv2dReluBackward");
    }

    /// <summary>
    /// The fused op and the ops run apart on copies of x, w, b with one random output gradient: the same output, input and
    /// weight gradients (the same arithmetic), the bias gradient within float tolerance (summed in another order).
    /// </summary>
    private static void AssertFusedMatchesApart(Tensor x, Tensor w, Tensor b, ulong seed,
        Func<Tensor, Tensor, Tensor, Tensor> apart, string apartGradFn, Func<Tensor, Tensor, Tensor, Tensor> fused, string fusedGradFn)
    {
        var (y1, dx1, dw1, db1) = Run(x, w, b, apart, apartGradFn, seed);
        var (y2, dx2, dw2, db2) = Run(x, w, b, fused, fusedGradFn, seed);
        Assert.Equal(y1, y2);
        Assert.Equal(dx1, dx2);
        Assert.Equal(dw1, dw2);
        Close.Assert(db1, db2, 1e-5, 1e-4, "bias gradient");
    }

    private static (float[] Y, float[] Dx, float[] Dw, float[] Db) Run(Tensor x0, Tensor w0, Tensor b0,
        Func<Tensor, Tensor, Tensor, Tensor> op, string expectedGradFn, ulong seed)
    {
        var x = Tensor.FromArray(x0.ReadOnlySpan, x0.ShapeArray).RequireGrad();
        var w = Tensor.FromArray(w0.ReadOnlySpan, w0.ShapeArray).RequireGrad();
        var b = Tensor.FromArray(b0.ReadOnlySpan, b0.ShapeArray).RequireGrad();
        var y = op(x, w, b);
        Assert.Equal(expectedGradFn, y.GradFn!.Name);
        y.Backward(Random(new Generator(seed), y.ShapeArray));
        return (y.ReadOnlySpan.ToArray(), x.Grad!.ReadOnlySpan.ToArray(), w.Grad!.ReadOnlySpan.ToArray(), b.Grad!.ReadOnlySpan.ToArray());
    }

    [Fact]
    public void LeNetTrainsTheSameFusedAsWithTheReluObserved()
    {
        // A forward hook on each ReLU makes Sequential run conv, ReLU and pooling apart; the hooks do nothing else.
        var fused = LeNet.CreateRelu(generator: new Generator(3));
        var apart = LeNet.CreateRelu(generator: new Generator(3));
        foreach (var (_, m) in apart.NamedChildren()) if (m is ReLU) m.RegisterForwardHook((_, _, _) => { });
        var x = Random(new Generator(4), 41, 1, 28, 28);
        var labels = Enumerable.Range(0, 41).Select(i => i % 10).ToArray();
        var conv1 = (Conv2d)fused[0];
        Assert.Equal(Conv2dFlat.BestWidth != GemmPath.Scalar, F.Conv2dReluFuses(x, conv1.Weight, conv1.Bias, (1, 1), (2, 2), (1, 1), 1));
        var lossFused = F.CrossEntropy(fused.Call(x), labels);
        var lossApart = F.CrossEntropy(apart.Call(x), labels);
        Assert.Equal(lossApart.Item(), lossFused.Item());
        lossFused.Backward();
        lossApart.Backward();
        var pa = apart.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (name, p) in fused.NamedParameters())
        {
            var expected = pa[name].Grad!.ReadOnlySpan;
            if (name.EndsWith(".bias", StringComparison.Ordinal)) Close.Assert(expected, p.Grad!.ReadOnlySpan, 1e-5, 1e-6, $"{name} gradient");
            else Close.Assert(expected, p.Grad!.ReadOnlySpan, 1e-6, 1e-7, $"{name} gradient");
        }
    }

    [Fact]
    public void SequentialFusesOnlyWhenNothingObservesTheConvolution()
    {
        Assert.SkipUnless(Conv2dFlat.BestWidth != GemmPath.Scalar, "no vector width for the flat kernels here: Sequential fuses nothing.");
        var conv = new Conv2d(1, 6, 5, padding: 2, generator: new Generator(5));
        var relu = new ReLU();
        var net = new Sequential(conv, relu);
        var x = Random(new Generator(6), 16, 1, 28, 28).RequireGrad(); // small batches keep one GEMM, not the flat kernels
        Assert.Equal("Conv2dReluBackward", net.Call(x).GradFn!.Name);

        int seen = 0;
        using (conv.RegisterForwardHook((_, _, _) => seen++))
            Assert.Equal("ReluBackward", net.Call(x).GradFn!.Name);
        Assert.Equal(1, seen);
        Assert.Equal("Conv2dReluBackward", net.Call(x).GradFn!.Name);

        // A strided convolution does not take the flat kernels: nothing to fuse.
        var strided = new Sequential(new Conv2d(1, 6, 5, stride: 2, generator: new Generator(7)), new ReLU());
        Assert.Equal("ReluBackward", strided.Call(x).GradFn!.Name);
    }

    [Theory]
    [InlineData(37, 1, 28, 6, 2)]   // LeNet conv1 → 14×14
    [InlineData(29, 6, 14, 16, 0)]  // LeNet conv2 → 5×5
    [InlineData(33, 3, 11, 5, 1)]   // 11×11 output: the last row and column are in no window
    public void FusedPoolOpMatchesTheThreeOpsForwardAndBackward(int batch, int cin, int size, int cout, int padding)
    {
        var r = new Generator(21);
        var x = Random(r, batch, cin, size, size);
        var w = Random(r, cout, cin, 5, 5);
        var b = Random(r, cout);
        bool flat = Conv2dFlat.BestWidth != GemmPath.Scalar;
        Assert.Equal(flat, F.Conv2dReluMaxPoolFuses(x, w, b, (padding, padding)));
        Assert.SkipUnless(flat, "no vector width for the flat kernels here: the fused pooling op does not run.");
        AssertFusedMatchesApart(x, w, b, seed: 22,
            (x, w, b) => F.MaxPool2d(F.Relu(F.Conv2d(x, w, b, padding: padding)), 2), "MaxPoolBackward",
            (x, w, b) => F.Conv2dReluMaxPool(x, w, b, (padding, padding)), "Conv2dReluMaxPoolBackward");
    }

    [Fact]
    public void SequentialFusesConvReluPoolOnlyInTrainingAndWhenNothingObservesIt()
    {
        Assert.SkipUnless(Conv2dFlat.BestWidth != GemmPath.Scalar, "no vector width for the flat kernels here: Sequential fuses nothing.");
        var conv = new Conv2d(1, 6, 5, padding: 2, generator: new Generator(5));
        var pool = new MaxPool2d(2, 2);
        var net = new Sequential(conv, new ReLU(), pool);
        var x = Random(new Generator(6), 16, 1, 28, 28).RequireGrad();
        Assert.Equal("Conv2dReluMaxPoolBackward", net.Call(x).GradFn!.Name);
        using (pool.RegisterForwardHook((_, _, _) => { }))
            Assert.Equal("MaxPoolBackward", net.Call(x).GradFn!.Name);   // conv + ReLU still fused, pooling apart
        using (GradMode.NoGrad())
            Assert.Null(net.Call(x).GradFn);                              // inference: conv + ReLU fused, pooling apart
        var threeByThree = new Sequential(new Conv2d(1, 6, 5, padding: 2, generator: new Generator(5)), new ReLU(), new MaxPool2d(3, 2));
        Assert.Equal("MaxPoolBackward", threeByThree.Call(x).GradFn!.Name);
    }
}
