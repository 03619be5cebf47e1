using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dDirect
{
    /// <summary>
    /// Whether conv → ReLU → max pool <paramref name="pool"/> can run as one pass on the channel-blocked direct path at
    /// <paramref name="width"/> (<see cref="ForwardReluPool"/>): a direct shape off the pixel-input path whose output
    /// planes are the pool's input, and unpadded 2×2 or 3×3 windows of stride 2 that start inside the plane (VGG's 2×2/2
    /// after each block; GoogLeNet's 3×3/2 in ceil mode after conv3, whose last window is cut by the plane's edge), so
    /// each task pools the rows it computed: its chunks of rows start at a window's first row. 3×3 windows overlap
    /// (<see cref="OverlappingBlockedPool"/>): a chunk also computes the first row of the next chunk's first window, so
    /// each task keeps its rows in its own scratch (<see cref="TaskOutput"/>), never in a blocked output tasks share.
    /// </summary>
    public static bool TakesBlockedPool(GemmPath width, in Conv2dGeometry g, in Pool2dGeometry pool) =>
        IsSupported(width) && Supports(g) && !TakesPixels(g) && pool.Planes == g.Batch * g.OutChannels
        && pool.InH == g.OutHeight && pool.InW == g.OutWidth && pool.OutH >= 1 && pool.OutW >= 1
        && pool.StrideH == 2 && pool.StrideW == 2 && pool.PadH == 0 && pool.PadW == 0
        && ((pool.KernelH == 2 && pool.KernelW == 2) || (pool.KernelH == 3 && pool.KernelW == 3 && OverlappingBlockedPool && TaskOutput))
        && (pool.OutH - 1) * 2 < g.OutHeight && (pool.OutW - 1) * 2 < g.OutWidth
        && 2 % DirectPlan.For(g, VectorLength(width)).ImageRows == 0;

    /// <summary>For benchmarks: whether 3×3/2 pools (overlapping windows) run inside the blocked convolution too (else 2×2/2 only).</summary>
    internal static bool OverlappingBlockedPool = true;

    /// <summary>
    /// pooled [N, Cout, OutH, OutW] = maxpool(relu(conv(x, w) + bias)) for <see cref="TakesPixelsPool"/> shapes (the
    /// pixel-input stems) or <see cref="TakesBlockedPool"/> ones (VGG's 3×3 → ReLU → 2×2/2 pool, GoogLeNet's conv3 → 3×3/2). On the blocked path each
    /// task pools the output rows it computed, from its core's cache, as it would unblock them (the bias, ReLU, the window's
    /// maximum: <see cref="PoolRows"/>), so the full-size activation is neither written in NCHW nor read back by a pool
    /// of its own (VGG-11's 64→128 on 112×112: 6.4 MB). The plain twin is <see cref="Conv2dReference.ForwardReluMaxPool"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardReluPool(GemmPath width, in Conv2dGeometry g, in Pool2dGeometry pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> pooled, WeightKey? key = null)
    {
        if (TakesPixelsPool(g, pool) && IsSupported(width))
        {
            ForwardPixelsReluPool(width, g, pool, x, w, bias, pooled, key);
            return;
        }
        if (!TakesBlockedPool(width, g, pool)) throw new ArgumentException($"Conv2dDirect: cannot run {g} with ReLU and pooling {pool} on {width}.");
        long pooledLength = (long)pool.Planes * pool.OutPlane;
        g.CheckSpans("Direct.ForwardReluPool", x.Length, w.Length, checked((int)g.OutputLength));
        if ((!bias.IsEmpty && bias.Length != g.OutChannels) || pooled.Length != pooledLength)
            throw new ArgumentException($"Conv2dDirect.ForwardReluPool: bias has {bias.Length} elements (expected {g.OutChannels} or none) and pooled {pooled.Length} (expected {pooledLength}) for {g}.");
        var plan = DirectPlan.For(g, VectorLength(width));
        fixed (float* px = x, pw = w, pb = bias, py = pooled)
        {
            float* wb = BlockedWeights(g, plan, WeightTransformKind.DirectForward, pw, key, out var holder);
            if (width == GemmPath.Vector512) Run<Simd512, Vector512<float>>(g, plan, px, wb, bias.IsEmpty ? null : pb, null, true, py, pool);
            else Run<Simd256, Vector256<float>>(g, plan, px, wb, bias.IsEmpty ? null : pb, null, true, py, pool);
            GC.KeepAlive(holder);
        }
    }

    /// <summary>Whether a task's output rows stay whole windows of <paramref name="pool"/> (chunks of pooled rows, not of tile rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int T0, int T1, int Q0, int Q1) PooledChunk(in Conv2dGeometry g, in DirectPlan plan, in Pool2dGeometry pool, int chunk, int chunks)
    {
        int q0 = (int)((long)pool.OutH * chunk / chunks), q1 = (int)((long)pool.OutH * (chunk + 1) / chunks);
        // The chunk's last window ends KernelH − StrideH rows into the next chunk's (3×3/2: one row both compute).
        int rows = plan.ImageRows, h1 = q1 > q0 ? Math.Min(g.OutHeight, (q1 - 1) * pool.StrideH + pool.KernelH) : q0 * pool.StrideH;
        return (q0 * pool.StrideH / rows, (h1 + rows - 1) / rows, q0, q1);
    }

    /// <summary>
    /// Pooled rows [q0, q1) of block <paramref name="cb"/> of one image: pooledImage [C, OutH, OutW] ← the window's maximum
    /// of relu(srcImage [Blocks, H, W, V] + bias) over its taps inside the plane, NaN if any tap is NaN (as the pixel path's <c>PoolRow</c>, which this
    /// calls on rows of the blocked plane rather than of its ring).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PoolRows<TS, TV>(float* srcImage, in BlockedShape s, int cb, int q0, int q1, in Pool2dGeometry pool, float* pooledImage, float* bias)
        where TS : struct, ISimdFloat<TV> where TV : struct
    {
        int v = TS.Length, c0 = cb * v, channels = Math.Min(v, s.Channels - c0);
        float* biases = stackalloc float[v]; // zero past the real channels
        for (int c = 0; c < v; c++) biases[c] = bias != null && c < channels ? bias[c0 + c] : 0f;
        TV b = TS.Load(biases);
        nint rowFloats = (nint)s.Width * v;
        float* columnMax = ThreadScratch.Aligned(ref t_poolRows, rowFloats + (long)pool.OutW * v), pooledRow = columnMax + rowFloats; // [W][V] column maxima, [OutW][V] pooled
        float* plane = srcImage + cb * s.BlockStride; // [H, W, V]
        for (int q = q0; q < q1; q++)
        {
            int lo = q * pool.StrideH;
            PixelPoolBody<TS, TV>.PoolRow(plane + lo * rowFloats, rowFloats, 0, Math.Min(pool.KernelH, s.Height - lo), b, pool, s.Width, columnMax, pooledRow);
            StorePlanes(pooledRow, pool.OutW, v, channels, pooledImage + (long)c0 * pool.OutPlane + (long)q * pool.OutW, pool.OutPlane);
        }
    }
}
