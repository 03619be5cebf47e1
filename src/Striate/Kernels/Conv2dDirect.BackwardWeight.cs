using System.Buffers;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

internal static unsafe partial class Conv2dDirect
{
    /// <summary>Whether the weight gradient of <paramref name="g"/> fits the direct kernel (no groups).</summary>
    public static bool SupportsBackwardWeight(in Conv2dGeometry g) => g.Groups == 1;

    /// <summary>
    /// dW [Cout, Cin, kH, kW] = Σ over the batch and output pixels of dy[n, o, i, j] · x[n, c, i·s − p + kh·d, j·s − p + kw·d],
    /// on blocked copies of x (padded) and dy, accumulated per tile (<see cref="Conv2dDirectWeightTile{TS, TV, TOI, TK}"/>)
    /// in blocked form dWb [OCB][ICB][kH][kW][V (o)][V (c)] and unblocked at the end. Tasks own disjoint parts of dWb
    /// (an output block, an input block, a range of kernel rows), so no partial sums are needed and the result does not
    /// depend on the thread count.
    /// </summary>
    public static void BackwardWeight(GemmPath width, in Conv2dGeometry g, float* x, float* dy, float* dw)
    {
        if (width == GemmPath.Vector512) RunWeight<Simd512, Vector512<float>, C8>(g, x, dy, dw);
        else if (width == GemmPath.Vector256) RunWeight<Simd256, Vector256<float>, C4>(g, x, dy, dw);
        else throw new PlatformNotSupportedException($"Conv2dDirect: no direct kernel for {width}.");
    }

    private static void RunWeight<TS, TV, TOI>(in Conv2dGeometry g, float* x, float* dy, float* dw)
        where TS : struct, ISimdFloat<TV> where TV : struct where TOI : struct, IConstant
    {
        int v = TS.Length;
        var inShape = new BlockedShape(g.Batch, g.InChannels, g.InHeight, g.InWidth, v, g.PadH, g.PadW);
        var outShape = new BlockedShape(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, v);
        long dwbLength = (long)outShape.Blocks * inShape.Blocks * g.KernelHeight * g.KernelWidth * v * v;
        float[] xb = ArrayPool<float>.Shared.Rent(checked((int)inShape.Length + CacheLine.SlackFloats));   // x: [N, ICB, Hp, Wp, V]
        float[] yb = ArrayPool<float>.Shared.Rent(checked((int)outShape.Length + CacheLine.SlackFloats));  // dy: [N, OCB, Hout, Wout, V]
        float[] wb = ArrayPool<float>.Shared.Rent(checked((int)dwbLength + CacheLine.SlackFloats));        // dW: [OCB, ICB, kH, kW, V (o), V (c)]
        try
        {
            fixed (float* xPinned = xb, yPinned = yb, wPinned = wb)
            {
                float* px = CacheLine.Align(xPinned), py = CacheLine.Align(yPinned), pw = CacheLine.Align(wPinned);
                ChannelBlocked.Pack(x, inShape, px);
                ChannelBlocked.Pack(dy, outShape, py);
                var blocking = WeightBlocking.For(g, inShape, outShape, KernelThreads.Count);
                var body = new WeightBody
                {
                    G = g, In = inShape, Out = outShape, X = px, Dy = py, Dw = pw, Blocking = blocking,
                    Tile1 = &Conv2dDirectWeightTile<TS, TV, TOI, C1>.Run,
                    Tile2 = &Conv2dDirectWeightTile<TS, TV, TOI, C2>.Run,
                    Tile3 = &Conv2dDirectWeightTile<TS, TV, TOI, C3>.Run,
                    OI = TOI.Value,
                };
                int outGroups = (outShape.Blocks + blocking.OutBlocks - 1) / blocking.OutBlocks;
                Conv2dKernels.RunParallel(outGroups * inShape.Blocks * blocking.KernelRowParts, (long)(g.ForwardFlops / 2), ref body);
                var unblock = new UnblockWeightBody { G = g, V = v, IcBlocks = inShape.Blocks, Src = pw, Dst = dw };
                Conv2dKernels.RunParallel(g.OutChannels, g.WeightLength, ref unblock);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xb);
            ArrayPool<float>.Shared.Return(yb);
            ArrayPool<float>.Shared.Return(wb);
        }
    }

