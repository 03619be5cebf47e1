using Striate.Graph;
using Striate.Kernels;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// max(x, 0) written over <paramref name="input"/>'s elements, as torch.relu_ (nn.ReLU(inplace=True)): a block's
    /// batch-norm output and its ReLU share one array instead of two, as in torchvision's models, which keeps a
    /// training step's activations smaller. Returns a tensor on input's storage that records the ReLU (input is its
    /// graph input); input's old values are gone, so a backward that saved them fails its version check rather than
    /// computing from the new ones. Only for inputs nothing else reads afterwards.
    /// Shapes: [any] → [same].
    /// </summary>
    public static Tensor ReluInPlace(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInPlace("ReluInPlace", input);
        var values = input.Span; // bumps the version: anything that saved input sees the write
        Activations.Relu(values, values);
        var output = input.Alias(input.ShapeArray);
        GraphTracer.Current?.Record(new ReluOp(), output, input);
        return new ReluBackward(output).Saving(output).Record(output, input);
    }

    /// <summary>
    /// a + b written over <paramref name="a"/>'s elements, as Tensor.add_ (torchvision's <c>out += identity</c>):
    /// no new array for a residual sum. <paramref name="b"/> must have a's shape. Returns a tensor on a's storage that
    /// records the sum; a's old values are gone (see <see cref="ReluInPlace"/>).
    /// Shapes: [any], [same] → [same].
    /// </summary>
    public static Tensor AddInPlace(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ArgumentException($"AddInPlace: b has shape {Tensor.FormatShape(b.Shape)}, expected a's shape {Tensor.FormatShape(a.Shape)} (the sum is written into a; use Add to broadcast).", nameof(b));
        CheckInPlace("AddInPlace", a);
        var values = a.Span;
        Elementwise.Add(values, b.ReadOnlySpan, values);
        var output = a.Alias(a.ShapeArray);
        GraphTracer.Current?.Record(new AddOp(), output, a, b);
        return new BinaryBackward(BinaryOp.Add).Record(output, a, b);
    }

    // As PyTorch: a leaf that requires grad has no earlier value to differentiate through once overwritten.
    private static void CheckInPlace(string op, Tensor input)
    {
        if (input is { IsLeaf: true, RequiresGrad: true } && Autograd.GradMode.IsEnabled)
            throw new InvalidOperationException($"{op}: the tensor (shape {Tensor.FormatShape(input.Shape)}) is a leaf that requires grad, which cannot be written in place; use the out-of-place op (or run under GradMode.NoGrad()).");
    }
}
