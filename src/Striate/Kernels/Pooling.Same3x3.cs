using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// 3×3 stride-1 max pools with padding 1 (the output as large as the input: GoogLeNet's branch-4 pools on 14×14 and
/// 7×7, and 3a/3b's on 28×28) on rows of at most 32 floats, values only, on AVX-512: each input row is one vector, two
/// past 16 floats (masked loads, −∞ past the row), the vertical maximum of three rows is taken in registers as the rows slide down, and each output's left and
/// right neighbours come from two lane permutes that shift −∞ (or the other vector's edge lane) in, so nothing is stored
/// and read back. The padded-rows
/// kernel (<see cref="MaxPlanesPadded"/>) ran each 14-wide row as two overlapping 8-lane vectors in both passes and read
/// its scratch row back at offsets +1 and +2 right after storing it: ~34 cycles per 16 outputs. The maxima are taken in
/// the same order (window rows top to bottom, then columns left to right), so the values are that kernel's, signed zeros
/// included; <see cref="PoolingReference.MaxPool2dForward"/> is the specification. Each maximum is one vmaxps with the
/// new tap first (it wins only when greater: ties keep the earlier one, as PyTorch's rule does), not PyTorch's NaN rule
/// as compare, compare-unordered, or and blend; vmaxps drops a NaN tap, so each loaded row is checked with one
/// vcmpunordps and a plane holding a NaN is redone by the padded-rows kernel, which follows the NaN rule.
/// On AVX2 (no AVX-512) <see cref="MaxPlanesSame3x3Avx2"/> runs the same idea on one, two or four 8-lane vectors per row.
/// </summary>
public static partial class Pooling
{
    /// <summary>Off: these pools take <see cref="MaxPlanesPadded"/> (in-process A/B in bench: STRIATE_BENCH_SAME_POOL=0).</summary>
    internal static bool Same3x3Enabled = true;

    /// <summary>
    /// Whether <paramref name="g"/> is a 3×3/1 "same" max pool on rows of at most 32 floats (two vectors on AVX-512, up to
    /// four 8-lane vectors on AVX2) and this process has AVX-512 or AVX2.
    /// </summary>
    internal static bool IsSame3x3ShortRows(in Pool2dGeometry g) =>
        (Avx512F.IsSupported || Avx2.IsSupported) && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 1 && g.PadW == 1
        && g.OutH == g.InH && g.OutW == g.InW && g.InW >= 1 && g.InW <= 32 && g.InH >= 1;

    /// <summary>Values of planes [p0, p1) of a pool <see cref="IsSame3x3ShortRows"/> accepts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void MaxPlanesSame3x3(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, int p0, int p1)
    {
        if (!IsSame3x3ShortRows(g)) throw new ArgumentException($"Pooling.MaxPlanesSame3x3: {g} is not a 3×3/1 pool with padding 1 on rows of at most 32 (or neither AVX-512 nor AVX2).");
        if ((long)p1 * g.InPlane > input.Length || (long)p1 * g.OutPlane > output.Length)
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        if (!Avx512F.IsSupported)
        {
            MaxPlanesSame3x3Avx2(g, input, output, p0, p1);
            return;
        }
        int h = g.InH, w = g.InW;
        fixed (float* pIn = input, pOut = output)
        {
            for (int p = p0; p < p1; p++)
            {
                float* src = pIn + (long)p * g.InPlane, dst = pOut + (long)p * g.OutPlane;
                bool nan = w <= 16 ? PlaneOneVector512(src, dst, h, w) : PlaneTwoVectors512(src, dst, h, w);
                // vmaxps drops a NaN tap: a plane holding a NaN is redone with PyTorch's rule (the padded-rows kernel)
                if (nan) MaxPlanesPadded(g, input, output, p, p + 1, maxLanes: 16);
            }
        }
    }

