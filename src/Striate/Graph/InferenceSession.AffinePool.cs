using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>Whether a channel affine read only by a 2×2/2 average pool runs inside it (<see cref="AffinePoolStep"/>); for benchmarks and tests.</summary>
    internal static bool AffineIntoPool = true;

    /// <summary>
    /// ChannelAffine (with its ReLU) → 2×2/2 average pool as one step (<see cref="ChannelAffine.ForwardAvgPool2x2(int, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, bool, Span{float})"/>): the
    /// normalized map is never written whole. DenseNet's transitions come to this form once the pool runs before their
    /// 1×1 (<see cref="InferencePasses.PoolBeforePointwise"/>): the block's concatenation (up to 3.2 MB at batch 1) is
    /// read once and a quarter of it written. The values are those of the two steps.
    /// </summary>
    private sealed class AffinePoolStep(AffineStep affine, Segment pooled) : Step
    {
        private readonly int _n = affine.X.Shape[0], _c = affine.X.Shape[1], _h = affine.X.Shape[2], _w = affine.X.Shape[3];

        /// <summary>Whether <paramref name="pool"/>, the only reader of <paramref name="affine"/>'s output, is a window the kernel takes: 2×2, stride 2, no padding, floor output.</summary>
        public static bool Takes(AffineStep affine, AvgPool2dOp pool, IReadOnlyList<int> pooledShape) =>
            AffineIntoPool && affine.X.Shape.Length == 4 && pooledShape.Count == 4
            && pool.KernelSize == new Size2(2, 2) && pool.Stride == new Size2(2, 2) && pool.Padding == new Size2(0, 0) && pool.DivisorOverride == 0
            && pooledShape[2] == affine.X.Shape[2] / 2 && pooledShape[3] == affine.X.Shape[3] / 2 && affine.Scale.Numel == affine.X.Shape[1];

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run() =>
            ChannelAffine.ForwardAvgPool2x2(_n, _c, _h, _w, affine.X.Span, affine.Scale.ReadOnlySpan, affine.Shift.ReadOnlySpan, affine.Relu, pooled.Span);
    }
}
