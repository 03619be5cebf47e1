using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// The same elements with another shape (a view: no copy). One dimension may be -1 and is inferred.
    /// Shapes: [any] → <paramref name="shape"/> with the same element count.
    /// </summary>
    public static Tensor Reshape(Tensor input, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(shape);
        var output = View(input, shape);
        GraphTracer.Current?.Record(new ReshapeOp(output.ShapeArray), output, input);
        return output;
    }

    /// <summary>
    /// Dimensions <paramref name="startDim"/>..<paramref name="endDim"/> merged into one (a view), as torch.flatten.
    /// Shapes: [d0, …, d(s−1), ds, …, de, d(e+1), …] → [d0, …, d(s−1), ds·…·de, d(e+1), …]; a scalar becomes [1].
    /// </summary>
    public static Tensor Flatten(Tensor input, int startDim = 0, int endDim = -1)
    {
        ArgumentNullException.ThrowIfNull(input);
        int rank = input.Rank;
        int s = Tensor.NormalizeDim(startDim, Math.Max(rank, 1), "Flatten");
        int e = Tensor.NormalizeDim(endDim, Math.Max(rank, 1), "Flatten");
        if (rank > 0 && s > e)
            throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim} for shape {Shape(input)}.", nameof(startDim));
        var dims = new List<int>();
        if (rank == 0) dims.Add(1);
        else
        {
            for (int d = 0; d < s; d++) dims.Add(input.Size(d));
            int merged = 1;
            for (int d = s; d <= e; d++) merged *= input.Size(d);
            dims.Add(merged);
            for (int d = e + 1; d < rank; d++) dims.Add(input.Size(d));
        }
        var output = View(input, dims.ToArray());
        GraphTracer.Current?.Record(new FlattenOp(startDim, endDim), output, input);
        return output;
    }

    /// <summary>The view behind <see cref="Reshape"/> and <see cref="Flatten"/>, recorded for autograd (not for tracing).</summary>
    private static Tensor View(Tensor input, int[] shape)
    {
        var dims = (int[])shape.Clone();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (inferred >= 0) throw new ArgumentException($"Reshape: only one dimension can be -1, got shape {Tensor.FormatShape(shape)}.", nameof(shape));
                inferred = i;
            }
            else if (dims[i] < 0) throw new ArgumentException($"Reshape: invalid dimension {dims[i]} in shape {Tensor.FormatShape(shape)}.", nameof(shape));
            else known *= dims[i];
        }
        if (inferred >= 0)
        {
            if (known == 0 || input.Numel % known != 0)
                throw new ArgumentException($"Reshape: cannot view input of shape {Shape(input)} ({input.Numel} elements) as {Tensor.FormatShape(shape)}.", nameof(shape));
            dims[inferred] = (int)(input.Numel / known);
            known *= dims[inferred];
        }
        if (known != input.Numel)
            throw new ArgumentException($"Reshape: cannot view input of shape {Shape(input)} ({input.Numel} elements) as {Tensor.FormatShape(shape)} ({known} elements).", nameof(shape));
        var output = input.Alias(dims);
        return new ReshapeBackward(input.ShapeArray).Record(output, input);
    }

    private sealed class ReshapeBackward(int[] inputShape) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput) =>
            Accumulate(0, gradOutput.Alias(inputShape), fresh: false);
    }
}
