using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The AVX2 max pool of 2- or 3-wide windows at stride 2 without padding on rows of 8 to 32 floats: GoogLeNet's maxpool3
/// (3×3/2 ceil, 480 planes of 28×28) and maxpool4 (2×2/2, 832 planes of 14×14). Per output row, the window rows' maxima
/// of up to four 8-column vectors stay in registers (a row's partial vector loaded masked, −∞ past the row, which a
/// ceil-mode last window reads); eight outputs at once take the even and odd columns of two vectors by vshufps, put in
/// output order by one vpermq, and for 3-wide windows the evens one lane on (lane 7 from the next vector). A first form
/// that kept the row maxima in a stack buffer and reloaded them at even offsets stalled on store forwarding (loads
/// straddling two stores) and ran no faster than the padded-rows kernel.
/// Maxima are single vmaxps, the new tap first (ties keep the earlier one), in the padded-rows kernel's order: window rows
/// top to bottom, then columns left to right. vmaxps drops a NaN tap, so every loaded row vector is checked with one
/// vcmpunordps; a plane holding a NaN is redone by the padded-rows kernel, which follows PyTorch's NaN rule.
/// Shapes: input [Planes, InH, InW]; output [Planes, OutH, OutW].
/// </summary>
public static partial class Pooling
{
    /// <summary>Off: these pools take <see cref="MaxPlanesPadded"/> (in-process A/B in bench: STRIATE_BENCH_STRIDE2_POOL=0).</summary>
    internal static bool Stride2ShortRowsEnabled = true;

    /// <summary>
    /// Whether <paramref name="g"/> is a max pool of windows 2 or 3 high and wide, stride 2, no padding, on rows of 8 to
    /// 32 floats (4 to 16 outputs), on AVX2 without AVX-512 (measured there only; AVX-512 keeps the padded-rows kernel).
    /// </summary>
    internal static bool IsStride2ShortRows(in Pool2dGeometry g) =>
        Avx2.IsSupported && !Vector512.IsHardwareAccelerated && g.StrideH == 2 && g.StrideW == 2 && g.PadH == 0 && g.PadW == 0
        && (g.KernelH is 2 or 3) && (g.KernelW is 2 or 3) && g.InW >= 8 && g.InW <= 32 && g.OutW >= 4 && g.OutW <= 16
        && g.OutH >= 1 && (g.OutH - 1) * 2 < g.InH && (g.OutW - 1) * 2 < g.InW;

    /// <summary>Values of planes [p0, p1) of a pool <see cref="IsStride2ShortRows"/> accepts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void MaxPlanesStride2(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output, int p0, int p1)
    {
        if (!IsStride2ShortRows(g)) throw new ArgumentException($"Pooling.MaxPlanesStride2: {g} is not a 2- or 3-wide stride-2 pool without padding on rows of 8 to 32 (or AVX2 is missing, or AVX-512 is there).");
        if ((long)p1 * g.InPlane > input.Length || (long)p1 * g.OutPlane > output.Length)
            throw new ArgumentException("Pooling.MaxPool2dForward: span too short.");
        fixed (float* pIn = input, pOut = output)
        {
            for (int p = p0; p < p1; p++)
            {
                if (Stride2Plane(g, pIn + (long)p * g.InPlane, pOut + (long)p * g.OutPlane))
                    MaxPlanesPadded(g, input, output, p, p + 1, maxLanes: 16);
            }
        }
    }

