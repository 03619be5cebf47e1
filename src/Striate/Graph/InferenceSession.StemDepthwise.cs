using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>Whether a planar stem and the 3×3 depthwise convolution after it run as one step (<see cref="StemDepthwiseStep"/>); for benchmarks and tests.</summary>
    internal static bool DepthwiseIntoStem = true;

    /// <summary>
    /// A fused convolution on the planar stem path (3×3 stride 2 over few channels: MobileNet-V2's features.0) and the
    /// 3×3 stride-1 depthwise convolution that alone reads it (features.1's first), as one step: the kernel stages the
    /// stem's rows band by band for the depthwise while they are in the core's cache
    /// (<see cref="Conv2dDirect.ForwardPlanarDepthwise"/>), so the stem's output (1.6 MB at 224×224) is neither written
    /// whole nor read back. The values are those of the two steps. The stem's output keeps its planned place, unused.
    /// </summary>
    private sealed class StemDepthwiseStep(ConvStep stem, ConvStep dw) : Step
    {
        /// <summary>Whether <paramref name="stem"/> and <paramref name="dw"/> (reading only the stem's output) can run as one here.</summary>
        public static bool Takes(ConvStep stem, ConvStep dw) =>
            DepthwiseIntoStem && stem.Algorithm == Conv2dAlgorithm.Direct && dw.Algorithm == Conv2dAlgorithm.Depthwise
            && Conv2dDirect.IsSupported(Conv2dDirect.BestWidth) && stem.Residual == null && dw.Residual == null
            && Conv2dDirect.TakesPlanarDepthwise(stem.Geometry, dw.Geometry);

        public override void Prepare()
        {
            stem.Prepare();
            dw.Prepare();
        }

        private static ReadOnlySpan<float> Span(Tensor? t) => t == null ? default : t.ReadOnlySpan;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override unsafe void Run()
        {
            // An empty span pins to null: no bias.
            fixed (float* x = stem.X.Span, w = stem.Weight.ReadOnlySpan, b = Span(stem.Bias), wd = dw.Weight.ReadOnlySpan, bd = Span(dw.Bias), y = dw.Y.Span)
                Conv2dDirect.ForwardPlanarDepthwise(Conv2dDirect.BestWidth, stem.Geometry, x, w, b, stem.Op.ClampMin, stem.Op.ClampMax,
                    wd, bd, dw.Op.ClampMin, dw.Op.ClampMax, y);
        }
    }
}
