using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

// The AVX2 + FMA tiles of PointwiseBlocked: 2 output blocks (one 16-channel weight panel) × 6, 3 or 1 pixels.
internal static unsafe partial class PointwiseBlocked
{
    /// <summary>
    /// One tile's addresses and flags: each pixel's input (at the chunk's first block), output and residual (at the
    /// pair's first block; 0 without a residual), as addresses (a fixed buffer holds no pointers); pixels past
    /// <see cref="Count"/> repeat the last one (computed, never stored).
    /// </summary>
    private struct Tile
    {
        public fixed long X[6];
        public fixed long Y[6];
        public fixed long R[6];
        /// <summary>The pair's weights at the chunk: [Blocks · 8][16].</summary>
        public float* W;
        /// <summary>The pair's 16 biases (zero past Cout), the first chunk's starting sums.</summary>
        public float* Bias;
        /// <summary>Floats from one channel block to the next in x, y and the residual.</summary>
        public nint XBlock, YBlock, RBlock;
        public int Blocks, Count;
        /// <summary>First chunk (start from the bias, else from the stored partial sums), last chunk (residual, ReLU), the pair has a second block.</summary>
        public bool First, Last, Second, Relu;
        /// <summary>Floats ahead at which <see cref="Tile6"/> prefetches its pixels' lines (<see cref="PrefetchInputBlocks"/> blocks; 0: none).</summary>
        public nint PrefetchX;
        /// <summary>The next weight panel's line <see cref="Tile6"/> starts prefetching at, one per input block (null: none; <see cref="PrefetchWeights"/>).</summary>
        public float* Pw;
    }

    /// <summary>Up to 6 pixels × 2 output blocks (12 ymm accumulators) over the chunk's input blocks, then stored (<see cref="Store"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile6(ref Tile t)
    {
        float* x0 = (float*)t.X[0];
        float* x1 = (float*)t.X[1];
        float* x2 = (float*)t.X[2];
        float* x3 = (float*)t.X[3];
        float* x4 = (float*)t.X[4];
        float* x5 = (float*)t.X[5];
        float* w = t.W;
        nint xb = t.XBlock;
        Vector256<float> a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51;
        if (t.First)
        {
            var b0 = Avx.LoadVector256(t.Bias);
            var b1 = Avx.LoadVector256(t.Bias + V);
            a00 = b0; a01 = b1; a10 = b0; a11 = b1; a20 = b0; a21 = b1; a30 = b0; a31 = b1; a40 = b0; a41 = b1; a50 = b0; a51 = b1;
        }
        else
        {
            // Later chunks: the partial sums the earlier ones stored (the second block only where the pair has one).
            nint yb = t.YBlock;
            bool second = t.Second;
            float* y0 = (float*)t.Y[0];
            a00 = Avx.LoadVector256(y0); a01 = second ? Avx.LoadVector256(y0 + yb) : Vector256<float>.Zero;
            float* y1 = (float*)t.Y[1];
            a10 = Avx.LoadVector256(y1); a11 = second ? Avx.LoadVector256(y1 + yb) : Vector256<float>.Zero;
            float* y2 = (float*)t.Y[2];
            a20 = Avx.LoadVector256(y2); a21 = second ? Avx.LoadVector256(y2 + yb) : Vector256<float>.Zero;
            float* y3 = (float*)t.Y[3];
            a30 = Avx.LoadVector256(y3); a31 = second ? Avx.LoadVector256(y3 + yb) : Vector256<float>.Zero;
            float* y4 = (float*)t.Y[4];
            a40 = Avx.LoadVector256(y4); a41 = second ? Avx.LoadVector256(y4 + yb) : Vector256<float>.Zero;
            float* y5 = (float*)t.Y[5];
            a50 = Avx.LoadVector256(y5); a51 = second ? Avx.LoadVector256(y5 + yb) : Vector256<float>.Zero;
        }
        nint pf = t.PrefetchX;
        float* pw = t.Pw;
        for (int ib = t.Blocks; ib > 0; ib--)
        {
            if (pf != 0)
            {
                // The six pixels' 8 channels span 3–4 lines of a row (2 pixels a line): one prefetch per two pixels.
                Sse.Prefetch0(x0 + pf); Sse.Prefetch0(x2 + pf); Sse.Prefetch0(x4 + pf); Sse.Prefetch0(x5 + pf);
            }
            if (pw != null) { Sse.Prefetch0(pw); pw += PairChannels; }
            // Two input channels per step: 4 weight loads, 2 × 6 broadcasts, 24 FMAs.
            for (int c = 0; c < V; c += 2, w += 2 * PairChannels)
            {
                var w0 = Avx.LoadVector256(w + 0);
                var w1 = Avx.LoadVector256(w + 8);
                var b = Avx.BroadcastScalarToVector256(x0 + c);
                a00 = Fma.MultiplyAdd(b, w0, a00); a01 = Fma.MultiplyAdd(b, w1, a01);
                b = Avx.BroadcastScalarToVector256(x1 + c);
                a10 = Fma.MultiplyAdd(b, w0, a10); a11 = Fma.MultiplyAdd(b, w1, a11);
                b = Avx.BroadcastScalarToVector256(x2 + c);
                a20 = Fma.MultiplyAdd(b, w0, a20); a21 = Fma.MultiplyAdd(b, w1, a21);
                b = Avx.BroadcastScalarToVector256(x3 + c);
                a30 = Fma.MultiplyAdd(b, w0, a30); a31 = Fma.MultiplyAdd(b, w1, a31);
                b = Avx.BroadcastScalarToVector256(x4 + c);
                a40 = Fma.MultiplyAdd(b, w0, a40); a41 = Fma.MultiplyAdd(b, w1, a41);
                b = Avx.BroadcastScalarToVector256(x5 + c);
                a50 = Fma.MultiplyAdd(b, w0, a50); a51 = Fma.MultiplyAdd(b, w1, a51);
                w0 = Avx.LoadVector256(w + 16);
                w1 = Avx.LoadVector256(w + 24);
                b = Avx.BroadcastScalarToVector256(x0 + c + 1);
                a00 = Fma.MultiplyAdd(b, w0, a00); a01 = Fma.MultiplyAdd(b, w1, a01);
                b = Avx.BroadcastScalarToVector256(x1 + c + 1);
                a10 = Fma.MultiplyAdd(b, w0, a10); a11 = Fma.MultiplyAdd(b, w1, a11);
                b = Avx.BroadcastScalarToVector256(x2 + c + 1);
                a20 = Fma.MultiplyAdd(b, w0, a20); a21 = Fma.MultiplyAdd(b, w1, a21);
                b = Avx.BroadcastScalarToVector256(x3 + c + 1);
                a30 = Fma.MultiplyAdd(b, w0, a30); a31 = Fma.MultiplyAdd(b, w1, a31);
                b = Avx.BroadcastScalarToVector256(x4 + c + 1);
                a40 = Fma.MultiplyAdd(b, w0, a40); a41 = Fma.MultiplyAdd(b, w1, a41);
                b = Avx.BroadcastScalarToVector256(x5 + c + 1);
                a50 = Fma.MultiplyAdd(b, w0, a50); a51 = Fma.MultiplyAdd(b, w1, a51);
            }
            x0 += xb; x1 += xb; x2 += xb; x3 += xb; x4 += xb; x5 += xb;
        }
        Store(ref t, 0, a00, a01);
        if (t.Count > 1) Store(ref t, 1, a10, a11);
        if (t.Count > 2) Store(ref t, 2, a20, a21);
        if (t.Count > 3) Store(ref t, 3, a30, a31);
        if (t.Count > 4) Store(ref t, 4, a40, a41);
        if (t.Count > 5) Store(ref t, 5, a50, a51);
    }