    /// <summary>Bytes of x and dy one pass of the weight-gradient tiles may read (of a 48 KiB L1 data cache).</summary>
    private const long L1WeightGradientBytes = 32 * 1024;

    /// <summary>For benchmarks and tests: images per weight-gradient tile call (0: from <see cref="L1WeightGradientBytes"/>).</summary>
    [ThreadStatic] internal static int WeightImagesOverride;

    /// <summary>For tests: output rows per pass when a plane does not fit (0: from <see cref="L1WeightGradientBytes"/>).</summary>
    [ThreadStatic] internal static int WeightRowsOverride;

    /// <summary>For tests: 1 = one task per (output block, input block) over all kernel rows, 2 = one per kernel row (0: chosen).</summary>
    [ThreadStatic] internal static int WeightKernelRowsOverride;

    /// <summary>For tests: output blocks per task (0: chosen, <see cref="WeightBlocking.For"/>).</summary>
    [ThreadStatic] internal static int WeightOutBlocksOverride;

    /// <summary>
    /// Whether strided weight gradients give a task several output blocks (<see cref="WeightBlocking.OutBlocks"/>): each
    /// pass of x rows then serves every one of them before the next is read, where one block per task streamed the
    /// whole batch's x block from L3 once per output block. For benchmarks (STRIATE_BENCH_WEIGHT_GROUPS=0).
    /// </summary>
    internal static bool GroupOutBlocks = true;

    /// <summary>
    /// Whether a strided convolution whose forward is direct takes the direct weight gradient on AVX2 too (else im2col +
    /// GEMM, <see cref="Conv2dKernels.ChooseBackwardWeight"/>): only with output blocks grouped per task
    /// (<see cref="GroupOutBlocks"/>), which read x once per group; one block per task streamed the batch's x from L3
    /// once per output block and ran at 0.54–0.58 of im2col.
    /// </summary>
    internal static bool StridedWeightIsDirect(in Conv2dGeometry g) =>
        StridedWeightDirect && GroupOutBlocks && SupportsBackwardWeight(g) && (long)g.Batch * g.OutHeight * g.OutWidth >= StridedWeightMinPixels;

    /// <summary>
    /// For benchmarks: whether <see cref="StridedWeightIsDirect"/> may say yes (STRIATE_BENCH_STRIDED_WEIGHT=1; off: im2col).
    /// Off: on AVX2 Zen 3 the weight pass alone favoured the direct kernel on 4 of 6 stride-2 3×3s (<see cref="StridedWeightMinPixels"/>),
    /// but conv3x3_128_256_28_s2_b32 fwd+bwd came out even in both orientations (20 rounds each: direct ÷ im2col 0.985 and
    /// 1 ÷ 0.990) and ResNet-18's training step showed nothing beyond its A/A noise (bench/RESULTS.md 2026-12-07 s2bwd2).
    /// </summary>
    internal static bool StridedWeightDirect;

    /// <summary>
    /// The fewest output pixels over the batch (the length of each dW element's sum) for which <see cref="StridedWeightIsDirect"/>
    /// takes the direct kernel. Weight pass alone, AVX2 Zen 3, arms alternated call by call (direct ÷ im2col time, median
    /// of pairs; bench/RESULTS.md 2026-12-07 s2bwd2): 512→512 on 14×14 at b8 (392 pixels) 1.066, the one loss; 256→256
    /// @28 b8 and 256→512 @14 b32 (1568) 0.961 / 0.933, 128→256 @28 b32 (6272) 0.994, 128→128 @56 b8 (6272) 0.838,
    /// 64→128 @56 b32 (25088) 0.954.
    /// </summary>
    internal const long StridedWeightMinPixels = 1024;

