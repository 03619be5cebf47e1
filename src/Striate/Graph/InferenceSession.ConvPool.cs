using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>Whether conv → ReLU → 2×2/2 max pool on an RGB input runs as one step (<see cref="ConvPoolStep"/>); for benchmarks and tests.</summary>
    internal static bool PoolIntoConvolution = true;

    /// <summary>
    /// A fused conv → ReLU on the direct kernel's pixel-input path (few input channels: VGG's first layer) and the 2×2
    /// stride-2 max pool that alone reads it, as one step: the kernel pools each pair of output rows while they are in
    /// its cache (<see cref="Conv2dDirect.ForwardPixelsReluPool"/>), so the full-size activation is neither written nor
    /// read back (VGG-11 at 224×224: 12.8 MB, ~0.9 ms of pool and ~1 ms of the convolution's own unblocking store,
    /// bench/RESULTS.md). The values are those of the two steps. The convolution's output keeps its planned place, unused.
    /// </summary>
    private sealed class ConvPoolStep(ConvStep conv, Segment pooled) : Step
    {
        /// <summary>
        /// Whether <paramref name="conv"/> followed by <paramref name="pool"/> (its only reader) can run as one: a ReLU and no
        /// residual, the pixel-input direct path on this machine, and a 2×2 stride-2 pool without padding whose output is
        /// the floor-mode shape (in ceil mode the same when the sizes are even).
        /// </summary>
        public static bool Takes(ConvStep conv, MaxPool2dOp pool, IReadOnlyList<int> pooledShape)
        {
            var g = conv.Geometry;
            return PoolIntoConvolution && conv.Algorithm == Conv2dAlgorithm.Direct && Conv2dDirect.IsSupported(Conv2dDirect.BestWidth)
                && Conv2dDirect.TakesPixelsPool(g) && conv.Op.Relu && conv.Residual == null
                && pool.KernelSize == new Size2(2, 2) && pool.Stride == new Size2(2, 2) && pool.Padding == new Size2(0, 0)
                && pooledShape.SequenceEqual([g.Batch, g.OutChannels, g.OutHeight / 2, g.OutWidth / 2]);
        }

        public override void Prepare() => conv.Prepare();

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            var w = conv.Weight;
            Conv2dDirect.ForwardPixelsReluPool(Conv2dDirect.BestWidth, conv.Geometry, conv.X.Span, w.ReadOnlySpan, conv.Bias == null ? default : conv.Bias.ReadOnlySpan,
                pooled.Span, new WeightKey(w, w.Version));
        }
    }
}
