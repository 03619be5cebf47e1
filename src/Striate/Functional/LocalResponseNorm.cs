using Striate.Autograd;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Local response normalization across channels (Krizhevsky et al. 2012), as torch.nn.LocalResponseNorm:
    /// b_c = a_c / (k + α/size · Σ a_{c'}²)^β over the channels c − size/2 … c + (size−1)/2 (zero outside).
    /// Shapes: [N, C, …] (rank ≥ 3) → same.
    /// </summary>
    public static Tensor LocalResponseNorm(Tensor input, int size, float alpha = 1e-4f, float beta = 0.75f, float k = 1f)
    {
        const string op = "LocalResponseNorm";
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 3)
            throw new ArgumentException($"{op}: input must have rank 3 or more ([N, C, H, W] or [N, C, L]), got shape {Shape(input)}.", nameof(input));
        if (size < 1) throw new ArgumentException($"{op}: size must be at least 1, got {size}.", nameof(size));
        int n = input.Size(0), c = input.Size(1);
        int s = n * c == 0 ? 0 : input.Numel / (n * c);
        var output = Tensor.Allocate(input.Shape, clear: false);
        var scale = Tensor.Allocate(input.Shape, clear: false);
        Kernels.LocalResponseNorm.Forward(n, c, s, size, alpha, beta, k, input.ReadOnlySpan, output.Span, scale.Span);
        GraphTracer.Current?.Record(new LocalResponseNormOp(size, alpha, beta, k), output, input);
        return new LocalResponseNormBackward(n, c, s, size, alpha, beta, scale, output).Saving(input, output).Record(output, input);
    }

    private sealed class LocalResponseNormBackward(int n, int c, int s, int size, float alpha, float beta, Tensor scale, Tensor output) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var input = Inputs[0]!;
            var gradInput = Tensor.Allocate(input.Shape, clear: false);
            Kernels.LocalResponseNorm.Backward(n, c, s, size, alpha, beta, input.ReadOnlySpan, output.ReadOnlySpan, scale.ReadOnlySpan,
                gradOutput.ReadOnlySpan, gradInput.Span);
            Accumulate(0, gradInput);
        }
    }
}
