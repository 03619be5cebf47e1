using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dDirect
{
    /// <summary>
    /// Whether the planar stem <paramref name="g"/> (<see cref="TakesPlanar"/>) and the depthwise convolution
    /// <paramref name="d"/> reading its output can run as one (<see cref="ForwardPlanarDepthwise(GemmPath, in Conv2dGeometry, float*, float*, float*, float, float, float*, float*, float, float, float*, in PlanarProjection, int)"/>): d is a 3×3
    /// stride-1 padding-1 depthwise convolution of g's output (MobileNet-V2's features.1), with the vector kernels here.
    /// </summary>
    public static bool TakesPlanarDepthwise(in Conv2dGeometry g, in Conv2dGeometry d) =>
        TakesPlanar(g) && DepthwiseConv2d.VectorWidth() > 0 && d.Batch == g.Batch && d.InChannels == g.OutChannels && d.OutChannels == d.InChannels
        && d.Groups == d.InChannels && d.InHeight == g.OutHeight && d.InWidth == g.OutWidth && d.KernelHeight == 3 && d.KernelWidth == 3
        && d.StrideH == 1 && d.StrideW == 1 && d.PadH == 1 && d.PadW == 1 && d.DilationH == 1 && d.DilationW == 1;

    /// <summary>Floats of one band's staged window (all channels): 256 KB, a quarter of a Zen 4 core's L2.</summary>
    private const int PlanarDepthwiseWindowFloats = 64 * 1024;

    /// <summary>
    /// y = clamp(dw3×3(clamp(conv(x, w) + bias, lo, hi)) + dwBias, dwLo, dwHi) for <see cref="TakesPlanarDepthwise"/>
    /// shapes, without the stem's output ever written whole: each thread takes a contiguous range of output rows and walks
    /// it in bands, the planar stem writing the band's input rows into a staged window (the two rows the band above
    /// computed are kept, not recomputed) that <see cref="DepthwiseConv2d.ForwardBand"/> reads — as
    /// <see cref="InvertedResidualBands"/> stages its expansion. On MobileNet-V2 that is 1.6 MB written and read back.
    /// Shapes: x [N, Cin, H, W]; w [C, Cin, 3, 3]; bias [C] or null; dw [C, 1, 3, 3]; dwBias [C] or null; y [N, C, Ho, Wo].
    /// <paramref name="bandRows"/> &gt; 0 sets the rows per band (tests of the kept rows; else as the window budget allows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPlanarDepthwise(GemmPath width, in Conv2dGeometry g, float* x, float* w, float* bias, float lo, float hi,
        float* dw, float* dwBias, float dwLo, float dwHi, float* y, int bandRows = 0)
        => ForwardPlanarDepthwise(width, g, x, w, bias, lo, hi, dw, dwBias, dwLo, dwHi, y, default, bandRows);

    /// <summary>
    /// As above, and when <paramref name="project"/> is set, the 1×1 convolution reading the depthwise's output as well
    /// (MobileNet-V2's features.1 whole): each band's depthwise rows go to a band buffer in the core's cache instead of
    /// y, and the projection's product writes the band's columns of <see cref="PlanarProjection.Y"/> from there, so the
    /// depthwise's output (1.6 MB at 112×112) is neither written whole nor read back. y is then not written.
    /// Shapes: as above; the projection's A packed [Cout₂, C] for its path; its y [N, Cout₂, Ho, Wo].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPlanarDepthwise(GemmPath width, in Conv2dGeometry g, float* x, float* w, float* bias, float lo, float hi,
        float* dw, float* dwBias, float dwLo, float dwHi, float* y, in PlanarProjection project, int bandRows = 0)
    {
        if (project.PackedA != null && !Gemm.UsesPackedA(project.Path, project.OutChannels))
            throw new ArgumentException($"Conv2dDirect: a projection of {project.OutChannels} rows takes GEMM's few-rows path, which reads A unpacked.");
        if (width == GemmPath.Vector512) RunPlanarDepthwise<DepthwiseSimd512, Vector512<float>>(g, x, w, bias, lo, hi, dw, dwBias, dwLo, dwHi, y, project, bandRows);
        else if (width == GemmPath.Vector256) RunPlanarDepthwise<DepthwiseSimd256, Vector256<float>>(g, x, w, bias, lo, hi, dw, dwBias, dwLo, dwHi, y, project, bandRows);
        else throw new PlatformNotSupportedException($"Conv2dDirect: no planar stem kernel for {width}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunPlanarDepthwise<TS, TV>(in Conv2dGeometry g, float* x, float* w, float* bias, float lo, float hi,
        float* dw, float* dwBias, float dwLo, float dwHi, float* y, in PlanarProjection project, int bandRows)
        where TS : struct, IDepthwiseSimd<TV> where TV : struct
    {
        int threads = Math.Max(1, Math.Min(KernelThreads.Count, g.OutHeight));
        if (bandRows <= 0) bandRows = PlanarDepthwiseBandRows > 0 ? PlanarDepthwiseBandRows : PlanarDepthwiseWindowFloats / (g.OutChannels * g.OutWidth) - 2;
        bandRows = Math.Clamp(bandRows, 1, g.OutHeight);
        var body = new PlanarDepthwiseBody<TS, TV>
        {
            G = g, X = x, W = w, Bias = bias, Lo = lo, Hi = hi, Dw = dw, DwBias = dwBias, DwLo = dwLo, DwHi = dwHi, Y = y, Project = project,
            Tasks = threads, BandRows = bandRows, BlockRows = PlanarRows(g), Kernels = PlanarKernels<TS, TV>(PlanarChannels(TS.Length)),
        };
        Conv2dKernels.RunParallel(g.Batch * threads, (long)(g.ForwardFlops / 2), ref body);
    }

    /// <summary>Rows per band of <see cref="ForwardPlanarDepthwise(GemmPath, in Conv2dGeometry, float*, float*, float*, float, float, float*, float*, float, float, float*, in PlanarProjection, int)"/> when &gt; 0 (benchmarks: STRIATE_BENCH_STEM_BAND_ROWS), else from the window budget.</summary>
    internal static int PlanarDepthwiseBandRows;

    [ThreadStatic] private static float[]? t_planarWindow;

    private struct PlanarDepthwiseBody<TS, TV> : IParallelBody where TS : struct, IDepthwiseSimd<TV> where TV : struct
    {
        public Conv2dGeometry G;
        public float* X, W, Bias, Dw, DwBias, Y;
        public float Lo, Hi, DwLo, DwHi;
        public PlanarProjection Project;
        public int Tasks, BandRows, BlockRows;
        public PlanarKernelTable Kernels;

        /// <summary>Image index / Tasks, output rows [Ho·t/Tasks, Ho·(t + 1)/Tasks) for t = index % Tasks, band by band.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            var g = G;
            int n = index / Tasks, task = index % Tasks, oh = g.OutHeight, ow = g.OutWidth, C = g.OutChannels, R = BandRows;
            int first = (int)((long)oh * task / Tasks), end = (int)((long)oh * (task + 1) / Tasks);
            if (first >= end) return;
            long outPlane = (long)oh * ow;
            float* xImage = X + (long)n * g.InChannels * g.InHeight * g.InWidth, yImage = Y + n * C * outPlane;
            float* biasOrZero = PlanarBias(Bias, C);
            // Per channel: [slack | R + 2 stem rows (the band's rows with one above and one below) | slack], row stride ow.
            int windowRows = R + 2;
            int window = IntMath.RoundUp(DepthwiseConv2d.BandSlackBefore + windowRows * ow + DepthwiseConv2d.BandSlackAfter, 16);
            // With a projection, after the windows: the band's depthwise rows [C][R·ow] (row stride hiddenRow), its B.
            bool projects = Project.PackedA != null;
            int hiddenRow = projects ? IntMath.RoundUp(R * ow, 16) : 0;
            float* scratch = ThreadScratch.Aligned(ref t_planarWindow, (long)C * (window + hiddenRow));
            float* win = scratch + DepthwiseConv2d.BandSlackBefore;
            float* hidden = scratch + (long)C * window;
            var p = Project;
            float* zImage = projects ? p.Y + (long)n * p.OutChannels * outPlane : null;
            var projectEpilogue = new GemmEpilogue(p.Bias, null, 0, p.Lo, p.Hi);
            // The depthwise kernel's edge taps read the slack (masked away): it must hold finite floats.
            for (int c = 0; c < C; c++)
            {
                new Span<float>(scratch + (long)c * window, DepthwiseConv2d.BandSlackBefore).Clear();
                new Span<float>(win + (long)c * window + windowRows * ow, window - DepthwiseConv2d.BandSlackBefore - windowRows * ow).Clear();
            }
            int prevRows = 0;
            for (int i0 = first; i0 < end; i0 += R)
            {
                int rows = Math.Min(R, end - i0), staged = rows + 2, top = i0 - 1; // stem row of window row 0
                int kept = 0;
                if (i0 > first)
                {
                    // The band above staged stem rows up to prevRows + 1; its last two are this band's first two.
                    kept = 2;
                    for (int c = 0; c < C; c++)
                    {
                        float* wc = win + (long)c * window;
                        Buffer.MemoryCopy(wc + prevRows * ow, wc, 2L * ow * 4, 2L * ow * 4);
                    }
                }
                int r0 = kept, r1 = staged;
                while (r0 < r1 && top + r0 < 0) ZeroWindowRow(win, window, C, r0++ * ow, ow);
                while (r1 > r0 && top + r1 - 1 >= oh) ZeroWindowRow(win, window, C, --r1 * ow, ow);
                if (r0 < r1)
                    PlanarRows<TS, TV>(g, Kernels, xImage, W, biasOrZero, Lo, Hi, top + r0, top + r1, BlockRows, win + r0 * ow, window);
                // A short last band leaves rows of an earlier band after its own: zero them, the vector kernels read past.
                for (int r = staged; r < windowRows && rows < R; r++) ZeroWindowRow(win, window, C, r * ow, ow);
                if (!projects)
                    DepthwiseConv2d.ForwardBand(1, win, window, ow, rows, C, Dw, DwBias, DwLo, DwHi, yImage + (long)i0 * ow, outPlane, null);
                else
                {
                    DepthwiseConv2d.ForwardBand(1, win, window, ow, rows, C, Dw, DwBias, DwLo, DwHi, hidden, hiddenRow, null);
                    // z[:, i0·ow ..] (row stride outPlane) = A · hidden, bias and clamp in the store; AVX-512 and AVX2 read
                    // the band's rows in place (PointwiseRows), other paths through the packing driver on this thread.
                    int cols = rows * ow;
                    if (PointwiseRows.TakesBand(p.Path))
                        PointwiseRows.RunHere(p.Path, p.PackedA, p.OutChannels, C, cols, hidden, hiddenRow, zImage + (long)i0 * ow, (nint)outPlane, projectEpilogue);
                    else
                        Gemm.Sgemm(p.Path, 1, p.PackedA, p.OutChannels, C, false, cols, hidden, hiddenRow, 0f, zImage + (long)i0 * ow, (int)outPlane, projectEpilogue);
                }
                prevRows = rows;
            }
        }

        private static void ZeroWindowRow(float* win, int window, int channels, int offset, int ow)
        {
            for (int c = 0; c < channels; c++) new Span<float>(win + (long)c * window + offset, ow).Clear();
        }
    }
}

/// <summary>
/// A 1×1 convolution run inside <see cref="Conv2dDirect.ForwardPlanarDepthwise(GemmPath, in Conv2dGeometry, float*, float*, float*, float, float, float*, float*, float, float, float*, in PlanarProjection, int)"/>
/// on each band of the depthwise's output: z = clamp(A · band + bias, Lo, Hi). <see cref="PackedA"/> null: none.
/// Shapes: PackedA from <see cref="Gemm.PackA"/> for <see cref="Path"/> ([OutChannels, C]); Bias [OutChannels] or null;
/// Y [N, OutChannels, Ho, Wo].
/// </summary>
internal readonly unsafe struct PlanarProjection(GemmPath path, float* packedA, int outChannels, float* bias, float lo, float hi, float* y)
{
    public readonly GemmPath Path = path;
    public readonly float* PackedA = packedA, Bias = bias, Y = y;
    public readonly int OutChannels = outChannels;
    public readonly float Lo = lo, Hi = hi;
}
