using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// The stride-1 3×3 depthwise plane in blocks of four output rows, for rows at least one vector wide: the four
/// outputs (r, j), (r + 1, j), (r + 2, j), (r + 3, j) read six input rows, so each vector of taps loaded (three
/// column shifts of a row) feeds up to three accumulators — 18 loads for 4 output vectors instead of 36 in the flat
/// kernel (<see cref="Stride1Plane{TV, S}"/>), whose one-vector-at-a-time loop is bound by its 9 unaligned loads.
/// Vectors run along a row (j = 0, V, …, and a last one overlapping at W − V), so only the first vector of a row has
/// a left tap that would wrap (lane 0) and only the last a right one (lane V − 1): those two take weight vectors with
/// that lane zeroed, and no vector needs a lane mask or separate left/right sums. A plane whose height is not a
/// multiple of four recomputes its last block overlapping the one above (the same values written twice).
/// Reads the same staged input as the flat kernel: rows −1 and H as zeros, one float before row 0 and after row H.
/// </summary>
internal static unsafe partial class DepthwiseConv2d
{
    /// <summary>Whether stride-1 planes take the row blocks where they can (benchmarks and tests compare both).</summary>
    internal static bool RowBlocksEnabled = true;

    /// <summary>
    /// Whether <see cref="Stride1Rows4{TV, S}"/> runs a plane of <paramref name="rows"/> × <paramref name="W"/> at vector
    /// width V: rows of at least one vector, with 16 lanes only (or when <see cref="RowBlocksOn8Lanes"/>). With 8 the block
    /// spills some of its 15 weight vectors and stores half cache lines in four rows at once: alone it ran 0–35 % slower
    /// than the flat kernel on 28- and 14-wide planes and 5–20 % faster on 56 and 112, but MobileNet-V2's 32@112 step
    /// took 0.25–0.28 ms in the model against 0.21–0.22 (22:26 window, a slow-memory spell).
    /// </summary>
    internal static bool RowBlocksTake(int W, int rows, int V) => RowBlocksEnabled && W >= V && rows >= 4 && (V == 16 || RowBlocksOn8Lanes);

    /// <summary>Lets 8-lane (AVX2) planes take the row blocks too: for tests, which check the block at both widths.</summary>
    internal static bool RowBlocksOn8Lanes;

    /// <summary>
    /// y [rows, W] ← clamp(dw3×3(s) + bias, lo, hi), s the staged plane (row stride W; row −1 and row rows readable as
    /// the zero rows above and below, with one float more on either side). Needs W ≥ V and rows ≥ 4; lanes holds k in lane k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Stride1Rows4<TV, S>(float* s, int W, int rows, float* w, float bias, float lo, float hi, float* y, TV lanes)
        where TV : struct where S : IDepthwiseSimd<TV>
    {
        int V = S.Length;
        TV w00 = S.Broadcast(w[0]), w01 = S.Broadcast(w[1]), w02 = S.Broadcast(w[2]);
        TV w10 = S.Broadcast(w[3]), w11 = S.Broadcast(w[4]), w12 = S.Broadcast(w[5]);
        TV w20 = S.Broadcast(w[6]), w21 = S.Broadcast(w[7]), w22 = S.Broadcast(w[8]);
        // Lane k of lanes is k (the caller's column counter of the first vector: W ≥ V): the left weights with lane 0
        // zeroed (column 0's left tap is padding), the right ones with lane V − 1 zeroed (column W − 1's right tap).
        TV zero = S.Broadcast(0f), lastLane = S.Broadcast(V - 1);
        TV l00 = S.ZeroWhereEqual(lanes, zero, w00), l10 = S.ZeroWhereEqual(lanes, zero, w10), l20 = S.ZeroWhereEqual(lanes, zero, w20);
        TV r02 = S.ZeroWhereEqual(lanes, lastLane, w02), r12 = S.ZeroWhereEqual(lanes, lastLane, w12), r22 = S.ZeroWhereEqual(lanes, lastLane, w22);
        TV vb = S.Broadcast(bias), vlo = S.Broadcast(lo), vhi = S.Broadcast(hi);
        for (int r0 = 0; r0 < rows; r0 += 4)
        {
            int r = Math.Min(r0, rows - 4);
            float* c = s + (long)r * W, o = y + (long)r * W;
            if (W == V)
            {
                Block4<TV, S>(c, o, W, l00, w01, r02, l10, w11, r12, l20, w21, r22, vb, vlo, vhi);
                continue;
            }
            Block4<TV, S>(c, o, W, l00, w01, w02, l10, w11, w12, l20, w21, w22, vb, vlo, vhi);
            int j = V;
            for (; j + V < W; j += V) Block4<TV, S>(c + j, o + j, W, w00, w01, w02, w10, w11, w12, w20, w21, w22, vb, vlo, vhi);
            j = W - V;
            Block4<TV, S>(c + j, o + j, W, w00, w01, r02, w10, w11, r12, w20, w21, r22, vb, vlo, vhi);
        }
    }

