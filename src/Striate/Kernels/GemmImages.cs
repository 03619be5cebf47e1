using System.Runtime.CompilerServices;
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
        // scratch: B̃ [ncMax/NR, kc, NR], then the source of each of its columns (ints), then one C tile [MR, NR]
        float* bPack = GemmScratch.Get(ncMax * kcBlock + ncMax + MR * NR + 16);
        int* sources = (int*)(bPack + ncMax * kcBlock);
        float* tile = CacheLine.Align(bPack + ncMax * kcBlock + ncMax);
        var plain = new GemmTileStore(MR, NR, whole: true, GemmEpilogue.None);
        int mRounded = RoundUp(job.M, MR);
        for (int jc = j0; jc < j1; jc += TKernel.NC)
        {
            int nc = Math.Min(TKernel.NC, j1 - jc);
            for (int t = 0; t < nc; t++) sources[t] = job.Source(jc + t);
            for (int pc = 0; pc < job.K; pc += kcBlock)
            {
                int kc = Math.Min(kcBlock, job.K - pc);
                float beta = pc == 0 ? 0f : 1f;
                PackB(in job, sources, pc, kc, nc, bPack);
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
