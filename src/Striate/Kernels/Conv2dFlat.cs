using System.Buffers;

namespace Striate.Kernels;

/// <summary>
/// Direct convolution for small stride-1 convolutions with few channels (LeNet's 1→6 and 6→16 5×5 on 28×28 and 14×14
/// maps), where im2col + GEMM spends more time writing and reading the column matrix than multiplying. Each image is
/// copied once into zero-padded planes xp [Cin, Hp, Wp] laid end to end; in that flat layout every tap (ci, kh, kw) is
/// a constant offset, so one output row after another is one contiguous run:
/// <code>
///   yflat[co, j] = Σ_t w[co, t] · xp[j + off(t)],  off(ci, kh, kw) = ci·Hp·Wp + kh·Wp + kw,  j = oh·Wp + ow
/// </code>
/// for j &lt; L = (Hout − 1)·Wp + Wout. The columns ow ≥ Wout of each row are computed and dropped (they wrap into
/// the next row), a waste of (Wp − Wout)/Wp (LeNet: 4/32 and 4/14), in exchange for full vectors along j and no
/// im2col. The weight gradient is the same sum read the other way, dW[co, t] = Σ_n Σ_j dyflat[co, j] · xp[j + off(t)],
/// with dyflat zero in the dropped columns. Register tiles: up to 4 output channels × 2–3 vectors of j (forward),
/// 4 output channels × 2–3 taps (weight gradient). The input gradient (Conv2dFlat.BackwardData.cs) reuses the forward's
/// tile for its column rows and adds them back as shifted rows. <see cref="Conv2dReference"/> is the specification.
/// Shapes: as <see cref="Conv2dGeometry"/> (stride 1, dilation 1, groups 1).
/// </summary>
internal static unsafe partial class Conv2dFlat
{
    // Limits of the shapes this path is for: the scratch of one image (padded planes, flat outputs) stays in L1/L2.
    private const int MaxPaddedPlane = 64 * 64, MaxTaps = 1024, MaxOutChannels = 64;

    // Images per task of the weight gradient, which sums each tile's products in registers over its task's images
    // before one horizontal sum: 16 images amortize those sums. The task count depends on the batch only, so the
    // summation order (per-task partials, added in task order) never depends on the thread count.
    private const int WeightImagesPerTask = 16, MaxTasks = 16;

    /// <summary>The widest vector this process runs the path with (Scalar: none; the batched im2col path runs instead).</summary>
    public static readonly GemmPath BestWidth =
        Simd512.IsSupported ? GemmPath.Vector512 : Simd256.IsSupported ? GemmPath.Vector256 : Simd128.IsSupported ? GemmPath.Vector128 : GemmPath.Scalar;

    /// <summary>Whether <paramref name="width"/> runs in this process.</summary>
    public static bool IsSupported(GemmPath width) => width switch
    {
        GemmPath.Vector512 => Simd512.IsSupported,
        GemmPath.Vector256 => Simd256.IsSupported,
        GemmPath.Vector128 => Simd128.IsSupported,
        _ => false,
    };

    /// <summary>Whether <paramref name="g"/> has the shape this path is written for.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        g.Groups == 1 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
        && (long)(g.InHeight + 2 * g.PadH) * (g.InWidth + 2 * g.PadW) <= MaxPaddedPlane
        && (long)g.InChannels * g.KernelHeight * g.KernelWidth <= MaxTaps && g.OutChannels <= MaxOutChannels;

    /// <summary>Where everything lives for one geometry and vector width.</summary>
    private readonly struct Layout
    {
        public readonly int Hp, Wp, Plane, L, Lr, XLength, Taps, Block;

        public Layout(in Conv2dGeometry g, int v, int block)
        {
            Hp = g.InHeight + 2 * g.PadH;
            Wp = g.InWidth + 2 * g.PadW;
            Plane = Hp * Wp;
            L = (g.OutHeight - 1) * Wp + g.OutWidth;
            Block = block * v;                               // floats of j one register tile covers
            Lr = (L + Block - 1) / Block * Block;             // j rounded up to whole tiles
            // The last tile reads up to xp[Lr − 1 + max off] = xp[Cin·Plane − 1 + Lr − L]: zeros past the planes.
            XLength = g.InChannels * Plane + (Lr - L);
            Taps = g.InChannels * g.KernelHeight * g.KernelWidth;
        }
    }