    /// <summary>Outputs at c's position in four consecutive rows (row stride W), stored at o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4<TV, S>(float* c, float* o, int W, TV w00, TV w01, TV w02, TV w10, TV w11, TV w12, TV w20, TV w21, TV w22,
        TV bias, TV lo, TV hi) where TV : struct where S : IDepthwiseSimd<TV>
    {
        // Input row r − 1 feeds output row r (kh = 0); row r feeds rows r (kh = 1) and r + 1 (kh = 0); and so on.
        float* p = c - W;
        TV a0 = S.Fma(S.Load(p - 1), w00, bias), a1, a2, a3;
        a0 = S.Fma(S.Load(p), w01, a0);
        a0 = S.Fma(S.Load(p + 1), w02, a0);
        p += W;
        TV x0 = S.Load(p - 1), x1 = S.Load(p), x2 = S.Load(p + 1);
        a0 = S.Fma(x0, w10, a0); a0 = S.Fma(x1, w11, a0); a0 = S.Fma(x2, w12, a0);
        a1 = S.Fma(x0, w00, bias); a1 = S.Fma(x1, w01, a1); a1 = S.Fma(x2, w02, a1);
        p += W;
        x0 = S.Load(p - 1); x1 = S.Load(p); x2 = S.Load(p + 1);
        a0 = S.Fma(x0, w20, a0); a0 = S.Fma(x1, w21, a0); a0 = S.Fma(x2, w22, a0);
        a1 = S.Fma(x0, w10, a1); a1 = S.Fma(x1, w11, a1); a1 = S.Fma(x2, w12, a1);
        a2 = S.Fma(x0, w00, bias); a2 = S.Fma(x1, w01, a2); a2 = S.Fma(x2, w02, a2);
        S.Store(S.Clamp(a0, lo, hi), o);
        p += W;
        x0 = S.Load(p - 1); x1 = S.Load(p); x2 = S.Load(p + 1);
        a1 = S.Fma(x0, w20, a1); a1 = S.Fma(x1, w21, a1); a1 = S.Fma(x2, w22, a1);
        a2 = S.Fma(x0, w10, a2); a2 = S.Fma(x1, w11, a2); a2 = S.Fma(x2, w12, a2);
        a3 = S.Fma(x0, w00, bias); a3 = S.Fma(x1, w01, a3); a3 = S.Fma(x2, w02, a3);
        S.Store(S.Clamp(a1, lo, hi), o + W);
        p += W;
        x0 = S.Load(p - 1); x1 = S.Load(p); x2 = S.Load(p + 1);
        a2 = S.Fma(x0, w20, a2); a2 = S.Fma(x1, w21, a2); a2 = S.Fma(x2, w22, a2);
        a3 = S.Fma(x0, w10, a3); a3 = S.Fma(x1, w11, a3); a3 = S.Fma(x2, w12, a3);
        S.Store(S.Clamp(a2, lo, hi), o + 2 * W);
        p += W;
        a3 = S.Fma(S.Load(p - 1), w20, a3);
        a3 = S.Fma(S.Load(p), w21, a3);
        a3 = S.Fma(S.Load(p + 1), w22, a3);
        S.Store(S.Clamp(a3, lo, hi), o + 3 * W);
    }
}
