using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// How the pixel-input direct kernel tiles a convolution with few input channels: one row of R output pixels ×
/// GroupBlocks blocks of V output channels (<see cref="Conv2dDirectPixelTile{TS, TV, TR, TO, TStep}"/>), and its
/// weight layout [groups][kH][kW][Cin][GroupBlocks·V (oc)].
/// </summary>
internal readonly record struct PixelPlan(int V, int R, int GroupBlocks)
{
    /// <summary>AVX-512: up to 14 pixels × 2 blocks (28 of 32 registers); AVX2: 6 × 2 (12 of 16). Row tiles split evenly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static PixelPlan For(in Conv2dGeometry g, int v)
    {
        int maxRow = v == 16 ? 14 : 6, tiles = (g.OutWidth + maxRow - 1) / maxRow;
        return new PixelPlan(v, (g.OutWidth + tiles - 1) / tiles, Math.Min(2, (g.OutChannels + v - 1) / v));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ColumnTiles(in Conv2dGeometry g) => (g.OutWidth + R - 1) / R;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int OutBlocks(in Conv2dGeometry g) => (g.OutChannels + V - 1) / V;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Groups(in Conv2dGeometry g) => (OutBlocks(g) + GroupBlocks - 1) / GroupBlocks;

    /// <summary>Floats one kernel row reads per output pixel: kW taps × Cin channels, adjacent in input and weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Run(in Conv2dGeometry g) => g.KernelWidth * g.InChannels;

    /// <summary>Floats of the reordered weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long WeightLength(in Conv2dGeometry g) => (long)Groups(g) * g.KernelHeight * Run(g) * GroupBlocks * V;
}

internal static unsafe partial class Conv2dDirect
{
    /// <summary>
    /// Whether the forward pass of <paramref name="g"/> takes the pixel-input path: at most 4 input channels (an RGB or
    /// grey stem, which whole blocks of V would pad 4–16-fold), no column dilation (a kernel row must be one run of
    /// input), and stride × channels ≤ 14 (the tile's pixel step is a compiled constant).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TakesPixels(in Conv2dGeometry g) =>
        g.Groups == 1 && g.InChannels <= 4 && g.DilationW == 1 && g.InChannels * g.StrideW <= 14;

    /// <summary>
    /// y = act(conv(x, w) + bias + residual) for <see cref="TakesPixels"/> shapes: the input is interleaved into
    /// padded pixels [N][Hp][Wp][Cin] (three channels stay three floats), the output is accumulated blocked and
    /// unblocked with the epilogue by the task that computed it, while it is in that core's cache (<see cref="ChannelBlocked.UnpackRows"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPixels(GemmPath width, in Conv2dGeometry g, float* x, float* w, float* bias, float* residual, bool relu, float* y, WeightKey? key,
        float lo = float.NegativeInfinity, float hi = float.PositiveInfinity)
    {
        if (residual == null && TakesPlanar(g))
        {
            // 3×3 stride-2 stems: computed in NCHW directly, the weights read as they are (no pixel packing, no unblocking).
            ForwardPlanar(width, g, x, w, bias, relu ? MathF.Max(lo, 0f) : lo, hi, y);
            return;
        }
        var plan = PixelPlan.For(g, VectorLength(width));
        float* wb = PixelWeights(g, plan, w, key, out var holder);
        if (width == GemmPath.Vector512) RunPixels<Simd512, Vector512<float>>(g, plan, x, wb, bias, residual, relu, lo, hi, y);
        else if (width == GemmPath.Vector256) RunPixels<Simd256, Vector256<float>>(g, plan, x, wb, bias, residual, relu, lo, hi, y);
        else throw new PlatformNotSupportedException($"Conv2dDirect: no direct kernel for {width}.");
        GC.KeepAlive(holder);
    }

    /// <summary>
    /// y = clamp(conv(x, w) + bias + residual, lo, hi) for <see cref="TakesPixels"/> shapes, the clamp (ReLU6 of
    /// MobileNet-V2's stem) applied where the tasks unblock their rows: no second pass over y, which on 224×224 inputs
    /// is 1.6 MB that would go out to memory and back. NaN passes through, as in torch.clamp.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPixelsClamped(GemmPath width, in Conv2dGeometry g, float* x, float* w, float* bias, float* residual, float lo, float hi, float* y,
        WeightKey? key = null)
        => ForwardPixels(width, g, x, w, bias, residual, false, y, key, lo, hi);

    /// <summary>dst[grp][kh][kw][c][oc] = w[grp·B·V + oc, c, kh, kw] (B = plan.GroupBlocks), zero past the real output channels.</summary>
    public static void ReorderPixelWeights(in Conv2dGeometry g, in PixelPlan plan, float* w, float* dst)
    {
        int width = plan.GroupBlocks * plan.V, cin = g.InChannels, kH = g.KernelHeight, kW = g.KernelWidth;
        for (int grp = 0; grp < plan.Groups(g); grp++)
        for (int kh = 0; kh < kH; kh++)
        for (int kw = 0; kw < kW; kw++)
        for (int c = 0; c < cin; c++)
        {
            float* d = dst + ((((long)grp * kH + kh) * kW + kw) * cin + c) * width;
            for (int oc = 0; oc < width; oc++)
            {
                int o = grp * width + oc;
                d[oc] = o < g.OutChannels ? w[(((long)o * cin + c) * kH + kh) * kW + kw] : 0f;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float* PixelWeights(in Conv2dGeometry g, in PixelPlan plan, float* w, WeightKey? key, out float[] holder)
    {
        int length = checked((int)plan.WeightLength(g));
        if (key is { } k)
        {
            var fill = new PixelReorderFill { G = g, Plan = plan, W = w };
            var kept = TransformedWeights.Get(k, new WeightTransform(WeightTransformKind.DirectForwardPixels, plan.V, plan.GroupBlocks), length, ref fill);
            if (kept != null)
            {
                holder = kept;
                return TransformedWeights.Start(kept);
            }
        }
        float* scratch = ThreadScratch.Aligned(ref t_weights, length);
        holder = t_weights!;
        ReorderPixelWeights(g, plan, w, scratch);
        return scratch;
    }

    private struct PixelReorderFill : IWeightFill
    {
        public Conv2dGeometry G;
        public PixelPlan Plan;
        public float* W;

        public readonly void Fill(float* destination) => ReorderPixelWeights(G, Plan, W, destination);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunPixels<TS, TV>(in Conv2dGeometry g, in PixelPlan plan, float* x, float* wb, float* bias, float* residual, bool relu, float lo, float hi, float* y)
        where TS : struct, ISimdFloat<TV> where TV : struct
    {
        int v = TS.Length, groups = plan.Groups(g);
        int hp = g.InHeight + 2 * g.PadH, wp = g.InWidth + 2 * g.PadW;
        long inImage = (long)hp * wp * g.InChannels;
        var outShape = new BlockedShape(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, v);
        // Tasks: (image, group, row chunk); enough row chunks for about 8 tasks per thread (the stem has 1 image and 2 groups at batch 1).
        int rowChunks = Math.Clamp((8 * KernelThreads.Count + g.Batch * groups - 1) / (g.Batch * groups), 1, g.OutHeight);
        var body = new PixelBody
        {
            G = g, Plan = plan, W = wb, Groups = groups, RowChunks = rowChunks, ColumnTiles = plan.ColumnTiles(g),
            InImage = inImage, InRowPitch = (long)wp * g.InChannels, Out = outShape,
            Y = y, Bias = bias, Residual = residual, Relu = relu, Lo = lo, Hi = hi, Kernels = PixelKernels<TS, TV>(g, plan),
        };
        float[] xb = ArrayPool<float>.Shared.Rent(checked((int)(g.Batch * inImage) + CacheLine.SlackFloats));   // x: [N, Hp, Wp, Cin]
        float[] yb = ArrayPool<float>.Shared.Rent(checked((int)outShape.Length + CacheLine.SlackFloats));     // y: [N, OCB, Hout, Wout, V]
        try
        {
            fixed (float* xPinned = xb, yPinned = yb)
            {
                body.Xb = CacheLine.Align(xPinned);
                body.Yb = CacheLine.Align(yPinned);
                var pack = new PixelPackBody { Src = x, Dst = body.Xb, G = g, Hp = hp, Wp = wp };
                Conv2dKernels.RunParallel(g.Batch * hp, g.Batch * inImage, ref pack);
                Conv2dKernels.RunParallel(g.Batch * groups * rowChunks, (long)(g.ForwardFlops / 2), ref body);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xb);
            ArrayPool<float>.Shared.Return(yb);
        }
    }

    /// <summary>The pixel tiles of <paramref name="g"/>, indexed by (last group ? 2 : 0) + (last column tile ? 1 : 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static PixelKernelTable PixelKernels<TS, TV>(in Conv2dGeometry g, in PixelPlan plan) where TS : struct, ISimdFloat<TV> where TV : struct
    {
        var table = new PixelKernelTable();
        int rEdge = g.OutWidth - (plan.ColumnTiles(g) - 1) * plan.R, lastBlocks = plan.OutBlocks(g) - (plan.Groups(g) - 1) * plan.GroupBlocks;
        for (int i = 0; i < 4; i++)
            table[i] = (nint)PixelTile<TS, TV>((i & 1) != 0 ? rEdge : plan.R, (i & 2) != 0 ? lastBlocks : plan.GroupBlocks, g.StrideW * g.InChannels);
        return table;
    }

    /// <summary>One padded row of pixels: dst [n][hp][Wp][C] ← src [n][C][H][W], zero in the border.</summary>
    private struct PixelPackBody : IParallelBody
    {
        public float* Src, Dst;
        public Conv2dGeometry G;
        public int Hp, Wp;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int n = index / Hp, hp = index % Hp, c = G.InChannels, h = hp - G.PadH;
            float* row = Dst + ((long)n * Hp + hp) * Wp * c;
            if (h < 0 || h >= G.InHeight)
            {
                new Span<float>(row, Wp * c).Clear();
                return;
            }
            new Span<float>(row, G.PadW * c).Clear();
            new Span<float>(row + (long)(G.PadW + G.InWidth) * c, G.PadW * c).Clear();
            long plane = (long)G.InHeight * G.InWidth;
            float* src = Src + n * c * plane + (long)h * G.InWidth;
            float* d = row + (long)G.PadW * c;
            for (int ch = 0; ch < c; ch++)
            {
                float* s = src + ch * plane;
                for (int w = 0; w < G.InWidth; w++) d[w * c + ch] = s[w];
            }
        }
    }

    private struct PixelBody : IParallelBody
    {
        public Conv2dGeometry G;
        public PixelPlan Plan;
        public BlockedShape Out;
        public float* Xb, Yb, W, Y, Bias, Residual;
        public bool Relu;
        public float Lo, Hi;
        public long InImage, InRowPitch;
        public int Groups, RowChunks, ColumnTiles;
        /// <summary>Tile kernels indexed by (last group ? 2 : 0) + (last column tile ? 1 : 0).</summary>
        public PixelKernelTable Kernels;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            var g = G;
            int chunk = index % RowChunks, rest = index / RowChunks, grp = rest % Groups, n = rest / Groups;
            int oh0 = (int)((long)g.OutHeight * chunk / RowChunks), oh1 = (int)((long)g.OutHeight * (chunk + 1) / RowChunks);
            int v = Plan.V, r = Plan.R, run = PixelPlan.Run(g), kH = g.KernelHeight;
            nint wStep = (nint)Plan.GroupBlocks * v, xRowStep = (nint)(g.DilationH * InRowPitch), colStep = (nint)g.StrideW * g.InChannels;
            float* w = W + (long)grp * kH * run * wStep;
            float* yGroup = Yb + n * Out.ImageStride + (long)grp * Plan.GroupBlocks * Out.BlockStride;
            int groupIndex = grp == Groups - 1 ? 2 : 0;
            for (int oh = oh0; oh < oh1; oh++)
            {
                float* xRow = Xb + n * InImage + (long)oh * g.StrideH * InRowPitch;
                float* yRow = yGroup + oh * Out.RowPitch;
                for (int c = 0; c < ColumnTiles; c++)
                {
                    int ow0 = c * r;
                    var tile = (delegate*<float*, float*, float*, int, int, nint, nint, nint, void>)Kernels[groupIndex + (c == ColumnTiles - 1 ? 1 : 0)];
                    tile(xRow + ow0 * colStep, w, yRow + (long)ow0 * v, kH, run, wStep, xRowStep, (nint)Out.BlockStride);
                }
            }
            long outImage = (long)g.OutChannels * g.OutHeight * g.OutWidth;
            for (int cb = grp * Plan.GroupBlocks, end = Math.Min(Out.Blocks, cb + Plan.GroupBlocks); cb < end; cb++)
                ChannelBlocked.UnpackRows(Yb + n * Out.ImageStride, Out, cb, oh0, oh1, Y + n * outImage, Bias, Residual == null ? null : Residual + n * outImage, Relu, Lo, Hi);
        }
    }

    [InlineArray(4)]
    private struct PixelKernelTable
    {
        private nint first;
    }

    /// <summary>The pixel tiles a forward pass of <paramref name="g"/> calls (for <see cref="ForwardTileMethods"/>).</summary>
    private static IEnumerable<System.Reflection.MethodInfo> PixelTileMethods(GemmPath width, Conv2dGeometry g)
    {
        var plan = PixelPlan.For(g, VectorLength(width));
        var (simd, vector) = width == GemmPath.Vector512 ? (typeof(Simd512), typeof(Vector512<float>)) : (typeof(Simd256), typeof(Vector256<float>));
        int rEdge = g.OutWidth - (plan.ColumnTiles(g) - 1) * plan.R, lastBlocks = plan.OutBlocks(g) - (plan.Groups(g) - 1) * plan.GroupBlocks;
        foreach (var (r, o) in new[] { (plan.R, plan.GroupBlocks), (rEdge, plan.GroupBlocks), (plan.R, lastBlocks), (rEdge, lastBlocks) }.Distinct())
            yield return typeof(Conv2dDirectPixelTile<,,,,>).MakeGenericType(simd, vector, Constant(r), Constant(o), Constant(g.StrideW * g.InChannels))
                .GetMethod(nameof(Conv2dDirectPixelTile<Simd512, Vector512<float>, C1, C1, C1>.Run))!;
    }

    // ---- choosing the compiled pixel tile (R pixels, O blocks, pixel step) -------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, nint, nint, nint, void> PixelTile<TS, TV>(int r, int o, int step)
        where TS : struct, ISimdFloat<TV> where TV : struct => r switch
    {
        1 => PixelTileO<TS, TV, C1>(o, step),
        2 => PixelTileO<TS, TV, C2>(o, step),
        3 => PixelTileO<TS, TV, C3>(o, step),
        4 => PixelTileO<TS, TV, C4>(o, step),
        5 => PixelTileO<TS, TV, C5>(o, step),
        6 => PixelTileO<TS, TV, C6>(o, step),
        7 => PixelTileO<TS, TV, C7>(o, step),
        8 => PixelTileO<TS, TV, C8>(o, step),
        9 => PixelTileO<TS, TV, C9>(o, step),
        10 => PixelTileO<TS, TV, C10>(o, step),
        11 => PixelTileO<TS, TV, C11>(o, step),
        12 => PixelTileO<TS, TV, C12>(o, step),
        13 => PixelTileO<TS, TV, C13>(o, step),
        14 => PixelTileO<TS, TV, C14>(o, step),
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "Conv2dDirect: a pixel tile holds 1 to 14 pixels."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, nint, nint, nint, void> PixelTileO<TS, TV, TR>(int o, int step)
        where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant => o switch
    {
        1 => PixelTileStep<TS, TV, TR, C1>(step),
        2 => PixelTileStep<TS, TV, TR, C2>(step),
        3 => PixelTileStep<TS, TV, TR, C3>(step),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o, "Conv2dDirect: a pixel tile holds 1 to 3 channel blocks."),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static delegate*<float*, float*, float*, int, int, nint, nint, nint, void> PixelTileStep<TS, TV, TR, TO>(int step)
        where TS : struct, ISimdFloat<TV> where TV : struct where TR : struct, IConstant where TO : struct, IConstant => step switch
    {
        1 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C1>.Run,
        2 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C2>.Run,
        3 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C3>.Run,
        4 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C4>.Run,
        5 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C5>.Run,
        6 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C6>.Run,
        7 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C7>.Run,
        8 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C8>.Run,
        9 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C9>.Run,
        10 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C10>.Run,
        11 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C11>.Run,
        12 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C12>.Run,
        13 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C13>.Run,
        14 => &Conv2dDirectPixelTile<TS, TV, TR, TO, C14>.Run,
        _ => throw new ArgumentOutOfRangeException(nameof(step), step, "Conv2dDirect: a pixel tile's step (stride × channels) runs from 1 to 14."),
    };
}
