using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// The 3×3, padding 1, stride 1 or 2 depthwise convolution of MobileNets, vectorized over a whole output plane read
/// as one flat row: lane k of the vector at flat position p computes output p + k, whatever the plane's width (a
/// 7×7 plane fills three 16-lane vectors instead of seven 7-wide rows). A tap (kh, kw) of a stride-1 convolution
/// is then the load at flat offset (kh − 1)·W + kw − 1; the only wrong lanes are the left taps of column 0 and the
/// right taps of column W − 1, which read the neighbouring row and are zeroed with a lane-wise column counter.
/// Rows above and below the plane read zeros: each plane is first copied between zero guards in thread scratch
/// (one copy; the nine taps then hit L1).
/// Stride 2 splits the input into its four phases (even/odd rows × even/odd columns, each the size of the output):
/// every tap is then a stride-1 tap of one phase at offset 0 or −1, row or column.
/// Bias and the clamp (ReLU, ReLU6) are applied in the store.
/// Shapes: input [N, C, H, W], weight [C·multiplier, 1, 3, 3], output [N, C·multiplier, Hout, Wout].
/// </summary>
internal static unsafe partial class DepthwiseConv2d
{
    /// <summary>Whether the vector 3×3 path computes <paramref name="g"/> on this machine.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool VectorSupports(in Conv2dGeometry g) =>
        VectorWidth() > 0 && g.KernelHeight == 3 && g.KernelWidth == 3 && g.PadH == 1 && g.PadW == 1
        && g.DilationH == 1 && g.DilationW == 1 && g.StrideH == g.StrideW && g.StrideH is 1 or 2;

    /// <summary>16 with AVX-512, 8 with AVX2 + FMA, 0 without either (then the plane loops run).</summary>
    internal static int VectorWidth() => DepthwiseSimd512.IsSupported ? 16 : DepthwiseSimd256.IsSupported ? 8 : 0;

    /// <summary>Outputs below this run on the calling thread alone: waking a worker costs more than it saves.</summary>
    private const long MinParallelOutputs = 1 << 13;

    /// <summary>Outputs per parallel task, about: enough for a thread slowed by a neighbour to take fewer of them.</summary>
    private const long OutputsPerTask = 1 << 14;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VectorForward(in Conv2dGeometry g, float* x, float* w, float* b, float* y, float lo, float hi)
    {
        var body = new ForwardBody { G = g, X = x, W = w, B = b, Y = y, Lo = lo, Hi = hi };
        int planes = g.Batch * g.OutChannels;
        body.Tasks = TaskCount(planes, g.OutputLength);
        body.PlanesPerTask = (planes + body.Tasks - 1) / body.Tasks;
        if (body.Tasks == 1) body.Invoke(0);
        else ParallelFor.Run(body.Tasks, ref body);
    }

    /// <summary>Tasks for <paramref name="planes"/> planes holding <paramref name="outputs"/> floats in all.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int TaskCount(int planes, long outputs)
    {
        int threads = KernelThreads.Count;
        if (threads == 1 || outputs < MinParallelOutputs || planes == 1) return 1;
        long tasks = Math.Max(2L * threads, outputs / OutputsPerTask);
        return (int)Math.Min(Math.Min(tasks, planes), 64 * threads);
    }

