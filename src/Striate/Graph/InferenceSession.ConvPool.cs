using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>Whether an RGB conv → ReLU and the max pool after it run as one step (<see cref="ConvPoolStep"/>); for benchmarks and tests.</summary>
    internal static bool PoolIntoConvolution = true;

    /// <summary>Whether a channel-blocked direct conv → ReLU and the 2×2/2 or 3×3/2 max pool after it run as one step (VGG's blocks, GoogLeNet's conv3); for benchmarks and tests.</summary>
    internal static bool PoolIntoDirectConvolution = true;

    /// <summary>
    /// A fused conv → ReLU on the direct kernel's pixel-input path (few input channels: the stems of VGG, GoogLeNet,
    /// ResNet, AlexNet) and the max pool that alone reads it, as one step: the kernel pools the output rows while they
    /// are in its cache (<see cref="Conv2dDirect.ForwardPixelsReluPool"/>), so the full-size activation is neither written
    /// nor read back (VGG-11 at 224×224: 12.8 MB, ~0.9 ms of pool and ~1 ms of the convolution's own unblocking store,
    /// bench/RESULTS.md). The same for a channel-blocked direct conv and a 2×2/2 pool (VGG's other blocks) or a 3×3/2 one
    /// (GoogLeNet's conv3 → maxpool2: 2.4 MB at batch 1): each task pools the rows it computed instead of unblocking them
    /// (<see cref="Conv2dDirect.ForwardReluPool"/>).
    /// The values are those of the two steps. The convolution's output keeps its planned place, unused.
    /// </summary>
    private sealed class ConvPoolStep(ConvStep conv, Pool2dGeometry pool, Segment pooled) : Step
    {
        /// <summary>
        /// The pooling of <paramref name="conv"/>'s output by <paramref name="op"/> (its only reader) when the two can run as
        /// one: a ReLU and no residual, the pixel-input direct path on this machine, a window the kernel takes; else null.
        /// </summary>
        public static Pool2dGeometry? Takes(ConvStep conv, MaxPool2dOp op, IReadOnlyList<int> pooledShape)
        {
            var g = conv.Geometry;
            if (!PoolIntoConvolution || conv.Algorithm != Conv2dAlgorithm.Direct || !Conv2dDirect.IsSupported(Conv2dDirect.BestWidth)
                || !conv.Op.Relu || conv.Residual != null || pooledShape.Count != 4)
                return null;
            var pool = new Pool2dGeometry(g.Batch * g.OutChannels, g.OutHeight, g.OutWidth, pooledShape[2], pooledShape[3],
                op.KernelSize.H, op.KernelSize.W, op.Stride.H, op.Stride.W, op.Padding.H, op.Padding.W);
            if (Conv2dDirect.TakesPixelsPool(g, pool)) return pool;
            return PoolIntoDirectConvolution && Conv2dDirect.TakesBlockedPool(Conv2dDirect.BestWidth, g, pool) ? pool : null;
        }

        public override void Prepare() => conv.Prepare();

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            var w = conv.Weight;
            Conv2dDirect.ForwardReluPool(Conv2dDirect.BestWidth, conv.Geometry, pool, conv.X.Span, w.ReadOnlySpan, conv.Bias == null ? default : conv.Bias.ReadOnlySpan,
                pooled.Span, new WeightKey(w, w.Version));
        }
    }
}
