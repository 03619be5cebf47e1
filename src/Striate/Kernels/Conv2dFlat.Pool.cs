using System.Buffers;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dFlat
{
    /// <summary>
    /// The 2×2 stride-2 max pooling (floor mode, no padding) that follows conv → ReLU in LeNet, per image: the pooling
    /// of one image's planes [Cout, Hout, Wout] (Planes = Cout; indices within each plane, as F.MaxPool2d keeps them).
    /// </summary>
    public static Pool2dGeometry PoolOf(in Conv2dGeometry g) =>
        new(g.OutChannels, g.OutHeight, g.OutWidth, g.OutHeight / 2, g.OutWidth / 2, 2, 2, 2, 2, 0, 0);

    /// <summary>Whether conv → ReLU → 2×2/2 max pooling can run as one op on <paramref name="g"/> (at least one window per plane).</summary>
    public static bool SupportsPool(in Conv2dGeometry g) => Supports(g) && g.OutHeight >= 2 && g.OutWidth >= 2;

    /// <summary>
    /// pooled, indices = maxpool2×2/2(relu(conv(input, weight) + bias)) with the argmax of each window within its
    /// plane, on <paramref name="width"/>. Each image's convolution output stays in a per-thread scratch (in cache)
    /// and is pooled from there, so the full-size activation [N, Cout, Hout, Wout] is never written; values and
    /// indices are those of the three ops run apart (the same copy-out and the same pooling kernel).
    /// Shapes: pooled and indices [N, Cout, Hout/2, Wout/2].
    /// </summary>
    public static void ForwardReluPool(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> pooled, Span<int> indices)
    {
        if (!IsSupported(width) || !SupportsPool(g)) throw new ArgumentException($"Conv2dFlat: cannot run {g} with 2×2 pooling on {width}.");
        long pooledLength = (long)g.Batch * PoolOf(g).Planes * PoolOf(g).OutPlane;
        if (input.Length != g.InputLength || weight.Length != g.WeightLength || (!bias.IsEmpty && bias.Length != g.OutChannels)
            || pooled.Length != pooledLength || indices.Length != pooledLength)
            throw new ArgumentException($"Conv2dFlat.ForwardReluPool: spans do not match {g} (pooled and indices need {pooledLength} elements).");
        fixed (float* py = pooled)
        fixed (int* pi = indices)
            RunForward(width, g, input, weight, bias, null, true, py, pi);
    }

    /// <summary>Pools image <paramref name="n"/>'s planes <paramref name="image"/> [Cout, Hout, Wout] into its slice of pooled / indices.</summary>
    private static void PoolImage(in Conv2dGeometry g, float* image, float* pooled, int* indices, int n)
    {
        var pg = PoolOf(g);
        int plane = pg.Planes * pg.OutPlane;
        Pooling.MaxPlanes2x2Vector(pg, new ReadOnlySpan<float>(image, pg.Planes * pg.InPlane), new Span<float>(pooled + (long)n * plane, plane),
            new Span<int>(indices + (long)n * plane, plane), 0, pg.Planes, int.MaxValue);
    }

    /// <summary>
    /// The gradients of pooled = maxpool2×2/2(relu(conv(x, w) + b)) from pooled, its indices and dpooled: each image's
    /// convolution-output gradient is rebuilt in cache (dpooled masked by pooled &gt; 0, routed to its window's argmax,
    /// zero elsewhere) and flattened from there for the weight, bias and input gradients, as the three ops' backward
    /// passes would give it (the same arithmetic) without the full-size gradient arrays. Empty gradInput, gradWeight or
    /// gradBias: not computed.
    /// </summary>
    public static void BackwardReluPool(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> pooled, ReadOnlySpan<int> indices, ReadOnlySpan<float> gradPooled, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias)
    {
        if (!IsSupported(width) || !SupportsPool(g)) throw new ArgumentException($"Conv2dFlat: cannot run {g} with 2×2 pooling on {width}.");
        var pg = PoolOf(g);
        long pooledLength = (long)g.Batch * pg.Planes * pg.OutPlane;
        if (pooled.Length != pooledLength || indices.Length != pooledLength || gradPooled.Length != pooledLength)
            throw new ArgumentException($"Conv2dFlat.BackwardReluPool: pooled, indices and gradPooled need {pooledLength} elements each for {g}.");
        if (!gradBias.IsEmpty && gradBias.Length != g.OutChannels)
            throw new ArgumentException($"Conv2dFlat.BackwardReluPool: gradBias has {gradBias.Length} elements, expected {g.OutChannels} or none.");
        fixed (float* pv = pooled, pd = gradPooled)
        fixed (int* pi = indices)
        {
            var source = new PooledGradient { Values = pv, Grad = pd, Indices = pi };
            if (!gradInput.IsEmpty) BackwardData(width, g, default, default, weight, gradInput, source);
            if (!gradWeight.IsEmpty || !gradBias.IsEmpty)
            {
                float[]? scratchWeight = gradWeight.IsEmpty ? ArrayPool<float>.Shared.Rent((int)g.WeightLength) : null;
                try
                {
                    BackwardWeight(width, g, input, default, default, gradWeight.IsEmpty ? scratchWeight.AsSpan(0, (int)g.WeightLength) : gradWeight, gradBias, source);
                }
                finally
                {
                    if (scratchWeight != null) ArrayPool<float>.Shared.Return(scratchWeight);
                }
            }
        }
    }

    /// <summary>Where a backward body takes dy from when the convolution was followed by ReLU and 2×2 max pooling.</summary>
    private struct PooledGradient
    {
        public float* Values, Grad; // pooled [N, Cout, Hp, Wp] and its gradient
        public int* Indices;        // argmax within each conv-output plane

        public readonly bool IsSet => Grad != null;

        /// <summary>Floats of scratch <see cref="Image"/> needs (0 when not set).</summary>
        public readonly long ScratchLength(in Conv2dGeometry g)
        {
            if (!IsSet) return 0;
            var pg = PoolOf(g);
            return (long)pg.Planes * (pg.InPlane + pg.OutPlane);
        }

        /// <summary>
        /// Image n's convolution-output gradient [Cout, Hout, Wout] in <paramref name="scratch"/>: dpooled masked by
        /// pooled &gt; 0 (ReLU's backward, dy·0 elsewhere), then routed to the argmax of its window (2×2/2 pooling's
        /// backward kernel: every element written once, zero outside the winners). Returns the image's gradient.
        /// </summary>
        public readonly float* Image(in Conv2dGeometry g, int n, float* scratch)
        {
            var pg = PoolOf(g);
            int plane = pg.Planes * pg.OutPlane;
            float* image = scratch, masked = scratch + (long)pg.Planes * pg.InPlane;
            long at = (long)n * plane;
            RowMath.CopyMasked(Grad + at, Values + at, masked, plane);
            Pooling.MaxBackwardPlanes2x2(pg, new ReadOnlySpan<float>(masked, plane), new ReadOnlySpan<int>(Indices + at, plane),
                new Span<float>(image, pg.Planes * pg.InPlane), 0, pg.Planes, int.MaxValue);
            return image;
        }
    }
}
