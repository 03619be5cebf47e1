using Striate.Autograd;
using Striate.Kernels;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>Element-wise sum of two tensors of the same shape (no broadcasting). Shapes: [any], [same] → [same].</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        ExpectSameShape("Add", a, b);
        var output = Tensor.Allocate(a.Shape, clear: false);
        Elementwise.Add(a.ReadOnlySpan, b.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new AddOp(), output, a, b);
        return new AddBackward().Record(output, a, b);
    }

    /// <summary>Element-wise product of two tensors of the same shape (no broadcasting). Shapes: [any], [same] → [same].</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        ExpectSameShape("Mul", a, b);
        var output = Tensor.Allocate(a.Shape, clear: false);
        Elementwise.Multiply(a.ReadOnlySpan, b.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new MulOp(), output, a, b);
        return new MulBackward().Record(output, a, b);
    }

    /// <summary>Every element times <paramref name="scalar"/>. Shapes: [any] → [same].</summary>
    public static Tensor Mul(Tensor input, float scalar)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Elementwise.Scale(input.ReadOnlySpan, scalar, output.Span);
        GraphTracer.Current?.Record(new ScaleOp(scalar), output, input);
        return new ScaleBackward(scalar).Record(output, input);
    }

    /// <summary>The sum of all elements (accumulated in double). Shapes: [any] → [] (a scalar).</summary>
    public static Tensor Sum(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = RankZero((float)Elementwise.Sum(input.ReadOnlySpan));
        GraphTracer.Current?.Record(new SumOp(), output, input);
        return new FillBackward(1f, input.ShapeArray).Record(output, input);
    }

    /// <summary>The mean of all elements (NaN for an empty tensor, as PyTorch). Shapes: [any] → [] (a scalar).</summary>
    public static Tensor Mean(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = RankZero((float)(Elementwise.Sum(input.ReadOnlySpan) / input.Numel));
        GraphTracer.Current?.Record(new MeanOp(), output, input);
        return new FillBackward(1f / input.Numel, input.ShapeArray).Record(output, input);
    }

    // A rank-0 tensor (shape []), as PyTorch's full reductions return.
    internal static Tensor RankZero(float value) => Tensor.Scalar(value);

    private static void ExpectSameShape(string op, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ArgumentException($"{op}: b has shape {Shape(b)}, expected a's shape {Shape(a)} (no broadcasting).", nameof(b));
    }

    private sealed class AddBackward : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            Accumulate(0, gradOutput, fresh: false);
            Accumulate(1, gradOutput, fresh: false);
        }
    }

    private sealed class MulBackward : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            for (int i = 0; i < 2; i++)
            {
                if (!NeedsGrad(i)) continue;
                var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
                Elementwise.Multiply(gradOutput.ReadOnlySpan, Inputs[1 - i]!.ReadOnlySpan, grad.Span);
                Accumulate(i, grad);
            }
        }
    }

    private sealed class ScaleBackward(float scalar) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            Elementwise.Scale(gradOutput.ReadOnlySpan, scalar, grad.Span);
            Accumulate(0, grad);
        }
    }

    /// <summary>Backward of a full reduction: every input element gets factor · d(loss)/d(result).</summary>
    private sealed class FillBackward(float factor, int[] inputShape) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(inputShape, clear: false);
            grad.Span.Fill(gradOutput.Item() * factor);
            Accumulate(0, grad);
        }
    }
}