    private static int Lanes(GemmPath width) => width switch { GemmPath.Vector512 => 16, GemmPath.Vector256 => 8, _ => 4 };

    // Vectors of j per forward tile: 3 on AVX-512 (32 registers), 2 where 16 registers must hold 4×j accumulators.
    private static int ForwardBlock(GemmPath width) => width == GemmPath.Vector512 ? 3 : 2;


    /// <summary>Offsets of every tap (ci, kh, kw) in the padded image, in the weight's order.</summary>
    private static int[] TapOffsets(in Conv2dGeometry g, in Layout l)
    {
        var off = new int[l.Taps];
        int t = 0;
        for (int ci = 0; ci < g.InChannels; ci++)
        for (int kh = 0; kh < g.KernelHeight; kh++)
        for (int kw = 0; kw < g.KernelWidth; kw++)
            off[t++] = ci * l.Plane + kh * l.Wp + kw;
        return off;
    }

    /// <summary>Output channels cut into tiles of at most 4, as even as possible (6 → 3 + 3, 16 → 4 × 4).</summary>
    private static int TileStart(int outChannels, int tile) => (int)((long)outChannels * tile / ((outChannels + 3) / 4));

    private static int TileCount(int outChannels) => (outChannels + 3) / 4;

    /// <summary>
    /// xp [Cin, Hp, Wp] + (Lr − L) zeros = the image x [Cin, H, W] with its zero border; every element written once.
    /// </summary>
    private static void PadImage(in Conv2dGeometry g, in Layout l, float* x, float* xp)
    {
        int h = g.InHeight, w = g.InWidth, ph = g.PadH, pw = g.PadW, wp = l.Wp;
        for (int ci = 0; ci < g.InChannels; ci++)
        {
            float* plane = xp + (long)ci * l.Plane;
            new Span<float>(plane, ph * wp).Clear();
            for (int r = 0; r < h; r++)
            {
                float* row = plane + (r + ph) * wp;
                if (pw > 0) { new Span<float>(row, pw).Clear(); new Span<float>(row + pw + w, pw).Clear(); }
                RowMath.Copy(x + ((long)ci * h + r) * w, row + pw, w);
            }
            new Span<float>(plane + (ph + h) * wp, ph * wp).Clear();
        }
        new Span<float>(xp + (long)g.InChannels * l.Plane, l.XLength - g.InChannels * l.Plane).Clear();
    }

    /// <summary>
    /// dyflat [Cout, Lr] = the image's dy [Cout, Hout, Wout] on the padded row pitch, zero elsewhere. With the image's
    /// ReLU output y (not null), dy is masked by y &gt; 0 on the way: the gradient of relu(conv) without a pass of its own.
    /// </summary>
    private static void FlattenGradient(in Conv2dGeometry g, in Layout l, float* dy, float* y, float* dyflat)
    {
        int oh = g.OutHeight, ow = g.OutWidth, wp = l.Wp;
        for (int co = 0; co < g.OutChannels; co++)
        {
            float* dst = dyflat + (long)co * l.Lr;
            for (int r = 0; r < oh; r++)
            {
                long at = ((long)co * oh + r) * ow;
                if (y == null) RowMath.Copy(dy + at, dst + r * wp, ow);
                else RowMath.CopyMasked(dy + at, y + at, dst + r * wp, ow);
                int gap = r == oh - 1 ? l.Lr - l.L : wp - ow;
                new Span<float>(dst + r * wp + ow, gap).Clear();
            }
        }
    }

    [ThreadStatic] private static float[]? t_scratch;

