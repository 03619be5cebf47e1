using Striate.Autograd;
using Striate.Kernels;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// relu(conv2d(input, weight, bias)) as one op, what <see cref="Nn.Sequential"/> runs for a Conv2d followed by a
    /// ReLU when nothing can observe the convolution's own output (no hooks, no graph trace) and the convolution takes
    /// <see cref="Conv2dAlgorithm.SmallDirect"/> (LeNet's): the ReLU rides on the convolution's output store, and the
    /// backward masks the output gradient by output &gt; 0 while the kernels flatten it (bias gradient included),
    /// instead of a ReLU pass each way over the activation. Same values and gradients as the two ops (the same
    /// arithmetic; only the bias gradient sums in another order).
    /// Shapes: as <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/> with a 4-D input.
    /// </summary>
    internal static Tensor Conv2dRelu(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        var output = Tensor.Allocate([g.Batch, g.OutChannels, g.OutHeight, g.OutWidth], clear: false);
        Conv2dKernels.Forward(g, input.ReadOnlySpan, weight.ReadOnlySpan, bias is null ? default : bias.ReadOnlySpan, output.Span,
            new Conv2dEpilogue { Relu = true }, KeptWeightKey(weight, inference: !GradMode.IsEnabled));
        return new Conv2dReluBackward(g, input, weight, output, bias != null).Saving(input, weight, output).Record(output, input, weight, bias);
    }

    /// <summary>Whether <see cref="Conv2dRelu"/> runs fused for this input (4-D, and the convolution takes the flat path).</summary>
    internal static bool Conv2dReluFuses(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        if (input.Rank != 4 || weight.Rank != 4 || groups != 1 || stride != (1, 1) || dilation != (1, 1)) return false;
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        return Conv2dKernels.Choose(g) == Conv2dAlgorithm.SmallDirect;
    }

    /// <summary>Gradients of <see cref="Conv2dRelu"/> for input, weight and bias, from the saved output's sign.</summary>
    private sealed class Conv2dReluBackward(Conv2dGeometry geometry, Tensor input, Tensor weight, Tensor output, bool hasBias) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var g = geometry;
            var dx = NeedsGrad(0) ? Tensor.Allocate(input.Shape, clear: false) : null;              // dx: [N, Cin, H, W]
            var dw = NeedsGrad(1) ? Tensor.Allocate(weight.Shape, clear: false) : null;             // dW: [Cout, Cin, kH, kW]
            var db = hasBias && NeedsGrad(2) ? Tensor.Allocate([g.OutChannels], clear: false) : null; // db: [Cout]
            Conv2dKernels.BackwardRelu(g, input.ReadOnlySpan, weight.ReadOnlySpan, output.ReadOnlySpan, gradOutput.ReadOnlySpan,
                dx is null ? default : dx.Span, dw is null ? default : dw.Span, db is null ? default : db.Span);
            if (dx != null) Accumulate(0, dx);
            if (dw != null) Accumulate(1, dw);
            if (db != null) Accumulate(2, db);
        }
    }

    /// <summary>
    /// maxpool2d(relu(conv2d(input, weight, bias)), 2, 2) as one op: what <see cref="Nn.Sequential"/> runs for LeNet's
    /// Conv2d, ReLU, MaxPool2d(2) when grad is on and nothing observes the inner outputs. Each image's convolution
    /// output is pooled from a per-thread scratch (<see cref="Conv2dFlat.ForwardReluPool"/>) and its gradient rebuilt
    /// there from the pooled gradient, so neither the activation nor its gradient is written at full size (conv1's is
    /// 4.8 MB at batch 256). Same values, argmaxes and gradients as the three ops (the bias gradient sums in another order).
    /// Shapes: input [N, Cin, H, W] → [N, Cout, Hout/2, Wout/2].
    /// </summary>
    internal static Tensor Conv2dReluMaxPool(Tensor input, Tensor weight, Tensor? bias, (int H, int W) padding)
    {
        var g = Conv2dGeometryOf(input, weight, bias, (1, 1), padding, (1, 1), 1);
        var pg = Conv2dFlat.PoolOf(g);
        var output = Tensor.Allocate([g.Batch, g.OutChannels, pg.OutH, pg.OutW], clear: false);
        int count = output.Numel;
        var indices = RentIndices(count);
        Conv2dFlat.ForwardReluPool(Conv2dFlat.BestWidth, g, input.ReadOnlySpan, weight.ReadOnlySpan, bias is null ? default : bias.ReadOnlySpan,
            output.Span, IndexSpan(indices, count));
        return new Conv2dReluMaxPoolBackward(g, input, weight, output, indices, bias != null).Saving(input, weight, output).Record(output, input, weight, bias);
    }

    /// <summary>Whether <see cref="Conv2dReluMaxPool"/> can stand in for conv (stride 1, this padding) → ReLU → 2×2/2 max pooling here.</summary>
    internal static bool Conv2dReluMaxPoolFuses(Tensor input, Tensor weight, Tensor? bias, (int H, int W) padding)
    {
        if (!Conv2dReluFuses(input, weight, bias, (1, 1), padding, (1, 1), 1)) return false;
        return Conv2dFlat.SupportsPool(Conv2dGeometryOf(input, weight, bias, (1, 1), padding, (1, 1), 1));
    }

    /// <summary>Gradients of <see cref="Conv2dReluMaxPool"/> for input, weight and bias, from the pooled output and its argmaxes.</summary>
    private sealed class Conv2dReluMaxPoolBackward(Conv2dGeometry geometry, Tensor input, Tensor weight, Tensor output, float[] indices, bool hasBias) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var g = geometry;
            var dx = NeedsGrad(0) ? Tensor.Allocate(input.Shape, clear: false) : null;              // dx: [N, Cin, H, W]
            var dw = NeedsGrad(1) ? Tensor.Allocate(weight.Shape, clear: false) : null;             // dW: [Cout, Cin, kH, kW]
            var db = hasBias && NeedsGrad(2) ? Tensor.Allocate([g.OutChannels], clear: false) : null; // db: [Cout]
            Conv2dFlat.BackwardReluPool(Conv2dFlat.BestWidth, g, input.ReadOnlySpan, weight.ReadOnlySpan, output.ReadOnlySpan,
                IndexSpan(indices, output.Numel), gradOutput.ReadOnlySpan,
                dx is null ? default : dx.Span, dw is null ? default : dw.Span, db is null ? default : db.Span);
            if (dx != null) Accumulate(0, dx);
            if (dw != null) Accumulate(1, dw);
            if (db != null) Accumulate(2, db);
        }
    }
}
