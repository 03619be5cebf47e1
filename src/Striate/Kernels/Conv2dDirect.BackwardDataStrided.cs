using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// One axis of a strided convolution's input gradient cut into phases (the sub-pixel / "phase" decomposition of a
/// transposed convolution): input positions ih with (ih + pad) mod stride = p form phase p, and only the taps
/// kh ≡ p (mod stride) reach them, kh = p + a·stride for a &lt; Taps(p). With q = ih + pad = i·stride + p, the
/// gradient at phase index i is Σ_a dy[i − a] · w[p + a·stride]: a stride-1 correlation of dy with those taps mirrored.
/// </summary>
internal readonly record struct PhaseAxis(int Stride, int Pad, int Kernel, int In, int Out)
{
    /// <summary>Taps of phase <paramref name="p"/> (0 when the kernel is narrower than the stride there).</summary>
    public int Taps(int p) => p < Kernel ? (Kernel - p + Stride - 1) / Stride : 0;

    /// <summary>The first phase index whose input position is inside the image.</summary>
    public int First(int p) => CeilDiv(Pad - p, Stride);

    /// <summary>Phase indices [First, First + Count) whose input positions are inside the image.</summary>
    public int Count(int p) => Math.Max(0, FloorDiv(In - 1 + Pad - p, Stride) + 1 - First(p));

    /// <summary>The input position of phase index <paramref name="i"/>.</summary>
    public int Input(int p, int i) => i * Stride + p - Pad;

    /// <summary>The most phase indices of any phase.</summary>
    public int MaxCount { get { int m = 0; for (int p = 0; p < Stride; p++) m = Math.Max(m, Count(p)); return m; } }

    /// <summary>
    /// Zero rows of dy needed around it so that every phase reads dy[i − a] without bounds checks: i − (Taps − 1) may
    /// fall before row 0 and i after the last row.
    /// </summary>
    public int DyPad
    {
        get
        {
            int pad = 0;
            for (int p = 0; p < Stride; p++)
            {
                int taps = Taps(p), count = Count(p);
                if (taps == 0 || count == 0) continue;
                int first = First(p), last = first + count - 1;
                pad = Math.Max(pad, Math.Max(taps - 1 - first, last - (Out - 1)));
            }
            return pad;
        }
    }

    private static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);
    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}

internal static unsafe partial class Conv2dDirect
{
    /// <summary>
    /// Whether the input gradient of <paramref name="g"/> runs as stride-1 phase convolutions on the direct tile
    /// (<see cref="BackwardDataStrided"/>): no groups, a stride above 1, no dilation.
    /// </summary>
    public static bool SupportsStridedBackwardData(in Conv2dGeometry g) =>
        g.Groups == 1 && (g.StrideH > 1 || g.StrideW > 1) && g.StrideH * g.StrideW <= MaxPhases && g.DilationH == 1 && g.DilationW == 1;

    /// <summary>
    /// dx [N, Cin, H, W] = the input gradient of a strided convolution without im2col: for each of the sH·sW phases
    /// (<see cref="PhaseAxis"/>), a stride-1 direct convolution of the blocked dy with that phase's taps (transposed and
    /// mirrored) writes the phase's pixels. Phases go to column segments of a blocked dx ([H][sW][Wseg][V] per channel
    /// block, so the tile's contiguous columns stay contiguous), interleaved back into NCHW at the end. Every phase
    /// together does the forward's multiply-adds, none on zeros (a plain transposed convolution would do sH·sW times more).
    /// </summary>
    public static void BackwardDataStrided(GemmPath width, in Conv2dGeometry g, float* dy, float* w, float* dx, WeightKey? weightKey = null)
    {
        if (width == GemmPath.Vector512) RunStridedData<Simd512, Vector512<float>>(g, dy, w, dx, weightKey);
        else if (width == GemmPath.Vector256) RunStridedData<Simd256, Vector256<float>>(g, dy, w, dx, weightKey);
        else throw new PlatformNotSupportedException($"Conv2dDirect: no direct kernel for {width}.");
    }