    private static float[] Scratch(long length) => ThreadScratch.Array(ref t_scratch, length, minimum: 4096);

    /// <summary>
    /// output = conv(input, weight) + bias (bias empty = none) on <paramref name="width"/>, then max(·, 0) when
    /// <paramref name="relu"/> (in the copy-out, no pass of its own). Overwrites output.
    /// </summary>
    public static void Forward(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> output,
        bool relu = false)
    {
        if (!IsSupported(width) || !Supports(g)) throw new ArgumentException($"Conv2dFlat: cannot run {g} on {width}.");
        fixed (float* y = output) RunForward(width, g, input, weight, bias, y, relu, null, null);
    }

    /// <summary>
    /// The forward's setup and fork, shared by <see cref="Forward"/> (into <paramref name="y"/>) and
    /// <see cref="ForwardReluPool"/> (into <paramref name="pooled"/> and <paramref name="poolIndices"/>, y unused):
    /// the layout, the taps' offsets and the weight reordered into a rented array for the call.
    /// </summary>
    private static void RunForward(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        float* y, bool relu, float* pooled, int* poolIndices)
    {
        var l = new Layout(g, Lanes(width), ForwardBlock(width));
        var offsets = TapOffsets(g, l);
        float[] wt = ArrayPool<float>.Shared.Rent(g.OutChannels * l.Taps);
        try
        {
            ReorderForwardWeight(g, l, weight, wt);
            int tasks = Math.Min(g.Batch, 4 * MaxTasks);
            fixed (float* x = input, pw = wt, b = bias)
            fixed (int* off = offsets)
            {
                var body = new ForwardBody
                {
                    G = g, L = l, Width = width, Tasks = tasks, X = x, Wt = pw, Bias = b, Y = y, Offsets = off, Relu = relu,
                    Pooled = pooled, PoolIndices = poolIndices,
                };
                ParallelFor.Run(tasks, ref body);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(wt);
        }
    }

    /// <summary>The weight reordered per channel tile as [tile][tap][channel in tile], so a tap's broadcasts are adjacent.</summary>
    private static void ReorderForwardWeight(in Conv2dGeometry g, in Layout l, ReadOnlySpan<float> weight, float[] wt)
    {
        int tiles = TileCount(g.OutChannels);
        for (int tile = 0; tile < tiles; tile++)
        {
            int c0 = TileStart(g.OutChannels, tile), tc = TileStart(g.OutChannels, tile + 1) - c0;
            for (int t = 0; t < l.Taps; t++)
            for (int c = 0; c < tc; c++)
                wt[c0 * l.Taps + t * tc + c] = weight[(c0 + c) * l.Taps + t];
        }
    }

    private struct ForwardBody : IParallelBody
    {
        public Conv2dGeometry G;
        public Layout L;
        public GemmPath Width;
        public int Tasks;
        public float* X, Wt, Bias, Y;
        public int* Offsets;
        public bool Relu;
        public float* Pooled; // not null: relu(conv + b) is pooled 2×2/2 per image (Conv2dFlat.Pool.cs), Y unused
        public int* PoolIndices;

        public readonly void Invoke(int task)
        {
            var g = G;
            var l = L;
            int n0 = (int)((long)g.Batch * task / Tasks), n1 = (int)((long)g.Batch * (task + 1) / Tasks);
            long image = (long)g.InChannels * g.InHeight * g.InWidth, outPlane = (long)g.OutHeight * g.OutWidth;
            float[] scratch = Scratch(l.XLength + (long)g.OutChannels * l.Lr + (Pooled != null ? g.OutChannels * outPlane : 0));
            fixed (float* s = scratch)
            {
                float* xp = s, yflat = s + l.XLength; // xp: [Cin, Hp, Wp] + slack; yflat: [Cout, Lr]
                float* yimage = yflat + (long)g.OutChannels * l.Lr; // pooled mode: the image's relu(conv + b) [Cout, Hout, Wout]
                for (int n = n0; n < n1; n++)
                {
                    PadImage(g, l, X + n * image, xp);
                    int tiles = TileCount(g.OutChannels);
                    for (int tile = 0; tile < tiles; tile++)
                    {
                        int c0 = TileStart(g.OutChannels, tile), tc = TileStart(g.OutChannels, tile + 1) - c0;
                        ForwardTiles(Width, tc, xp, Offsets, l.Taps, l.Lr, Wt + c0 * l.Taps, yflat + (long)c0 * l.Lr, l.Lr);
                    }
                    // y[n, co] = yflat[co] without the dropped columns, plus the bias (and the ReLU).
                    float* yn = Pooled != null ? yimage : Y + n * g.OutChannels * outPlane;
                    int oh = g.OutHeight, ow = g.OutWidth;
                    for (int co = 0; co < g.OutChannels; co++)
                    {
                        float b = Bias != null ? Bias[co] : 0f;
                        for (int r = 0; r < oh; r++)
                        {
                            float* src = yflat + (long)co * l.Lr + r * l.Wp, dst = yn + co * outPlane + r * ow;
                            if (Relu) RowMath.AddScalarRelu(src, b, dst, ow);
                            else RowMath.AddScalar(src, b, dst, ow);
                        }
                    }
                    if (Pooled != null) PoolImage(g, yimage, Pooled, PoolIndices, n);
                }
            }
        }
    }

    /// <summary>gradWeight = Σ over the batch of dy ⋆ x, on <paramref name="width"/>. Overwrites gradWeight.</summary>
    public static void BackwardWeight(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight)
        => BackwardWeight(width, g, input, gradOutput, default, gradWeight, default);

    /// <summary>
    /// gradWeight = Σ over the batch of dy' ⋆ x and gradBias[co] = Σ dy'[·, co] (empty: not wanted), where dy' is
    /// dy masked by reluOutput &gt; 0 when reluOutput is given (the gradients of relu(conv(x) + b) from its output) and
    /// dy otherwise. The bias gradient comes from the flattened dy' the weight gradient reads anyway, on both threads.
    /// Overwrites both.
    /// </summary>
    public static void BackwardWeight(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> reluOutput, Span<float> gradWeight, Span<float> gradBias)
    {
        if (!IsSupported(width) || !Supports(g)) throw new ArgumentException($"Conv2dFlat: cannot run {g} on {width}.");
        CheckMaskAndBias(g, gradOutput, reluOutput, gradBias);
        BackwardWeight(width, g, input, gradOutput, reluOutput, gradWeight, gradBias, default);
    }

    private static void BackwardWeight(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> reluOutput, Span<float> gradWeight, Span<float> gradBias, PooledGradient pool)
    {
        if (input.Length != g.InputLength || gradWeight.Length != g.WeightLength)
            throw new ArgumentException($"Conv2dFlat.BackwardWeight: input has {input.Length} elements (expected {g.InputLength}), gradWeight {gradWeight.Length} (expected {g.WeightLength}).");
        var l = new Layout(g, Lanes(width), 1);
        var offsets = TapOffsets(g, l);
        int tasks = Math.Clamp((g.Batch + WeightImagesPerTask - 1) / WeightImagesPerTask, 1, MaxTasks);
        int wl = (int)g.WeightLength, pl = wl + g.OutChannels;
        float[] partials = ArrayPool<float>.Shared.Rent(tasks * pl); // [tasks][Cout, taps | Cout]
        try
        {
            fixed (float* x = input, dy = gradOutput, y = reluOutput, p = partials)
            fixed (int* off = offsets)
            {
                var body = new WeightBody
                {
                    G = g, L = l, Width = width, Tasks = tasks, X = x, Dy = dy, Mask = y, Partials = p, PartialLength = pl,
                    Bias = !gradBias.IsEmpty, Offsets = off, Pool = pool,
                };
                ParallelFor.Run(tasks, ref body);
            }
            // Per-task partials added in task order: the same sums for any thread count.
            partials.AsSpan(0, wl).CopyTo(gradWeight);
            for (int t = 1; t < tasks; t++) Elementwise.AddInPlace(gradWeight, partials.AsSpan(t * pl, wl));
            if (!gradBias.IsEmpty)
            {
                partials.AsSpan(wl, g.OutChannels).CopyTo(gradBias);
                for (int t = 1; t < tasks; t++) Elementwise.AddInPlace(gradBias, partials.AsSpan(t * pl + wl, g.OutChannels));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partials);
        }
    }

    private static void CheckMaskAndBias(in Conv2dGeometry g, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> reluOutput, Span<float> gradBias)
    {
        if (gradOutput.Length != g.OutputLength)
            throw new ArgumentException($"Conv2dFlat: gradOutput has {gradOutput.Length} elements, expected {g.OutputLength}.");
        if (!reluOutput.IsEmpty && reluOutput.Length != g.OutputLength)
            throw new ArgumentException($"Conv2dFlat: the ReLU output has {reluOutput.Length} elements, expected {g.OutputLength} (the output's shape) or none.");
        if (!gradBias.IsEmpty && gradBias.Length != g.OutChannels)
            throw new ArgumentException($"Conv2dFlat: gradBias has {gradBias.Length} elements, expected {g.OutChannels} or none.");
    }

    private struct WeightBody : IParallelBody
    {
        public Conv2dGeometry G;
        public Layout L;
        public GemmPath Width;
        public int Tasks, PartialLength;
        public float* X, Dy, Mask, Partials; // Mask: the ReLU output, or null
        public bool Bias;
        public int* Offsets;
        public PooledGradient Pool;          // when set, dy comes from the pooled gradient (Conv2dFlat.Pool.cs), Dy unused

        public readonly void Invoke(int task)
        {
            var g = G;
            var l = L;
            int n0 = (int)((long)g.Batch * task / Tasks), n1 = (int)((long)g.Batch * (task + 1) / Tasks), count = n1 - n0;
            long image = (long)g.InChannels * g.InHeight * g.InWidth, outImage = g.OutChannels * (long)g.OutHeight * g.OutWidth;
            long xStride = l.XLength, dyStride = (long)g.OutChannels * l.Lr;
            float[] scratch = Scratch(count * (xStride + dyStride) + Pool.ScratchLength(g));
            float* partial = Partials + (long)task * PartialLength; // [Cout, taps], then [Cout] for the bias
            fixed (float* s = scratch)
            {
                float* xps = s, dys = s + count * xStride; // xps: [count][xp]; dys: [count][Cout, Lr]
                for (int i = 0; i < count; i++)
                {
                    PadImage(g, l, X + (n0 + i) * image, xps + i * xStride);
                    if (Pool.IsSet) FlattenGradient(g, l, Pool.Image(g, n0 + i, s + count * (xStride + dyStride)), null, dys + i * dyStride);
                    else FlattenGradient(g, l, Dy + (n0 + i) * outImage, Mask == null ? null : Mask + (n0 + i) * outImage, dys + i * dyStride);
                }
                int tiles = TileCount(g.OutChannels);
                for (int tile = 0; tile < tiles; tile++)
                {
                    int c0 = TileStart(g.OutChannels, tile), tc = TileStart(g.OutChannels, tile + 1) - c0;
                    WeightTiles(Width, tc, xps, xStride, dys + (long)c0 * l.Lr, dyStride, count, Offsets, l, partial + c0 * l.Taps);
                }
                if (Bias)
                {
                    // dyflat is zero in the dropped columns and past L, so whole rows can be summed.
                    float* db = partial + g.WeightLength;
                    for (int co = 0; co < g.OutChannels; co++)
                    {
                        double sum = 0;
                        for (int i = 0; i < count; i++) sum += SpanMath.Sum(new ReadOnlySpan<float>(dys + i * dyStride + (long)co * l.Lr, l.Lr));
                        db[co] = (float)sum;
                    }
                }
            }
        }
    }
}
