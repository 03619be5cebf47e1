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

    /// <summary>
    /// clamp(x, minVal, maxVal) written over <paramref name="input"/>'s elements, as torch.nn.functional.hardtanh_
    /// (nn.Hardtanh/ReLU6(inplace=True)): no second array for the activation. The gradient is the same as
    /// <see cref="Hardtanh"/>'s, taken from the output (x lies strictly inside (minVal, maxVal) exactly when
    /// clamp(x) does). Input's old values are gone (see <see cref="ReluInPlace"/>). Shapes: [any] → [same].
    /// </summary>
    public static Tensor HardtanhInPlace(Tensor input, float minVal = -1f, float maxVal = 1f)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (float.IsNaN(minVal) || float.IsNaN(maxVal) || minVal > maxVal)
            throw new ArgumentException($"HardtanhInPlace: need minVal ≤ maxVal, got minVal {minVal} and maxVal {maxVal}.");
        CheckInPlace("HardtanhInPlace", input);
        var values = input.Span; // bumps the version: anything that saved input sees the write
        Kernels.Hardtanh.Forward(values, minVal, maxVal, values);
        var output = input.Alias(input.ShapeArray);
        GraphTracer.Current?.Record(new HardtanhOp(minVal, maxVal), output, input);
        return new HardtanhBackward(minVal, maxVal, output).Saving(output).Record(output, input);
    }

    /// <summary>min(max(x, 0), 6) written over <paramref name="input"/>, as torch.nn.functional.relu6(x, inplace=True). Shapes: [any] → [same].</summary>
    public static Tensor Relu6InPlace(Tensor input) => HardtanhInPlace(input, 0f, 6f);

    // Differentiates from the input, or from the output when the input was overwritten (in place): both give the
    // same mask, since the gradient is zero at the ends themselves (x = maxVal and a clipped x both read maxVal).
    private sealed class HardtanhBackward(float minVal, float maxVal, Tensor? output = null) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            Kernels.Hardtanh.Backward((output ?? Inputs[0]!).ReadOnlySpan, gradOutput.ReadOnlySpan, minVal, maxVal, grad.Span);
            Accumulate(0, grad);
        }
    }
}