    /// <summary>Up to 3 pixels × 2 output blocks (6 ymm accumulators) over the chunk's input blocks, then stored (<see cref="Store"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile3(ref Tile t)
    {
        float* x0 = (float*)t.X[0];
        float* x1 = (float*)t.X[1];
        float* x2 = (float*)t.X[2];
        float* w = t.W;
        nint xb = t.XBlock;
        Vector256<float> a00, a01, a10, a11, a20, a21;
        if (t.First)
        {
            var b0 = Avx.LoadVector256(t.Bias);
            var b1 = Avx.LoadVector256(t.Bias + V);
            a00 = b0; a01 = b1; a10 = b0; a11 = b1; a20 = b0; a21 = b1;
        }
        else
        {
            // Later chunks: the partial sums the earlier ones stored (the second block only where the pair has one).
            nint yb = t.YBlock;
            bool second = t.Second;
            float* y0 = (float*)t.Y[0];
            a00 = Avx.LoadVector256(y0); a01 = second ? Avx.LoadVector256(y0 + yb) : Vector256<float>.Zero;
            float* y1 = (float*)t.Y[1];
            a10 = Avx.LoadVector256(y1); a11 = second ? Avx.LoadVector256(y1 + yb) : Vector256<float>.Zero;
            float* y2 = (float*)t.Y[2];
            a20 = Avx.LoadVector256(y2); a21 = second ? Avx.LoadVector256(y2 + yb) : Vector256<float>.Zero;
        }
        for (int ib = t.Blocks; ib > 0; ib--)
        {
            // Two input channels per step: 4 weight loads, 2 × 3 broadcasts, 12 FMAs.
            for (int c = 0; c < V; c += 2, w += 2 * PairChannels)
            {
                var w0 = Avx.LoadVector256(w + 0);
                var w1 = Avx.LoadVector256(w + 8);
                var b = Avx.BroadcastScalarToVector256(x0 + c);
                a00 = Fma.MultiplyAdd(b, w0, a00); a01 = Fma.MultiplyAdd(b, w1, a01);
                b = Avx.BroadcastScalarToVector256(x1 + c);
                a10 = Fma.MultiplyAdd(b, w0, a10); a11 = Fma.MultiplyAdd(b, w1, a11);
                b = Avx.BroadcastScalarToVector256(x2 + c);
                a20 = Fma.MultiplyAdd(b, w0, a20); a21 = Fma.MultiplyAdd(b, w1, a21);
                w0 = Avx.LoadVector256(w + 16);
                w1 = Avx.LoadVector256(w + 24);
                b = Avx.BroadcastScalarToVector256(x0 + c + 1);
                a00 = Fma.MultiplyAdd(b, w0, a00); a01 = Fma.MultiplyAdd(b, w1, a01);
                b = Avx.BroadcastScalarToVector256(x1 + c + 1);
                a10 = Fma.MultiplyAdd(b, w0, a10); a11 = Fma.MultiplyAdd(b, w1, a11);
                b = Avx.BroadcastScalarToVector256(x2 + c + 1);
                a20 = Fma.MultiplyAdd(b, w0, a20); a21 = Fma.MultiplyAdd(b, w1, a21);
            }
            x0 += xb; x1 += xb; x2 += xb;
        }
        Store(ref t, 0, a00, a01);
        if (t.Count > 1) Store(ref t, 1, a10, a11);
        if (t.Count > 2) Store(ref t, 2, a20, a21);
    }

