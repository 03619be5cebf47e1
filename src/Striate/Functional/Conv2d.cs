using Striate.Autograd;
using Striate.Kernels;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) with the same stride, padding and
    /// dilation along both axes.
    /// Shapes: input [N, Cin, H, W] (or unbatched [Cin, H, W]), weight [Cout, Cin/groups, kH, kW], bias [Cout]
    /// → [N, Cout, Hout, Wout] with Hout = floor((H + 2·padding − dilation·(kH − 1) − 1) / stride) + 1.
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Conv2d(input, weight, bias, (stride, stride), (padding, padding), (dilation, dilation), groups);

    /// <summary>
    /// 2-D convolution with separate (height, width) stride, padding and dilation, as torch.nn.functional.conv2d
    /// with tuple arguments.
    /// Shapes: input [N, Cin, H, W] (or unbatched [Cin, H, W]), weight [Cout, Cin/groups, kH, kW], bias [Cout]
    /// → [N, Cout, Hout, Wout].
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding = default,
        (int H, int W)? dilation = null, int groups = 1)
    {
        var dil = dilation ?? (1, 1);
        if (input.Rank == 3)
        {
            // Unbatched input, as PyTorch accepts: run as a batch of one and drop the batch axis again.
            var batched = Conv2d(input.Reshape([1, .. input.ShapeArray]), weight, bias, stride, padding, dil, groups);
            return batched.Reshape(batched.ShapeArray[1..]);
        }
        var g = Conv2dGeometryOf(input, weight, bias, stride, padding, dil, groups);
        var output = Tensor.Allocate([g.Batch, g.OutChannels, g.OutHeight, g.OutWidth], clear: false);
        Conv2dKernels.Forward(g, input.ReadOnlySpan, weight.ReadOnlySpan, bias is null ? default : bias.ReadOnlySpan, output.Span, default,
            KeptWeightKey(weight, inference: !GradMode.IsEnabled));
        GraphTracer.Current?.Record(new Conv2dOp(stride, padding, dil, groups), output, input, weight, bias);
        return new Conv2dBackward(g, input, weight, bias != null).Saving(input, weight).Record(output, input, weight, bias);
    }

    /// <summary>
    /// The key under which the kernels may keep a reordered copy of <paramref name="weight"/> (TransformedWeights), or
    /// null to reorder per call: kept when the copy will be reused — in inference (no graph recorded) or when the
    /// weight does not require grad (frozen layers) — and not in training, where the optimizer changes every weight
    /// each step, so a kept copy would be refilled each step anyway and only hold memory.
    /// </summary>
    private static WeightKey? KeptWeightKey(Tensor weight, bool inference) =>
        inference || !weight.RequiresGrad ? weight.WeightCacheKey : null;

    private static Conv2dGeometry Conv2dGeometryOf(Tensor input, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        const string op = "Conv2d";
        if (input.Rank != 4)
            throw new ArgumentException($"{op}: input must be 4-D [N, Cin, H, W] (or 3-D [Cin, H, W]), got shape {Shape(input)}.", nameof(input));
        ExpectRank(weight, 4, op, nameof(weight), "[Cout, Cin/groups, kH, kW]");
        if (groups <= 0) throw new ArgumentException($"{op}: groups must be positive, got {groups}.", nameof(groups));
        if (stride.H <= 0 || stride.W <= 0) throw new ArgumentException($"{op}: stride must be positive, got ({stride.H}, {stride.W}).", nameof(stride));
        if (padding.H < 0 || padding.W < 0) throw new ArgumentException($"{op}: padding must be non-negative, got ({padding.H}, {padding.W}).", nameof(padding));
        if (dilation.H <= 0 || dilation.W <= 0) throw new ArgumentException($"{op}: dilation must be positive, got ({dilation.H}, {dilation.W}).", nameof(dilation));
        int cin = input.Size(1), cout = weight.Size(0);
        if (cout % groups != 0)
            throw new ArgumentException($"{op}: weight of shape {Shape(weight)} has {cout} output channels, which groups = {groups} does not divide.", nameof(weight));
        if ((long)weight.Size(1) * groups != cin)
            throw new ArgumentException($"{op}: input of shape {Shape(input)} has {cin} channels, but weight of shape {Shape(weight)} with groups = {groups} expects {weight.Size(1) * groups} (weight.Size(1) · groups).", nameof(input));
        if (bias != null && (bias.Rank != 1 || bias.Size(0) != cout))
            throw new ArgumentException($"{op}: bias must be 1-D [{cout}] (one per output channel), got shape {Shape(bias)}.", nameof(bias));
        var g = new Conv2dGeometry(input.Size(0), cin, input.Size(2), input.Size(3), cout, weight.Size(2), weight.Size(3),
            stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        if (g.OutHeight <= 0 || g.OutWidth <= 0)
            throw new ArgumentException(
                $"{op}: input of shape {Shape(input)} is too small for kernel {g.KernelHeight}×{g.KernelWidth} with padding ({padding.H}, {padding.W}) " +
                $"and dilation ({dilation.H}, {dilation.W}): the output would be {g.OutHeight}×{g.OutWidth}. The input must be at least " +
                $"{Conv2dGeometry.MinInputSize(g.KernelHeight, padding.H, dilation.H)}×{Conv2dGeometry.MinInputSize(g.KernelWidth, padding.W, dilation.W)} (H×W).", nameof(input));
        g.Validate();
        return g;
    }

    /// <summary>Gradients of <see cref="Conv2d(Tensor, Tensor, Tensor?, int, int, int, int)"/> for input, weight and bias.</summary>
    private sealed class Conv2dBackward(Conv2dGeometry geometry, Tensor input, Tensor weight, bool hasBias) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var g = geometry;
            if (NeedsGrad(0))
            {
                var dx = Tensor.Allocate(input.Shape, clear: false); // dx: [N, Cin, H, W]
                // Backward runs without a graph, so only a frozen weight (fine-tuning the head) keeps its transposed copy.
                Conv2dKernels.BackwardData(g, gradOutput.ReadOnlySpan, weight.ReadOnlySpan, dx.Span, KeptWeightKey(weight, inference: false));
                Accumulate(0, dx);
            }
            if (NeedsGrad(1))
            {
                var dw = Tensor.Allocate(weight.Shape, clear: false); // dW: [Cout, Cin/groups, kH, kW]
                Conv2dKernels.BackwardWeight(g, input.ReadOnlySpan, gradOutput.ReadOnlySpan, dw.Span);
                Accumulate(1, dw);
            }
            if (hasBias && NeedsGrad(2))
            {
                var db = Tensor.Allocate([g.OutChannels], clear: false); // db: [Cout]
                Conv2dKernels.BackwardBias(g, gradOutput.ReadOnlySpan, db.Span);
                Accumulate(2, db);
            }
        }
    }
}