    /// <summary>How <see cref="BackwardDataStrided"/> cuts one call: the phases, their tiles and the blocked buffers.</summary>
    internal readonly struct PhasePlan
    {
        public readonly PhaseAxis Rows, Cols;
        public readonly int V, GroupBlocks, Groups, InBlocks, OutBlocks, Phases, SegmentWidth;
        /// <summary>dy blocked with a zero border: [N, OCB, Hout + 2·padH, Wout + 2·padW, V].</summary>
        public readonly BlockedShape Dy;

        public PhasePlan(in Conv2dGeometry g, int v)
        {
            Rows = new PhaseAxis(g.StrideH, g.PadH, g.KernelHeight, g.InHeight, g.OutHeight);
            Cols = new PhaseAxis(g.StrideW, g.PadW, g.KernelWidth, g.InWidth, g.OutWidth);
            V = v;
            Phases = g.StrideH * g.StrideW;
            SegmentWidth = Cols.MaxCount;
            InBlocks = (g.InChannels + v - 1) / v;
            OutBlocks = (g.OutChannels + v - 1) / v;
            Dy = new BlockedShape(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, v, Rows.DyPad, Cols.DyPad);
            // One weight layout for every phase: the channel blocks per group that suit all of their tiles.
            int blocks = 3;
            for (int ph = 0; ph < g.StrideH; ph++)
            for (int pw = 0; pw < g.StrideW; pw++)
                if (HasWork(ph, pw)) blocks = Math.Min(blocks, DirectPlan.InImage(Geometry(g, ph, pw), v).GroupBlocks);
            GroupBlocks = Math.Min(blocks, InBlocks);
            Groups = (InBlocks + GroupBlocks - 1) / GroupBlocks;
        }

        public bool HasWork(int ph, int pw) => Rows.Taps(ph) > 0 && Cols.Taps(pw) > 0 && Rows.Count(ph) > 0 && Cols.Count(pw) > 0;

        /// <summary>The stride-1 convolution of phase (ph, pw): dy's channels in, x's channels out, output = the phase's pixels.</summary>
        public Conv2dGeometry Geometry(in Conv2dGeometry g, int ph, int pw) => new(
            g.Batch, g.OutChannels, Rows.Count(ph) + Rows.Taps(ph) - 1, Cols.Count(pw) + Cols.Taps(pw) - 1, g.InChannels, Rows.Taps(ph), Cols.Taps(pw));

        /// <summary>The tile of phase (ph, pw): the direct plan of its geometry with the common channel blocks.</summary>
        public DirectPlan Tile(in Conv2dGeometry g, int ph, int pw) => DirectPlan.InImage(Geometry(g, ph, pw), V) with { GroupBlocks = GroupBlocks };

        /// <summary>Floats of one phase's blocked weights: [Groups][OCB][taps_h][taps_w][V][GroupBlocks·V].</summary>
        public long PhaseWeightLength(int ph, int pw) => (long)Groups * OutBlocks * Rows.Taps(ph) * Cols.Taps(pw) * V * GroupBlocks * V;

        /// <summary>Where phase (ph, pw)'s weights start (phases one after another, row-major).</summary>
        public long PhaseWeightOffset(int ph, int pw)
        {
            long offset = 0;
            for (int p = 0; p < ph * Cols.Stride + pw; p++) offset += PhaseWeightLength(p / Cols.Stride, p % Cols.Stride);
            return offset;
        }

        public long WeightLength => PhaseWeightOffset(Rows.Stride, 0);

        /// <summary>Floats from one dx row to the next in the segmented blocked dx ([H][sW][Wseg][V] per block).</summary>
        public long DxRowPitch => (long)Cols.Stride * SegmentWidth * V;
        public long DxBlockStride(in Conv2dGeometry g) => g.InHeight * DxRowPitch;
        public long DxImageStride(in Conv2dGeometry g) => InBlocks * DxBlockStride(g);
    }

    /// <summary>
    /// Phase weights: dst[phase][grp][ocb][th][tw][o][c] = w[o', c', ph + (Ah − 1 − th)·sH, pw + (Aw − 1 − tw)·sW]
    /// with o' = ocb·V + o (an output channel of the convolution) and c' = grp·B·V + c (an input channel), zero past
    /// the real channels. <paramref name="w"/> is [Cout, Cin, kH, kW].
    /// </summary>
    internal static void ReorderPhaseWeights(in Conv2dGeometry g, in PhasePlan plan, float* w, float* dst)
        => ReorderPhases(g, plan, w, dst, plain: false);

    /// <summary>The plain twin of <see cref="ReorderPhaseWeights"/>: element by element, bounds checked each.</summary>
    internal static void ReorderPhaseWeightsReference(in Conv2dGeometry g, in PhasePlan plan, float* w, float* dst)
        => ReorderPhases(g, plan, w, dst, plain: true);

    private static void ReorderPhases(in Conv2dGeometry g, in PhasePlan plan, float* w, float* dst, bool plain)
    {
        var body = new PhaseReorderBody { G = g, Plan = plan, W = w, Dst = dst, Plain = plain };
        Conv2dKernels.RunParallel(plan.Phases * plan.Groups * plan.OutBlocks, plan.WeightLength, ref body);
    }

    private struct PhaseReorderBody : IParallelBody
    {
        public Conv2dGeometry G;
        public PhasePlan Plan;
        public float* W, Dst;
        public bool Plain;