    /// <summary>
    /// One pixel (<paramref name="i"/> of the tile's addresses) × 2 output blocks over the chunk's input blocks, then
    /// stored (<see cref="Store"/>): a range's lone last pixel (7×7 maps: 49 = 8 · 6 + 1), which <see cref="Tile3"/> ran
    /// at two thirds of a whole tile's time (its 6 accumulators wait on the FMA latency, 4 cycles a channel for one useful
    /// pixel of three). Four pairs of accumulators over the channels mod 4 keep both FMA pipes fed, summed at the end (not
    /// bit-identical to the tiles' order, within rounding): per channel 2 weight loads, 1 broadcast, 2 FMAs.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile1(ref Tile t, int i)
    {
        float* x = (float*)t.X[i];
        float* w = t.W;
        nint xb = t.XBlock;
        Vector256<float> s00, s01, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
        if (t.First)
        {
            s00 = Avx.LoadVector256(t.Bias);
            s01 = Avx.LoadVector256(t.Bias + V);
        }
        else
        {
            float* y = (float*)t.Y[i];
            s00 = Avx.LoadVector256(y);
            s01 = t.Second ? Avx.LoadVector256(y + t.YBlock) : Vector256<float>.Zero;
        }
        for (int ib = t.Blocks; ib > 0; ib--)
        {
            for (int c = 0; c < V; c += 4, w += 4 * PairChannels)
            {
                var b = Avx.BroadcastScalarToVector256(x + c);
                s00 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 0), s00); s01 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 8), s01);
                b = Avx.BroadcastScalarToVector256(x + c + 1);
                s10 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 16), s10); s11 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 24), s11);
                b = Avx.BroadcastScalarToVector256(x + c + 2);
                s20 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 32), s20); s21 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 40), s21);
                b = Avx.BroadcastScalarToVector256(x + c + 3);
                s30 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 48), s30); s31 = Fma.MultiplyAdd(b, Avx.LoadVector256(w + 56), s31);
            }
            x += xb;
        }
        Store(ref t, i, (s00 + s10) + (s20 + s30), (s01 + s11) + (s21 + s31));
    }

    /// <summary>Pixel <paramref name="i"/>'s two vectors into y: on the last chunk with the residual added and ReLU applied, else the partial sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref Tile t, int i, Vector256<float> v0, Vector256<float> v1)
    {
        float* y = (float*)t.Y[i];
        if (t.Last)
        {
            float* r = (float*)t.R[i];
            if (r != null)
            {
                v0 += Avx.LoadVector256(r);
                if (t.Second) v1 += Avx.LoadVector256(r + t.RBlock);
            }
            if (t.Relu)
            {
                v0 = Avx.Max(v0, Vector256<float>.Zero);
                v1 = Avx.Max(v1, Vector256<float>.Zero);
            }
        }
        Avx.Store(y, v0);
        if (t.Second) Avx.Store(y + t.YBlock, v1);
    }
}
