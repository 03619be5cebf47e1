using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>
    /// Whether a channel affine (eval-mode batch norm, with or without ReLU) read only by the 1×1 convolution after it
    /// runs inside that convolution (<see cref="AffineConvStep"/>); for benchmarks and tests.
    /// </summary>
    internal static bool AffineIntoConvolution = true;

    /// <summary>
    /// ChannelAffine → 1×1 convolution as one step: the affine (with its ReLU) is applied to each input row as the
    /// convolution's GEMM packs it (<see cref="Conv2dKernels.ForwardWithInputAffine"/>), so the normalized input is
    /// never written and read back whole. DenseNet normalizes the whole concatenation so far before every dense
    /// layer's 1×1 convolution and every transition's: 62 passes over 10.5 M floats at batch 1, ~16 % of a
    /// DenseNet-121 run (bench/RESULTS.md). The values are those of the two steps.
    /// </summary>
    private sealed class AffineConvStep(AffineStep affine, ConvStep conv) : Step
    {
        /// <summary>
        /// Whether the pair can run as one: a 1×1 convolution that runs one GEMM per image anyway (where the batched
        /// im2col path is chosen instead, at larger batches on small maps, the two steps stay) through the GEMM driver
        /// (where the pixels-as-rows product <see cref="PointwiseTransposed"/> runs it, on small maps, it is faster with
        /// the affine as a step of its own).
        /// </summary>
        public static bool Takes(AffineStep affine, ConvStep conv) =>
            AffineIntoConvolution && affine.X.Shape.Length == 4 && conv.Algorithm == Conv2dAlgorithm.Pointwise
            && Conv2dKernels.TakesInputAffine(conv.Geometry) && !Conv2dKernels.TakesPointwiseTransposed(conv.Geometry) && affine.Scale.Numel == conv.Geometry.InChannels;

        public override void Prepare() => conv.Prepare();

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            var w = conv.Weight;
            Conv2dKernels.ForwardWithInputAffine(conv.Geometry, affine.X.Span, affine.Scale.ReadOnlySpan, affine.Shift.ReadOnlySpan, affine.Relu,
                w.ReadOnlySpan, conv.Bias == null ? default : conv.Bias.ReadOnlySpan, conv.Y.Span, EpilogueOf(conv.Op, conv.Residual), new WeightKey(w, w.Version));
        }
    }
}
