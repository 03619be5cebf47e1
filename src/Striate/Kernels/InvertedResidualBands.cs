using System.Runtime.CompilerServices;
using static Striate.Kernels.IntMath;

namespace Striate.Kernels;

/// <summary>
/// The shape of one MobileNet-V2 inverted-residual block: 1×1 expansion (Cin → Hidden) → 3×3 depthwise (stride 1 or 2,
/// padding 1) → 1×1 projection (Hidden → Cout). Shapes: x [Cin, H, W] → y [Cout, OutHeight, OutWidth] per image.
/// </summary>
internal readonly record struct InvertedResidualGeometry(int InChannels, int Hidden, int OutChannels, int Height, int Width, int Stride)
{
    public int OutHeight => (Height - 1) / Stride + 1;
    public int OutWidth => (Width - 1) / Stride + 1;
}

/// <summary>
/// One image through an inverted-residual block (expand → depthwise → project, each with its bias and clamp, the
/// projection with the residual) in bands of output rows, so that the expanded and depthwise results of a band stay
/// in the core's L2 instead of going out to L3 and back as whole tensors: MobileNet-V2's 16→96 expansion on 112×112
/// writes 4.8 MB that the depthwise reads again. Each thread takes a contiguous range of output rows and walks it band
/// by band: the expansion GEMM writes the band's input rows (the rows of the band above it are kept, not recomputed)
/// straight into a staged window the depthwise reads (<see cref="DepthwiseConv2d.ForwardBand"/>), the depthwise writes
/// the band's hidden rows, and the projection GEMM writes the band's columns of y with bias, residual and clamp in its
/// store. GEMMs run on the calling thread (the bands are the parallel work).
/// Shapes: x [Cin, H·W]; expand A packed [Hidden, Cin]; dw [Hidden, 9]; project A packed [Cout, Hidden];
/// residual [Cout, Ho·Wo] or null; y [Cout, Ho·Wo]. <see cref="InvertedResidualReference"/> is the specification.
/// </summary>
internal static unsafe class InvertedResidualBands
{
    /// <summary>
    /// The floats of one band's working set kept under this (staged window, phases, hidden rows): 1 MiB, a Zen 4 core's
    /// L2. Fewer, taller bands win even past L2 (fewer small GEMMs, each packing its B): MobileNet-V2's blocks ran
    /// 3–8 % slower with half this budget and 10–30 % slower with a quarter (AVX-512, one quiet window).
    /// </summary>
    internal static int BandBudgetFloats = 256 * 1024;

    /// <summary>For benchmarks: false packs each band's B̃ for both products on AVX-512 too (STRIATE_BENCH_BANDS_IN_PLACE=0).</summary>
    internal static bool InPlace = true;

    /// <summary>The clamps of the three convolutions (±∞ for none).</summary>
    internal readonly record struct Clamps(float ExpandLo, float ExpandHi, float DepthwiseLo, float DepthwiseHi, float ProjectLo, float ProjectHi);

    /// <summary>Output rows per band: as many as fit <see cref="BandBudgetFloats"/>, at least 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called every run
    internal static int BandRows(in InvertedResidualGeometry g)
    {
        int W = g.Width, ow = g.OutWidth;
        // Per output row: its input rows in the window (s of them), for stride 2 their phases again, and the hidden row.
        long perRow = (long)g.Hidden * (g.Stride * W + (g.Stride == 2 ? 2 * W : 0) + ow);
        long fixedPart = (long)g.Hidden * (2 * W + 64);
        return (int)Math.Clamp((BandBudgetFloats - fixedPart) / Math.Max(1, perRow), 1, g.OutHeight);
    }

    /// <summary>
    /// y ← clamp3(project · clamp2(dw(clamp1(expand · x + b1)) + b2) + b3 + residual) for one image, on
    /// <paramref name="threads"/> threads. A matrices packed for <paramref name="path"/> (<see cref="Gemm.PackA"/>);
    /// <paramref name="vectorDepthwise"/> false runs the depthwise's plain loop (tests).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called a few times per run: would reach tier 1 only after a session's warm-up (see InferenceSession.WarmUp)
    public static void Forward(GemmPath path, int threads, in InvertedResidualGeometry g, float* x,
        float* expandPacked, float* expandBias, float* dw, float* dwBias, float* projectPacked, float* projectBias,
        float* residual, in Clamps clamps, float* y, bool vectorDepthwise = true, int bandRows = 0)
    {
        if (!Gemm.UsesPackedA(path, g.Hidden) || !Gemm.UsesPackedA(path, g.OutChannels))
            throw new ArgumentException($"InvertedResidualBands: {g.Hidden} or {g.OutChannels} rows take GEMM's few-rows path, which reads A unpacked.");
        int rows = bandRows > 0 ? Math.Min(bandRows, g.OutHeight) : BandRows(g);
        int tasks = Math.Max(1, Math.Min(threads, g.OutHeight));
        var body = new Body
        {
            Path = path, G = g, X = x, ExpandA = expandPacked, ExpandBias = expandBias, Dw = dw, DwBias = dwBias,
            ProjectA = projectPacked, ProjectBias = projectBias, Residual = residual, Clamps = clamps, Y = y,
            Vector = vectorDepthwise, BandRows = rows, Tasks = tasks,
        };
        if (tasks == 1) body.Invoke(0);
        else ParallelFor.Run(tasks, ref body, tasks);
    }

    [ThreadStatic] private static float[]? t_scratch;