    /// <summary>The most output blocks a task of the weight gradient takes.</summary>
    private const int MaxOutBlocksPerTask = 8;

    /// <summary>
    /// How the weight gradient cuts its work so that what the tiles read comes from L1: a pass covers Images whole
    /// planes (small planes), or Rows output rows of one image (large planes), and every tile of a task — each
    /// kernel row, tap group and part of the output block — runs over that pass before the next is read, so the x
    /// rows and the dy rows of a pass serve kH·⌈kW/3⌉·V/OI tile calls instead of streaming from L2 for each.
    /// A task is one (output block, input block) over all kernel rows when there are enough of them to keep every
    /// thread busy, else one kernel row of it. With a stride (few multiply-adds per byte of x: 128→256 on 28×28, stride 2,
    /// does 6 flops per byte where stride 1 does 17) a task takes OutBlocks output blocks of one input block, so the
    /// batch's x block is read once per group instead of once per output block (<see cref="GroupOutBlocks"/>).
    /// </summary>
    internal readonly record struct WeightBlocking(int Images, int Rows, int KernelRowParts, int OutBlocks = 1)
    {
        public static WeightBlocking For(in Conv2dGeometry g, in BlockedShape input, in BlockedShape output, int threads)
        {
            int kH = g.KernelHeight, strideH = g.StrideH, halo = (kH - 1) * g.DilationH + 1;
            long xRow = input.RowPitch * sizeof(float), dyRow = output.RowPitch * sizeof(float);
            // x rows a pass of r output rows reads over all kernel rows: (r − 1)·s + (kH − 1)·d + 1.
            long Bytes(int r) => ((long)(r - 1) * strideH + halo) * xRow + r * dyRow;
            int parts = WeightKernelRowsOverride switch
            {
                1 => 1,
                2 => kH,
                _ => (long)output.Blocks * input.Blocks >= 8L * threads ? 1 : kH,
            };
            int images, rows;
            if (WeightImagesOverride > 0) { images = Math.Min(WeightImagesOverride, Math.Max(1, g.Batch)); rows = g.OutHeight; }
            else if (WeightRowsOverride > 0) { images = 1; rows = Math.Min(WeightRowsOverride, g.OutHeight); }
            else if (Bytes(g.OutHeight) <= L1WeightGradientBytes)
            {
                images = (int)Math.Clamp(L1WeightGradientBytes / Bytes(g.OutHeight), 1, Math.Max(1, g.Batch));
                rows = g.OutHeight;
            }
            else
            {
                images = 1;
                rows = 1;
                while (rows < g.OutHeight && Bytes(rows + 1) <= L1WeightGradientBytes) rows++;
            }
            int outBlocks = 1;
            if (WeightOutBlocksOverride > 0) outBlocks = Math.Min(WeightOutBlocksOverride, output.Blocks);
            else if (GroupOutBlocks && (g.StrideH > 1 || g.StrideW > 1))
            {
                // As many as keep four tasks per thread, at most MaxOutBlocksPerTask (its dW blocks stay in L2).
                outBlocks = Math.Min(MaxOutBlocksPerTask, output.Blocks);
                while (outBlocks > 1 && (long)((output.Blocks + outBlocks - 1) / outBlocks) * input.Blocks * parts < 4L * threads) outBlocks--;
            }
            return new WeightBlocking(images, rows, parts, outBlocks);
        }
    }

    /// <summary>One group of output blocks × one input block of dWb, or one kernel row of it, summed over the whole batch.</summary>
    private struct WeightBody : IParallelBody
    {
        public Conv2dGeometry G;
        public BlockedShape In, Out;
        public float* X, Dy, Dw;
        public int OI;
        public WeightBlocking Blocking;
        public delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, bool, void> Tile1, Tile2, Tile3;

