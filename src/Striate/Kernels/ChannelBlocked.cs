using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// The shape of a channel-blocked activation tensor, oneDNN's nChw16c / nChw8c: channels are cut into blocks of
/// V (the SIMD width), and the V channels of one pixel are adjacent, so one vector load reads one pixel of a block.
/// Channels past <see cref="Channels"/> are zero, and so is a border of PadH rows and PadW columns around each plane
/// (a convolution then reads its padding like any other input and needs no bounds checks).
/// Shapes: [Batch, Blocks = ceil(Channels / V), Height + 2·PadH, Width + 2·PadW, V].
/// </summary>
internal readonly record struct BlockedShape(int Batch, int Channels, int Height, int Width, int V, int PadH = 0, int PadW = 0)
{
    public int Blocks => (Channels + V - 1) / V;
    public int PaddedHeight => Height + 2 * PadH;
    public int PaddedWidth => Width + 2 * PadW;
    /// <summary>Floats from one padded row to the next.</summary>
    public long RowPitch => (long)PaddedWidth * V;
    /// <summary>Floats from one channel block to the next.</summary>
    public long BlockStride => PaddedHeight * RowPitch;
    /// <summary>Floats from one image to the next.</summary>
    public long ImageStride => Blocks * BlockStride;
    public long Length => Batch * ImageStride;
}

/// <summary>
/// Conversions between NCHW and <see cref="BlockedShape"/>: <see cref="Pack"/> at the input of a blocked
/// convolution, <see cref="Unpack"/> at its output, where it also applies the convolution's epilogue
/// (bias, residual add, ReLU) on the way, so the epilogue costs no extra pass over memory.
/// </summary>
internal static unsafe partial class ChannelBlocked
{
    /// <summary>dst (blocked, padded, zero border and zero missing channels) ← src [N, C, H, W]. Overwrites all of dst.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(float* src, in BlockedShape s, float* dst)
    {
        var body = new PackBody { Src = src, Dst = dst, S = s };
        Conv2dKernels.RunParallel(s.Batch * s.Blocks, s.Length, ref body);
    }

