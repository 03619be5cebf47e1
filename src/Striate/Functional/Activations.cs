using Striate.Autograd;
using Striate.Kernels;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>max(x, 0), as torch.relu. Shapes: [any] → [same].</summary>
    public static Tensor Relu(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Activations.Relu(input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new ReluOp(), output, input);
        return new ReluBackward(output).Saving(output).Record(output, input);
    }

    /// <summary>x for x &gt; 0, else negativeSlope·x, as torch.nn.functional.leaky_relu. Shapes: [any] → [same].</summary>
    public static Tensor LeakyRelu(Tensor input, float negativeSlope = 0.01f)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (float.IsNaN(negativeSlope)) throw new ArgumentException("LeakyRelu: negativeSlope must be a number, got NaN.", nameof(negativeSlope));
        var output = Tensor.Allocate(input.Shape, clear: false);
        Activations.LeakyRelu(input.ReadOnlySpan, negativeSlope, output.Span);
        GraphTracer.Current?.Record(new LeakyReluOp(negativeSlope), output, input);
        return new LeakyReluBackward(negativeSlope).Saving(input).Record(output, input);
    }

    /// <summary>1/(1 + e^−x), as torch.sigmoid. Shapes: [any] → [same].</summary>
    public static Tensor Sigmoid(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Activations.Sigmoid(input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new SigmoidOp(), output, input);
        return new SigmoidBackward(output).Saving(output).Record(output, input);
    }

    /// <summary>tanh(x), as torch.tanh. Shapes: [any] → [same].</summary>
    public static Tensor Tanh(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Activations.Tanh(input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new TanhOp(), output, input);
        return new TanhBackward(output).Saving(output).Record(output, input);
    }

    // Relu, sigmoid and tanh differentiate from their output, so the input need not be kept alive.
    private sealed class ReluBackward(Tensor output) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            Activations.ReluBackward(output.ReadOnlySpan, gradOutput.ReadOnlySpan, grad.Span);
            Accumulate(0, grad);
        }
    }

    private sealed class LeakyReluBackward(float negativeSlope) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            Activations.LeakyReluBackward(Inputs[0]!.ReadOnlySpan, gradOutput.ReadOnlySpan, negativeSlope, grad.Span);
            Accumulate(0, grad);
        }
    }

    private sealed class SigmoidBackward(Tensor output) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            Activations.SigmoidBackward(output.ReadOnlySpan, gradOutput.ReadOnlySpan, grad.Span);
            Accumulate(0, grad);
        }
    }

    private sealed class TanhBackward(Tensor output) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            Activations.TanhBackward(output.ReadOnlySpan, gradOutput.ReadOnlySpan, grad.Span);
            Accumulate(0, grad);
        }
    }
}