        public readonly void Invoke(int index)
        {
            var g = G;
            int kH = g.KernelHeight, kW = g.KernelWidth, v = In.V, parts = Blocking.KernelRowParts;
            int part = index % parts, pair = index / parts, cb = pair % In.Blocks, ob0 = pair / In.Blocks * Blocking.OutBlocks;
            int ob1 = Math.Min(Out.Blocks, ob0 + Blocking.OutBlocks);
            int kh0 = parts == 1 ? 0 : part, kh1 = parts == 1 ? kH : part + 1;
            nint xRowStep = (nint)(g.StrideH * In.RowPitch), xColStep = (nint)g.StrideW * v, xTapStep = (nint)g.DilationW * v;
            nint dyRowPitch = (nint)Out.RowPitch;
            int imagesPerPass = Blocking.Images, rowsPerPass = Blocking.Rows;
            for (int n = 0; n < g.Batch; n += imagesPerPass)
            {
                int images = Math.Min(imagesPerPass, g.Batch - n);
                float* xImage = X + n * In.ImageStride + cb * In.BlockStride;
                for (int r0 = 0; r0 < g.OutHeight; r0 += rowsPerPass)
                {
                    int rows = Math.Min(rowsPerPass, g.OutHeight - r0);
                    bool accumulate = n > 0 || r0 > 0;
                    float* xPass = xImage + (long)r0 * xRowStep;
                    // Every output block of the task on this pass of x rows (still in L1/L2) before the next pass.
                    for (int ob = ob0; ob < ob1; ob++)
                    {
                        float* dwBlock = Dw + ((long)ob * In.Blocks + cb) * kH * kW * v * v; // [kH][kW][V][V]
                        float* dyPass = Dy + n * Out.ImageStride + ob * Out.BlockStride + (long)r0 * dyRowPitch;
                        for (int kh = kh0; kh < kh1; kh++)
                        {
                            // Output rows [lo, hi) of the pass whose input row under kernel row kh is in the image; the
                            // others multiply the zero border (2 of 21 row products on 7×7 maps). None still stores zeros.
                            int shift = g.PadH - kh * g.DilationH; // output row r reads input row r·s − shift
                            int lo = Math.Max(r0, shift <= 0 ? 0 : (shift + g.StrideH - 1) / g.StrideH);
                            int below = g.InHeight - 1 + shift; // the last output row reading the image is below / s
                            int hi = below < 0 ? 0 : Math.Min(r0 + rows, below / g.StrideH + 1);
                            int live = Math.Max(0, hi - lo), skip = live == 0 ? 0 : lo - r0;
                            float* xRow = xPass + (long)kh * g.DilationH * In.RowPitch + (long)skip * xRowStep;
                            float* dyRows = dyPass + (long)skip * dyRowPitch;
                            float* dwRow = dwBlock + (long)kh * kW * v * v;
                            for (int kw0 = 0; kw0 < kW; kw0 += 3)
                            {
                                int k = Math.Min(3, kW - kw0);
                                var tile = k == 3 ? Tile3 : k == 2 ? Tile2 : Tile1;
                                for (int oi0 = 0; oi0 < v; oi0 += OI)
                                    tile(xRow + (long)kw0 * xTapStep, dyRows + oi0, dwRow + (long)kw0 * v * v + oi0 * v, images,
                                        live, g.OutWidth, (nint)In.ImageStride, (nint)Out.ImageStride, xRowStep, xColStep, xTapStep, dyRowPitch, accumulate);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>dW[o, c, kh, kw] ← dWb[o/V, c/V, kh, kw, o%V, c%V] for one output channel o.</summary>
    private struct UnblockWeightBody : IParallelBody
    {
        public Conv2dGeometry G;
        public int V, IcBlocks;
        public float* Src, Dst;

        public readonly void Invoke(int o)
        {
            int taps = G.KernelHeight * G.KernelWidth, v = V;
            float* blockRow = Src + (long)(o / v) * IcBlocks * taps * v * v + (o % v) * v;
            float* d = Dst + (long)o * G.InChannels * taps;
            for (int c = 0; c < G.InChannels; c++)
            {
                float* s = blockRow + (long)(c / v) * taps * v * v + c % v;
                for (int t = 0; t < taps; t++) d[c * taps + t] = s[(long)t * v * v];
            }
        }
    }
}
