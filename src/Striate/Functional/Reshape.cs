using Striate.Autograd;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// The same elements with another shape (a view: no copy). One dimension may be -1 and is inferred.
    /// Shapes: [any] → <paramref name="shape"/> with the same element count.
    /// </summary>
    public static Tensor Reshape(Tensor input, params int[] shape)
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
        var output = new Tensor(input.Storage, input.Offset, dims);
        return new ReshapeBackward(input.ShapeArray).Record(output, input);
    }

    private sealed class ReshapeBackward(int[] inputShape) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput) =>
            Accumulate(0, new Tensor(gradOutput.Storage, gradOutput.Offset, inputShape), fresh: false);
    }
}