    private struct ForwardBody : IParallelBody
    {
        public Conv2dGeometry G;
        public float* X, W, B, Y;
        public float Lo, Hi;
        public int Tasks, PlanesPerTask;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int task)
        {
            int first = task * PlanesPerTask, end = Math.Min(first + PlanesPerTask, G.Batch * G.OutChannels);
            if (first >= end) return;
            if (DepthwiseSimd512.IsSupported) ForwardPlanes<Vector512<float>, DepthwiseSimd512>(G, X, W, B, Y, Lo, Hi, first, end);
            else ForwardPlanes<Vector256<float>, DepthwiseSimd256>(G, X, W, B, Y, Lo, Hi, first, end);
        }
    }

    [ThreadStatic] private static float[]? t_stage;

    /// <summary>Zeroed thread scratch of at least <paramref name="floats"/> floats (pinned for the caller's use).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float[] Stage(int floats)
    {
        var s = ThreadScratch.Array(ref t_stage, floats, pinned: true);
        Array.Clear(s, 0, floats);
        return s;
    }

    /// <summary>Output planes [first, end) (plane t = n·Cout + o) of the vector path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardPlanes<TV, S>(in Conv2dGeometry g, float* x, float* w, float* b, float* y, float lo, float hi, int first, int end)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length, H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth, mult = g.OutChannels / g.InChannels;
        int plane = H * W, outPlane = oh * ow;
        // Column counters of the first vector and of the last, overlapping one (the same for every plane).
        TV cols0 = ColumnsAt<TV, S>(0, ow), colsTail = ColumnsAt<TV, S>(Math.Max(outPlane - V, 0), ow);
        if (g.StrideH == 1)
        {
            // stage: [W + 1 zeros | plane | W + 1 + V zeros]
            int guard = W + 1;
            var stage = Stage(guard + plane + guard + V);
            fixed (float* s0 = stage)
            {
                float* s = s0 + guard;
                for (int t = first; t < end; t++)
                {
                    int n = t / g.OutChannels, o = t % g.OutChannels, c = o / mult;
                    Buffer.MemoryCopy(x + ((long)n * g.InChannels + c) * plane, s, (long)plane * 4, (long)plane * 4);
                    Stride1Plane<TV, S>(s, W, plane, w + o * 9, b == null ? 0f : b[o], lo, hi, y + (long)t * outPlane, cols0, colsTail);
                }
            }
        }
        else if (Stride2RowsTake(V))
        {
            // Rows read in place; rows −1 and H read this zero row.
            var stage = Stage(W + 16);
            fixed (float* zero = stage)
                for (int t = first; t < end; t++)
                {
                    int n = t / g.OutChannels, o = t % g.OutChannels, c = o / mult;
                    Stride2Rows(x + ((long)n * g.InChannels + c) * plane, 0, H, W, oh, ow, zero, w + o * 9, b == null ? 0f : b[o], lo, hi, y + (long)t * outPlane);
                }
        }
        else
        {
            // Four phases, each [guard | oh·ow | V]: rows 2a (0) or 2a + 1 (1) × columns 2b (0) or 2b + 1 (1).
            int guard = ow + 1, phase = guard + outPlane + V;
            var stage = Stage(4 * phase);
            fixed (float* s0 = stage)
            {
                float* p00 = s0 + guard, p01 = p00 + phase, p10 = p01 + phase, p11 = p10 + phase;
                for (int t = first; t < end; t++)
                {
                    int n = t / g.OutChannels, o = t % g.OutChannels, c = o / mult;
                    SplitPlane<TV, S>(x + ((long)n * g.InChannels + c) * plane, H, W, p00, p01, p10, p11, oh, ow);
                    Stride2Plane<TV, S>(p00, p01, p10, p11, ow, outPlane, w + o * 9, b == null ? 0f : b[o], lo, hi, y + (long)t * outPlane, cols0, colsTail);
                }
            }
        }
    }

    /// <summary>
    /// Plane x [H, W] → its phases p00 … p11 [oh, ow] (row parity, column parity). Whole vectors are split even where
    /// they run past a row's end (the extra lanes land in later rows of the phase, rewritten when those rows are
    /// split, or in the slack after it), so narrow rows need no scalar loop; only the plane's last floats are split
    /// one by one. The phase entries that stand for padding (the odd column of an odd width, the odd row of an odd
    /// height) are zeroed again at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SplitPlane<TV, S>(float* x, int H, int W, float* p00, float* p01, float* p10, float* p11, int oh, int ow)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length, plane = H * W;
        for (int r = 0; r < H; r++)
        {
            float* src = x + r * W;
            int a = r >> 1, avail = plane - r * W;
            float* even = ((r & 1) == 0 ? p00 : p10) + a * ow;
            float* odd = ((r & 1) == 0 ? p01 : p11) + a * ow;
            int k = 0;
            for (; 2 * k < W && 2 * (k + V) <= avail; k += V) S.Deinterleave(src + 2 * k, even + k, odd + k);
            for (; 2 * k + 1 < W; k++)
            {
                even[k] = src[2 * k];
                odd[k] = src[2 * k + 1];
            }
            if (2 * k < W) even[k] = src[2 * k];
        }
        if ((W & 1) == 1)
            for (int a = 0; a < oh; a++) p01[a * ow + ow - 1] = p11[a * ow + ow - 1] = 0f;
        if ((H & 1) == 1)
            for (int b = 0; b < ow; b++) p10[(oh - 1) * ow + b] = p11[(oh - 1) * ow + b] = 0f;
    }

    /// <summary>
    /// Lane k holds column (p + k) mod W: the column counter of the vector at flat position p.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ColumnsAt<TV, S>(int p, int W) where TV : struct where S : IDepthwiseSimd<TV>
    {
        float* lanes = stackalloc float[S.Length];
        for (int k = 0; k < S.Length; k++) lanes[k] = (p + k) % W;
        return S.Load(lanes);
    }

    /// <summary>
    /// One stride-1 plane: s is the staged input (zeros for W + 1 floats before it and W + 1 + V after), y the output
    /// plane [plane]. Vectors at p = 0, V, 2V, …; a last partial vector is recomputed overlapping at plane − V.
    /// Planes with rows of at least one vector and four rows or more take the row blocks instead (<see cref="Stride1Rows4{TV, S}"/>).
    /// </summary>
    private static void Stride1Plane<TV, S>(float* s, int W, int plane, float* w, float bias, float lo, float hi, float* y, TV cols0, TV colsTail)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length;
        if (RowBlocksTake(W, plane / W, V))
        {
            Stride1Rows4<TV, S>(s, W, plane / W, w, bias, lo, hi, y, cols0);
            return;
        }
        TV w00 = S.Broadcast(w[0]), w01 = S.Broadcast(w[1]), w02 = S.Broadcast(w[2]);
        TV w10 = S.Broadcast(w[3]), w11 = S.Broadcast(w[4]), w12 = S.Broadcast(w[5]);
        TV w20 = S.Broadcast(w[6]), w21 = S.Broadcast(w[7]), w22 = S.Broadcast(w[8]);
        TV vb = S.Broadcast(bias), vlo = S.Broadcast(lo), vhi = S.Broadcast(hi);
        TV width = S.Broadcast(W), step = S.Broadcast(V % W), first = S.Broadcast(0f), last = S.Broadcast(W - 1);
        if (plane < V)
        {
            float* tmp = stackalloc float[V];
            Stride1Vector<TV, S>(s, W, cols0, w00, w01, w02, w10, w11, w12, w20, w21, w22, vb, vlo, vhi, first, last, tmp);
            for (int k = 0; k < plane; k++) y[k] = tmp[k];
            return;
        }
        TV cols = cols0;
        int p = 0;
        for (; p <= plane - V; p += V)
        {
            Stride1Vector<TV, S>(s + p, W, cols, w00, w01, w02, w10, w11, w12, w20, w21, w22, vb, vlo, vhi, first, last, y + p);
            cols = S.WrapAdd(cols, step, width);
        }
        if (p < plane)
        {
            p = plane - V;
            Stride1Vector<TV, S>(s + p, W, colsTail, w00, w01, w02, w10, w11, w12, w20, w21, w22, vb, vlo, vhi, first, last, y + p);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stride1Vector<TV, S>(float* c, int W, TV cols, TV w00, TV w01, TV w02, TV w10, TV w11, TV w12, TV w20, TV w21, TV w22,
        TV bias, TV lo, TV hi, TV first, TV last, float* y) where TV : struct where S : IDepthwiseSimd<TV>
    {
        // Centre column taps first (never wrap), then the left and right columns, zeroed where they would wrap.
        TV centre = S.Fma(S.Load(c - W), w01, bias);
        centre = S.Fma(S.Load(c), w11, centre);
        centre = S.Fma(S.Load(c + W), w21, centre);
        TV left = S.Multiply(S.Load(c - W - 1), w00);
        left = S.Fma(S.Load(c - 1), w10, left);
        left = S.Fma(S.Load(c + W - 1), w20, left);
        TV right = S.Multiply(S.Load(c - W + 1), w02);
        right = S.Fma(S.Load(c + 1), w12, right);
        right = S.Fma(S.Load(c + W + 1), w22, right);
        TV sum = S.Add(centre, S.Add(S.ZeroWhereEqual(cols, first, left), S.ZeroWhereEqual(cols, last, right)));
        S.Store(S.Clamp(sum, lo, hi), y);
    }

    /// <summary>
    /// One stride-2 plane from its phases (each [ow + 1 zeros | oh·ow | V zeros], row stride ow): output (i, j) at
    /// q = i·ow + j reads input (2i + kh − 1, 2j + kw − 1), i.e. for kh = 0 the odd rows at a = i − 1, kh = 1 the even
    /// rows at a = i, kh = 2 the odd rows at a = i; columns alike (kw = 0: odd at b = j − 1, zeroed for j = 0).
    /// </summary>
    private static void Stride2Plane<TV, S>(float* p00, float* p01, float* p10, float* p11, int ow, int plane, float* w, float bias, float lo, float hi, float* y,
        TV cols0, TV colsTail)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length;
        TV w00 = S.Broadcast(w[0]), w01 = S.Broadcast(w[1]), w02 = S.Broadcast(w[2]);
        TV w10 = S.Broadcast(w[3]), w11 = S.Broadcast(w[4]), w12 = S.Broadcast(w[5]);
        TV w20 = S.Broadcast(w[6]), w21 = S.Broadcast(w[7]), w22 = S.Broadcast(w[8]);
        TV vb = S.Broadcast(bias), vlo = S.Broadcast(lo), vhi = S.Broadcast(hi);
        TV width = S.Broadcast(ow), step = S.Broadcast(V % ow), first = S.Broadcast(0f);
        if (plane < V)
        {
            float* tmp = stackalloc float[V];
            Stride2Vector<TV, S>(p00, p01, p10, p11, ow, cols0, w00, w01, w02, w10, w11, w12, w20, w21, w22, vb, vlo, vhi, first, tmp);
            for (int k = 0; k < plane; k++) y[k] = tmp[k];
            return;
        }
        TV cols = cols0;
        int q = 0;
        for (; q <= plane - V; q += V)
        {
            Stride2Vector<TV, S>(p00 + q, p01 + q, p10 + q, p11 + q, ow, cols, w00, w01, w02, w10, w11, w12, w20, w21, w22, vb, vlo, vhi, first, y + q);
            cols = S.WrapAdd(cols, step, width);
        }
        if (q < plane)
        {
            q = plane - V;
            Stride2Vector<TV, S>(p00 + q, p01 + q, p10 + q, p11 + q, ow, colsTail, w00, w01, w02, w10, w11, w12, w20, w21, w22, vb, vlo, vhi, first, y + q);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stride2Vector<TV, S>(float* p00, float* p01, float* p10, float* p11, int ow, TV cols, TV w00, TV w01, TV w02,
        TV w10, TV w11, TV w12, TV w20, TV w21, TV w22, TV bias, TV lo, TV hi, TV first, float* y) where TV : struct where S : IDepthwiseSimd<TV>
    {
        TV centre = S.Fma(S.Load(p10 - ow), w01, bias);          // kw = 1: even columns
        centre = S.Fma(S.Load(p00), w11, centre);
        centre = S.Fma(S.Load(p10), w21, centre);
        TV right = S.Multiply(S.Load(p11 - ow), w02);            // kw = 2: odd columns at b = j
        right = S.Fma(S.Load(p01), w12, right);
        right = S.Fma(S.Load(p11), w22, right);
        TV left = S.Multiply(S.Load(p11 - ow - 1), w00);         // kw = 0: odd columns at b = j − 1
        left = S.Fma(S.Load(p01 - 1), w10, left);
        left = S.Fma(S.Load(p11 - 1), w20, left);
        TV sum = S.Add(S.Add(centre, right), S.ZeroWhereEqual(cols, first, left));
        S.Store(S.Clamp(sum, lo, hi), y);
    }
}
