using Striate.Autograd;
using Striate.Graph;
using Striate.Kernels;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// 2-D max pooling, as torch.nn.functional.max_pool2d (dilation 1). The backward sends each output gradient
    /// to the first maximum of its window. Stride defaults to the kernel size.
    /// Shapes: [N, C, H, W] → [N, C, outH, outW], out = floor((in + 2·padding − kernel)/stride) + 1 (ceil in ceil mode,
    /// dropping a last window that would start in the right padding).
    /// </summary>
    public static Tensor MaxPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false) =>
        MaxPool2d(input, (kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), ceilMode);

    /// <summary>2-D max pooling with separate heights and widths. Shapes: [N, C, H, W] → [N, C, outH, outW].</summary>
    public static Tensor MaxPool2d(Tensor input, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default, bool ceilMode = false)
    {
        var g = PoolGeometry("MaxPool2d", input, kernelSize, stride ?? kernelSize, padding, ceilMode);
        var output = Tensor.Allocate([input.Size(0), input.Size(1), g.OutH, g.OutW], clear: false);
        GraphTracer.Current?.Record(new MaxPool2dOp(kernelSize, stride ?? kernelSize, padding, ceilMode), output, input);
        if (!GradFn.ShouldRecord(input))
        {
            Pooling.MaxPool2dForward(g, input.ReadOnlySpan, output.Span, Span<int>.Empty); // inference: no indices
            return output;
        }
        var indices = RentIndices(output.Numel);
        Pooling.MaxPool2dForward(g, input.ReadOnlySpan, output.Span, IndexSpan(indices, output.Numel));
        return new MaxPoolBackward(g.Planes, g.InPlane, g.OutPlane, indices, input.ShapeArray, g).Record(output, input);
    }

    /// <summary>
    /// 2-D average pooling, as torch.nn.functional.avg_pool2d. The divisor is <paramref name="divisorOverride"/> when
    /// given, else the window size within the padded input (<paramref name="countIncludePad"/>, the default) or the
    /// number of real input elements in the window.
    /// Shapes: [N, C, H, W] → [N, C, outH, outW] (same output size rule as <see cref="MaxPool2d(Tensor, int, int?, int, bool)"/>).
    /// </summary>
    public static Tensor AvgPool2d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPool2d(input, (kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), ceilMode, countIncludePad, divisorOverride);

    /// <summary>2-D average pooling with separate heights and widths. Shapes: [N, C, H, W] → [N, C, outH, outW].</summary>
    public static Tensor AvgPool2d(Tensor input, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
    {
        var g = PoolGeometry("AvgPool2d", input, kernelSize, stride ?? kernelSize, padding, ceilMode);
        if (divisorOverride is int d && d <= 0)
            throw new ArgumentException($"AvgPool2d: divisorOverride must be positive when given, got {d}.", nameof(divisorOverride));
        int divisor = divisorOverride ?? 0;
        var output = Tensor.Allocate([input.Size(0), input.Size(1), g.OutH, g.OutW], clear: false);
        Pooling.AvgPool2dForward(g, countIncludePad, divisor, input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new AvgPool2dOp(kernelSize, stride ?? kernelSize, padding, ceilMode, countIncludePad, divisor), output, input);
        return new AvgPoolBackward(g, countIncludePad, divisor, input.ShapeArray).Record(output, input);
    }

    private static Pool2dGeometry PoolGeometry(string op, Tensor input, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, bool ceilMode)
    {
        ExpectRank(input, 4, op, nameof(input), "[N, C, H, W]");
        if (kernel.H <= 0 || kernel.W <= 0)
            throw new ArgumentException($"{op}: kernelSize must be positive, got ({kernel.H}, {kernel.W}).", "kernelSize");
        if (stride.H <= 0 || stride.W <= 0)
            throw new ArgumentException($"{op}: stride must be positive, got ({stride.H}, {stride.W}).", nameof(stride));
        if (padding.H < 0 || padding.W < 0 || padding.H > kernel.H / 2 || padding.W > kernel.W / 2)
            throw new ArgumentException($"{op}: padding must be between 0 and half the kernel size, got padding ({padding.H}, {padding.W}) for kernelSize ({kernel.H}, {kernel.W}).", nameof(padding));
        int h = input.Size(2), w = input.Size(3);
        int outH = Pool2dGeometry.OutputSize(h, kernel.H, stride.H, padding.H, ceilMode);
        int outW = Pool2dGeometry.OutputSize(w, kernel.W, stride.W, padding.W, ceilMode);
        if (outH < 1 || outW < 1)
            throw new ArgumentException($"{op}: input of shape {Shape(input)} is too small for kernelSize ({kernel.H}, {kernel.W}), stride ({stride.H}, {stride.W}), padding ({padding.H}, {padding.W}): output would be {outH}x{outW}.", nameof(input));
        return new Pool2dGeometry(input.Size(0) * input.Size(1), h, w, outH, outW, kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W);
    }

    /// <summary>
    /// Storage for <paramref name="count"/> argmax indices, rented from the tensor pool (a float array viewed as ints,
    /// see <see cref="IndexSpan"/>) so a warmed-up training step allocates no index arrays; it lives as long as the
    /// step's <see cref="TensorScope"/>, like the activations the graph saves.
    /// </summary>
    private static float[] RentIndices(int count) => TensorPool.Rent(count, clear: false).Data;

    private static Span<int> IndexSpan(float[] storage, int count) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(storage.AsSpan(0, count));

    /// <summary>Routes gradients to saved argmax positions; shared by max and adaptive max pooling.</summary>
    /// <remarks>With the forward's <paramref name="geometry"/> (max pooling), the kernel can write 2×2/2 windows directly.</remarks>
    private sealed class MaxPoolBackward(int planes, int inPlane, int outPlane, float[] indices, int[] inputShape, Pool2dGeometry? geometry = null) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var gradInput = Tensor.Allocate(inputShape, clear: false);
            if (geometry is { } g)
                Pooling.MaxPool2dBackward(g, gradOutput.ReadOnlySpan, IndexSpan(indices, planes * outPlane), gradInput.Span);
            else
                Pooling.MaxPool2dBackward(planes, inPlane, outPlane, gradOutput.ReadOnlySpan, IndexSpan(indices, planes * outPlane), gradInput.Span);
            Accumulate(0, gradInput);
        }
    }

    private sealed class AvgPoolBackward(Pool2dGeometry geometry, bool countIncludePad, int divisor, int[] inputShape) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var gradInput = Tensor.Allocate(inputShape, clear: false);
            Pooling.AvgPool2dBackward(geometry, countIncludePad, divisor, gradOutput.ReadOnlySpan, gradInput.Span);
            Accumulate(0, gradInput);
        }
    }
}
