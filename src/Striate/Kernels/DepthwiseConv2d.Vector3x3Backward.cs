using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Gradients of the vector 3×3 depthwise path (<c>DepthwiseConv2d.Vector3x3.cs</c>), on the same flat-plane vectors:
/// <list type="bullet">
/// <item>input gradient, stride 1: the forward kernel on dy with the taps mirrored (w[2 − kh, 2 − kw]);</item>
/// <item>input gradient, stride 2: each of dx's four phases (even/odd rows × columns) is a sum of one to four
/// shifted dy planes — dx[2a, 2b] = w₁₁·dy[a, b], dx[2a, 2b + 1] = w₁₀·dy[a, b + 1] + w₁₂·dy[a, b], and so on —
/// then the phases are interleaved back into rows;</item>
/// <item>weight gradient: nine vector accumulators per output channel, dy times the shifted input, summed over the
/// batch (each plane's sums added in double).</item>
/// </list>
/// Channel multipliers above 1 take the plane loops for the input gradient (its sum over a channel's outputs).
/// </summary>
internal static unsafe partial class DepthwiseConv2d
{
    /// <summary>Whether the vector path computes the input gradient of <paramref name="g"/>.</summary>
    internal static bool VectorSupportsBackwardData(in Conv2dGeometry g) => VectorSupports(g) && g.OutChannels == g.InChannels;

    private static void VectorBackwardData(in Conv2dGeometry g, float* dy, float* w, float* dx)
    {
        var body = new BackwardDataBody { G = g, Dy = dy, W = w, Dx = dx };
        int planes = g.Batch * g.InChannels;
        body.Tasks = TaskCount(planes, g.InputLength);
        body.PlanesPerTask = (planes + body.Tasks - 1) / body.Tasks;
        if (body.Tasks == 1) body.Invoke(0);
        else ParallelFor.Run(body.Tasks, ref body);
    }

    private static void VectorBackwardWeight(in Conv2dGeometry g, float* x, float* dy, float* dw)
    {
        var body = new BackwardWeightBody { G = g, X = x, Dy = dy, Dw = dw };
        body.Tasks = TaskCount(g.OutChannels, g.OutputLength);
        body.ChannelsPerTask = (g.OutChannels + body.Tasks - 1) / body.Tasks;
        if (body.Tasks == 1) body.Invoke(0);
        else ParallelFor.Run(body.Tasks, ref body);
    }

    private struct BackwardDataBody : IParallelBody
    {
        public Conv2dGeometry G;
        public float* Dy, W, Dx;
        public int Tasks, PlanesPerTask;

        public readonly void Invoke(int task)
        {
            int first = task * PlanesPerTask, end = Math.Min(first + PlanesPerTask, G.Batch * G.InChannels);
            if (first >= end) return;
            if (DepthwiseSimd512.IsSupported) BackwardDataPlanes<Vector512<float>, DepthwiseSimd512>(G, Dy, W, Dx, first, end);
            else BackwardDataPlanes<Vector256<float>, DepthwiseSimd256>(G, Dy, W, Dx, first, end);
        }
    }

    private struct BackwardWeightBody : IParallelBody
    {
        public Conv2dGeometry G;
        public float* X, Dy, Dw;
        public int Tasks, ChannelsPerTask;

        public readonly void Invoke(int task)
        {
            int first = task * ChannelsPerTask, end = Math.Min(first + ChannelsPerTask, G.OutChannels);
            if (first >= end) return;
            if (DepthwiseSimd512.IsSupported) BackwardWeightChannels<Vector512<float>, DepthwiseSimd512>(G, X, Dy, Dw, first, end);
            else BackwardWeightChannels<Vector256<float>, DepthwiseSimd256>(G, X, Dy, Dw, first, end);
        }
    }

