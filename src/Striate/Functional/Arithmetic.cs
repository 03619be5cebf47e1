using Striate.Autograd;
using Striate.Kernels;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Element-wise sum with PyTorch's broadcasting (shapes aligned at the right; each dimension equal or 1).
    /// Shapes: [a…], [b…] → [broadcast(a, b)]. Also <c>a + b</c>.
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);

    /// <summary>Element-wise difference a − b with broadcasting. Shapes: [a…], [b…] → [broadcast(a, b)]. Also <c>a - b</c>.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Subtract, a, b);

    /// <summary>Element-wise product with broadcasting. Shapes: [a…], [b…] → [broadcast(a, b)]. Also <c>a * b</c>.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Multiply, a, b);

    /// <summary>Element-wise true division a / b with broadcasting. Shapes: [a…], [b…] → [broadcast(a, b)]. Also <c>a / b</c>.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Divide, a, b);

    /// <summary>
    /// The shape two operands broadcast to, as torch.broadcast_shapes: aligned at the right, each pair of sizes equal
    /// or one of them 1 (missing leading dimensions count as 1).
    /// </summary>
    public static int[] BroadcastShapes(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => BroadcastShapes("BroadcastShapes", a, b);

    private static int[] BroadcastShapes(string op, ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 1; i <= rank; i++)
        {
            int da = i <= a.Length ? a[^i] : 1, db = i <= b.Length ? b[^i] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Tensor.FormatShape(a)} and {Tensor.FormatShape(b)} cannot be broadcast: dimension {-i} is {da} vs {db} " +
                    "(aligned at the right, sizes must be equal or 1).");
            shape[rank - i] = da == 1 ? db : da;
        }
        return shape;
    }

    private static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        string name = OpName(op);
        bool same = a.Shape.SequenceEqual(b.Shape);
        var shape = same ? a.ShapeArray : BroadcastShapes(name, a.Shape, b.Shape);
        var output = Tensor.Allocate(shape, clear: false);
        if (same) SameShape(op, a.ReadOnlySpan, b.ReadOnlySpan, output.Span);
        else Broadcast.Binary(op, a.ReadOnlySpan, Broadcast.StridesWithin(a.Shape, shape), b.ReadOnlySpan, Broadcast.StridesWithin(b.Shape, shape), shape, output.Span);
        GraphTracer.Current?.Record(op switch
        {
            BinaryOp.Add => new AddOp(),
            BinaryOp.Subtract => new SubOp(),
            BinaryOp.Multiply => new MulOp(),
            _ => (Op)new DivOp(),
        }, output, a, b);
        return new BinaryBackward(op).Saving(op is BinaryOp.Multiply or BinaryOp.Divide ? [a, b] : []).Record(output, a, b);
    }

    private static void SameShape(BinaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
    {
        switch (op)
        {
            case BinaryOp.Add: Elementwise.Add(x, y, z); break;
            case BinaryOp.Subtract: Striate.Kernels.SpanMath.Subtract(x, y, z); break;
            case BinaryOp.Multiply: Elementwise.Multiply(x, y, z); break;
            default: Striate.Kernels.SpanMath.Divide(x, y, z); break;
        }
    }

    private static string OpName(BinaryOp op) => op switch
    {
        BinaryOp.Add => "Add",
        BinaryOp.Subtract => "Sub",
        BinaryOp.Multiply => "Mul",
        _ => "Div",
    };

    /// <summary>
    /// Backward of a broadcasting binary op: each input's gradient is computed at the output's shape, then summed over the
    /// dimensions that input was broadcast along (as PyTorch's sum_to).
    /// </summary>
    private sealed class BinaryBackward(BinaryOp op) : GradFn
    {
        public override string Name => OpName(op) + "Backward";

        protected internal override void Backward(Tensor gradOutput)
        {
            Tensor a = Inputs[0]!, b = Inputs[1]!;
            var shape = gradOutput.Shape;
            if (NeedsGrad(0))
            {
                // d/da: g (add, sub), g·b (mul), g/b (div)
                if (op is BinaryOp.Add or BinaryOp.Subtract) AccumulateReduced(0, gradOutput, owned: false);
                else AccumulateReduced(0, Expand(op, gradOutput, b), owned: true);
            }
            if (NeedsGrad(1))
            {
                switch (op)
                {
                    case BinaryOp.Add: AccumulateReduced(1, gradOutput, owned: false); break;
                    case BinaryOp.Subtract: AccumulateReduced(1, Negate(gradOutput), owned: true); break;
                    case BinaryOp.Multiply: AccumulateReduced(1, Expand(BinaryOp.Multiply, gradOutput, a), owned: true); break;
                    default:
                        // d/db (a/b) = −g·a/b²: (g/b)·a/b, negated
                        var t = Expand(BinaryOp.Divide, gradOutput, b);
                        t = Expand(BinaryOp.Multiply, t, a);
                        t = Expand(BinaryOp.Divide, t, b);
                        Striate.Kernels.SpanMath.Negate(t.ReadOnlySpan, t.Span);
                        AccumulateReduced(1, t, owned: true);
                        break;
                }
            }
        }

        // g ∘ other, at g's (the output's) shape.
        private static Tensor Expand(BinaryOp op, Tensor g, Tensor other)
        {
            var result = Tensor.Allocate(g.Shape, clear: false);
            if (other.Shape.SequenceEqual(g.Shape)) SameShape(op, g.ReadOnlySpan, other.ReadOnlySpan, result.Span);
            else Broadcast.Binary(op, g.ReadOnlySpan, Broadcast.StridesWithin(g.Shape, g.Shape), other.ReadOnlySpan,
                Broadcast.StridesWithin(other.Shape, g.Shape), g.Shape, result.Span);
            return result;
        }

        private void AccumulateReduced(int index, Tensor grad, bool owned)
        {
            var input = Inputs[index]!;
            if (input.Shape.SequenceEqual(grad.Shape)) { Accumulate(index, grad, fresh: owned); return; }
            var reduced = Tensor.Allocate(input.Shape, clear: true);
            Broadcast.SumTo(grad.ReadOnlySpan, grad.Shape, reduced.Span, Broadcast.StridesWithin(input.Shape, grad.Shape));
            Accumulate(index, reduced);
        }
    }

    private static Tensor Negate(Tensor g)
    {
        var result = Tensor.Allocate(g.Shape, clear: false);
        Striate.Kernels.SpanMath.Negate(g.ReadOnlySpan, result.Span);
        return result;
    }

    /// <summary>Every element times <paramref name="scalar"/>. Shapes: [any] → [same]. Also <c>x * s</c>, <c>s * x</c>.</summary>
    public static Tensor Mul(Tensor input, float scalar)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Elementwise.Scale(input.ReadOnlySpan, scalar, output.Span);
        GraphTracer.Current?.Record(new ScaleOp(scalar), output, input);
        return new ScaleBackward(scalar).Record(output, input);
    }

    /// <summary>Every element plus <paramref name="scalar"/>. Shapes: [any] → [same]. Also <c>x + s</c>, <c>s + x</c>.</summary>
    public static Tensor Add(Tensor input, float scalar)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Striate.Kernels.SpanMath.Add(input.ReadOnlySpan, scalar, output.Span);
        GraphTracer.Current?.Record(new AddScalarOp(scalar), output, input);
        return new ScalarBackward(ScalarKind.Add, scalar).Record(output, input);
    }

    /// <summary>
    /// Every element minus <paramref name="scalar"/> (exactly x + (−s) in IEEE arithmetic, and recorded so). Shapes: [any] → [same].
    /// Also <c>x - s</c>.
    /// </summary>
    public static Tensor Sub(Tensor input, float scalar) => Add(input, -scalar);

    /// <summary><paramref name="scalar"/> minus every element (torch.rsub). Shapes: [any] → [same]. Also <c>s - x</c>.</summary>
    public static Tensor Sub(float scalar, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Striate.Kernels.SpanMath.Subtract(scalar, input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new RSubScalarOp(scalar), output, input);
        return new ScalarBackward(ScalarKind.RSub, scalar).Record(output, input);
    }

    /// <summary>Every element divided by <paramref name="scalar"/> (a true division, not a product with 1/s). Shapes: [any] → [same]. Also <c>x / s</c>.</summary>
    public static Tensor Div(Tensor input, float scalar)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Striate.Kernels.SpanMath.Divide(input.ReadOnlySpan, scalar, output.Span);
        GraphTracer.Current?.Record(new DivScalarOp(scalar), output, input);
        return new ScalarBackward(ScalarKind.Div, scalar).Record(output, input);
    }

    /// <summary><paramref name="scalar"/> divided by every element. Shapes: [any] → [same]. Also <c>s / x</c>.</summary>
    public static Tensor Div(float scalar, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Striate.Kernels.SpanMath.Divide(scalar, input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new RDivScalarOp(scalar), output, input);
        return new ScalarBackward(ScalarKind.RDiv, scalar).Saving(input).Record(output, input);
    }

    /// <summary>−x, element-wise. Shapes: [any] → [same]. Also <c>-x</c>.</summary>
    public static Tensor Neg(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Negate(input);
        GraphTracer.Current?.Record(new NegOp(), output, input);
        return new ScalarBackward(ScalarKind.Neg, 0).Record(output, input);
    }

    private enum ScalarKind { Add, RSub, Div, RDiv, Neg }

    private sealed class ScalarBackward(ScalarKind kind, float scalar) : GradFn
    {
        public override string Name => kind + (kind is ScalarKind.Neg ? "" : "Scalar") + "Backward";

        protected internal override void Backward(Tensor gradOutput)
        {
            switch (kind)
            {
                case ScalarKind.Add: Accumulate(0, gradOutput, fresh: false); return;
                case ScalarKind.RSub or ScalarKind.Neg: Accumulate(0, Negate(gradOutput)); return;
            }
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            if (kind == ScalarKind.Div)
                Striate.Kernels.SpanMath.Divide(gradOutput.ReadOnlySpan, scalar, grad.Span);
            else
            {
                // d/dx (s/x) = −s/x²: g·(−s)/x/x
                var x = Inputs[0]!.ReadOnlySpan;
                Striate.Kernels.SpanMath.Multiply(gradOutput.ReadOnlySpan, -scalar, grad.Span);
                Striate.Kernels.SpanMath.Divide(grad.Span, x, grad.Span);
                Striate.Kernels.SpanMath.Divide(grad.Span, x, grad.Span);
            }
            Accumulate(0, grad);
        }
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
