using Striate.Autograd;
using Striate.Functional;
using Striate.Kernels;
using Striate.Optim;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Functional;

/// <summary>
/// F.Conv2d keeps reordered copies of a weight (TransformedWeights) where they are reused — inference (no graph) and
/// frozen weights — keyed by the tensor's version; a weight that trains is reordered per call (a kept copy would be
/// refilled after every optimizer step, and the copies of a large model crowd the inference copies out of the cache's
/// budget: ResNet-50's batch-1 latency after training read 47–60 ms against 43). These tests interleave training
/// steps with evaluation forwards (the copy is kept there), change the weight every way it can change in place —
/// optimizer steps (SGD with momentum, Adam), writes through Span, the indexer, Fill, CopyFrom and a reshaped view —
/// and check after each that training's forward and input gradient and the evaluation forward match the reference on
/// the weight's current values, on every algorithm that keeps a copy.
/// </summary>
public class Conv2dWeightCacheTests
{
    // (Cin, Cout, kernel, stride, padding): the direct kernel (stride 1, and stride 2 with its phase input gradient),
    // 1×1 pointwise GEMM, and im2col + GEMM (1×1 stride 2) where SIMD runs the direct kernel; all fall back to im2col
    // + GEMM without SIMD.
    [Theory]
    [InlineData(16, 32, 3, 1, 1)]
    [InlineData(16, 32, 3, 2, 1)]
    [InlineData(20, 24, 1, 1, 0)]
    [InlineData(20, 24, 1, 2, 0)]
    public void NoStepServesAStaleWeight(int cin, int cout, int k, int stride, int pad)
    {
        var r = new Generator(900 + (ulong)(cin * k + stride));
        var w = Tensor.FromArray(Close.RandomArray(cout * cin * k * k, r), cout, cin, k, k).RequireGrad();
        var x = Tensor.FromArray(Close.RandomArray(2 * cin * 9 * 9, r), 2, cin, 9, 9);
        var g = new Conv2dGeometry(2, cin, 9, 9, cout, k, k, stride, stride, pad, pad);
        var dy = Close.RandomArray((int)g.OutputLength, r);

        // One training step on the weight's current values: the forward and the input gradient against the reference.
        void Step(string when)
        {
            var xg = x.Detach().RequireGrad();
            var y = F.Conv2d(xg, w, stride: stride, padding: pad);
            var expected = new float[g.OutputLength];
            Conv2dReference.Forward(g, x.ReadOnlySpan, w.ReadOnlySpan, default, expected);
            Close.Assert(expected, y.ReadOnlySpan, 1e-4, 1e-4, $"forward {when}");
            y.Backward(Tensor.FromArray(dy, g.Batch, cout, g.OutHeight, g.OutWidth));
            var dx = new float[g.InputLength];
            Conv2dReference.BackwardData(g, dy, w.ReadOnlySpan, dx);
            Close.Assert(dx, xg.Grad!.ReadOnlySpan, 1e-4, 1e-4, $"input gradient {when}");
            using (GradMode.NoGrad())
                Close.Assert(expected, F.Conv2d(x, w, stride: stride, padding: pad).ReadOnlySpan, 1e-4, 1e-4, $"evaluation forward {when}");
        }

        Step("first");
        Step("again, same version (gradient accumulation)");
        var sgd = new Sgd([w], lr: 0.05f, momentum: 0.9f);
        for (int i = 0; i < 3; i++)
        {
            sgd.Step();
            sgd.ZeroGrad();
            Step($"after SGD step {i + 1}");
        }
        var adam = new Adam([w], lr: 0.01f);
        for (int i = 0; i < 2; i++)
        {
            Step($"before Adam step {i + 1}");
            adam.Step();
            adam.ZeroGrad();
        }
        Step("after Adam");

        w.Span[3] += 1f;
        Step("after a write through Span");
        w[0, 0, 0, 0] = -2f;
        Step("after a write through the indexer");
        using (GradMode.NoGrad()) w.Reshape(cout, cin * k * k).Span[1] = 5f;
        Step("after a write through a reshaped view");
        w.CopyFrom(Tensor.FromArray(Close.RandomArray(w.Numel, r), w.ShapeArray));
        Step("after CopyFrom");
        w.Fill(0.25f);
        Step("after Fill");
    }

    /// <summary>
    /// The proof that the copies are kept: values written behind the version's back (into the raw storage) are not seen
    /// while the version stays — by an evaluation forward, and by the input gradient through a frozen weight — and are
    /// seen once it is bumped.
    /// </summary>
    [Theory]
    [InlineData(16, 32, 3, 1, 1)]
    [InlineData(20, 24, 1, 1, 0)]
    public void InferenceAndFrozenWeightsReuseTheKeptCopyUntilTheVersionChanges(int cin, int cout, int k, int stride, int pad)
    {
        var r = new Generator(77);
        var w = Tensor.FromArray(Close.RandomArray(cout * cin * k * k, r), cout, cin, k, k); // frozen: no grad
        var x = Tensor.FromArray(Close.RandomArray(2 * cin * 9 * 9, r), 2, cin, 9, 9);
        var g = new Conv2dGeometry(2, cin, 9, 9, cout, k, k, stride, stride, pad, pad);
        var dy = Tensor.FromArray(Close.RandomArray((int)g.OutputLength, r), g.Batch, cout, g.OutHeight, g.OutWidth);
        (float[] Y, float[] Dx) Run()
        {
            float[] evaluated;
            using (GradMode.NoGrad()) evaluated = F.Conv2d(x, w, stride: stride, padding: pad).ToArray();
            var xg = x.Detach().RequireGrad();
            F.Conv2d(xg, w, stride: stride, padding: pad).Backward(dy);
            return (evaluated, xg.Grad!.ToArray());
        }
        var (y1, dx1) = Run();
        var storage = w.Storage;
        for (int i = 0; i < w.Numel; i++) storage[i] = -storage[i]; // behind the version's back
        var (y2, dx2) = Run();
        Close.Assert(y1, y2, 0, 0, "same version: the kept evaluation copy");
        Close.Assert(dx1, dx2, 0, 0, "same version: the kept input-gradient copy");
        w.BumpVersion();
        var (y3, dx3) = Run();
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x.ReadOnlySpan, w.ReadOnlySpan, default, expected);
        Close.Assert(expected, y3, 1e-4, 1e-4, "new version: reordered again");
        var dxExpected = new float[g.InputLength];
        Conv2dReference.BackwardData(g, dy.ReadOnlySpan, w.ReadOnlySpan, dxExpected);
        Close.Assert(dxExpected, dx3, 1e-4, 1e-4, "new version: input-gradient copy reordered again");
    }
}
