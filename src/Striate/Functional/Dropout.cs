using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Inverted dropout, as torch.nn.functional.dropout: in training each element is zeroed with probability
    /// <paramref name="p"/> and the survivors scaled by 1/(1 − p); the mask comes from <paramref name="generator"/>
    /// (default <see cref="Generator.Default"/>). Eval mode or p = 0 returns the input itself; p = 1 gives zeros.
    /// Shapes: [any] → [same].
    /// </summary>
    public static Tensor Dropout(Tensor input, float p = 0.5f, bool training = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!(p >= 0 && p <= 1))
            throw new ArgumentException($"Dropout: p must be a probability in [0, 1], got {p}.", nameof(p));
        if (!training || p == 0) return input;
        var mask = Tensor.Allocate(input.Shape, clear: false);
        Kernels.Dropout.FillMask(mask.Span, p, generator ?? Generator.Default);
        var output = Tensor.Allocate(input.Shape, clear: false);
        Kernels.Dropout.Apply(input.ReadOnlySpan, mask.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new DropoutOp(p), output, input);
        return new DropoutBackward(mask).Record(output, input);
    }

    private sealed class DropoutBackward(Tensor mask) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var gradInput = Tensor.Allocate(gradOutput.Shape, clear: false);
            Kernels.Dropout.Apply(gradOutput.ReadOnlySpan, mask.ReadOnlySpan, gradInput.Span);
            Accumulate(0, gradInput);
        }
    }
}
