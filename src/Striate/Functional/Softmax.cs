using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Softmax along <paramref name="dim"/> (default 1, the class/channel dimension), numerically stable.
    /// Shapes: [any, rank ≥ 1] → [same].
    /// </summary>
    public static Tensor Softmax(Tensor input, int dim = 1) => SoftmaxCore("Softmax", input, dim, log: false);

    /// <summary>
    /// log(softmax(x)) along <paramref name="dim"/> (default 1), computed as x − max − log Σ e^(x − max).
    /// Shapes: [any, rank ≥ 1] → [same].
    /// </summary>
    public static Tensor LogSoftmax(Tensor input, int dim = 1) => SoftmaxCore("LogSoftmax", input, dim, log: true);

    private static Tensor SoftmaxCore(string op, Tensor input, int dim, bool log)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank == 0) throw new ArgumentException($"{op}: input must have rank ≥ 1, got a scalar.", nameof(input));
        int d = dim < 0 ? dim + input.Rank : dim;
        if ((uint)d >= (uint)input.Rank)
            throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dim {dim} is out of range for input of shape {Shape(input)}; expected −{input.Rank} ≤ dim < {input.Rank}.");
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= input.Size(i);
        for (int i = d + 1; i < input.Rank; i++) inner *= input.Size(i);
        int size = input.Size(d);
        var output = Tensor.Allocate(input.Shape, clear: false);
        if (log) Kernels.Softmax.LogForward(outer, size, inner, input.ReadOnlySpan, output.Span);
        else Kernels.Softmax.Forward(outer, size, inner, input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new SoftmaxOp(d, log), output, input);
        return new SoftmaxBackward(outer, size, inner, log, output).Saving(output).Record(output, input);
    }

    private sealed class SoftmaxBackward(int outer, int dim, int inner, bool log, Tensor output) : GradFn
    {
        public override string Name => log ? "LogSoftmaxBackward" : "SoftmaxBackward";

        protected internal override void Backward(Tensor gradOutput)
        {
            var grad = Tensor.Allocate(gradOutput.Shape, clear: false);
            if (log) Kernels.Softmax.LogBackward(outer, dim, inner, output.ReadOnlySpan, gradOutput.ReadOnlySpan, grad.Span);
            else Kernels.Softmax.Backward(outer, dim, inner, output.ReadOnlySpan, gradOutput.ReadOnlySpan, grad.Span);
            Accumulate(0, grad);
        }
    }
}
