using Striate.Autograd;
using Striate.Kernels;
using Striate.Graph;

namespace Striate.Functional;

public static partial class F
{
    /// <summary>
    /// Bilinear resize to (outH, outW), as torch.nn.functional.interpolate(mode="bilinear", align_corners=False,
    /// antialias=False): output pixel d reads the source at max(0, (in/out)·(d + 0.5) − 0.5).
    /// Shapes: [N, C, H, W] → [N, C, outH, outW].
    /// </summary>
    public static Tensor InterpolateBilinear(Tensor input, int outH, int outW)
    {
        CheckInterpolate(input);
        if (outH <= 0 || outW <= 0)
            throw new ArgumentException($"InterpolateBilinear: output size must be positive, got ({outH}, {outW}).", nameof(outH));
        return InterpolateCore(input, outH, outW, 0, 0);
    }

    /// <summary>
    /// Bilinear resize by scale factors, as interpolate(scale_factor=(sH, sW), mode="bilinear"): the output is
    /// floor(in·scale) and, as PyTorch does when recompute_scale_factor is not set, the source step is 1/scale.
    /// Shapes: [N, C, H, W] → [N, C, ⌊H·scaleH⌋, ⌊W·scaleW⌋].
    /// </summary>
    public static Tensor InterpolateBilinear(Tensor input, double scaleFactorH, double scaleFactorW)
    {
        CheckInterpolate(input);
        if (!(scaleFactorH > 0) || !(scaleFactorW > 0) || double.IsInfinity(scaleFactorH) || double.IsInfinity(scaleFactorW))
            throw new ArgumentException($"InterpolateBilinear: scale factors must be positive and finite, got ({scaleFactorH}, {scaleFactorW}).", nameof(scaleFactorH));
        int outH = (int)Math.Floor(input.Size(2) * scaleFactorH), outW = (int)Math.Floor(input.Size(3) * scaleFactorW);
        if (outH <= 0 || outW <= 0)
            throw new ArgumentException($"InterpolateBilinear: scale factors ({scaleFactorH}, {scaleFactorW}) give an empty output {outH}x{outW} for input of shape {Shape(input)}.", nameof(scaleFactorH));
        return InterpolateCore(input, outH, outW, scaleFactorH, scaleFactorW);
    }

    /// <summary>Bilinear resize by one scale factor for both dimensions. Shapes: [N, C, H, W] → [N, C, ⌊H·s⌋, ⌊W·s⌋].</summary>
    public static Tensor InterpolateBilinear(Tensor input, double scaleFactor) => InterpolateBilinear(input, scaleFactor, scaleFactor);

    private static void CheckInterpolate(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ExpectRank(input, 4, "InterpolateBilinear", nameof(input), "[N, C, H, W]");
        if (input.Size(2) == 0 || input.Size(3) == 0)
            throw new ArgumentException($"InterpolateBilinear: input of shape {Shape(input)} has an empty spatial dimension; expected H, W ≥ 1.", nameof(input));
    }

    private static Tensor InterpolateCore(Tensor input, int outH, int outW, double scaleFactorH, double scaleFactorW)
    {
        int n = input.Size(0), c = input.Size(1), h = input.Size(2), w = input.Size(3);
        float scaleH = Bilinear.SourceScale(h, outH, scaleFactorH), scaleW = Bilinear.SourceScale(w, outW, scaleFactorW);
        var output = Tensor.Allocate([n, c, outH, outW], clear: false);
        Bilinear.Forward(n * c, h, w, outH, outW, scaleH, scaleW, input.ReadOnlySpan, output.Span);
        GraphTracer.Current?.Record(new InterpolateBilinearOp(new Size2(outH, outW), scaleFactorH, scaleFactorW), output, input);
        return new BilinearBackward(n * c, h, w, outH, outW, scaleH, scaleW, input.ShapeArray).Record(output, input);
    }

    private sealed class BilinearBackward(int planes, int h, int w, int outH, int outW, float scaleH, float scaleW, int[] inputShape) : GradFn
    {
        protected internal override void Backward(Tensor gradOutput)
        {
            var gradInput = Tensor.Allocate(inputShape, clear: false);
            Bilinear.Backward(planes, h, w, outH, outW, scaleH, scaleW, gradOutput.ReadOnlySpan, gradInput.Span);
            Accumulate(0, gradInput);
        }
    }
}