    // One plane of rows w ≤ 16: lanes [0, w) of one vector. Returns whether any input is NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool PlaneOneVector512(float* src, float* dst, int h, int w)
    {
        var negInf = Vector512.Create(float.NegativeInfinity);
        var lanes = Vector512<int>.Indices;
        var row = Vector512.LessThan(lanes, Vector512.Create(w)).AsSingle(); // the lanes of one row
        // Indices into (v, −∞): left[i] = v[i − 1] with −∞ at lane 0 (index 31), right[i] = v[i + 1] (lane 15 reads index
        // 16: −∞; lanes past the row read −∞ from v itself).
        var leftIndex = (lanes - Vector512<int>.One) & Vector512.Create(31);
        var rightIndex = lanes + Vector512<int>.One;
        // above, at, below: rows y − 1, y, y + 1 (−∞ outside the plane)
        var above = negInf;
        var at = Avx512F.MaskLoad(src, row, negInf);
        var unordered = Avx512F.CompareUnordered(at, at);
        for (int y = 0; y < h; y++)
        {
            var below = negInf;
            if (y + 1 < h)
            {
                below = Avx512F.MaskLoad(src + (y + 1) * w, row, negInf);
                unordered |= Avx512F.CompareUnordered(below, below);
            }
            // vmaxps(tap, max): the tap when greater, else the maximum so far (ties keep the earlier tap)
            var v = Avx512F.Max(below, Avx512F.Max(at, above));
            var o = Avx512F.Max(Avx512F.PermuteVar16x32x2(v, rightIndex, negInf), Avx512F.Max(v, Avx512F.PermuteVar16x32x2(v, leftIndex, negInf)));
            Avx512F.MaskStore(dst + y * w, row, o);
            above = at;
            at = below;
        }
        return unordered != Vector512<float>.Zero;
    }

    // One plane of rows 16 < w ≤ 32: columns [0, 16) in lo, [16, w) in hi. Returns whether any input is NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool PlaneTwoVectors512(float* src, float* dst, int h, int w)
    {
        var negInf = Vector512.Create(float.NegativeInfinity);
        var lanes = Vector512<int>.Indices;
        var hiRow = Vector512.LessThan(lanes, Vector512.Create(w - 16)).AsSingle(); // hi's lanes in the row
        // Indices into (a, b) pairs: (lo, −∞) and (hi, −∞) as in PlaneOneVector512; (lo, hi) for the lanes that cross:
        // hi's left neighbours [lo[15], hi[0..14]] and lo's right neighbours [lo[1..15], hi[0]].
        var leftIndex = (lanes - Vector512<int>.One) & Vector512.Create(31);
        var rightIndex = lanes + Vector512<int>.One;
        var crossLeft = lanes + Vector512.Create(15);
        var aboveLo = negInf;
        var aboveHi = negInf;
        var atLo = Avx512F.LoadVector512(src);
        var atHi = Avx512F.MaskLoad(src + 16, hiRow, negInf);
        var unordered = Avx512F.CompareUnordered(atLo, atHi);
        for (int y = 0; y < h; y++)
        {
            Vector512<float> belowLo = negInf, belowHi = negInf;
            if (y + 1 < h)
            {
                belowLo = Avx512F.LoadVector512(src + (y + 1) * w);
                belowHi = Avx512F.MaskLoad(src + (y + 1) * w + 16, hiRow, negInf);
                unordered |= Avx512F.CompareUnordered(belowLo, belowHi);
            }
            var lo = Avx512F.Max(belowLo, Avx512F.Max(atLo, aboveLo));
            var hi = Avx512F.Max(belowHi, Avx512F.Max(atHi, aboveHi));
            var oLo = Avx512F.Max(Avx512F.PermuteVar16x32x2(lo, rightIndex, hi), Avx512F.Max(lo, Avx512F.PermuteVar16x32x2(lo, leftIndex, negInf)));
            var oHi = Avx512F.Max(Avx512F.PermuteVar16x32x2(hi, rightIndex, negInf), Avx512F.Max(hi, Avx512F.PermuteVar16x32x2(lo, crossLeft, hi)));
            float* d = dst + y * w;
            Avx512F.Store(d, oLo);
            Avx512F.MaskStore(d + 16, hiRow, oHi);
            aboveLo = atLo;
            aboveHi = atHi;
            atLo = belowLo;
            atHi = belowHi;
        }
        return unordered != Vector512<float>.Zero;
    }
}
