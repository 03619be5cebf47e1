using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The AVX2 form of the 3×3/1 "same" max pool on rows of at most 16 floats (<see cref="MaxPlanesSame3x3"/>): a row is
/// one or two 8-lane vectors held in registers as the rows slide down; the left/right neighbours come from one lane
/// rotate per vector (vpermps) and an immediate blend that brings in the other half's edge lane or −∞. Stores are plain
/// and in row order: a row's last vector spills up to 7 lanes into the rows after it, which their own stores then
/// overwrite; only a row whose 8 lanes would reach past the plane (its last row, and on rows under 4 floats a few more)
/// stores and loads masked, so nothing outside the plane is written and nothing past it is read. vmaskmovps stores are slow on Zen 4, and a first two-halves form that masked every row lost
/// to the padded-rows kernel (480 planes of 14×14: 30 → 36 µs).
/// Maxima are single vmaxps (first operand the new tap: ties keep the earlier one, as PyTorch's rule does) in the
/// order of <see cref="MaxPlanesSame3x3"/>: window rows top to bottom, then columns left to right. vmaxps alone drops a
/// NaN tap, so every loaded row is checked with one vcmpunordps; a plane holding a NaN is redone by the padded-rows
/// kernel, which follows PyTorch's NaN rule (the NaN that wins is the last one in that order).
/// </summary>
public static partial class Pooling
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPlanesSame3x3Avx2(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, int p0, int p1)
    {
        int h = g.InH, w = g.InW;
        fixed (float* pIn = input, pOut = output)
        {
            for (int p = p0; p < p1; p++)
            {
                float* src = pIn + (long)p * g.InPlane, dst = pOut + (long)p * g.OutPlane;
                bool nan = w <= 8 ? PlaneOneVector(src, dst, h, w) : PlaneTwoVectors(src, dst, h, w);
                if (nan) MaxPlanesPadded(g, input, output, p, p + 1, maxLanes: 16);
            }
        }
    }

    // One plane of rows w ≤ 8: lanes [0, w) of one vector. Returns whether any input is NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool PlaneOneVector(float* src, float* dst, int h, int w)
    {
        var negInf = Vector256.Create(float.NegativeInfinity);
        var row = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(w)).AsSingle(); // the lanes of one row
        var rotateLeft = Vector256.Create(7, 0, 1, 2, 3, 4, 5, 6); // lane i ← lane i − 1 (lane 0 ← 7, replaced by −∞)
        var rotateRight = Vector256.Create(1, 2, 3, 4, 5, 6, 7, 0); // lane i ← lane i + 1 (lane 7 ← 0, replaced by −∞)
        var unordered = Vector256<float>.Zero;
        var above = negInf;
        int plainRows = InsidePlane8(h, w); // rows [0, plainRows) read and write 8 lanes inside the plane
        var at = LoadRow8(src, 0 < plainRows, row, negInf, ref unordered);
        for (int y = 0; y < h; y++)
        {
            var below = y + 1 < h ? LoadRow8(src + (y + 1) * w, y + 1 < plainRows, row, negInf, ref unordered) : negInf;
            var v = Avx.Max(below, Avx.Max(at, above));
            // Lanes ≥ w of v are −∞ (the loads blend them), so lane w − 1's right neighbour is −∞ when w < 8.
            var left = Avx.Blend(Avx2.PermuteVar8x32(v, rotateLeft), negInf, 0b0000_0001);
            var right = Avx.Blend(Avx2.PermuteVar8x32(v, rotateRight), negInf, 0b1000_0000);
            var o = Avx.Max(right, Avx.Max(v, left));
            if (y < plainRows) Avx.Store(dst + y * w, o); // lanes ≥ w land on the next rows, stored after this one
            else Avx.MaskStore(dst + y * w, row, o);
            above = at;
            at = below;
        }
        return !Avx.TestZ(unordered, unordered);
    }

    // One plane of rows 8 < w ≤ 16: columns [0, 8) in lo, [8, w) in hi. Returns whether any input is NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool PlaneTwoVectors(float* src, float* dst, int h, int w)
    {
        var negInf = Vector256.Create(float.NegativeInfinity);
        var hiRow = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(w - 8)).AsSingle(); // hi's lanes in the row
        var rotateLeft = Vector256.Create(7, 0, 1, 2, 3, 4, 5, 6);
        var rotateRight = Vector256.Create(1, 2, 3, 4, 5, 6, 7, 0);
        var unordered = Vector256<float>.Zero;
        var aboveLo = negInf;
        var aboveHi = negInf;
        var atLo = Avx.LoadVector256(src);
        var atHi = LoadRow8(src + 8, h > 1, hiRow, negInf, ref unordered);
        unordered = Avx.Or(unordered, Avx.CompareUnordered(atLo, atLo));
        for (int y = 0; y < h; y++)
        {
            Vector256<float> belowLo = negInf, belowHi = negInf;
            if (y + 1 < h)
            {
                belowLo = Avx.LoadVector256(src + (y + 1) * w);
                belowHi = LoadRow8(src + (y + 1) * w + 8, y + 2 < h, hiRow, negInf, ref unordered);
                unordered = Avx.Or(unordered, Avx.CompareUnordered(belowLo, belowLo));
            }
            var lo = Avx.Max(belowLo, Avx.Max(atLo, aboveLo));
            var hi = Avx.Max(belowHi, Avx.Max(atHi, aboveHi));
            // Rotated by one lane each way; the lane that wraps takes the other vector's edge lane or −∞.
            var loL = Avx2.PermuteVar8x32(lo, rotateLeft);
            var hiL = Avx2.PermuteVar8x32(hi, rotateLeft);
            var loR = Avx2.PermuteVar8x32(lo, rotateRight);
            var hiR = Avx2.PermuteVar8x32(hi, rotateRight);
            var oLo = Avx.Max(Avx.Blend(loR, hiR, 0b1000_0000), Avx.Max(lo, Avx.Blend(loL, negInf, 0b0000_0001)));
            var oHi = Avx.Max(Avx.Blend(hiR, negInf, 0b1000_0000), Avx.Max(hi, Avx.Blend(hiL, loL, 0b0000_0001)));
            float* d = dst + y * w;
            Avx.Store(d, oLo);
            if (y + 1 < h) Avx.Store(d + 8, oHi); // lanes ≥ w − 8 land on the next row, stored after this one
            else Avx.MaskStore(d + 8, hiRow, oHi);
            aboveLo = atLo;
            aboveHi = atHi;
            atLo = belowLo;
            atHi = belowHi;
        }
        return !Avx.TestZ(unordered, unordered);
    }

    // The rows of an h × w plane (w ≤ 8) whose 8 floats from the row's start stay inside the plane: y with (h − y)·w ≥ 8.
    private static int InsidePlane8(int h, int w) => Math.Max(0, h - (8 + w - 1) / w + 1);

    // Eight floats at p with the lanes outside `lanes` set to −∞; NaNs among them are or-ed into `unordered`. Read
    // masked unless `plain` (8 floats from p are inside the plane): a plain read past the plane could run past the span.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> LoadRow8(float* p, bool plain, Vector256<float> lanes, Vector256<float> negInf, ref Vector256<float> unordered)
    {
        var x = plain ? Avx.LoadVector256(p) : Avx.MaskLoad(p, lanes);
        x = Avx.BlendVariable(negInf, x, lanes);
        unordered = Avx.Or(unordered, Avx.CompareUnordered(x, x));
        return x;
    }
}
