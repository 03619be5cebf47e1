using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dDirect
{
    /// <summary>Whether 3×3 stride-2 stems take <see cref="ForwardPlanar"/> (benchmarks switch it off with STRIATE_BENCH_PLANAR_STEM=0 to compare).</summary>
    internal static bool PlanarEnabled = true;

    /// <summary>
    /// Whether the forward pass of <paramref name="g"/> takes <see cref="ForwardPlanar"/>: a 3×3, stride-2, padding-1
    /// convolution of at most 4 input channels (MobileNet-V2's stem, 3→32 at 224×224) without a residual.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TakesPlanar(in Conv2dGeometry g) =>
        PlanarEnabled && g.Groups == 1 && g.InChannels <= 4 && g.KernelHeight == 3 && g.KernelWidth == 3 && g.StrideH == 2 && g.StrideW == 2
        && g.PadH == 1 && g.PadW == 1 && g.DilationH == 1 && g.DilationW == 1;

    /// <summary>
    /// y = clamp(conv(x, w) + bias, lo, hi) for <see cref="TakesPlanar"/> shapes, computed in the output's own NCHW
    /// layout: each task takes a band of output rows, and for every few rows builds their im2col columns in L1 (tap k
    /// = (c, kh, kw) is one row of pixels: the input row split into its even and odd columns, which a stride of 2 and
    /// a padding of 1 turn into kw = 1 → even[ox], kw = 2 → odd[ox], kw = 0 → odd[ox − 1]), then runs
    /// <see cref="Conv2dPlanarTile{TS, TV, TC, TN}"/> over them, which stores straight into the output planes. The
    /// pixel path this replaces for these shapes interleaved the input into pixels first and wrote a blocked output that
    /// a second pass transposed — on 224×224 inputs the two passes cost as much as the arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPlanar(GemmPath width, in Conv2dGeometry g, float* x, float* w, float* bias, float lo, float hi, float* y)
    {
        if (width == GemmPath.Vector512) RunPlanar<DepthwiseSimd512, Vector512<float>>(g, x, w, bias, lo, hi, y);
        else if (width == GemmPath.Vector256) RunPlanar<DepthwiseSimd256, Vector256<float>>(g, x, w, bias, lo, hi, y);
        else throw new PlatformNotSupportedException($"Conv2dDirect: no planar stem kernel for {width}.");
    }

    /// <summary>Output channels per tile: AVX-512 8 (× 3 vectors = 24 accumulators of 32 registers), AVX2 4 (12 of 16).</summary>
    private static int PlanarChannels(int v) => v == 16 ? 8 : 4;

    /// <summary>Floats of one row block's im2col (about 24 KB: it stays in L1 while every channel group reads it).</summary>
    private const int PlanarColumnFloats = 6144;

    /// <summary>Output rows per im2col block: as many as fit <see cref="PlanarColumnFloats"/>, at least one.</summary>
    private static int PlanarRows(in Conv2dGeometry g) => Math.Clamp(PlanarColumnFloats / (g.InChannels * 9 * g.OutWidth), 1, g.OutHeight);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunPlanar<TS, TV>(in Conv2dGeometry g, float* x, float* w, float* bias, float lo, float hi, float* y)
        where TS : struct, IDepthwiseSimd<TV> where TV : struct
    {
        int tc = PlanarChannels(TS.Length);
        // Tasks: (image, band of rows); about 8 per thread at batch 1, one image each once the batch gives enough.
        int bands = Math.Clamp((8 * KernelThreads.Count + g.Batch - 1) / g.Batch, 1, g.OutHeight);
        var body = new PlanarBody<TS, TV>
        {
            G = g, X = x, W = w, Bias = bias, Lo = lo, Hi = hi, Y = y, Bands = bands, BlockRows = PlanarRows(g),
            Kernels = PlanarKernels<TS, TV>(tc),
        };
        Conv2dKernels.RunParallel(g.Batch * bands, (long)(g.ForwardFlops / 2), ref body);
    }

    /// <summary>Tiles indexed by (channels − 1) · 3 + (vectors − 1), channels 1 to 8, vectors 1 to 3.</summary>
    [InlineArray(24)]
    private struct PlanarKernelTable
    {
        private nint first;
    }

    private static PlanarKernelTable PlanarKernels<TS, TV>(int tc) where TS : struct, IDepthwiseSimd<TV> where TV : struct
    {
        var table = new PlanarKernelTable();
        for (int c = 1; c <= tc; c++)
        for (int n = 1; n <= 3; n++)
            table[(c - 1) * 3 + n - 1] = PlanarTile<TS, TV>(c, n);
        return table;
    }

    private static nint PlanarTile<TS, TV>(int c, int n) where TS : struct, IDepthwiseSimd<TV> where TV : struct => c switch
    {
        1 => PlanarTile<TS, TV, C1>(n), 2 => PlanarTile<TS, TV, C2>(n), 3 => PlanarTile<TS, TV, C3>(n), 4 => PlanarTile<TS, TV, C4>(n),
        5 => PlanarTile<TS, TV, C5>(n), 6 => PlanarTile<TS, TV, C6>(n), 7 => PlanarTile<TS, TV, C7>(n), 8 => PlanarTile<TS, TV, C8>(n),
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, "Conv2dDirect: a planar tile holds 1 to 8 channels."),
    };

    private static nint PlanarTile<TS, TV, TC>(int n) where TS : struct, IDepthwiseSimd<TV> where TV : struct where TC : struct, IConstant => n switch
    {
        1 => (nint)(delegate*<float*, nint, int, float*, nint, float*, float, float, float*, nint, void>)&Conv2dPlanarTile<TS, TV, TC, C1>.Run,
        2 => (nint)(delegate*<float*, nint, int, float*, nint, float*, float, float, float*, nint, void>)&Conv2dPlanarTile<TS, TV, TC, C2>.Run,
        3 => (nint)(delegate*<float*, nint, int, float*, nint, float*, float, float, float*, nint, void>)&Conv2dPlanarTile<TS, TV, TC, C3>.Run,
        _ => throw new ArgumentOutOfRangeException(nameof(n), n, "Conv2dDirect: a planar tile holds 1 to 3 vectors."),
    };

    /// <summary>The planar tiles a forward pass of <paramref name="g"/> calls (for <see cref="ForwardTileMethods"/>).</summary>
    private static IEnumerable<System.Reflection.MethodInfo> PlanarTileMethods(GemmPath width, Conv2dGeometry g)
    {
        var (simd, vector) = width == GemmPath.Vector512 ? (typeof(DepthwiseSimd512), typeof(Vector512<float>)) : (typeof(DepthwiseSimd256), typeof(Vector256<float>));
        int v = VectorLength(width), tc = PlanarChannels(v), rest = g.OutChannels % tc;
        var channels = new HashSet<int> { Math.Min(tc, g.OutChannels) };
        if (rest != 0) channels.Add(rest);
        foreach (int c in channels)
        for (int n = 1; n <= 3; n++)
            yield return typeof(Conv2dPlanarTile<,,,>).MakeGenericType(simd, vector, Constant(c), Constant(n))
                .GetMethod(nameof(Conv2dPlanarTile<DepthwiseSimd512, Vector512<float>, C1, C1>.Run))!;
    }

    [ThreadStatic] private static float[]? t_columns, t_planarBias;

    private struct PlanarBody<TS, TV> : IParallelBody where TS : struct, IDepthwiseSimd<TV> where TV : struct
    {
        public Conv2dGeometry G;
        public float* X, W, Bias, Y;
        public float Lo, Hi;
        public int Bands, BlockRows;
        public PlanarKernelTable Kernels;

        /// <summary>Band index % Bands of image index / Bands.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            var g = G;
            int n = index / Bands, band = index % Bands;
            int oh0 = (int)((long)g.OutHeight * band / Bands), oh1 = (int)((long)g.OutHeight * (band + 1) / Bands);
            long inPlane = (long)g.InHeight * g.InWidth, outPlane = (long)g.OutHeight * g.OutWidth;
            float* biasOrZero = PlanarBias(Bias, g.OutChannels);
            PlanarRows<TS, TV>(g, Kernels, X + n * g.InChannels * inPlane, W, biasOrZero, Lo, Hi, oh0, oh1, BlockRows,
                Y + n * g.OutChannels * outPlane + (long)oh0 * g.OutWidth, (nint)outPlane);
        }
    }

    /// <summary>The bias, or the calling thread's zeros when there is none (the tiles start from the bias).</summary>
    private static float* PlanarBias(float* bias, int channels)
    {
        if (bias != null) return bias;
        float* zeros = ThreadScratch.Aligned(ref t_planarBias, channels);
        new Span<float>(zeros, channels).Clear();
        return zeros;
    }

    /// <summary>
    /// Output rows [oh0, oh1) of one image, blockRows at a time (im2col, then the tiles): row oh0's first pixel of channel c
    /// goes to dst + c·ldY, the rows after it follow contiguously (an output plane, or a band's staged window).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PlanarRows<TS, TV>(in Conv2dGeometry g, in PlanarKernelTable kernels, float* xImage, float* w, float* biasOrZero, float lo, float hi,
        int oh0, int oh1, int blockRows, float* dst, nint ldY)
        where TS : struct, IDepthwiseSimd<TV> where TV : struct
    {
        int V = TS.Length, tc = PlanarChannels(V), k = g.InChannels * 9, ow = g.OutWidth, cout = g.OutChannels;
        // col: [k][ldCol], the im2col of blockRows output rows; one vector of slack past the rounded-up pixels for the
        // kw = 0 row's shifted store and the last tile's partial vector.
        nint ldCol = IntMath.RoundUp(blockRows * ow, V) + V;
        float* col = ThreadScratch.Aligned(ref t_columns, k * ldCol + 2 * V);
        float* tail = stackalloc float[8 * 3 * 16]; // [tc][3·V]: a partial tile's output
        for (int r0 = oh0; r0 < oh1; r0 += blockRows)
        {
            int rows = Math.Min(blockRows, oh1 - r0), pixels = rows * ow;
            BuildColumns<TS, TV>(g, xImage, r0, rows, col, ldCol);
            float* yBlock = dst + (long)(r0 - oh0) * ow;
            for (int p0 = 0; p0 < pixels; p0 += 3 * V)
            {
                int left = pixels - p0, vectors = Math.Min(3, (left + V - 1) / V);
                bool partial = left < vectors * V;
                for (int c0 = 0; c0 < cout; c0 += tc)
                {
                    int channels = Math.Min(tc, cout - c0);
                    var tile = (delegate*<float*, nint, int, float*, nint, float*, float, float, float*, nint, void>)kernels[(channels - 1) * 3 + vectors - 1];
                    float* yTile = yBlock + c0 * ldY + p0;
                    if (!partial)
                    {
                        tile(col + p0, ldCol, k, w + (long)c0 * k, k, biasOrZero + c0, lo, hi, yTile, ldY);
                        continue;
                    }
                    // The row block's last pixels fill no whole vector: the tile stores into tail and the real ones are copied.
                    tile(col + p0, ldCol, k, w + (long)c0 * k, k, biasOrZero + c0, lo, hi, tail, 3 * V);
                    for (int c = 0; c < channels; c++)
                        new ReadOnlySpan<float>(tail + c * 3 * V, left).CopyTo(new Span<float>(yTile + c * ldY, left));
                }
            }
        }
    }

    /// <summary>
    /// col[(c·3 + kh)·3 + kw][r·OW + ox] = x[c, 2·(r0 + r) + kh − 1, 2·ox + kw − 1] (0 outside the image) for rows r &lt; rows:
    /// each input row is split once into its even and odd columns, which are the kw = 1 and kw = 2 taps, and kw = 0 is the
    /// odd columns one pixel to the right.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BuildColumns<TS, TV>(in Conv2dGeometry g, float* xImage, int r0, int rows, float* col, nint ldCol)
        where TS : struct, IDepthwiseSimd<TV> where TV : struct
    {
        int V = TS.Length, iw = g.InWidth, ow = g.OutWidth;
        long inPlane = (long)g.InHeight * iw;
        // Output pixels whose two input columns 2·ox and 2·ox + 1 are both inside the row, a whole vector at a time.
        int pairs = Math.Min(ow, iw / 2), vectorPairs = pairs - pairs % V;
        for (int c = 0; c < g.InChannels; c++)
        for (int kh = 0; kh < 3; kh++)
        {
            float* left = col + ((c * 3 + kh) * 3) * ldCol, even = left + ldCol, odd = even + ldCol;
            for (int r = 0; r < rows; r++)
            {
                int ih = 2 * (r0 + r) + kh - 1;
                nint at = (nint)r * ow;
                if (ih < 0 || ih >= g.InHeight)
                {
                    new Span<float>(left + at, ow).Clear();
                    new Span<float>(even + at, ow).Clear();
                    new Span<float>(odd + at, ow).Clear();
                    continue;
                }
                float* src = xImage + c * inPlane + (long)ih * iw;
                int ox = 0;
                for (; ox < vectorPairs; ox += V)
                {
                    TS.Deinterleave(src + 2 * ox, even + at + ox, odd + at + ox);
                    // kw = 0 reads column 2·ox − 1: the odd columns one pixel later. Its last lane lands on the next
                    // row's pixel 0 (or the slack), which that row overwrites below.
                    TS.Store(TS.Load(odd + at + ox), left + at + ox + 1);
                }
                for (; ox < ow; ox++)
                {
                    int e = 2 * ox;
                    even[at + ox] = e < iw ? src[e] : 0f;
                    float o = e + 1 < iw ? src[e + 1] : 0f;
                    odd[at + ox] = o;
                    left[at + ox + 1] = o;
                }
                left[at] = 0f;
            }
        }
    }
}