    /// <summary>Input-gradient planes [first, end) (plane t = n·C + c; multiplier 1, so output channel c).</summary>
    private static void BackwardDataPlanes<TV, S>(in Conv2dGeometry g, float* dy, float* w, float* dx, int first, int end)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length, H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth;
        int plane = H * W, outPlane = oh * ow;
        float* mirrored = stackalloc float[9];
        if (g.StrideH == 1)
        {
            // Stride 1, padding 1: dx = dy correlated with the mirrored kernel, padding 1 — the forward plane kernel.
            TV cols0 = ColumnsAt<TV, S>(0, W), colsTail = ColumnsAt<TV, S>(Math.Max(plane - V, 0), W);
            int guard = W + 1;
            var stage = Stage(guard + plane + guard + V);
            fixed (float* s0 = stage)
            {
                float* s = s0 + guard;
                for (int t = first; t < end; t++)
                {
                    int c = t % g.InChannels;
                    for (int k = 0; k < 9; k++) mirrored[k] = w[c * 9 + 8 - k];
                    Buffer.MemoryCopy(dy + (long)t * outPlane, s, (long)plane * 4, (long)plane * 4);
                    Stride1Plane<TV, S>(s, W, plane, mirrored, 0f, float.NegativeInfinity, float.PositiveInfinity, dx + (long)t * plane, cols0, colsTail);
                }
            }
            return;
        }
        // Stride 2: stage dy [oh·ow | ow + 1 + V zeros] (reads reach one row and one column past it), then four phases
        // [oh·ow + V] of dx, interleaved into dx's rows.
        int phase = outPlane + V;
        var scratch = Stage(outPlane + ow + 1 + V + 4 * phase);
        fixed (float* s0 = scratch)
        {
            float* sdy = s0, e0 = s0 + outPlane + ow + 1 + V, e1 = e0 + phase, o0 = e1 + phase, o1 = o0 + phase;
            TV cols0 = ColumnsAt<TV, S>(0, ow), colsTail = ColumnsAt<TV, S>(Math.Max(outPlane - V, 0), ow);
            for (int t = first; t < end; t++)
            {
                int c = t % g.InChannels;
                Buffer.MemoryCopy(dy + (long)t * outPlane, sdy, (long)outPlane * 4, (long)outPlane * 4);
                DataPhases<TV, S>(sdy, ow, outPlane, w + c * 9, e0, e1, o0, o1, cols0, colsTail);
                MergePlane<TV, S>(dx + (long)t * plane, H, W, e0, e1, o0, o1, ow);
            }
        }
    }

    /// <summary>
    /// dx's phases from dy (staged, zeros after): e0 = rows 2a, columns 2b; e1 = rows 2a, columns 2b + 1;
    /// o0 = rows 2a + 1, columns 2b; o1 = rows 2a + 1, columns 2b + 1; each [oh, ow] (+ slack).
    /// </summary>
    private static void DataPhases<TV, S>(float* dy, int ow, int plane, float* w, float* e0, float* e1, float* o0, float* o1, TV cols0, TV colsTail)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length;
        TV w00 = S.Broadcast(w[0]), w01 = S.Broadcast(w[1]), w02 = S.Broadcast(w[2]);
        TV w10 = S.Broadcast(w[3]), w11 = S.Broadcast(w[4]), w12 = S.Broadcast(w[5]);
        TV w20 = S.Broadcast(w[6]), w21 = S.Broadcast(w[7]), w22 = S.Broadcast(w[8]);
        TV width = S.Broadcast(ow), step = S.Broadcast(V % ow), last = S.Broadcast(ow - 1);
        TV cols = cols0;
        int q = 0;
        // Vectors at 0, V, …; the last may run past the plane (its extra lanes land in the phases' slack).
        for (; q < plane; q += V)
        {
            if (q + V > plane && plane >= V) { q = plane - V; cols = colsTail; }
            float* d = dy + q;
            TV here = S.Load(d), below = S.Load(d + ow);
            // Taps at column b + 1 read nothing past the last column.
            TV right = S.ZeroWhereEqual(cols, last, S.Load(d + 1)), belowRight = S.ZeroWhereEqual(cols, last, S.Load(d + ow + 1));
            S.Store(S.Multiply(w11, here), e0 + q);
            S.Store(S.Fma(w10, right, S.Multiply(w12, here)), e1 + q);
            S.Store(S.Fma(w01, below, S.Multiply(w21, here)), o0 + q);
            S.Store(S.Fma(w00, belowRight, S.Fma(w02, below, S.Fma(w20, right, S.Multiply(w22, here)))), o1 + q);
            cols = S.WrapAdd(cols, step, width);
        }
    }

    /// <summary>
    /// Phases [oh, ow] → dx [H, W]: row 2a from (e0, e1) row a, row 2a + 1 from (o0, o1) row a. Whole vectors are
    /// interleaved even past a row's end (the extra floats land in later rows of dx, which are written after), except
    /// where they would pass the plane's end.
    /// </summary>
    private static void MergePlane<TV, S>(float* dx, int H, int W, float* e0, float* e1, float* o0, float* o1, int ow)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length, plane = H * W;
        for (int r = 0; r < H; r++)
        {
            float* dst = dx + r * W;
            int a = r >> 1, avail = plane - r * W;
            float* even = ((r & 1) == 0 ? e0 : o0) + a * ow;
            float* odd = ((r & 1) == 0 ? e1 : o1) + a * ow;
            int k = 0;
            for (; 2 * k < W && 2 * (k + V) <= avail; k += V) S.Interleave(even + k, odd + k, dst + 2 * k);
            for (; 2 * k + 1 < W; k++)
            {
                dst[2 * k] = even[k];
                dst[2 * k + 1] = odd[k];
            }
            if (2 * k < W) dst[2 * k] = even[k];
        }
    }

    /// <summary>Weight gradients of output channels [first, end): dw[o, 0, kh, kw] = Σ_{n, i, j} dy[n, o, i, j] · x[n, c, s·i + kh − 1, s·j + kw − 1].</summary>
    private static void BackwardWeightChannels<TV, S>(in Conv2dGeometry g, float* x, float* dy, float* dw, int first, int end)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length, H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth, mult = g.OutChannels / g.InChannels;
        int plane = H * W, outPlane = oh * ow;
        double* sums = stackalloc double[9];
        float* tail = stackalloc float[V];
        TV cols0 = ColumnsAt<TV, S>(0, ow);
        bool stride1 = g.StrideH == 1;
        int guard = stride1 ? W + 1 : ow + 1, phase = guard + outPlane + V;
        var stage = Stage(stride1 ? guard + plane + guard + V : 4 * phase);
        fixed (float* s0 = stage)
        {
            float* s = s0 + guard, p01 = s + phase, p10 = p01 + phase, p11 = p10 + phase;
            for (int o = first; o < end; o++)
            {
                int c = o / mult;
                for (int k = 0; k < 9; k++) sums[k] = 0;
                for (int n = 0; n < g.Batch; n++)
                {
                    float* xp = x + ((long)n * g.InChannels + c) * plane;
                    if (stride1) Buffer.MemoryCopy(xp, s, (long)plane * 4, (long)plane * 4);
                    else SplitPlane<TV, S>(xp, H, W, s, p01, p10, p11, oh, ow);
                    WeightPlane<TV, S>(stride1, s, p01, p10, p11, ow, outPlane, dy + ((long)n * g.OutChannels + o) * outPlane, tail, cols0, sums);
                }
                for (int k = 0; k < 9; k++) dw[o * 9 + k] = (float)sums[k];
            }
        }
    }

    /// <summary>
    /// One plane's nine tap sums added to sums: stride 1 reads the staged input s ([oh, ow] = [H, W]); stride 2 its
    /// phases s = p00, p01, p10, p11 as the forward does. A last partial vector of dy is read from a zero-padded copy.
    /// </summary>
    private static void WeightPlane<TV, S>(bool stride1, float* s, float* p01, float* p10, float* p11, int ow, int plane, float* dy, float* tail, TV cols0, double* sums)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length;
        TV width = S.Broadcast(ow), step = S.Broadcast(V % ow), first = S.Broadcast(0f), last = S.Broadcast(ow - 1);
        TV a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default, a20 = default, a21 = default, a22 = default;
        TV cols = cols0;
        for (int q = 0; q < plane; q += V)
        {
            float* d = dy + q;
            if (q + V > plane)
            {
                for (int k = 0; k < V; k++) tail[k] = q + k < plane ? dy[q + k] : 0f;
                d = tail;
            }
            TV centre = S.Load(d);
            TV left = S.ZeroWhereEqual(cols, first, centre);
            if (stride1)
            {
                TV right = S.ZeroWhereEqual(cols, last, centre);
                float* c = s + q;
                a00 = S.Fma(left, S.Load(c - ow - 1), a00);
                a01 = S.Fma(centre, S.Load(c - ow), a01);
                a02 = S.Fma(right, S.Load(c - ow + 1), a02);
                a10 = S.Fma(left, S.Load(c - 1), a10);
                a11 = S.Fma(centre, S.Load(c), a11);
                a12 = S.Fma(right, S.Load(c + 1), a12);
                a20 = S.Fma(left, S.Load(c + ow - 1), a20);
                a21 = S.Fma(centre, S.Load(c + ow), a21);
                a22 = S.Fma(right, S.Load(c + ow + 1), a22);
            }
            else
            {
                // The forward's taps: kh = 0 odd rows at a − 1, 1 even rows, 2 odd rows; kw likewise on columns.
                a00 = S.Fma(left, S.Load(p11 + q - ow - 1), a00);
                a01 = S.Fma(centre, S.Load(p10 + q - ow), a01);
                a02 = S.Fma(centre, S.Load(p11 + q - ow), a02);
                a10 = S.Fma(left, S.Load(p01 + q - 1), a10);
                a11 = S.Fma(centre, S.Load(s + q), a11);
                a12 = S.Fma(centre, S.Load(p01 + q), a12);
                a20 = S.Fma(left, S.Load(p11 + q - 1), a20);
                a21 = S.Fma(centre, S.Load(p10 + q), a21);
                a22 = S.Fma(centre, S.Load(p11 + q), a22);
            }
            cols = S.WrapAdd(cols, step, width);
        }
        sums[0] += S.Sum(a00); sums[1] += S.Sum(a01); sums[2] += S.Sum(a02);
        sums[3] += S.Sum(a10); sums[4] += S.Sum(a11); sums[5] += S.Sum(a12);
        sums[6] += S.Sum(a20); sums[7] += S.Sum(a21); sums[8] += S.Sum(a22);
    }
}
