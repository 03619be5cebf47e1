using System.Buffers;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dFlat
{
    /// <summary>
    /// gradInput = the input gradient, on <paramref name="width"/>. Overwrites gradInput. Per image and input channel
    /// ci, first the column rows of ci's taps in the flat layout of the forward,
    /// <code>
    ///   dcol[t, j] = Σ_co w[co, t] · dyflat[co, j]    (t = (ci, kh, kw); dyflat zero in the dropped columns)
    /// </code>
    /// with the forward's register tile (taps of ci as its rows, output channels as its taps), then col2im as shifted
    /// row additions, dxp[q] = Σ_t dcol[t, q − off(t)]: in the flat layout every tap's contribution is one contiguous
    /// run, where the im2col path scatters element by element.
    /// </summary>
    public static void BackwardData(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput)
        => BackwardData(width, g, gradOutput, default, weight, gradInput);

    /// <summary>As above, with dy masked by <paramref name="reluOutput"/> &gt; 0 as it is flattened (empty: no mask).</summary>
    public static void BackwardData(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> weight, Span<float> gradInput)
    {
        if (!IsSupported(width) || !Supports(g)) throw new ArgumentException($"Conv2dFlat: cannot run {g} on {width}.");
        CheckMaskAndBias(g, gradOutput, reluOutput, default);
        BackwardData(width, g, gradOutput, reluOutput, weight, gradInput, default);
    }

    private static void BackwardData(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> weight, Span<float> gradInput, PooledGradient pool)
    {
        if (weight.Length != g.WeightLength || gradInput.Length != g.InputLength)
            throw new ArgumentException($"Conv2dFlat.BackwardData: weight has {weight.Length} elements (expected {g.WeightLength}), gradInput {gradInput.Length} (expected {g.InputLength}).");
        var l = new Layout(g, Lanes(width), ForwardBlock(width));
        int kk = g.KernelHeight * g.KernelWidth, cout = g.OutChannels;
        // The weight as per-tile [co][tap in tile] blocks, tiles of at most 4 of one input channel's kk taps.
        float[] wr = ArrayPool<float>.Shared.Rent(cout * l.Taps);
        var rows = new int[cout]; // offsets of dyflat's rows: the "taps" of the column product
        for (int co = 0; co < cout; co++) rows[co] = co * l.Lr;
        try
        {
            int tiles = TileCount(kk);
            for (int ci = 0; ci < g.InChannels; ci++)
            for (int tile = 0; tile < tiles; tile++)
            {
                int t0 = TileStart(kk, tile), tc = TileStart(kk, tile + 1) - t0, at = ci * kk + t0;
                for (int co = 0; co < cout; co++)
                for (int c = 0; c < tc; c++)
                    wr[at * cout + co * tc + c] = weight[co * l.Taps + at + c];
            }
            int tasks = Math.Min(g.Batch, 4 * MaxTasks);
            fixed (float* dy = gradOutput, y = reluOutput, pw = wr, dx = gradInput)
            fixed (int* pr = rows)
            {
                var body = new DataBody { G = g, L = l, Width = width, Tasks = tasks, Dy = dy, Mask = y, Wr = pw, Dx = dx, Rows = pr, Pool = pool };
                ParallelFor.Run(tasks, ref body);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(wr);
        }
    }

    private struct DataBody : IParallelBody
    {
        public Conv2dGeometry G;
        public Layout L;
        public GemmPath Width;
        public int Tasks;
        public float* Dy, Mask, Wr, Dx; // Mask: the ReLU output, or null
        public int* Rows;
        public PooledGradient Pool;       // when set, dy comes from the pooled gradient (Conv2dFlat.Pool.cs), Dy unused

        public readonly void Invoke(int task)
        {
            var g = G;
            var l = L;
            int n0 = (int)((long)g.Batch * task / Tasks), n1 = (int)((long)g.Batch * (task + 1) / Tasks);
            int kk = g.KernelHeight * g.KernelWidth, cout = g.OutChannels, v = Lanes(Width);
            int maxOff = (g.KernelHeight - 1) * l.Wp + g.KernelWidth - 1;
            int pq = (l.Plane + v - 1) / v * v;               // dxp's length in whole vectors
            // A dcol row: maxOff zeros, the Lr computed columns, then zeros up to every read of the shifted sums.
            int front = maxOff, stride = front + l.Lr + maxOff + v;
            long dyLength = (long)cout * l.Lr, colLength = (long)kk * stride;
            float[] scratch = Scratch(dyLength + colLength + pq + Pool.ScratchLength(g));
            fixed (float* s = scratch)
            {
                float* dyflat = s, dcol = s + dyLength, dxp = dcol + colLength; // dyflat: [Cout, Lr]; dcol: [kk, stride]; dxp: [pq]
                for (int t = 0; t < kk; t++)
                {
                    new Span<float>(dcol + (long)t * stride, front).Clear();
                    new Span<float>(dcol + (long)t * stride + front + l.Lr, stride - front - l.Lr).Clear();
                }
                int* offs = stackalloc int[kk];
                for (int kh = 0; kh < g.KernelHeight; kh++)
                for (int kw = 0; kw < g.KernelWidth; kw++)
                    offs[kh * g.KernelWidth + kw] = kh * l.Wp + kw;
                int tiles = TileCount(kk);
                long image = (long)g.InChannels * g.InHeight * g.InWidth, outImage = (long)cout * g.OutHeight * g.OutWidth;
                for (int n = n0; n < n1; n++)
                {
                    if (Pool.IsSet) FlattenGradient(g, l, Pool.Image(g, n, dxp + pq), null, dyflat);
                    else FlattenGradient(g, l, Dy + n * outImage, Mask == null ? null : Mask + n * outImage, dyflat);
                    for (int ci = 0; ci < g.InChannels; ci++)
                    {
                        for (int tile = 0; tile < tiles; tile++)
                        {
                            int t0 = TileStart(kk, tile), tc = TileStart(kk, tile + 1) - t0;
                            ForwardTiles(Width, tc, dyflat, Rows, cout, l.Lr, Wr + (long)(ci * kk + t0) * cout, dcol + (long)t0 * stride + front, stride);
                        }
                        ShiftedSums(Width, dcol + front, stride, offs, kk, dxp, pq);
                        // dx[n, ci] = dxp without the padding border.
                        float* dst = Dx + n * image + (long)ci * g.InHeight * g.InWidth;
                        for (int r = 0; r < g.InHeight; r++)
                            RowMath.Copy(dxp + (r + g.PadH) * l.Wp + g.PadW, dst + r * g.InWidth, g.InWidth);
                    }
                }
            }
        }
    }

    /// <summary>dxp[q] = Σ_t dcol[t, q − offs[t]] for q &lt; pq (a multiple of the width's lanes); dcol rows are zero outside what was computed.</summary>
    private static void ShiftedSums(GemmPath width, float* dcol, int stride, int* offs, int kk, float* dxp, int pq)
    {
        switch (width)
        {
            case GemmPath.Vector512: ShiftedSums<Simd512, Vector512<float>>(dcol, stride, offs, kk, dxp, pq); break;
            case GemmPath.Vector256: ShiftedSums<Simd256, Vector256<float>>(dcol, stride, offs, kk, dxp, pq); break;
            default: ShiftedSums<Simd128, Vector128<float>>(dcol, stride, offs, kk, dxp, pq); break;
        }
    }

    private static void ShiftedSums<TS, TV>(float* dcol, int stride, int* offs, int kk, float* dxp, int pq) where TS : ISimdFloat<TV> where TV : struct
    {
        // Tap by tap over the whole row: independent vector additions (the sum over 25 taps per vector would be one
        // long dependency chain).
        new ReadOnlySpan<float>(dcol - offs[0], pq).CopyTo(new Span<float>(dxp, pq));
        for (int t = 1; t < kk; t++) RowMath.AddInto<TS, TV>(dcol + (long)t * stride - offs[t], dxp, pq);
    }
}