    // One plane; returns whether any loaded input is NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool Stride2Plane(in Pool2dGeometry g, float* src, float* dst)
    {
        int w = g.InW, h = g.InH, kH = g.KernelH, outW = g.OutW, outH = g.OutH;
        bool three = g.KernelW == 3;
        int whole = w & ~7; // columns in whole vectors; the rest (w % 8) is loaded masked
        var negInf = Vector256.Create(float.NegativeInfinity);
        var lanes = Vector256<int>.Indices;
        var part = Vector256.LessThan(lanes, Vector256.Create(w - whole)).AsSingle();
        var unordered = Vector256<float>.Zero;
        for (int oh = 0; oh < outH; oh++)
        {
            int h0 = 2 * oh, rows = Math.Min(kH, h - h0);
            float* r = src + (long)h0 * w;
            // The window rows' maxima of columns [8i, 8i + 8), −∞ past the row.
            var r0 = Stride2RowMax(r, w, rows, 0, whole, part, ref unordered);
            var r1 = Stride2RowMax(r, w, rows, 8, whole, part, ref unordered);
            var r2 = Stride2RowMax(r, w, rows, 16, whole, part, ref unordered);
            float* o = dst + (long)oh * outW;
            int left = (outH - oh) * outW; // floats from o to the plane's end
            var first = Stride2Columns(r0, r1, r2, three);
            // Lanes ≥ outW land on the next output rows, stored after this one; nothing past the plane is written (the
            // next plane may be another thread's).
            if (left >= 8) Avx.Store(o, first);
            else Avx.MaskStore(o, Vector256.LessThan(lanes, Vector256.Create(left)).AsSingle(), first);
            if (outW > 8)
            {
                var r3 = Stride2RowMax(r, w, rows, 24, whole, part, ref unordered);
                var second = Stride2Columns(r2, r3, negInf, three);
                if (left >= 16) Avx.Store(o + 8, second);
                else Avx.MaskStore(o + 8, Vector256.LessThan(lanes, Vector256.Create(left - 8)).AsSingle(), second);
            }
        }
        return !Avx.TestZ(unordered, unordered);
    }

    // Max over the window's rows (top to bottom) of columns [c, c + 8) of the rows from r; whole vectors loaded plainly, the
    // row's partial one masked (nothing read past the row's end), −∞ in lanes past the row.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Stride2RowMax(float* r, int w, int rows, int c, int whole, Vector256<float> part, ref Vector256<float> unordered)
    {
        if (c >= w) return Vector256.Create(float.NegativeInfinity);
        if (c < whole)
        {
            var m = Avx.LoadVector256(r + c);
            unordered = Avx.Or(unordered, Avx.CompareUnordered(m, m));
            for (int k = 1; k < rows; k++)
            {
                var v = Avx.LoadVector256(r + (long)k * w + c);
                unordered = Avx.Or(unordered, Avx.CompareUnordered(v, v));
                m = Avx.Max(v, m);
            }
            return m;
        }
        var mp = Avx.MaskLoad(r + c, part); // masked lanes read as 0
        unordered = Avx.Or(unordered, Avx.CompareUnordered(mp, mp));
        for (int k = 1; k < rows; k++)
        {
            var v = Avx.MaskLoad(r + (long)k * w + c, part);
            unordered = Avx.Or(unordered, Avx.CompareUnordered(v, v));
            mp = Avx.Max(v, mp);
        }
        return Avx.BlendVariable(Vector256.Create(float.NegativeInfinity), mp, part);
    }

    // Eight outputs from columns [0, 16) in a and b (and, for 3-wide windows, column 16 in lane 0 of next): the max over
    // columns 2i, 2i + 1 (and 2i + 2), in that order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Stride2Columns(Vector256<float> a, Vector256<float> b, Vector256<float> next, bool three)
    {
        // vshufps picks per 128-bit half: [c0 c2 c8 c10 | c4 c6 c12 c14] (evens), [c1 c3 c9 c11 | c5 c7 c13 c15] (odds):
        // outputs 0 1 4 5 | 2 3 6 7, which vpermq 0b11_01_10_00 (quadwords 0 2 1 3) puts in order.
        var evens = Avx.Shuffle(a, b, 0b10_00_10_00);
        var m = Avx2.Permute4x64(Avx.Max(Avx.Shuffle(a, b, 0b11_01_11_01), evens).AsDouble(), 0b11_01_10_00).AsSingle();
        if (!three) return m;
        // Columns 2i + 2: the evens one lane on (lane 7 ← column 16).
        var e = Avx2.Permute4x64(evens.AsDouble(), 0b11_01_10_00).AsSingle();
        var shifted = Avx.Blend(Avx2.PermuteVar8x32(e, Vector256.Create(1, 2, 3, 4, 5, 6, 7, 7)), Vector256.Create(next.ToScalar()), 0b1000_0000);
        return Avx.Max(shifted, m);
    }
}
