using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dDirect
{
    /// <summary>
    /// Whether conv → ReLU → max pool <paramref name="pool"/> can run as one pass on the pixel-input path
    /// (<see cref="ForwardPixelsReluPool"/>): a <see cref="TakesPixels"/> shape whose output planes are the pool's input,
    /// at least one window, and a window of at most <see cref="MaxPoolRows"/> rows (the rows a task keeps).
    /// </summary>
    public static bool TakesPixelsPool(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        TakesPixels(g) && pool.Planes == g.Batch * g.OutChannels && pool.InH == g.OutHeight && pool.InW == g.OutWidth
        && pool.OutH >= 1 && pool.OutW >= 1 && pool.KernelH >= 1 && pool.KernelH <= MaxPoolRows && pool.KernelW >= 1
        && pool.StrideH >= 1 && pool.StrideW >= 1 && pool.PadH >= 0 && pool.PadW >= 0 && 2 * pool.PadH <= pool.KernelH && 2 * pool.PadW <= pool.KernelW;

    /// <summary>Rows of a pooling window <see cref="ForwardPixelsReluPool"/> takes (its ring of convolution rows).</summary>
    public const int MaxPoolRows = 8;

    /// <summary>
    /// pooled [N, Cout, OutH, OutW] = maxpool(relu(conv(x, w) + bias)) for <see cref="TakesPixelsPool"/> shapes: the stems
    /// of VGG (2×2/2 pool), GoogLeNet and AlexNet (3×3/2), ResNet (3×3/2, padding 1). Each task computes the output rows
    /// its pooled rows read into a small ring of rows per thread and pools them from there with bias and ReLU, so the
    /// full-size activation (12.8 MB for VGG at 224×224, written blocked and then unblocked by the plain path) is never
    /// written, and the pool is no pass of its own. The values are those of the ops run apart: ReLU as the unblocking
    /// store applies it, then the window's maximum over the taps inside the plane, NaN if any is NaN (Vector.Max is the
    /// IEEE maximum; ReLU leaves no −0 for a tie to depend on). The plain twin is <see cref="Conv2dReference.ForwardReluMaxPool"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPixelsReluPool(GemmPath width, in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> pooled, WeightKey? key = null)
    {
        if (!IsSupported(width) || !TakesPixelsPool(g, pool)) throw new ArgumentException($"Conv2dDirect: cannot run {g} with ReLU and pooling {pool} on {width}.");
        long pooledLength = (long)pool.Planes * pool.OutPlane;
        g.CheckSpans("Direct.ForwardPixelsReluPool", x.Length, w.Length, checked((int)g.OutputLength));
        if ((!bias.IsEmpty && bias.Length != g.OutChannels) || pooled.Length != pooledLength)
            throw new ArgumentException($"Conv2dDirect.ForwardPixelsReluPool: bias has {bias.Length} elements (expected {g.OutChannels} or none) and pooled {pooled.Length} (expected {pooledLength}) for {g}.");
        var plan = PixelPlan.For(g, VectorLength(width));
        fixed (float* px = x, pw = w, pb = bias, py = pooled)
        {
            float* wb = PixelWeights(g, plan, pw, key, out var holder);
            if (width == GemmPath.Vector512) RunPixelsPool<Simd512, Vector512<float>>(g, pool, plan, px, wb, bias.IsEmpty ? null : pb, py);
            else RunPixelsPool<Simd256, Vector256<float>>(g, pool, plan, px, wb, bias.IsEmpty ? null : pb, py);
            GC.KeepAlive(holder);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunPixelsPool<TS, TV>(in Conv2dGeometry g, in Pool2dGeometry pool, in PixelPlan plan, float* x, float* wb, float* bias, float* pooled)
        where TS : struct, ISimdFloat<TV> where TV : struct
    {
        int groups = plan.Groups(g);
        int hp = g.InHeight + 2 * g.PadH, wp = g.InWidth + 2 * g.PadW;
        long inImage = (long)hp * wp * g.InChannels;
        // Tasks: (image, group, chunk of pooled rows). Windows that overlap (3×3/2) make each chunk compute the rows it
        // shares with the one before again: about 4 tasks per thread then (GoogLeNet's stem: 1 row in 28), else 8.
        int perThread = pool.KernelH > pool.StrideH ? 4 : 8;
        int rowChunks = Math.Clamp((perThread * KernelThreads.Count + g.Batch * groups - 1) / (g.Batch * groups), 1, pool.OutH);
        var body = new PixelPoolBody<TS, TV>
        {
            G = g, Pool = pool, Plan = plan, W = wb, Groups = groups, RowChunks = rowChunks, ColumnTiles = plan.ColumnTiles(g),
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

    private struct PixelPoolBody<TS, TV> : IParallelBody where TS : struct, ISimdFloat<TV> where TV : struct
    {
        public Conv2dGeometry G;
        public Pool2dGeometry Pool;
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
            var pool = Pool;
            int chunk = index % RowChunks, rest = index / RowChunks, grp = rest % Groups, n = rest / Groups;
            int q0 = (int)((long)pool.OutH * chunk / RowChunks), q1 = (int)((long)pool.OutH * (chunk + 1) / RowChunks);
            int v = TS.Length, r = Plan.R, run = PixelPlan.Run(g), kH = g.KernelHeight, ring = pool.KernelH;
            nint wStep = (nint)Plan.GroupBlocks * v, xRowStep = (nint)(g.DilationH * InRowPitch), colStep = (nint)g.StrideW * g.InChannels;
            nint rowFloats = (nint)g.OutWidth * v, blockStride = ring * rowFloats;
            // rows: [GroupBlocks][ring][Wout][V], output row h of the group's blocks in slot h % ring; then the window rows'
            // maximum [Wout][V] and one pooled row [OutW][V].
            float* rows = ThreadScratch.Aligned(ref t_poolRows, Plan.GroupBlocks * blockStride + rowFloats + (long)pool.OutW * v);
            float* columnMax = rows + Plan.GroupBlocks * blockStride, pooledRow = columnMax + rowFloats;
            float* w = W + (long)grp * kH * run * wStep;
            int groupIndex = grp == Groups - 1 ? 2 : 0;
            int cb0 = grp * Plan.GroupBlocks, cb1 = Math.Min(Plan.OutBlocks(g), cb0 + Plan.GroupBlocks);
            float* yImage = Y + (long)n * g.OutChannels * pool.OutPlane;
            float* biases = stackalloc float[cb1 - cb0 == 0 ? v : (cb1 - cb0) * v]; // [blocks][V], zero past the real channels
            for (int cb = cb0; cb < cb1; cb++)
            for (int c = 0; c < v; c++)
                biases[(cb - cb0) * v + c] = Bias != null && cb * v + c < g.OutChannels ? Bias[cb * v + c] : 0f;
            int next = 0; // the first output row not yet computed into the ring
            for (int q = q0; q < q1; q++)
            {
                int lo = Math.Max(0, q * pool.StrideH - pool.PadH), hi = Math.Min(g.OutHeight, q * pool.StrideH - pool.PadH + pool.KernelH);
                for (int h = Math.Max(lo, q == q0 ? lo : next); h < hi; h++)
                {
                    float* xRow = Xb + n * InImage + (long)h * g.StrideH * InRowPitch;
                    float* yRow = rows + h % ring * rowFloats;
                    for (int c = 0; c < ColumnTiles; c++)
                    {
                        int ow0 = c * r;
                        var tile = (delegate*<float*, float*, float*, int, int, nint, nint, nint, void>)Kernels[groupIndex + (c == ColumnTiles - 1 ? 1 : 0)];
                        tile(xRow + ow0 * colStep, w, yRow + (long)ow0 * v, kH, run, wStep, xRowStep, blockStride);
                    }
                }
                next = hi;
                for (int cb = cb0; cb < cb1; cb++)
                {
                    int channels = Math.Min(v, g.OutChannels - cb * v);
                    PoolRow(rows + (cb - cb0) * blockStride, rowFloats, lo, hi, TS.Load(biases + (cb - cb0) * v), pool, g.OutWidth, columnMax, pooledRow);
                    StorePlanes(pooledRow, pool.OutW, v, channels, yImage + (long)cb * v * pool.OutPlane + (long)q * pool.OutW, pool.OutPlane);
                }
            }
        }

        /// <summary>
        /// dst[j] (V channels of pooled pixel j) = the maximum over window j of relu(rows [lo, hi) + bias) of one block's
        /// ring (taps inside the plane only): first down the window's rows into columnMax [Wout][V], then across each
        /// window's columns. Bias and ReLU are applied as the unblocking store applies them, once per tap read.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void PoolRow(float* block, nint rowFloats, int lo, int hi, TV bias, in Pool2dGeometry pool, int width, float* columnMax, float* dst)
        {
            int v = TS.Length, count = hi - lo;
            // The window's rows, found once per pooled row (a modulo per tap cost VGG's layer a quarter more time).
            float* r0 = block + lo % pool.KernelH * rowFloats;
            float* r1 = count > 1 ? block + (lo + 1) % pool.KernelH * rowFloats : r0;
            float* r2 = count > 2 ? block + (lo + 2) % pool.KernelH * rowFloats : r1;
            for (nint p = 0, end = (nint)width * v; p < end; p += v)
            {
                TV m = TS.Max(TS.Max(TS.Add(TS.Load(r0 + p), bias), TS.Zero), TS.Max(TS.Add(TS.Load(r1 + p), bias), TS.Zero));
                if (count > 2) m = TS.Max(m, TS.Max(TS.Add(TS.Load(r2 + p), bias), TS.Zero));
                for (int h = lo + 3; h < hi; h++) m = TS.Max(m, TS.Max(TS.Add(TS.Load(block + h % pool.KernelH * rowFloats + p), bias), TS.Zero));
                TS.Store(m, columnMax + p);
            }
            int kW = pool.KernelW, sW = pool.StrideW, pW = pool.PadW;
            for (int j = 0; j < pool.OutW; j++)
            {
                int c0 = j * sW - pW, c1 = c0 + kW;
                float* t = columnMax + (long)c0 * v;
                if (c0 >= 0 && c1 <= width && kW == 2) TS.Store(TS.Max(TS.Load(t), TS.Load(t + v)), dst + (long)j * v);
                else if (c0 >= 0 && c1 <= width && kW == 3) TS.Store(TS.Max(TS.Max(TS.Load(t), TS.Load(t + v)), TS.Load(t + 2 * v)), dst + (long)j * v);
                else
                {
                    c0 = Math.Max(0, c0);
                    c1 = Math.Min(width, c1);
                    TV m = TS.Load(columnMax + (long)c0 * v);
                    for (int c = c0 + 1; c < c1; c++) m = TS.Max(m, TS.Load(columnMax + (long)c * v));
                    TS.Store(m, dst + (long)j * v);
                }
            }
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
