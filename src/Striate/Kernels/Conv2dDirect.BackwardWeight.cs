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
    /// (an output block, an input block, a kernel row), so no partial sums are needed and the result does not
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
                var body = new WeightBody
                {
                    G = g, In = inShape, Out = outShape, X = px, Dy = py, Dw = pw,
                    Tile1 = &Conv2dDirectWeightTile<TS, TV, TOI, C1>.Run,
                    Tile2 = &Conv2dDirectWeightTile<TS, TV, TOI, C2>.Run,
                    Tile3 = &Conv2dDirectWeightTile<TS, TV, TOI, C3>.Run,
                    OI = TOI.Value,
                    ImagesPerCall = WeightBody.ImagesFor(g, inShape, outShape),
                };
                Conv2dKernels.RunParallel(outShape.Blocks * inShape.Blocks * g.KernelHeight, (long)(g.ForwardFlops / 2), ref body);
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

    /// <summary>Bytes of x and dy one weight-gradient tile call may read (of a 48 KiB L1 data cache).</summary>
    private const long L1WeightGradientBytes = 32 * 1024;

    /// <summary>For benchmarks and tests: images per weight-gradient tile call (0: from <see cref="L1WeightGradientBytes"/>).</summary>
    [ThreadStatic] internal static int WeightImagesOverride;

    /// <summary>One (output block, input block, kernel row) of dWb, summed over the whole batch.</summary>
    private struct WeightBody : IParallelBody
    {
        public Conv2dGeometry G;
        public BlockedShape In, Out;
        public float* X, Dy, Dw;
        public int OI;
        public int ImagesPerCall;
        public delegate*<float*, float*, float*, int, int, int, nint, nint, nint, nint, nint, nint, bool, void> Tile1, Tile2, Tile3;

        public readonly void Invoke(int index)
        {
            var g = G;
            int kH = g.KernelHeight, kW = g.KernelWidth, v = In.V;
            int kh = index % kH, pair = index / kH, cb = pair % In.Blocks, ob = pair / In.Blocks;
            nint xRowStep = (nint)(g.StrideH * In.RowPitch), xColStep = (nint)g.StrideW * v, xTapStep = (nint)g.DilationW * v;
            nint dyRowPitch = (nint)Out.RowPitch;
            float* dwRow = Dw + (((long)ob * In.Blocks + cb) * kH + kh) * kW * v * v; // [kW][V][V]
            for (int n = 0; n < g.Batch; n += ImagesPerCall)
            {
                int images = Math.Min(ImagesPerCall, g.Batch - n);
                float* xPlane = X + n * In.ImageStride + cb * In.BlockStride + (long)kh * g.DilationH * In.RowPitch;
                float* dyPlane = Dy + n * Out.ImageStride + ob * Out.BlockStride;
                for (int kw0 = 0; kw0 < kW; kw0 += 3)
                {
                    int k = Math.Min(3, kW - kw0);
                    var tile = k == 3 ? Tile3 : k == 2 ? Tile2 : Tile1;
                    for (int oi0 = 0; oi0 < v; oi0 += OI)
                        tile(xPlane + (long)kw0 * xTapStep, dyPlane + oi0, dwRow + (long)kw0 * v * v + oi0 * v, images,
                            g.OutHeight, g.OutWidth, (nint)In.ImageStride, (nint)Out.ImageStride, xRowStep, xColStep, xTapStep, dyRowPitch, n > 0);
                }
            }
        }

        /// <summary>
        /// Images per tile call: as many as keep the x rows and dy planes one call reads within about
        /// <see cref="L1WeightGradientBytes"/>, so the calls for the other output channels of the block find them in L1.
        /// </summary>
        public static int ImagesFor(in Conv2dGeometry g, in BlockedShape input, in BlockedShape output)
        {
            if (WeightImagesOverride > 0) return Math.Min(WeightImagesOverride, Math.Max(1, g.Batch));
            long perImage = ((long)(g.OutHeight - 1) * g.StrideH + 1) * input.RowPitch * sizeof(float) + (long)g.OutHeight * output.RowPitch * sizeof(float);
            return (int)Math.Clamp(L1WeightGradientBytes / perImage, 1, Math.Max(1, g.Batch));
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