        public readonly void Invoke(int index)
        {
            var plan = Plan;
            int perPhase = plan.Groups * plan.OutBlocks, phase = index / perPhase, rest = index % perPhase;
            int grp = rest / plan.OutBlocks, ocb = rest % plan.OutBlocks;
            int ph = phase / plan.Cols.Stride, pw = phase % plan.Cols.Stride, ah = plan.Rows.Taps(ph), aw = plan.Cols.Taps(pw);
            int v = plan.V, width = plan.GroupBlocks * v, kH = G.KernelHeight, kW = G.KernelWidth;
            if (ah == 0 || aw == 0) return;
            float* block = Dst + plan.PhaseWeightOffset(ph, pw) + ((long)grp * plan.OutBlocks + ocb) * ah * aw * v * width; // [ah][aw][V][width]
            for (int th = 0; th < ah; th++)
            for (int tw = 0; tw < aw; tw++)
            {
                int kh = ph + (ah - 1 - th) * G.StrideH, kw = pw + (aw - 1 - tw) * G.StrideW;
                float* tap = block + (long)(th * aw + tw) * v * width;
                for (int o = 0; o < v; o++)
                {
                    int oo = ocb * v + o;
                    float* d = tap + o * width;
                    if (!Plain && oo < G.OutChannels && (grp + 1) * width <= G.InChannels)
                    {
                        // Whole row of input channels: w[oo, grp·width + c, kh, kw] is kH·kW floats from one c to the next
                        // (the bounds and index arithmetic per element were most of this reorder's time).
                        float* s = W + (((long)oo * G.InChannels + grp * width) * kH + kh) * kW + kw;
                        for (int c = 0, step = kH * kW; c < width; c++, s += step) d[c] = *s;
                        continue;
                    }
                    for (int c = 0; c < width; c++)
                    {
                        int cc = grp * width + c;
                        d[c] = oo < G.OutChannels && cc < G.InChannels ? W[(((long)oo * G.InChannels + cc) * kH + kh) * kW + kw] : 0f;
                    }
                }
            }
        }
    }

    private struct PhaseFill : IWeightFill
    {
        public Conv2dGeometry G;
        public PhasePlan Plan;
        public float* W;

        public readonly void Fill(float* destination) => ReorderPhaseWeights(G, Plan, W, destination);
    }

    [ThreadStatic] private static float[]? t_phaseWeights, t_interleaved;

