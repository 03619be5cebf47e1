using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static Striate.Kernels.IntMath;

namespace Striate.Kernels;

/// <summary>
/// A 1×1, unpadded convolution of any stride over a whole batch as one GEMM whose columns are every image's output
/// pixels: y[n, o, p] = Σc w[o, c] · x[n, c, (p / Wo)·sH, (p % Wo)·sW]. B̃ is packed straight from the strided
/// NCHW input (no im2col matrix) and every tile of C is stored straight into the NCHW output (no side-by-side product
/// copied back), so the product is the only pass over memory. Before, a stride-2 1×1 at batch 32 wrote and re-read an
/// im2col matrix and a side-by-side product per chunk of images, and those passes took about a third of its time
/// (on 14×14 and 7×7 maps a plane is too narrow for a GEMM of its own: 49 columns fill 2 tiles of 32).
/// Shapes: x [N, Cin, H, W] (group's channels from <c>X</c>), packed A = w [Cout/g, Cin/g], y [N, Cout, Ho, Wo].
/// </summary>
internal readonly unsafe struct ImageGemmJob(int m, int k, int images, float* packedA,
    float* x, int xImage, int xChannel, int inWidth, int strideH, int strideW, int outWidth, int plane,
    float* y, int yImage)
{
    /// <summary>Rows (output channels of the group), depth (input channels of the group), columns = images · plane.</summary>
    public readonly int M = m, K = k, N = images * plane;
    public readonly float* PackedA = packedA, X = x, Y = y;
    /// <summary>Floats between images and between channels of x; floats between images of y (a channel is a plane).</summary>
    public readonly int XImage = xImage, XChannel = xChannel, YImage = yImage;
    public readonly int InWidth = inWidth, StrideH = strideH, StrideW = strideW, OutWidth = outWidth, Plane = plane;

    /// <summary>Where column <paramref name="j"/> (image j / plane, output pixel j % plane) reads channel 0 of x.</summary>
    public int Source(int j)
    {
        int image = j / Plane, pixel = j - image * Plane, oh = pixel / OutWidth, ow = pixel - oh * OutWidth;
        return image * XImage + oh * StrideH * InWidth + ow * StrideW;
    }
}

internal static unsafe class GemmImages
{
    /// <summary>
    /// For tests and benchmarks (STRIATE_BENCH_GATHER=0): false packs B̃ column by column, strip after strip, every
    /// element a scalar load (<see cref="ImageGemmDriver{TKernel}"/>'s PackB), instead of channel by channel with runs
    /// of 8 stride-1 or stride-2 columns as vectors (PackBRuns).
    /// </summary>
    internal static bool VectorGather = true;

    /// <summary>
    /// Strips of B̃ packed per pass over the block's channels (STRIATE_BENCH_GATHER_STRIPS; 0: all of the block's strips,
    /// so each channel's columns are read as one stream).
    /// </summary>
    internal static int GatherStrips = 0;

    /// <summary>
    /// For tests and benchmarks (STRIATE_BENCH_GATHER_PREFETCH=0): false leaves the next channel's lines to the hardware
    /// prefetcher while the vector packing reads a channel's columns (PackBRuns).
    /// </summary>
    internal static bool GatherPrefetch = true;

    /// <summary>y ← w · x gathered (overwrites y's planes of this group), on the best GEMM path's tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(GemmPath path, int threads, in ImageGemmJob job)
    {
        switch (path)
        {
            case GemmPath.Vector512: ImageGemmDriver<Gemm512x14x32>.Run(job, threads); break;
            case GemmPath.Vector256: ImageGemmDriver<Gemm256x6x16>.Run(job, threads); break;
            case GemmPath.Vector128: ImageGemmDriver<Gemm128x6x8>.Run(job, threads); break;
            default: ImageGemmDriver<GemmScalar4x4>.Run(job, threads); break;
        }
    }
}