    private struct Body : IParallelBody
    {
        public GemmPath Path;
        public InvertedResidualGeometry G;
        public float* X, ExpandA, ExpandBias, Dw, DwBias, ProjectA, ProjectBias, Residual, Y;
        public Clamps Clamps;
        public bool Vector;
        public int BandRows, Tasks;

        /// <summary>Output rows [Ho·task/Tasks, Ho·(task + 1)/Tasks), band by band.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int task)
        {
            int H = G.Height, W = G.Width, s = G.Stride, oh = G.OutHeight, ow = G.OutWidth, hid = G.Hidden;
            int first = (int)((long)oh * task / Tasks), end = (int)((long)oh * (task + 1) / Tasks);
            if (first >= end) return;
            int R = BandRows;
            // Per hidden channel: the staged window [slack | input rows of a band | slack] (row stride W), then the
            // band's depthwise output [R·ow] (the projection's B, row stride R·ow).
            int windowRows = s == 1 ? R + 2 : 2 * R + 1;
            int window = RoundUp(DepthwiseConv2d.BandSlackBefore + windowRows * W + DepthwiseConv2d.BandSlackAfter, 16);
            int hiddenRow = RoundUp(R * ow, 16);
            int phaseFloats = s == 2 ? RoundUp(DepthwiseConv2d.BandPhaseFloats(W, R), 16) : 0;
            float* scratch = ThreadScratch.Aligned(ref t_scratch, (long)hid * (window + hiddenRow) + phaseFloats, minimum: 0);
            var holder = t_scratch;
            float* win = scratch + DepthwiseConv2d.BandSlackBefore;      // window row 0 of channel c at win + c·window
            float* hidden = scratch + (long)hid * window;                 // hidden row of channel c at hidden + c·hiddenRow
            float* phases = hidden + (long)hid * hiddenRow;
            // The slack is read by the edge taps (masked away) and must hold finite floats: zero it once per call.
            for (int c = 0; c < hid; c++)
            {
                new Span<float>(scratch + (long)c * window, DepthwiseConv2d.BandSlackBefore).Clear();
                new Span<float>(win + (long)c * window + windowRows * W, window - DepthwiseConv2d.BandSlackBefore - windowRows * W).Clear();
            }
            var expandEpilogue = new GemmEpilogue(ExpandBias, null, 0, Clamps.ExpandLo, Clamps.ExpandHi);
            int P = oh * ow, prevRows = 0;
            for (int i0 = first; i0 < end; i0 += R)
            {
                int rows = Math.Min(R, end - i0), staged = s == 1 ? rows + 2 : 2 * rows + 1;
                int top = s * i0 - 1; // input row of window row 0
                // Window rows kept from the band above (its last input rows are this band's first): 2 for stride 1, 1 for 2.
                int kept = 0;
                if (i0 > first)
                {
                    kept = s == 1 ? 2 : 1;
                    int from = (s == 1 ? prevRows + 2 : 2 * prevRows + 1) - kept;
                    for (int c = 0; c < hid; c++)
                    {
                        float* wc = win + (long)c * window;
                        Buffer.MemoryCopy(wc + from * W, wc, (long)kept * W * 4, (long)kept * W * 4);
                    }
                }
                // The rest: rows inside the image from the expansion GEMM (bias and clamp in its store), rows outside zero.
                int r0 = kept, r1 = staged;
                while (r0 < r1 && top + r0 < 0) ZeroRow(win, window, hid, r0++ * W, W);
                while (r1 > r0 && top + r1 - 1 >= H) ZeroRow(win, window, hid, --r1 * W, W);
                if (r0 < r1)
                    Product(Path, ExpandA, hid, G.InChannels, (r1 - r0) * W, X + (long)(top + r0) * W, H * W, win + r0 * W, window, expandEpilogue);
                DepthwiseConv2d.ForwardBand(s, win, window, W, rows, hid, Dw, DwBias, Clamps.DepthwiseLo, Clamps.DepthwiseHi, hidden, hiddenRow, phases, Vector);
                // y[:, i0·ow ..] (row stride P) = project · hidden, with bias, residual and clamp in the store.
                var projectEpilogue = new GemmEpilogue(ProjectBias, Residual == null ? null : Residual + (long)i0 * ow, P, Clamps.ProjectLo, Clamps.ProjectHi);
                Product(Path, ProjectA, G.OutChannels, hid, rows * ow, hidden, hiddenRow, Y + (long)i0 * ow, P, projectEpilogue);
                prevRows = rows;
            }
            GC.KeepAlive(holder);
        }

        /// <summary>
        /// C [m, n] (row stride ldc) = epilogue(A · B [k, n]) on this thread: on AVX-512 and AVX2 B's rows read in place
        /// (<see cref="PointwiseRows.RunHere"/>: the band's rows of x, or its depthwise rows, are already rows of B), else
        /// through the packing driver.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Product(GemmPath path, float* packedA, int m, int k, int n, float* b, int ldb, float* c, int ldc, in GemmEpilogue epilogue)
        {
            if (InPlace && PointwiseRows.TakesBand(path)) PointwiseRows.RunHere(path, packedA, m, k, n, b, ldb, c, ldc, epilogue);
            else Gemm.Sgemm(path, 1, packedA, m, k, false, n, b, ldb, 0f, c, ldc, epilogue);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void ZeroRow(float* win, int window, int hid, int offset, int W)
        {
            for (int c = 0; c < hid; c++) new Span<float>(win + (long)c * window + offset, W).Clear();
        }
    }
}
