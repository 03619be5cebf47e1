using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// clamp(x, minVal, maxVal), as torch.nn.functional.hardtanh; the gradient is zero outside (minVal, maxVal)
    /// and at its ends. Shapes: [any] → [same].
    /// </summary>
    public static Tensor Hardtanh(Tensor input, float minVal = -1f, float maxVal = 1f)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (float.IsNaN(minVal) || float.IsNaN(maxVal) || minVal > maxVal)
            throw new ArgumentException($"Hardtanh: need minVal ≤ maxVal, got minVal {minVal} and maxVal {maxVal}.");
        var output = Tensor.Allocate(input.Shape, clear: false);
        Kernels.Hardtanh.Forward(input.ReadOnlySpan, minVal, maxVal, output.Span);
        GraphTracer.Current?.Record(new HardtanhOp(minVal, maxVal), output, input);
        return new HardtanhBackward(minVal, maxVal).Saving(input).Record(output, input);
    }

    /// <summary>min(max(x, 0), 6), as torch.nn.functional.relu6 (MobileNetV2's activation). Shapes: [any] → [same].</summary>
    public static Tensor Relu6(Tensor input) => Hardtanh(input, 0f, 6f);

    // Differentiates from the input: at x = maxVal the output cannot tell a clipped value from an exact one.
    private sealed class HardtanhBackward(float minVal, float maxVal) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            Kernels.Hardtanh.Backward(Inputs[0]!.ReadOnlySpan, gradOutput.ReadOnlySpan, minVal, maxVal, grad.Span);
            Accumulate(0, grad);
        }
    }
}