/// <summary>
/// <see cref="GemmDriver{TKernel}"/>'s loops for an <see cref="ImageGemmJob"/>: C cut by columns only (A comes packed,
/// so a column part packs nothing but its own B̃), B̃ gathered through a table of column sources, and C tiles that
/// straddle two images computed into a scratch tile and copied out run by run.
/// </summary>
internal static unsafe class ImageGemmDriver<TKernel> where TKernel : struct, IGemmMicrokernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in ImageGemmJob job, int threads)
    {
        int nTiles = (job.N + TKernel.NR - 1) / TKernel.NR;
        // Whole NC blocks shared evenly: parts a multiple of the threads, so no thread takes a block more than another.
        int blocks = (job.N + TKernel.NC - 1) / TKernel.NC;
        int parts = threads <= 1 ? 1 : Math.Min(nTiles, (blocks + threads - 1) / threads * threads);
        var body = new Body(job, parts, nTiles);
        if (parts == 1) body.Invoke(0);
        else ParallelFor.Run(parts, ref body, threads);
    }

    private readonly struct Body(ImageGemmJob job, int parts, int nTiles) : IParallelBody
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index)
        {
            int j0 = (int)((long)nTiles * index / parts) * TKernel.NR;
            int j1 = Math.Min(job.N, (int)((long)nTiles * (index + 1) / parts) * TKernel.NR);
            if (j0 < j1) Block(in job, j0, j1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block(in ImageGemmJob job, int j0, int j1)
    {
        int MR = TKernel.MR, NR = TKernel.NR;
        int ncMax = Math.Min(TKernel.NC, RoundUp(j1 - j0, NR));
        int kcBlock = GemmDriver<TKernel>.DepthBlock(job.K);
        // scratch: B̃ [ncMax/NR, kc, NR], then the source of each of its columns (ints) and the length of the stride-sW
        // run of columns starting there (ints), then one C tile [MR, NR]
        float* bPack = GemmScratch.Get(ncMax * kcBlock + 2 * ncMax + MR * NR + 16);
        int* sources = (int*)(bPack + ncMax * kcBlock);
        int* runs = sources + ncMax;
        float* tile = CacheLine.Align(bPack + ncMax * kcBlock + 2 * ncMax);
        bool vector = GemmImages.VectorGather && Avx2.IsSupported && job.StrideW <= 2;
        var plain = new GemmTileStore(MR, NR, whole: true, GemmEpilogue.None);
        int mRounded = RoundUp(job.M, MR);
        for (int jc = j0; jc < j1; jc += TKernel.NC)
        {
            int nc = Math.Min(TKernel.NC, j1 - jc);
            for (int t = 0; t < nc; t++) sources[t] = job.Source(jc + t);
            // Runs of columns stride sW apart in x; a block without a run of 8 (output rows under 8 pixels at stride 2:
            // 7×7, 6×6, 3×3 maps) keeps the scalar packing, which is faster there (its data sits in cache anyway).
            bool runsOf8 = false;
            if (vector)
            {
                runs[nc - 1] = 1;
                for (int t = nc - 2; t >= 0; t--)
                {
                    runs[t] = sources[t + 1] - sources[t] == job.StrideW ? runs[t + 1] + 1 : 1;
                    runsOf8 |= runs[t] >= 8;
                }
            }
            for (int pc = 0; pc < job.K; pc += kcBlock)
            {
                int kc = Math.Min(kcBlock, job.K - pc);
                float beta = pc == 0 ? 0f : 1f;
                if (runsOf8) PackBRuns(in job, sources, runs, pc, kc, nc, bPack);
                else PackB(in job, sources, pc, kc, nc, bPack);
                for (int ir = 0; ir < job.M; ir += MR)
                {
                    int mr = Math.Min(MR, job.M - ir);
                    // The packed A's layout (GemmDriver.PackWhole): depth block after depth block, each MR-row strips of kc.
                    float* aStrip = job.PackedA + (long)pc * mRounded + (long)ir * kc;
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr), j = jc + jr;
                        int image = j / job.Plane, pixel = j - image * job.Plane;
                        bool whole = mr == MR && nr == NR;
                        if (pixel + nr <= job.Plane)
                        {
                            // The tile's columns are one run of one image's plane: C is y there, rows a plane apart.
                            float* c = job.Y + (long)image * job.YImage + (long)ir * job.Plane + pixel;
                            if (whole) TKernel.Run(kc, aStrip, bPack + jr * kc, c, job.Plane, beta, in plain);
                            else TKernel.Run(kc, aStrip, bPack + jr * kc, c, job.Plane, beta, new GemmTileStore(mr, nr, false, GemmEpilogue.None));
                        }
                        else
                        {
                            // Straddles images: through the scratch tile, loaded first when a later depth block adds to it.
                            if (beta != 0) CopyTile(in job, tile, NR, mr, nr, ir, j, toTile: true);
                            TKernel.Run(kc, aStrip, bPack + jr * kc, tile, NR, beta, new GemmTileStore(mr, nr, whole, GemmEpilogue.None));
                            CopyTile(in job, tile, NR, mr, nr, ir, j, toTile: false);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// B̃ [ceil(nc/NR), kc, NR] ← x gathered: column t of the block reads x at sources[t] + (pc + p) · channel; columns
    /// past nc are zero. Each strip's row of NR is read along up to a few input rows, stride sW apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(in ImageGemmJob job, int* sources, int pc, int kc, int nc, float* dst)
    {
        int NR = TKernel.NR;
        long channel = job.XChannel;
        for (int s = 0; s < nc; s += NR, dst += NR * kc)
        {
            int cols = Math.Min(NR, nc - s);
            int* src = sources + s;
            float* d = dst;
            if (cols == NR)
            {
                for (int p = 0; p < kc; p++, d += NR)
                {
                    float* x = job.X + (pc + p) * channel;
                    for (int t = 0; t < NR; t++) d[t] = x[src[t]];
                }
            }
            else
            {
                for (int p = 0; p < kc; p++, d += NR)
                {
                    float* x = job.X + (pc + p) * channel;
                    int t = 0;
                    for (; t < cols; t++) d[t] = x[src[t]];
                    for (; t < NR; t++) d[t] = 0;
                }
            }
        }
    }

    /// <summary>
    /// B̃ as <see cref="PackB"/> (its scalar twin), channel by channel over a group of strips (all of the block's by
    /// default, <see cref="GemmImages.GatherStrips"/>), so each channel's columns are read in one pass along its rows
    /// rather than a few of them from every channel at a time; a run of 8 columns that are stride-1 or stride-2 apart
    /// in x (runs[t] ≥ 8: along an output row, or across rows of a stride-1 plane) is one vector load, or two loads
    /// and a shuffle that keeps the even floats. Needs AVX2 and sW ≤ 2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBRuns(in ImageGemmJob job, int* sources, int* runs, int pc, int kc, int nc, float* dst)
    {
        int NR = TKernel.NR;
        long channel = job.XChannel;
        bool stride1 = job.StrideW == 1;
        int strips = (nc + NR - 1) / NR, group = GemmImages.GatherStrips > 0 ? GemmImages.GatherStrips : strips;
        bool prefetch = GemmImages.GatherPrefetch;
        for (int s0 = 0; s0 < strips; s0 += group)
        {
            int s1 = Math.Min(strips, s0 + group);
            for (int p = 0; p < kc; p++)
            {
                float* x = job.X + (pc + p) * channel;
                if (prefetch && p + 1 < kc)
                {
                    // The next channel's columns of these strips start a new stream 1 plane on: ask for its lines
                    // now, one request per 8 columns (up to 16·sW floats, a line or two).
                    float* next = x + channel;
                    for (int t = s0 * NR, end = Math.Min(nc, s1 * NR); t < end; t += 8) Sse.Prefetch0(next + sources[t]);
                }
                for (int s = s0; s < s1; s++)
                {
                    int j = s * NR, cols = Math.Min(NR, nc - j);
                    float* d = dst + ((long)s * kc + p) * NR; // strip s: [kc, NR]
                    int t = 0;
                    while (t < cols)
                    {
                        if (t + 8 <= cols && runs[j + t] >= 8)
                        {
                            float* src = x + sources[j + t];
                            if (stride1) Avx.Store(d + t, Avx.LoadVector256(src));
                            else
                            {
                                // lo = x[0..7], hi = x[7..14] (never past the run's last float): per lane keep lo's
                                // even floats and hi's odd ones, [0 2 8 10 | 4 6 12 14], then order the 64-bit pairs.
                                var lo = Avx.LoadVector256(src);
                                var hi = Avx.LoadVector256(src + 7);
                                var mixed = Avx.Shuffle(lo, hi, 0b11_01_10_00);
                                Avx.Store(d + t, Avx2.Permute4x64(mixed.AsDouble(), 0b11_01_10_00).AsSingle());
                            }
                            t += 8;
                        }
                        else
                        {
                            d[t] = x[sources[j + t]];
                            t++;
                        }
                    }
                    for (; t < NR; t++) d[t] = 0;
                }
            }
        }
    }

    /// <summary>Copies rows ir.. (mr of them), columns j..j+nr of C between the scratch tile and y, one image's run at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyTile(in ImageGemmJob job, float* tile, int ldt, int mr, int nr, int ir, int j, bool toTile)
    {
        for (int t = 0; t < nr;)
        {
            int image = (j + t) / job.Plane, pixel = j + t - image * job.Plane;
            int run = Math.Min(nr - t, job.Plane - pixel);
            float* y = job.Y + (long)image * job.YImage + (long)ir * job.Plane + pixel;
            for (int r = 0; r < mr; r++)
            {
                float* a = tile + r * ldt + t, b = y + (long)r * job.Plane;
                if (toTile) Buffer.MemoryCopy(b, a, run * sizeof(float), run * sizeof(float));
                else Buffer.MemoryCopy(a, b, run * sizeof(float), run * sizeof(float));
            }
            t += run;
        }
    }
}
