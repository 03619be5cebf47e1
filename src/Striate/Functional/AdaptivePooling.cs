using Striate.Autograd;
using Striate.Graph;
using Striate.Kernels;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Adaptive average pooling to a fixed output size, as torch.nn.functional.adaptive_avg_pool2d: output cell i
    /// averages input rows floor(i·H/outH) … ceil((i+1)·H/outH) − 1 (likewise columns). 1×1 is global average pooling.
    /// Shapes: [N, C, H, W] → [N, C, outH, outW].
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, int outH, int outW)
    {
        CheckAdaptive("AdaptiveAvgPool2d", input, outH, outW);
        int n = input.Size(0), c = input.Size(1), h = input.Size(2), w = input.Size(3);
        var output = Tensor.Allocate([n, c, outH, outW], clear: false);
        AdaptivePooling.AvgForward(n * c, h, w, outH, outW, input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new AdaptiveAvgPool2dOp(new Size2(outH, outW)), output, input);
        return new AdaptiveAvgBackward(n * c, h, w, outH, outW, input.ShapeArray).Record(output, input);
    }

    /// <summary>Adaptive average pooling to a square output. Shapes: [N, C, H, W] → [N, C, outputSize, outputSize].</summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, int outputSize) => AdaptiveAvgPool2d(input, outputSize, outputSize);

    /// <summary>
    /// Adaptive max pooling, as torch.nn.functional.adaptive_max_pool2d (same cells as <see cref="AdaptiveAvgPool2d(Tensor, int, int)"/>;
    /// the backward routes to the first maximum of each cell). Shapes: [N, C, H, W] → [N, C, outH, outW].
    /// </summary>
    public static Tensor AdaptiveMaxPool2d(Tensor input, int outH, int outW)
    {
        CheckAdaptive("AdaptiveMaxPool2d", input, outH, outW);
        int n = input.Size(0), c = input.Size(1), h = input.Size(2), w = input.Size(3);
        var output = Tensor.Allocate([n, c, outH, outW], clear: false);
        GraphTracer.Current?.Record(new AdaptiveMaxPool2dOp(new Size2(outH, outW)), output, input);
        if (!GradFn.ShouldRecord(input))
        {
            AdaptivePooling.MaxForward(n * c, h, w, outH, outW, input.ReadOnlySpan, output.Span, Span<int>.Empty); // inference: no indices
            return output;
        }
        var indices = RentIndices(output.Numel);
        AdaptivePooling.MaxForward(n * c, h, w, outH, outW, input.ReadOnlySpan, output.Span, IndexSpan(indices, output.Numel));
        return new MaxPoolBackward(n * c, h * w, outH * outW, indices, input.ShapeArray).Record(output, input);
    }

    /// <summary>Adaptive max pooling to a square output. Shapes: [N, C, H, W] → [N, C, outputSize, outputSize].</summary>
    public static Tensor AdaptiveMaxPool2d(Tensor input, int outputSize) => AdaptiveMaxPool2d(input, outputSize, outputSize);

    private static void CheckAdaptive(string op, Tensor input, int outH, int outW)
    {
        ExpectRank(input, 4, op, nameof(input), "[N, C, H, W]");
        if (outH <= 0 || outW <= 0)
            throw new ArgumentException($"{op}: output size must be positive, got ({outH}, {outW}).", nameof(outH));
        if (input.Size(2) == 0 || input.Size(3) == 0)
            throw new ArgumentException($"{op}: input of shape {Shape(input)} has an empty spatial dimension; expected H, W ≥ 1.", nameof(input));
    }

    private sealed class AdaptiveAvgBackward(int planes, int h, int w, int outH, int outW, int[] inputShape) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var gradInput = Tensor.Allocate(inputShape, clear: false);
            AdaptivePooling.AvgBackward(planes, h, w, outH, outW, gradOutput.ReadOnlySpan, gradInput.Span);
            Accumulate(0, gradInput);
        }
    }
}
