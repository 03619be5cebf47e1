using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dDirect
{
    /// <summary>
    /// Whether conv → ReLU → 2×2 stride-2 max pooling (floor mode, no padding) can run as one pass on the pixel-input
    /// path (<see cref="ForwardPixelsReluPool"/>): a <see cref="TakesPixels"/> shape with at least one window.
    /// </summary>
    public static bool TakesPixelsPool(in Conv2dGeometry g) => TakesPixels(g) && g.OutHeight >= 2 && g.OutWidth >= 2;

    /// <summary>
    /// pooled [N, Cout, ⌊Hout/2⌋, ⌊Wout/2⌋] = maxpool2×2/2(relu(conv(x, w) + bias)) for <see cref="TakesPixelsPool"/>
    /// shapes, VGG's first layer and its pool: each task computes two output rows at a time into a small per-thread
    /// scratch and pools them from there, so the full-size activation (12.8 MB at 224×224 × 64 channels, written blocked
    /// and then unblocked by the plain path) is never written, and the pool is no pass of its own. The values are those
    /// of the three ops run apart: ReLU as the unblocking store applies it, then the window's maximum, NaN if any tap is
    /// NaN (ReLU leaves no −0 for a tie to depend on). The plain twin is <see cref="Conv2dReference.ForwardReluPool2x2"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPixelsReluPool(GemmPath width, in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        Span<float> pooled, WeightKey? key = null)
    {
        if (!IsSupported(width) || !TakesPixelsPool(g)) throw new ArgumentException($"Conv2dDirect: cannot run {g} with ReLU and 2×2 pooling on {width}.");
        long pooledLength = (long)g.Batch * g.OutChannels * (g.OutHeight / 2) * (g.OutWidth / 2);
        g.CheckSpans("Direct.ForwardPixelsReluPool", x.Length, w.Length, checked((int)g.OutputLength));
        if ((!bias.IsEmpty && bias.Length != g.OutChannels) || pooled.Length != pooledLength)
            throw new ArgumentException($"Conv2dDirect.ForwardPixelsReluPool: bias has {bias.Length} elements (expected {g.OutChannels} or none) and pooled {pooled.Length} (expected {pooledLength}) for {g}.");
        var plan = PixelPlan.For(g, VectorLength(width));
        fixed (float* px = x, pw = w, pb = bias, py = pooled)
        {
            float* wb = PixelWeights(g, plan, pw, key, out var holder);
            if (width == GemmPath.Vector512) RunPixelsPool<Simd512, Vector512<float>>(g, plan, px, wb, bias.IsEmpty ? null : pb, py);
            else RunPixelsPool<Simd256, Vector256<float>>(g, plan, px, wb, bias.IsEmpty ? null : pb, py);
            GC.KeepAlive(holder);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunPixelsPool<TS, TV>(in Conv2dGeometry g, in PixelPlan plan, float* x, float* wb, float* bias, float* pooled)
        where TS : struct, ISimdFloat<TV> where TV : struct
    {
        int groups = plan.Groups(g), ph = g.OutHeight / 2;
        int hp = g.InHeight + 2 * g.PadH, wp = g.InWidth + 2 * g.PadW;
        long inImage = (long)hp * wp * g.InChannels;
        // Tasks: (image, group, chunk of pooled rows); about 8 per thread, as the plain path.
        int rowChunks = Math.Clamp((8 * KernelThreads.Count + g.Batch * groups - 1) / (g.Batch * groups), 1, ph);
        var body = new PixelPoolBody
        {
            G = g, Plan = plan, W = wb, Groups = groups, RowChunks = rowChunks, ColumnTiles = plan.ColumnTiles(g),
            InImage = inImage, InRowPitch = (long)wp * g.InChannels, Y = pooled, Bias = bias, Kernels = PixelKernels<TS, TV>(g, plan),
        };
        float[] xb = ArrayPool<float>.Shared.Rent(checked((int)(g.Batch * inImage) + CacheLine.SlackFloats)); // x: [N, Hp, Wp, Cin]
        try
        {
            fixed (float* xPinned = xb)
            {
                body.Xb = CacheLine.Align(xPinned);
                var pack = new PixelPackBody { Src = x, Dst = body.Xb, G = g, Hp = hp, Wp = wp };
                Conv2dKernels.RunParallel(g.Batch * hp, g.Batch * inImage, ref pack);
                Conv2dKernels.RunParallel(g.Batch * groups * rowChunks, (long)(g.ForwardFlops / 2), ref body);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xb);
        }
    }

    [ThreadStatic] private static float[]? t_poolRows;

    private struct PixelPoolBody : IParallelBody
    {
        public Conv2dGeometry G;
        public PixelPlan Plan;
        public float* Xb, W, Y, Bias;
        public long InImage, InRowPitch;
        public int Groups, RowChunks, ColumnTiles;
        /// <summary>Tile kernels indexed by (last group ? 2 : 0) + (last column tile ? 1 : 0).</summary>
        public PixelKernelTable Kernels;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            var g = G;
            int ph = g.OutHeight / 2, pw = g.OutWidth / 2;
            int chunk = index % RowChunks, rest = index / RowChunks, grp = rest % Groups, n = rest / Groups;
            int ph0 = (int)((long)ph * chunk / RowChunks), ph1 = (int)((long)ph * (chunk + 1) / RowChunks);
            int v = Plan.V, r = Plan.R, run = PixelPlan.Run(g), kH = g.KernelHeight;
            nint wStep = (nint)Plan.GroupBlocks * v, xRowStep = (nint)(g.DilationH * InRowPitch), colStep = (nint)g.StrideW * g.InChannels;
            nint rowFloats = (nint)g.OutWidth * v, blockStride = 2 * rowFloats;
            // rows: [GroupBlocks][2][Wout][V], two output rows of the group's blocks; then one pooled row [pw][V].
            float* rows = Scratch(ref t_poolRows, Plan.GroupBlocks * blockStride + (long)pw * v);
            float* pooledRow = rows + Plan.GroupBlocks * blockStride;
            float* w = W + (long)grp * kH * run * wStep;
            int groupIndex = grp == Groups - 1 ? 2 : 0;
            int cb0 = grp * Plan.GroupBlocks, cb1 = Math.Min(Plan.OutBlocks(g), cb0 + Plan.GroupBlocks);
            long plane = (long)ph * pw;
            float* yImage = Y + (long)n * g.OutChannels * plane;
            float* bias = stackalloc float[v];
            for (int p = ph0; p < ph1; p++)
            {
                for (int i = 0; i < 2; i++)
                {
                    float* xRow = Xb + n * InImage + (long)(2 * p + i) * g.StrideH * InRowPitch;
                    float* yRow = rows + i * rowFloats;
                    for (int c = 0; c < ColumnTiles; c++)
                    {
                        int ow0 = c * r;
                        var tile = (delegate*<float*, float*, float*, int, int, nint, nint, nint, void>)Kernels[groupIndex + (c == ColumnTiles - 1 ? 1 : 0)];
                        tile(xRow + ow0 * colStep, w, yRow + (long)ow0 * v, kH, run, wStep, xRowStep, blockStride);
                    }
                }
                for (int cb = cb0; cb < cb1; cb++)
                {
                    int c0 = cb * v, channels = Math.Min(v, g.OutChannels - c0);
                    for (int c = 0; c < v; c++) bias[c] = Bias != null && c < channels ? Bias[c0 + c] : 0f;
                    float* block = rows + (cb - cb0) * blockStride;
                    PoolRelu2x2(block, block + rowFloats, pw, v, bias, pooledRow);
                    StorePlanes(pooledRow, pw, v, channels, yImage + c0 * plane + (long)p * pw, plane);
                }
            }
        }
    }

    /// <summary>
    /// dst[j] (V channels of pooled pixel j) = max over the 2×2 window of relu(row + bias), row0 and row1 two output rows
    /// [Wout][V] of one block: the max propagates NaN, as the pooling op does (Vector.Max and MathF.Max are IEEE maximum).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PoolRelu2x2(float* row0, float* row1, int pw, int v, float* bias, float* dst)
    {
        if (v == 16 && Vector512.IsHardwareAccelerated)
        {
            var b = Vector512.Load(bias);
            for (int j = 0; j < pw; j++)
            {
                float* a = row0 + 2 * j * 16, c = row1 + 2 * j * 16;
                var m0 = Vector512.Max(Vector512.Max(Vector512.Load(a) + b, Vector512<float>.Zero), Vector512.Max(Vector512.Load(a + 16) + b, Vector512<float>.Zero));
                var m1 = Vector512.Max(Vector512.Max(Vector512.Load(c) + b, Vector512<float>.Zero), Vector512.Max(Vector512.Load(c + 16) + b, Vector512<float>.Zero));
                Vector512.Store(Vector512.Max(m0, m1), dst + j * 16);
            }
            return;
        }
        if (v == 8 && Vector256.IsHardwareAccelerated)
        {
            var b = Vector256.Load(bias);
            for (int j = 0; j < pw; j++)
            {
                float* a = row0 + 2 * j * 8, c = row1 + 2 * j * 8;
                var m0 = Vector256.Max(Vector256.Max(Vector256.Load(a) + b, Vector256<float>.Zero), Vector256.Max(Vector256.Load(a + 8) + b, Vector256<float>.Zero));
                var m1 = Vector256.Max(Vector256.Max(Vector256.Load(c) + b, Vector256<float>.Zero), Vector256.Max(Vector256.Load(c + 8) + b, Vector256<float>.Zero));
                Vector256.Store(Vector256.Max(m0, m1), dst + j * 8);
            }
            return;
        }
        for (int j = 0; j < pw; j++)
        for (int k = 0; k < v; k++)
        {
            float* a = row0 + 2 * j * v + k, c = row1 + 2 * j * v + k;
            float m0 = MathF.Max(MathF.Max(a[0] + bias[k], 0f), MathF.Max(a[v] + bias[k], 0f));
            float m1 = MathF.Max(MathF.Max(c[0] + bias[k], 0f), MathF.Max(c[v] + bias[k], 0f));
            dst[j * v + k] = MathF.Max(m0, m1);
        }
    }

    /// <summary>
    /// One pooled row [count][V] of a block into its NCHW planes: channel c's run of <paramref name="count"/> pixels at
    /// dst + c·plane. V × V transposes (the last one overlapping the one before), the rest element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StorePlanes(float* src, int count, int v, int channels, float* dst, long plane)
    {
        int p0 = 0;
        if (channels == v && count >= v)
        {
            float* block = stackalloc float[v * v]; // [V channels][V pixels]
            for (; ; p0 += v)
            {
                int at = Math.Min(p0, count - v);
                if (!Transpose.TryBlock(v, src + at * v, v, block, v)) break;
                for (int c = 0; c < v; c++)
                {
                    if (v == 16) Vector512.Store(Vector512.Load(block + c * 16), dst + c * plane + at);
                    else Vector256.Store(Vector256.Load(block + c * 8), dst + c * plane + at);
                }
                if (at == count - v) { p0 = count; break; }
            }
        }
        for (int c = 0; c < channels && p0 < count; c++)
            for (int p = p0; p < count; p++) dst[c * plane + p] = src[p * v + c];
    }
}
