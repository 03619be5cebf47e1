using Striate.Autograd;
using Striate.Kernels;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Concatenates tensors along dimension 1 (channels), as torch.cat(tensors, dim=1); the backward hands each
    /// input its slice of the gradient. Shapes: [N, C_k, …] for each k → [N, ΣC_k, …].
    /// </summary>
    public static Tensor Concat(params Tensor[] tensors) => Concat(tensors, dim: 1);

    /// <summary>
    /// Concatenates tensors along <paramref name="dim"/> (negative counts from the end); all other dimensions must match.
    /// Shapes: [d0, …, s_k, …] for each k → [d0, …, Σs_k, …].
    /// </summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int dim)
    {
        if (tensors == null || tensors.Count == 0)
            throw new ArgumentException("Concat: tensors must hold at least one tensor, got none.", nameof(tensors));
        var first = tensors[0] ?? throw new ArgumentNullException(nameof(tensors), "Concat: tensors[0] is null.");
        int rank = first.Rank;
        if (rank == 0) throw new ArgumentException("Concat: cannot concatenate scalars (rank 0); expected tensors of rank ≥ 1.", nameof(tensors));
        int d = dim < 0 ? dim + rank : dim;
        if ((uint)d >= (uint)rank)
            throw new ArgumentOutOfRangeException(nameof(dim), $"Concat: dim {dim} is out of range for tensors of rank {rank} (shape {Shape(first)}).");
        var shape = first.ShapeArray;
        int total = 0;
        for (int k = 0; k < tensors.Count; k++)
        {
            var t = tensors[k] ?? throw new ArgumentNullException(nameof(tensors), $"Concat: tensors[{k}] is null.");
            bool match = t.Rank == rank;
            for (int i = 0; match && i < rank; i++) if (i != d && t.Size(i) != shape[i]) match = false;
            if (!match)
                throw new ArgumentException($"Concat: tensors[{k}] has shape {Shape(t)}, expected {Shape(first)} in every dimension except {d}.", nameof(tensors));
            total += t.Size(d);
        }
        shape[d] = total;
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < rank; i++) inner *= shape[i];
        var output = Tensor.Allocate(shape, clear: false);
        var offsets = new int[tensors.Count];
        int offset = 0;
        for (int k = 0; k < tensors.Count; k++)
        {
            int block = tensors[k].Size(d) * inner;
            offsets[k] = offset;
            Kernels.Concat.Insert(outer, block, total * inner, offset, tensors[k].ReadOnlySpan, output.Span);
            offset += block;
        }
        var inputs = new Tensor?[tensors.Count];
        for (int k = 0; k < inputs.Length; k++) inputs[k] = tensors[k];
        GraphTracer.Current?.Record(new ConcatOp(d), output, inputs);
        return new ConcatBackward(outer, total * inner, offsets, inputs.Select(t => t!.ShapeArray).ToArray()).Record(output, inputs);
    }

    private sealed class ConcatBackward(int outer, int totalBlock, int[] offsets, int[][] shapes) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            for (int k = 0; k < shapes.Length; k++)
            {
                if (!NeedsGrad(k)) continue;
                var part = Tensor.Allocate(shapes[k], clear: false);
                Kernels.Concat.Extract(outer, part.Numel / Math.Max(outer, 1), totalBlock, offsets[k], gradOutput.ReadOnlySpan, part.Span);
                Accumulate(k, part);
            }
        }
    }
}
