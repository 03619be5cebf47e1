using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The AVX2 form of the 3×3/1 "same" max pool on rows of at most 32 floats (<see cref="MaxPlanesSame3x3"/>): a row is
/// one, two or four 8-lane vectors held in registers as the rows slide down; the left/right neighbours come from one lane
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
                bool nan = w <= 8 ? PlaneOneVector(src, dst, h, w) : w <= 16 ? PlaneTwoVectors(src, dst, h, w) : PlaneFourVectors(src, dst, h, w);
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

    // One plane of rows 16 < w ≤ 32: columns [8k, 8k + 8) in vector k of four (on rows up to 24 the fourth is −∞). To
    // stay within 16 registers each vector keeps two rows, not three: `at` (row y) and `upper` = max(row y, row y − 1)
    // in that order, from which row y's window takes max(row y + 1, upper) and row y + 1's takes max(row y + 1, at).
    // Returns whether any input is NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool PlaneFourVectors(float* src, float* dst, int h, int w)
    {
        var negInf = Vector256.Create(float.NegativeInfinity);
        var all = Vector256<float>.AllBitsSet;
        var lanes = Vector256<int>.Indices;
        // The lanes of vectors 2 and 3 inside the row (vectors 0 and 1 are whole: w > 16).
        var row2 = Vector256.LessThan(lanes, Vector256.Create(w - 16)).AsSingle();
        var row3 = Vector256.LessThan(lanes, Vector256.Create(w - 24)).AsSingle();
        var rotateLeft = Vector256.Create(7, 0, 1, 2, 3, 4, 5, 6);
        var rotateRight = Vector256.Create(1, 2, 3, 4, 5, 6, 7, 0);
        var unordered = Vector256<float>.Zero;
        bool plain = h > 1; // row 0's 32 floats stay inside the plane
        var at0 = LoadRow8(src, true, all, negInf, ref unordered);
        var at1 = LoadRow8(src + 8, true, all, negInf, ref unordered);
        var at2 = LoadRow8(src + 16, plain, row2, negInf, ref unordered);
        var at3 = LoadRow8(src + 24, plain, row3, negInf, ref unordered);
        Vector256<float> up0 = at0, up1 = at1, up2 = at2, up3 = at3; // max(row 0, −∞) is row 0
        for (int y = 0; y < h; y++)
        {
            Vector256<float> v0 = up0, v1 = up1, v2 = up2, v3 = up3;
            if (y + 1 < h)
            {
                float* b = src + (y + 1) * w;
                bool inside = y + 2 < h; // row y + 1's 32 floats stay inside the plane
                var b0 = LoadRow8(b, true, all, negInf, ref unordered);
                var b1 = LoadRow8(b + 8, true, all, negInf, ref unordered);
                var b2 = LoadRow8(b + 16, inside, row2, negInf, ref unordered);
                var b3 = LoadRow8(b + 24, inside, row3, negInf, ref unordered);
                v0 = Avx.Max(b0, up0);
                v1 = Avx.Max(b1, up1);
                v2 = Avx.Max(b2, up2);
                v3 = Avx.Max(b3, up3);
                up0 = Avx.Max(b0, at0);
                up1 = Avx.Max(b1, at1);
                up2 = Avx.Max(b2, at2);
                up3 = Avx.Max(b3, at3);
                at0 = b0;
                at1 = b1;
                at2 = b2;
                at3 = b3;
            }
            var l0 = Avx2.PermuteVar8x32(v0, rotateLeft);
            var l1 = Avx2.PermuteVar8x32(v1, rotateLeft);
            var l2 = Avx2.PermuteVar8x32(v2, rotateLeft);
            var l3 = Avx2.PermuteVar8x32(v3, rotateLeft);
            var r0 = Avx2.PermuteVar8x32(v0, rotateRight);
            var r1 = Avx2.PermuteVar8x32(v1, rotateRight);
            var r2 = Avx2.PermuteVar8x32(v2, rotateRight);
            var r3 = Avx2.PermuteVar8x32(v3, rotateRight);
            var o0 = Avx.Max(Avx.Blend(r0, r1, 0b1000_0000), Avx.Max(v0, Avx.Blend(l0, negInf, 0b0000_0001)));
            var o1 = Avx.Max(Avx.Blend(r1, r2, 0b1000_0000), Avx.Max(v1, Avx.Blend(l1, l0, 0b0000_0001)));
            var o2 = Avx.Max(Avx.Blend(r2, r3, 0b1000_0000), Avx.Max(v2, Avx.Blend(l2, l1, 0b0000_0001)));
            var o3 = Avx.Max(Avx.Blend(r3, negInf, 0b1000_0000), Avx.Max(v3, Avx.Blend(l3, l2, 0b0000_0001)));
            float* d = dst + y * w;
            Avx.Store(d, o0);
            Avx.Store(d + 8, o1);
            if (y + 1 < h)
            {
                Avx.Store(d + 16, o2); // lanes ≥ w land on the next row, stored after this one
                Avx.Store(d + 24, o3);
            }
            else
            {
                Avx.MaskStore(d + 16, row2, o2);
                Avx.MaskStore(d + 24, row3, o3);
            }
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