    private static void RunStridedData<TS, TV>(in Conv2dGeometry g, float* dy, float* w, float* dx, WeightKey? key)
        where TS : struct, ISimdFloat<TV> where TV : struct
    {
        int v = TS.Length, threads = KernelThreads.Count;
        var plan = new PhasePlan(g, v);
        int length = checked((int)plan.WeightLength);
        float[]? holder = null;
        float* wb = null;
        if (key is { } k)
        {
            var fill = new PhaseFill { G = g, Plan = plan, W = w };
            holder = TransformedWeights.Get(k, new WeightTransform(WeightTransformKind.DirectBackwardDataPhases, v, plan.GroupBlocks), length, ref fill);
            if (holder != null) wb = TransformedWeights.Start(holder);
        }
        if (wb == null)
        {
            wb = ThreadScratch.Aligned(ref t_phaseWeights, length);
            holder = t_phaseWeights;
            ReorderPhaseWeights(g, plan, w, wb);
        }
        var schedule = PhaseSchedule.For(g, plan, threads);
        long dxLength = g.Batch * plan.DxImageStride(g);
        float[] yb = ArrayPool<float>.Shared.Rent(checked((int)plan.Dy.Length + CacheLine.SlackFloats)); // dy: [N, OCB, Hout + 2pH, Wout + 2pW, V]
        float[] xb = ArrayPool<float>.Shared.Rent(checked((int)dxLength + CacheLine.SlackFloats));       // dx: [N, ICB, H, sW, Wseg, V]
        try
        {
            fixed (float* yPinned = yb, xPinned = xb)
            {
                float* pdy = CacheLine.Align(yPinned), pdx = CacheLine.Align(xPinned);
                ChannelBlocked.Pack(dy, plan.Dy, pdy);
                var body = new PhaseBody
                {
                    G = g, Plan = plan, Schedule = schedule, Dy = pdy, W = wb, Dx = pdx,
                    GroupChunks = (plan.Groups + schedule.GroupsPerTask - 1) / schedule.GroupsPerTask,
                    ImageChunks = (g.Batch + schedule.Images - 1) / schedule.Images,
                };
                for (int ph = 0; ph < g.StrideH; ph++)
                for (int pw = 0; pw < g.StrideW; pw++)
                {
                    if (!plan.HasWork(ph, pw)) continue;
                    var tile = plan.Tile(g, ph, pw);
                    int rowTiles = tile.RowTiles(body.Geometry(ph, pw)), colTiles = tile.ColumnTiles(body.Geometry(ph, pw));
                    int rEdge = plan.Cols.Count(pw) - (colTiles - 1) * tile.R, rowsEdge = plan.Rows.Count(ph) - (rowTiles - 1) * tile.Rows;
                    int lastBlocks = plan.InBlocks - (plan.Groups - 1) * plan.GroupBlocks;
                    int phase = ph * g.StrideW + pw;
                    for (int i = 0; i < 8; i++)
                    {
                        bool lastGroup = (i & 4) != 0, lastRow = (i & 2) != 0, lastColumn = (i & 1) != 0;
                        body.Kernels[phase * 8 + i] = (nint)Tile<TS, TV>(lastColumn ? rEdge : tile.R, lastRow ? rowsEdge : tile.Rows, lastGroup ? lastBlocks : plan.GroupBlocks, 1);
                    }
                }
                int chunks = body.ImageChunks * body.GroupChunks;
                if (!PhaseUnpackInTask)
                {
                    Conv2dKernels.RunParallel(plan.Phases * chunks, (long)(g.ForwardFlops / 2), ref body);
                    var unpack = new InterleaveBody { G = g, Plan = plan, Src = pdx, Dst = dx };
                    Conv2dKernels.RunParallel(g.Batch * plan.InBlocks, g.InputLength, ref unpack);
                    return;
                }
                // The task that finishes a chunk's last phase interleaves and unblocks the chunk (its phases' outputs
                // still in this core's or the other's cache), instead of a separate pass over the whole blocked dx.
                int[] done = ArrayPool<int>.Shared.Rent(chunks);
                try
                {
                    fixed (int* pDone = done)
                    {
                        new Span<int>(pDone, chunks).Clear();
                        body.Done = pDone;
                        body.Out = dx;
                        Conv2dKernels.RunParallel(plan.Phases * chunks, (long)(g.ForwardFlops / 2), ref body);
                    }
                }
                finally { ArrayPool<int>.Shared.Return(done); }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(yb);
            ArrayPool<float>.Shared.Return(xb);
            GC.KeepAlive(holder);
        }
    }

    /// <summary>Phase kernels: 8 (edge variants, as the forward's <see cref="KernelTable"/>) for each of up to 16 phases.</summary>
    [InlineArray(8 * MaxPhases)]
    private struct PhaseKernelTable
    {
        private nint first;
    }

    /// <summary>The most phases (sH·sW) the strided input gradient handles; larger strides take im2col.</summary>
    internal const int MaxPhases = 16;

    /// <summary>One task: a phase, a chunk of images and a chunk of groups of input-channel blocks.</summary>
    private struct PhaseBody : IParallelBody
    {
        public Conv2dGeometry G;
        public PhasePlan Plan;
        public PhaseSchedule Schedule;
        public float* Dy, W, Dx;
        public int GroupChunks, ImageChunks;
        public PhaseKernelTable Kernels;
        /// <summary>With <see cref="PhaseUnpackInTask"/>: phases finished per chunk (image chunk × group chunk), and dx in NCHW.</summary>
        public int* Done;
        public float* Out;

        public readonly Conv2dGeometry Geometry(int ph, int pw) => Plan.Geometry(G, ph, pw);

        public readonly void Invoke(int index)
        {
            RunPhase(index);
            if (Done == null) return;
            // The last phase of the chunk to finish unpacks it (Interlocked: every other phase's stores are visible).
            int rest = index / Plan.Phases;
            if (Interlocked.Increment(ref Done[rest]) != Plan.Phases) return;
            int g0 = rest % GroupChunks * Schedule.GroupsPerTask, n0 = rest / GroupChunks * Schedule.Images;
            int g1 = Math.Min(Plan.Groups, g0 + Schedule.GroupsPerTask), n1 = Math.Min(G.Batch, n0 + Schedule.Images);
            int cb0 = g0 * Plan.GroupBlocks, cb1 = Math.Min(Plan.InBlocks, g1 * Plan.GroupBlocks);
            var unpack = new InterleaveBody { G = G, Plan = Plan, Src = Dx, Dst = Out };
            for (int n = n0; n < n1; n++)
                for (int cb = cb0; cb < cb1; cb++) unpack.Invoke(n * Plan.InBlocks + cb);
        }

        private readonly void RunPhase(int index)
        {
            var g = G;
            var plan = Plan;
            int phase = index % plan.Phases, rest = index / plan.Phases;
            int ph = phase / g.StrideW, pw = phase % g.StrideW;
            if (!plan.HasWork(ph, pw)) return;
            int g0 = rest % GroupChunks * Schedule.GroupsPerTask, n0 = rest / GroupChunks * Schedule.Images;
            int g1 = Math.Min(plan.Groups, g0 + Schedule.GroupsPerTask), n1 = Math.Min(g.Batch, n0 + Schedule.Images);
            var tile = plan.Tile(g, ph, pw);
            var rowsAxis = plan.Rows;
            var colsAxis = plan.Cols;
            int ah = rowsAxis.Taps(ph), aw = colsAxis.Taps(pw), v = plan.V, ocBlocks = plan.OutBlocks;
            int count = rowsAxis.Count(ph), countW = colsAxis.Count(pw), first = rowsAxis.First(ph), firstW = colsAxis.First(pw);
            int rowTiles = (count + tile.Rows - 1) / tile.Rows, colTiles = (countW + tile.R - 1) / tile.R;
            var dyShape = plan.Dy;
            nint wStep = (nint)plan.GroupBlocks * v;
            long perBlock = (long)ah * aw * v * wStep;
            long dxRowPitch = plan.DxRowPitch, dxBlockStride = plan.DxBlockStride(g), dxImage = plan.DxImageStride(g);
            int chunk = IcChunkOverride > 0 ? IcChunkOverride : (int)Math.Clamp(L1WeightFloats / perBlock, 1, ocBlocks);
            long kRowFloats = (long)aw * v * wStep;
            int outH = g.OutHeight, outW = g.OutWidth;
            float* wPhase = W + plan.PhaseWeightOffset(ph, pw);
            for (int ic0 = 0; ic0 < ocBlocks; ic0 += chunk)
            {
                int blocks = Math.Min(chunk, ocBlocks - ic0);
                for (int grp = g0; grp < g1; grp++)
                {
                    int groupIndex = phase * 8 + (grp == plan.Groups - 1 ? 4 : 0);
                    float* wChunk = wPhase + (long)grp * ocBlocks * perBlock + ic0 * perBlock;
                    for (int n = n0; n < n1; n++)
                    {
                        float* dyChunk = Dy + n * dyShape.ImageStride + ic0 * dyShape.BlockStride;
                        // The segment of column phase pw in this group's first block of image n.
                        float* dxGroup = Dx + n * dxImage + (long)grp * plan.GroupBlocks * dxBlockStride + (long)pw * plan.SegmentWidth * v;
                        for (int t = 0; t < rowTiles; t++)
                        {
                            int i = first + t * tile.Rows, rowIndex = groupIndex + (t == rowTiles - 1 ? 2 : 0);
                            // Tap rows [th0, th1) read a dy row of the image for some row of the tile; the others read
                            // only the zero border and are left out (as the forward's RowTaps).
                            var (th0, th1) = PhaseSkipsBorder ? PhaseTaps(i, Math.Min(tile.Rows, first + count - i), ah, outH) : (0, ah);
                            // dy row of tap 0 (the last mirrored tap): i − (ah − 1), inside the zero border.
                            float* dyRow = dyChunk + (long)(i - (ah - 1) + th0 + dyShape.PadH) * dyShape.RowPitch;
                            float* wRows = wChunk + th0 * kRowFloats;
                            nint wSkip = (nint)((ah - (th1 - th0)) * kRowFloats);
                            float* dxRow = dxGroup + rowsAxis.Input(ph, i) * dxRowPitch;
                            for (int c = 0; c < colTiles; c++)
                            {
                                int j = firstW + c * tile.R, r = c == colTiles - 1 ? countW - c * tile.R : tile.R;
                                // Tap 0 of the tile's first column or the last tap of its last reading dy's border columns.
                                int edges = !PhaseSkipsBorder || aw < 2 ? 0 : (j - (aw - 1) < 0 ? LeftEdge : 0) | (j + r - 1 >= outW ? RightEdge : 0);
                                var kernel = (delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, nint, nint, bool, int, float*, float*, int, void>)
                                    Kernels[rowIndex + (c == colTiles - 1 ? 1 : 0)];
                                kernel(dyRow + (long)(j - (aw - 1) + dyShape.PadW) * v, wRows, dxRow + (long)c * tile.R * v, blocks, th1 - th0, aw, wStep, wSkip,
                                    (nint)dyShape.BlockStride, (nint)dyShape.RowPitch, v, (nint)dyShape.RowPitch, (nint)dxBlockStride,
                                    (nint)(g.StrideH * dxRowPitch), ic0 > 0, edges, null, null, 0);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The tap rows [th0, th1) of a phase tile whose <paramref name="rows"/> rows start at phase index <paramref name="i"/>
    /// that read a dy row of the image (0 to <paramref name="outH"/> − 1) for at least one of them: tap th of row i + r
    /// reads dy row i + r − (taps − 1) + th. The others read only dy's zero border. Empty when every tap does.
    /// </summary>
    internal static (int Th0, int Th1) PhaseTaps(int i, int rows, int taps, int outH)
    {
        int th0 = Math.Clamp(taps - i - rows, 0, taps), th1 = Math.Clamp(outH + taps - 1 - i, 0, taps);
        return (th0, Math.Max(th0, th1));
    }

    /// <summary>
    /// Whether the phase tiles leave out the taps that read only dy's zero border (tap rows by <see cref="PhaseTaps"/>,
    /// tap columns of a tile's first and last pixel by the tile's edge flags), as the forward's tiles do. On ResNet's
    /// stride-2 3×3 (pad 1) one of 28 tap rows and columns of each two-tap axis is border: 4.7 % of the multiply-adds.
    /// AVX2 Zen 3, 128→256 on 28×28 at b32, arms alternated call by call: 3.5 % less time (median of pairs, A/A 0.3 %;
    /// bench/RESULTS.md 2026-12-07 s2bwd2). For benchmarks (STRIATE_BENCH_PHASE_BORDER=0).
    /// </summary>
    internal static bool PhaseSkipsBorder = true;

    /// <summary>
    /// Whether the task finishing the last phase of a chunk (images × groups) interleaves and unblocks that chunk into
    /// NCHW dx at once (else one pass over the whole blocked dx after every phase has run): 2.0 % less time on 128→256
    /// on 28×28 at b32 (as <see cref="PhaseSkipsBorder"/>). For benchmarks (STRIATE_BENCH_PHASE_UNPACK_IN_TASK=0).
    /// </summary>
    internal static bool PhaseUnpackInTask = true;

    /// <summary>One (image, input-channel block): the column segments interleaved into a plane [H, W, V], then unblocked to NCHW.</summary>
    private struct InterleaveBody : IParallelBody
    {
        public Conv2dGeometry G;
        public PhasePlan Plan;
        public float* Src, Dst;

        public readonly void Invoke(int index)
        {
            var g = G;
            var plan = Plan;
            int n = index / plan.InBlocks, cb = index % plan.InBlocks, v = plan.V, W = g.InWidth;
            var shape = new BlockedShape(g.Batch, g.InChannels, g.InHeight, W, v);
            float* plane = ThreadScratch.Aligned(ref t_interleaved, shape.BlockStride); // [H, W, V]
            float* src = Src + n * plan.DxImageStride(g) + cb * plan.DxBlockStride(g);
            var cols = plan.Cols;
            if (FusedInterleave && v == 8 && W >= 8 && W <= MaxFusedWidth && System.Runtime.Intrinsics.X86.Avx.IsSupported)
            {
                InterleaveUnpack8(g, plan, src, Dst + n * (long)g.InChannels * g.InHeight * W, cb);
                return;
            }
            if (RunInterleave)
            {
                InterleaveRuns(g, plan, src, plane);
                ChannelBlocked.UnpackBlock(plane - cb * shape.BlockStride, shape, cb, Dst + n * (long)g.InChannels * g.InHeight * W, null, null, false);
                return;
            }
            for (int h = 0; h < g.InHeight; h++)
            {
                int ph = (h + g.PadH) % g.StrideH;
                bool rowWritten = plan.Rows.Taps(ph) > 0;
                float* row = src + h * plan.DxRowPitch;
                float* to = plane + (long)h * W * v;
                for (int x = 0; x < W; x++)
                {
                    int q = x + g.PadW, pw = q % g.StrideW;
                    float* d = to + (long)x * v;
                    if (!rowWritten || cols.Taps(pw) == 0) { new Span<float>(d, v).Clear(); continue; }
                    float* s = row + ((long)pw * plan.SegmentWidth + q / g.StrideW - cols.First(pw)) * v;
                    if (v == 16) Vector512.Store(Vector512.Load(s), d);
                    else if (v == 8) Vector256.Store(Vector256.Load(s), d);
                    else new Span<float>(s, v).CopyTo(new Span<float>(d, v));
                }
            }
            ChannelBlocked.UnpackBlock(plane - cb * shape.BlockStride, shape, cb, Dst + n * (long)g.InChannels * g.InHeight * W, null, null, false);
        }
    }

    /// <summary>
    /// Whether <see cref="InterleaveBody"/> copies each column phase's segment as one run of pixels sW apart
    /// (<see cref="InterleaveRuns"/>) instead of finding each pixel's phase and segment index by division (the per-pixel
    /// form took 5 % of the b32 input gradient of 128→256 on 28×28 in perf). AVX2, Zen 3, b32, interleaved in one process:
    /// 64→128 on 56×56 31.1 → 27.6 ms median, 128→256 on 28×28 28.0–29.3 → 27.2–28.6 (bench/RESULTS.md 2026-12-06 02:10).
    /// For benchmarks (STRIATE_BENCH_PHASE_RUNS=0).
    /// </summary>
    internal static bool RunInterleave = true;

    /// <summary>
    /// Whether AVX2's 8-channel blocks go from the column segments straight to NCHW (<see cref="InterleaveUnpack8"/>)
    /// rather than through an interleaved blocked plane and a second pass that unblocks it (together 3.8 % of the b32
    /// input gradient of 128→256 on 28×28 in perf): 1.1 % less time there (as <see cref="PhaseSkipsBorder"/>).
    /// For benchmarks (STRIATE_BENCH_PHASE_FUSED=0).
    /// </summary>
    internal static bool FusedInterleave = true;

    /// <summary>The widest rows <see cref="InterleaveUnpack8"/> takes (its table of pixel offsets is on the stack).</summary>
    private const int MaxFusedWidth = 1024;

    /// <summary>
    /// One 8-channel block (<paramref name="cb"/>) of one image from its column segments ([H][sW][Wseg][8],
    /// <paramref name="src"/>) to NCHW (<paramref name="dstImage"/> [C, H, W]) in one pass: each run of 8 pixels of a row
    /// (the last run overlapping its neighbour) is gathered from its phases' segments, transposed in registers and stored
    /// as 8 channel rows; pixels of phases without taps are zero. Rows of at least 8 pixels.
    /// </summary>
    private static void InterleaveUnpack8(in Conv2dGeometry g, in PhasePlan plan, float* src, float* dstImage, int cb)
    {
        int W = g.InWidth, H = g.InHeight, sW = g.StrideW, channels = Math.Min(8, g.InChannels - cb * 8);
        long plane2d = (long)H * W;
        var cols = plan.Cols;
        // Float offset of pixel x in a row of segments, or −1 where its column phase has no taps.
        int* offset = stackalloc int[W];
        for (int x = 0; x < W; x++)
        {
            int q = x + g.PadW, pw = q % sW;
            offset[x] = cols.Taps(pw) == 0 ? -1 : (pw * plan.SegmentWidth + q / sW - cols.First(pw)) * 8;
        }
        float* zero = stackalloc float[8];
        new Span<float>(zero, 8).Clear();
        float* dst = dstImage + cb * 8 * plane2d;
        for (int h = 0; h < H; h++)
        {
            float* d = dst + (long)h * W;
            if (plan.Rows.Taps((h + g.PadH) % g.StrideH) == 0)
            {
                for (int c = 0; c < channels; c++) new Span<float>(d + c * plane2d, W).Clear();
                continue;
            }
            float* row = src + h * plan.DxRowPitch;
            for (int x0 = 0; ; x0 += 8)
            {
                int at = Math.Min(x0, W - 8);
                int* o = offset + at;
                Transpose8(o[0] < 0 ? zero : row + o[0], o[1] < 0 ? zero : row + o[1], o[2] < 0 ? zero : row + o[2], o[3] < 0 ? zero : row + o[3],
                    o[4] < 0 ? zero : row + o[4], o[5] < 0 ? zero : row + o[5], o[6] < 0 ? zero : row + o[6], o[7] < 0 ? zero : row + o[7],
                    out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
                float* p = d + at;
                if (channels == 8)
                {
                    Vector256.Store(c0, p); Vector256.Store(c1, p + plane2d); Vector256.Store(c2, p + 2 * plane2d); Vector256.Store(c3, p + 3 * plane2d);
                    Vector256.Store(c4, p + 4 * plane2d); Vector256.Store(c5, p + 5 * plane2d); Vector256.Store(c6, p + 6 * plane2d); Vector256.Store(c7, p + 7 * plane2d);
                }
                else
                {
                    // A partial last block: only its real channels have planes.
                    Vector256.Store(c0, p);
                    if (channels > 1) Vector256.Store(c1, p + plane2d);
                    if (channels > 2) Vector256.Store(c2, p + 2 * plane2d);
                    if (channels > 3) Vector256.Store(c3, p + 3 * plane2d);
                    if (channels > 4) Vector256.Store(c4, p + 4 * plane2d);
                    if (channels > 5) Vector256.Store(c5, p + 5 * plane2d);
                    if (channels > 6) Vector256.Store(c6, p + 6 * plane2d);
                }
                if (at == W - 8) break;
            }
        }
    }

    /// <summary>Eight pixel vectors of 8 channels, each at its own address, transposed: c<i>k</i> holds channel k of the 8 pixels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* p0, float* p1, float* p2, float* p3, float* p4, float* p5, float* p6, float* p7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        Transpose.Registers8(Avx.LoadVector256(p0), Avx.LoadVector256(p1), Avx.LoadVector256(p2), Avx.LoadVector256(p3),
            Avx.LoadVector256(p4), Avx.LoadVector256(p5), Avx.LoadVector256(p6), Avx.LoadVector256(p7),
            out c0, out c1, out c2, out c3, out c4, out c5, out c6, out c7);
    }

    /// <summary>
    /// One channel block's column segments ([H][sW][Wseg][V], <paramref name="src"/>) interleaved into a plane
    /// [H, W, V]: column phase pw's segment index i goes to pixel x = i·sW + pw − padW, one run per row and phase; rows
    /// and columns of phases without taps get zeros.
    /// </summary>
    private static void InterleaveRuns(in Conv2dGeometry g, in PhasePlan plan, float* src, float* plane)
    {
        int v = plan.V, W = g.InWidth, sW = g.StrideW;
        var cols = plan.Cols;
        for (int h = 0; h < g.InHeight; h++)
        {
            float* to = plane + (long)h * W * v;
            if (plan.Rows.Taps((h + g.PadH) % g.StrideH) == 0) { new Span<float>(to, W * v).Clear(); continue; }
            float* row = src + h * plan.DxRowPitch;
            for (int pw = 0; pw < sW; pw++)
            {
                // The first pixel of this column phase: x ≡ pw − padW (mod sW), x ≥ 0.
                int x0 = ((pw - g.PadW) % sW + sW) % sW;
                if (cols.Taps(pw) == 0)
                {
                    for (int x = x0; x < W; x += sW) new Span<float>(to + (long)x * v, v).Clear();
                    continue;
                }
                int first = cols.First(pw), count = cols.Count(pw);
                float* s = row + (long)pw * plan.SegmentWidth * v;
                float* d = to + (long)cols.Input(pw, first) * v;
                long dStep = (long)sW * v;
                if (v == 8)
                    for (int i = 0; i < count; i++, s += 8, d += dStep) Vector256.Store(Vector256.Load(s), d);
                else if (v == 16)
                    for (int i = 0; i < count; i++, s += 16, d += dStep) Vector512.Store(Vector512.Load(s), d);
                else
                    for (int i = 0; i < count; i++, s += v, d += dStep) new Span<float>(s, v).CopyTo(new Span<float>(d, v));
            }
        }
    }

    /// <summary>
    /// Images and groups per task of <see cref="BackwardDataStrided"/>, from the same traffic model as the forward's
    /// batch-blocked schedule (<see cref="DirectSchedule"/>): a task's output stays in L2 while the L1-sized passes of
    /// weights add onto it, dy streams once per group chunk and the weights once per image chunk.
    /// </summary>
    internal readonly record struct PhaseSchedule(int Images, int GroupsPerTask)
    {
        /// <summary>For benchmarks and tests: force the schedule on this thread (null: the model's choice).</summary>
        [ThreadStatic] internal static PhaseSchedule? Override;

        /// <summary>
        /// Bytes of a task's output the model keeps in L2: half of a core's L2 where it holds 512 KiB or less (Zen 2/3),
        /// else <see cref="DirectSchedule.L2Bytes"/> (1 MiB). With 1 MiB on a Zen 3's 512 KiB L2 a task's output (8 images
        /// × 8 groups of 128→256 on 28×28: 0.8 MB) spilled to L3 while dy streamed past it; at 256 KiB (2 images × 8
        /// groups) ResNet-18's three stride-2 3×3 input gradients at b32 ran 4–12 % faster (AVX2, interleaved in one
        /// process, bench/RESULTS.md 2026-12-06 02:10). <see cref="L2BudgetOverride"/> (STRIATE_BENCH_PHASE_L2) replaces it.
        /// </summary>
        internal static long L2Budget => L2BudgetOverride > 0 ? L2BudgetOverride
            : CpuCaches.SmallL2 ? CpuCaches.L2Bytes / 2 : DirectSchedule.L2Bytes;

        /// <summary>For benchmarks: the L2 budget of <see cref="For(in Conv2dGeometry, in PhasePlan, int)"/> in bytes (0: <see cref="L2Budget"/>'s rule).</summary>
        internal static long L2BudgetOverride;

        public static PhaseSchedule For(in Conv2dGeometry g, in PhasePlan plan, int threads) => For(g, plan, threads, L2Budget);

        /// <summary>The schedule for a core whose tasks may count on <paramref name="l2"/> bytes of L2 for their output (<see cref="L2Budget"/>).</summary>
        public static PhaseSchedule For(in Conv2dGeometry g, in PhasePlan plan, int threads, long l2)
        {
            if (Override is { } forced)
                return new PhaseSchedule(Math.Clamp(forced.Images, 1, Math.Max(1, g.Batch)), Math.Clamp(forced.GroupsPerTask, 1, plan.Groups));
            int groups = plan.Groups, n = g.Batch, phases = plan.Phases;
            long f = sizeof(float);
            long weights = plan.WeightLength * f;
            long dyImage = plan.Dy.ImageStride * f;
            long outGroup = (long)plan.GroupBlocks * plan.Rows.MaxCount * plan.Cols.MaxCount * plan.V * f; // one phase, one image, one group
            var best = new PhaseSchedule(1, 1);
            long bestTraffic = long.MaxValue;
            for (int gp = 1; gp <= groups; gp++)
            {
                int groupChunks = (groups + gp - 1) / gp;
                if (gp > 1 && (groups + gp - 2) / (gp - 1) == groupChunks) continue;
                for (int b = 1; b <= n; b++)
                {
                    int imageChunks = (n + b - 1) / b;
                    if (b > 1 && (n + b - 2) / (b - 1) == imageChunks) continue;
                    if (b * gp * outGroup > l2 && b * gp > 1) break;
                    long tasks = (long)groupChunks * imageChunks * phases;
                    long traffic = (long)groupChunks * n * dyImage * phases + imageChunks * weights;
                    long rounds = (tasks + threads - 1) / threads;
                    traffic = traffic * rounds * threads / tasks;
                    if (traffic < bestTraffic) { bestTraffic = traffic; best = new PhaseSchedule(b, gp); }
                }
            }
            return best;
        }
    }
}
