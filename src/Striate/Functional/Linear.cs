using Striate.Autograd;
using Striate.Kernels;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// y = x·Wᵀ + b, as torch.nn.functional.linear; leading dimensions of the input are batch dimensions.
    /// Shapes: input [*, in], weight [out, in], bias [out] → [*, out] (a 1-D input [in] gives [out]).
    /// </summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        const string op = "Linear";
        if (input.Rank < 1) throw new ArgumentException($"{op}: input must have at least 1 dimension [*, in], got a scalar.", nameof(input));
        ExpectRank(weight, 2, op, nameof(weight), "[out, in]");
        int inFeatures = weight.Size(1), outFeatures = weight.Size(0);
        if (input.Size(-1) != inFeatures)
            throw new ArgumentException($"{op}: input of shape {Shape(input)} has {input.Size(-1)} features in its last dimension, but weight of shape {Shape(weight)} expects {inFeatures}.", nameof(input));
        if (bias != null && (bias.Rank != 1 || bias.Size(0) != outFeatures))
            throw new ArgumentException($"{op}: bias must be 1-D [{outFeatures}], got shape {Shape(bias)}.", nameof(bias));

        int rows = inFeatures == 0 ? 0 : input.Numel / inFeatures;
        var shape = input.ShapeArray;
        shape[^1] = outFeatures;
        var output = Tensor.Allocate(shape, clear: false);
        var y = output.Span; // y: [rows, out]
        if (inFeatures == 0) y.Clear();
        else if (rows <= Gemv.MaxRows)
        {
            // A few rows (small batches): W [out, in] read once in place, the bias added in the store.
            Gemv.MultiplyTransposed(rows, outFeatures, inFeatures, input.ReadOnlySpan, inFeatures, weight.ReadOnlySpan, inFeatures,
                bias == null ? default : bias.ReadOnlySpan, y, outFeatures);
        }
        else
            // y: [rows, out] = x: [rows, in] · Wᵀ: [in, out]
            Gemm.Sgemm(false, true, rows, outFeatures, inFeatures, 1f, input.ReadOnlySpan, inFeatures, weight.ReadOnlySpan, inFeatures, 0f, y, outFeatures);
        if (bias != null && (rows > Gemv.MaxRows || inFeatures == 0))
        {
            var b = bias.ReadOnlySpan;
            for (int r = 0; r < rows; r++)
            {
                var row = y.Slice(r * outFeatures, outFeatures);
                SpanMath.Add(row, b, row);
            }
        }
        GraphTracer.Current?.Record(new LinearOp(), output, input, weight, bias);
        return new LinearBackward(input, weight, rows, bias != null).Saving(input, weight).Record(output, input, weight, bias);
    }

    /// <summary>dX = dY·W, dW = dYᵀ·X, db = column sums of dY.</summary>
    private sealed class LinearBackward(Tensor input, Tensor weight, int rows, bool hasBias) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            int inFeatures = weight.Size(1), outFeatures = weight.Size(0);
            var dy = gradOutput.ReadOnlySpan; // dY: [rows, out]
            if (NeedsGrad(0))
            {
                var dx = Tensor.Allocate(input.Shape, clear: false); // dX: [rows, in]
                if (outFeatures == 0) dx.Span.Clear();
                else if (rows <= Gemv.MaxRows && Gemv.MultiplyBeatsPacking) // W [out, in] read in place, not packed for the blocked GEMM
                    Gemv.Multiply(rows, inFeatures, outFeatures, dy, outFeatures, weight.ReadOnlySpan, inFeatures, dx.Span, inFeatures);
                else Gemm.Sgemm(false, false, rows, inFeatures, outFeatures, 1f, dy, outFeatures, weight.ReadOnlySpan, inFeatures, 0f, dx.Span, inFeatures);
                Accumulate(0, dx);
            }
            if (NeedsGrad(1) && TryBeginAccumulateInPlace(1, out var grad, out bool add))
            {
                // dW: [out, in] = dYᵀ · X, written into (or added to) the weight's gradient by the GEMM's store.
                if (rows == 0 || inFeatures == 0 || outFeatures == 0) { if (!add) grad.Span.Clear(); }
                else if (rows <= Gemv.MaxRows) // each element of dW summed in registers and stored once
                    Gemv.TransposedTimes(rows, outFeatures, inFeatures, dy, outFeatures, input.ReadOnlySpan, inFeatures, add, grad.Span, inFeatures);
                else Gemm.Sgemm(true, false, outFeatures, inFeatures, rows, 1f, dy, outFeatures, input.ReadOnlySpan, inFeatures, add ? 1f : 0f, grad.Span, inFeatures);
                EndAccumulateInPlace(1);
            }
            else if (NeedsGrad(1))
            {
                var dw = Tensor.Allocate(weight.Shape, clear: false); // dW: [out, in]
                if (rows == 0) dw.Span.Clear();
                else Gemm.Sgemm(true, false, outFeatures, inFeatures, rows, 1f, dy, outFeatures, input.ReadOnlySpan, inFeatures, 0f, dw.Span, inFeatures);
                Accumulate(1, dw);
            }
            if (hasBias && NeedsGrad(2))
            {
                var db = Tensor.Allocate([outFeatures], clear: true); // db: [out]
                var sum = db.Span;
                for (int r = 0; r < rows; r++) SpanMath.Add(sum, dy.Slice(r * outFeatures, outFeatures), sum);
                Accumulate(2, db);
            }
        }
    }
}