    private struct PackBody : IParallelBody
    {
        public float* Src, Dst;
        public BlockedShape S;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            int n = index / S.Blocks, cb = index % S.Blocks;
            PackBlock(Src + n * (long)S.Channels * S.Height * S.Width, S, cb, Dst + n * S.ImageStride);
        }
    }

    /// <summary>For benchmarks: whether <see cref="PackBlock"/> prefetches its block's source before copying it.</summary>
    internal static bool PrefetchSource = true;

    /// <summary>
    /// Largest channel plane (pixels) whose block <see cref="PackBlock"/> prefetches (STRIATE_BENCH_PACK_PREFETCH_PLANE=0:
    /// every plane, as before). A 7×7 or 14×14 plane is 3–13 lines, too short for the hardware prefetchers; a 28×28 or
    /// 56×56 plane (3–12 KiB) is a run they follow, and asking for its whole block (25–100 KiB, more than L1) first made
    /// the pack slower: ResNet-50's batch-1 inputs on Zen 3 (AVX2, 2 threads, calls alternated, quiet), p10 128×56×56
    /// 0.109 → 0.089 ms, 64×56×56 0.060 → 0.051, 256×28×28 0.068 → 0.058, 128×28×28 0.038 → 0.033; 14×14 and 7×7 even
    /// (bench/RESULTS.md 2026-12-06 11:50).
    /// </summary>
    internal static int PrefetchMaxPlane = 256;

    /// <summary>Block <paramref name="cb"/> of one image: dstImage [Blocks, Hp, Wp, V] ← srcImage [C, H, W].</summary>
    // AggressiveOptimization (here and on the other loops of this file): compiled optimized at once, so the first
    // runs of an inference session (a short-lived process) do not run tier-0 code while the JIT catches up.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackBlock(float* srcImage, in BlockedShape s, int cb, float* dstImage)
    {
        {
            int V = s.V;
            int c0 = cb * V, channels = Math.Min(V, s.Channels - c0);
            float* plane = dstImage + cb * s.BlockStride; // [Hp, Wp, V]
            long plane2d = (long)s.Height * s.Width;
            // The block's V channel planes are one run of memory, read below V planes at a time: on small maps each plane
            // is a few lines, too short for the hardware prefetchers. conv3x3_512_512_7 b32: packing 0.8–1.1 ms in the
            // forward against 0.2 ms with the input in L3 (bench/RESULTS.md 2026-12-05 02:47–03:53).
            if (PrefetchSource && plane2d <= PrefetchMaxPlane) CacheLine.Prefetch(srcImage + c0 * plane2d, channels * plane2d);
            if (channels < V || s.PadH > 0 || s.PadW > 0)
            {
                // Zero what the copy below does not write: whole plane when channels are missing, else the border.
                if (channels < V) new Span<float>(plane, (int)s.BlockStride).Clear();
                else
                {
                    new Span<float>(plane, (int)(s.PadH * s.RowPitch)).Clear();
                    new Span<float>(plane + (s.PadH + s.Height) * s.RowPitch, (int)(s.PadH * s.RowPitch)).Clear();
                    for (int h = 0; h < s.Height; h++)
                    {
                        float* row = plane + (s.PadH + h) * s.RowPitch;
                        new Span<float>(row, s.PadW * V).Clear();
                        new Span<float>(row + (long)(s.PadW + s.Width) * V, s.PadW * V).Clear();
                    }
                }
            }
            if (channels == V && s.Width < V && plane2d >= V && PackRunsOfPixels(srcImage + c0 * plane2d, s, plane)) return;
            for (int h = 0; h < s.Height; h++)
            {
                float* row = plane + (s.PadH + h) * s.RowPitch + (long)s.PadW * V; // [W, V]
                float* from = srcImage + c0 * plane2d + (long)h * s.Width; // channel c at + c·H·W
                int w0 = 0;
                if (channels == V && s.Width >= V)
                {
                    // V pixels × V channels at a time; the last block overlaps its neighbour instead of a scalar tail.
                    for (; ; w0 += V)
                    {
                        int at = Math.Min(w0, s.Width - V);
                        if (!Transpose.TryBlock(V, from + at, (nint)plane2d, row + (long)at * V, V)) break;
                        if (at == s.Width - V) { w0 = s.Width; break; }
                    }
                }
                for (int c = 0; c < channels && w0 < s.Width; c++)
                {
                    float* srcRow = from + c * plane2d;
                    float* d = row + c;
                    for (int w = w0; w < s.Width; w++) d[w * V] = srcRow[w];
                }
            }
        }
    }

    /// <summary>
    /// The pixels of one full block whose rows are narrower than a vector (14×14 and 7×7 maps at V = 16, 7×7 at V = 8),
    /// which the row-wise transposes of <see cref="PackBlock"/> cannot take: V channels × V pixels at a time along the
    /// flattened plane (the last run overlapping its neighbour), transposed into a stack block and each pixel's vector
    /// stored at its place in the padded plane. The element-by-element copy it replaces took 5 % of ResNet-18's
    /// conv3x3_256_256_14 forward + backward. False (nothing written) when this ISA has no transpose for V.
    /// </summary>
    private static bool PackRunsOfPixels(float* channels, in BlockedShape s, float* plane)
    {
        int V = s.V, W = s.Width;
        long pixels = (long)s.Height * W;
        if (V == 8 && InRegisters8 && System.Runtime.Intrinsics.X86.Avx.IsSupported) return PackRunsOfPixels8(channels, s, plane);
        float* block = stackalloc float[V * V]; // [V pixels, V channels]
        for (long p0 = 0; ; p0 += V)
        {
            long at = Math.Min(p0, pixels - V);
            if (!Transpose.TryBlock(V, channels + at, (nint)pixels, block, V)) return false;
            for (int i = 0; i < V; i++)
            {
                long p = at + i;
                float* d = plane + (s.PadH + p / W) * s.RowPitch + (s.PadW + p % W) * V;
                if (V == 16) Vector512.Store(Vector512.Load(block + i * V), d);
                else Vector256.Store(Vector256.Load(block + i * V), d);
            }
            if (at == pixels - V) return true;
        }
    }

    /// <summary>The plain twin of <see cref="PackBlock"/>: element by element (the specification of the blocked layout).</summary>
    internal static void PackBlockReference(float* srcImage, in BlockedShape s, int cb, float* dstImage)
    {
        int V = s.V, c0 = cb * V;
        float* plane = dstImage + cb * s.BlockStride; // [Hp, Wp, V]
        for (int hp = 0; hp < s.PaddedHeight; hp++)
        for (int wp = 0; wp < s.PaddedWidth; wp++)
        for (int c = 0; c < V; c++)
        {
            int h = hp - s.PadH, w = wp - s.PadW;
            bool inside = c0 + c < s.Channels && (uint)h < (uint)s.Height && (uint)w < (uint)s.Width;
            plane[hp * s.RowPitch + (long)wp * V + c] = inside ? srcImage[((long)(c0 + c) * s.Height + h) * s.Width + w] : 0f;
        }
    }

    /// <summary>
    /// dst [N, C, H, W] ← act(src + bias + residual) for the real channels of src (blocked, no padding): bias [C] and
    /// residual [N, C, H, W] optional (null), act ReLU when <paramref name="relu"/>. Overwrites all of dst.
    /// </summary>
    public static void Unpack(float* src, in BlockedShape s, float* dst, float* bias, float* residual, bool relu)
    {
        var body = new UnpackBody { Src = src, Dst = dst, S = s, Bias = bias, Residual = residual, Relu = relu };
        Conv2dKernels.RunParallel(s.Batch * s.Blocks, s.Length, ref body);
    }

    private struct UnpackBody : IParallelBody
    {
        public float* Src, Dst, Bias, Residual;
        public BlockedShape S;
        public bool Relu;

        public readonly void Invoke(int index)
        {
            int n = index / S.Blocks, cb = index % S.Blocks;
            long image = (long)S.Channels * S.Height * S.Width;
            UnpackBlock(Src + n * S.ImageStride, S, cb, Dst + n * image, Bias, Residual == null ? null : Residual + n * image, Relu);
        }
    }

    /// <summary>Block <paramref name="cb"/> of one image: dstImage [C, H, W] ← act(srcImage [Blocks, H, W, V] + bias + residualImage).</summary>
    public static void UnpackBlock(float* srcImage, in BlockedShape s, int cb, float* dstImage, float* bias, float* residualImage, bool relu)
        => UnpackRows(srcImage, s, cb, 0, s.Height, dstImage, bias, residualImage, relu);

    /// <summary>
    /// Rows [h0, h1) of block <paramref name="cb"/> of one image, as <see cref="UnpackBlock"/> (a kernel task unblocks
    /// the rows it computed while they are still in its cache).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UnpackRows(float* srcImage, in BlockedShape s, int cb, int h0, int h1, float* dstImage, float* bias, float* residualImage, bool relu,
        float clampLo = float.NegativeInfinity, float clampHi = float.PositiveInfinity)
    {
        {
            int V = s.V;
            int c0 = cb * V, channels = Math.Min(V, s.Channels - c0);
            long plane2d = (long)s.Height * s.Width, pEnd = (long)h1 * s.Width; // pixels [p0, pEnd) of the plane
            float* plane = srcImage + cb * s.BlockStride; // [H, W, V]
            long p0 = (long)h0 * s.Width;
            if (V == 8 && channels == V && pEnd - p0 >= V && InRegisters8 && System.Runtime.Intrinsics.X86.Avx.IsSupported)
                p0 = UnpackRuns8(plane, p0, pEnd, dstImage + c0 * plane2d, plane2d, bias == null ? null : bias + c0,
                    residualImage == null ? null : residualImage + c0 * plane2d, relu, clampLo, clampHi);
            if (channels == V && pEnd - p0 >= V)
            {
                float* block = stackalloc float[V * V]; // [V channels, V pixels]
                for (; ; p0 += V)
                {
                    long at = Math.Min(p0, pEnd - V);
                    if (!Transpose.TryBlock(V, plane + at * V, V, block, V)) break;
                    for (int c = 0; c < V; c++)
                    {
                        long offset = (c0 + c) * plane2d + at;
                        Epilogue(block + c * V, V, bias == null ? 0f : bias[c0 + c], residualImage == null ? null : residualImage + offset, relu, dstImage + offset, clampLo, clampHi);
                    }
                    if (at == pEnd - V) { p0 = pEnd; break; }
                }
            }
            for (int c = 0; c < channels && p0 < pEnd; c++)
            {
                long offset = (c0 + c) * plane2d;
                float* d = dstImage + offset;
                float* r = residualImage == null ? null : residualImage + offset;
                float b = bias == null ? 0f : bias[c0 + c];
                float* from = plane + c;
                for (long p = p0; p < pEnd; p++)
                {
                    float v = from[p * V] + b;
                    if (r != null) v += r[p];
                    if (relu) v = MathF.Max(v, 0f);
                    // NaN passes through (comparisons with it are false), as torch.clamp.
                    if (v < clampLo) v = clampLo;
                    if (v > clampHi) v = clampHi;
                    d[p] = v;
                }
            }
        }
    }

    /// <summary>
    /// Rows [h0, h1) of block <paramref name="cb"/> of one blocked image in place, v = act(v + bias + residual), a vector
    /// (V channels) per pixel: the epilogue of a direct convolution whose output stays blocked
    /// (<see cref="Conv2dDirect.ForwardBlocked"/>). plane and residual point at pixel (0, 0) of the block (inside its
    /// border), rows RowPitch apart; the border is left as it is. Missing channels (past s.Channels) stay zero: their
    /// bias lanes are zero, the residual's are zero and ReLU keeps 0. Plain twin: <see cref="EpilogueRowsInPlaceReference"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void EpilogueRowsInPlace(float* plane, in BlockedShape s, int cb, int h0, int h1, float* bias, float* residual, bool relu)
    {
        int V = s.V, c0 = cb * V, channels = Math.Min(V, s.Channels - c0);
        float* b = stackalloc float[V];
        for (int c = 0; c < V; c++) b[c] = bias != null && c < channels ? bias[c0 + c] : 0f;
        for (int h = h0; h < h1; h++)
        {
            float* row = plane + h * s.RowPitch, res = residual == null ? null : residual + h * s.RowPitch;
            for (int w = 0; w < s.Width; w++)
            {
                float* p = row + (long)w * V;
                if (V == 8 && Vector256.IsHardwareAccelerated)
                {
                    var v = Vector256.Load(p) + Vector256.Load(b);
                    if (res != null) v += Vector256.Load(res + (long)w * V);
                    if (relu) v = Vector256.Max(v, Vector256<float>.Zero);
                    Vector256.Store(v, p);
                    continue;
                }
                if (V == 16 && Vector512.IsHardwareAccelerated)
                {
                    var v = Vector512.Load(p) + Vector512.Load(b);
                    if (res != null) v += Vector512.Load(res + (long)w * V);
                    if (relu) v = Vector512.Max(v, Vector512<float>.Zero);
                    Vector512.Store(v, p);
                    continue;
                }
                for (int c = 0; c < V; c++)
                {
                    float v = p[c] + b[c] + (res == null ? 0f : res[(long)w * V + c]);
                    p[c] = relu ? MathF.Max(v, 0f) : v;
                }
            }
        }
    }

    /// <summary>The plain twin of <see cref="EpilogueRowsInPlace"/>: element by element (its specification).</summary>
    internal static void EpilogueRowsInPlaceReference(float* plane, in BlockedShape s, int cb, int h0, int h1, float* bias, float* residual, bool relu)
    {
        int V = s.V, c0 = cb * V;
        for (int h = h0; h < h1; h++)
        for (int w = 0; w < s.Width; w++)
        for (int c = 0; c < V; c++)
        {
            long at = h * s.RowPitch + (long)w * V + c;
            float v = plane[at] + (bias != null && c0 + c < s.Channels ? bias[c0 + c] : 0f) + (residual == null ? 0f : residual[at]);
            plane[at] = relu ? MathF.Max(v, 0f) : v;
        }
    }

    /// <summary>The plain twin of <see cref="UnpackRows"/>: element by element (the specification of the unblocking and its epilogue).</summary>
    internal static void UnpackRowsReference(float* srcImage, in BlockedShape s, int cb, int h0, int h1, float* dstImage, float* bias, float* residualImage, bool relu,
        float clampLo = float.NegativeInfinity, float clampHi = float.PositiveInfinity)
    {
        int V = s.V, c0 = cb * V;
        float* plane = srcImage + cb * s.BlockStride; // [H, W, V]
        for (int c = 0; c < V && c0 + c < s.Channels; c++)
        for (long p = (long)h0 * s.Width; p < (long)h1 * s.Width; p++)
        {
            long at = (long)(c0 + c) * s.Height * s.Width + p;
            float v = plane[p * V + c] + (bias == null ? 0f : bias[c0 + c]);
            if (residualImage != null) v += residualImage[at];
            if (relu) v = MathF.Max(v, 0f);
            if (v < clampLo) v = clampLo;
            if (v > clampHi) v = clampHi;
            dstImage[at] = v;
        }
    }

    /// <summary>dst[0..count) = act(src + bias + residual) for one channel's run of pixels (count is 8 or 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Epilogue(float* src, int count, float bias, float* residual, bool relu, float* dst,
        float lo = float.NegativeInfinity, float hi = float.PositiveInfinity)
    {
        // A clamp other than ReLU (ReLU6 of MobileNet-V2's stem) in the same store: no second pass over the output.
        bool clamp = !float.IsNegativeInfinity(lo) || !float.IsPositiveInfinity(hi);
        if (count == 16 && Vector512.IsHardwareAccelerated)
        {
            var v = Vector512.Load(src) + Vector512.Create(bias);
            if (residual != null) v += Vector512.Load(residual);
            if (relu) v = Vector512.Max(v, Vector512<float>.Zero);
            if (clamp)
            {
                // Comparisons with NaN are false, so NaN is kept (torch.clamp).
                v = Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512.Create(lo)), Vector512.Create(lo), v);
                v = Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512.Create(hi)), Vector512.Create(hi), v);
            }
            Vector512.Store(v, dst);
            return;
        }
        if (count == 8 && Vector256.IsHardwareAccelerated)
        {
            var v = Vector256.Load(src) + Vector256.Create(bias);
            if (residual != null) v += Vector256.Load(residual);
            if (relu) v = Vector256.Max(v, Vector256<float>.Zero);
            if (clamp)
            {
                v = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256.Create(lo)), Vector256.Create(lo), v);
                v = Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256.Create(hi)), Vector256.Create(hi), v);
            }
            Vector256.Store(v, dst);
            return;
        }
        for (int i = 0; i < count; i++)
        {
            float v = src[i] + bias;
            if (residual != null) v += residual[i];
            if (relu) v = MathF.Max(v, 0f);
            if (v < lo) v = lo;
            if (v > hi) v = hi;
            dst[i] = v;
        }
    }
}
