using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Striate.Kernels;

/// <summary>
/// The stride-2 3×3 depthwise plane on AVX2 read in place, one output row at a time: output row i reads input rows
/// 2i − 1, 2i and 2i + 1, each loaded 16 floats (8 outputs) at a time and split into its even and odd columns in
/// registers (one vshufps each, lanes left in the order 0 1 4 5 2 3 6 7 of the outputs they serve). The even columns
/// are the centre taps, the odd ones the right taps; the left taps are the odd columns one output to the left, so
/// their three-row sum is permuted one lane up (lane 0 takes the previous vector's last sum, zero at column 0, the
/// padding). The centre and right sums are put in order with one vpermpd. Rows −1 and H read a zero row; the last
/// vector of a row reads with vmaskmovps, so nothing past the row is read and the padding column of an odd width is
/// zero. Replaces the four phase copies into a zeroed stage (<see cref="SplitPlane{TV, S}"/>), which cost as much as
/// the arithmetic at 7×7 outputs (576@14: 29.6 µs against 37.4 for the stride-1 plane of four times the outputs).
/// Stores run whole vectors (the lanes past a row's end are rewritten by the rows after it) but where a whole vector
/// would run past the plane (vmaskmovps): the last row's last vector, and more rows' when rows are under 8 outputs.
/// </summary>
internal static unsafe partial class DepthwiseConv2d
{
    /// <summary>Whether AVX2 stride-2 planes and bands take the in-place rows (STRIATE_BENCH_DW_STRIDE2_ROWS=0: the phase copies).</summary>
    internal static bool Stride2RowsEnabled = true;

    /// <summary>Whether the stride-2 plane at vector width <paramref name="V"/> takes <see cref="Stride2Rows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Stride2RowsTake(int V) => Stride2RowsEnabled && V == 8;

    /// <summary>
    /// y [oh, ow] ← clamp(dw3×3 stride 2(x) + bias, lo, hi). Input row r (0 ≤ r &lt; H) is at
    /// <paramref name="rows"/> + (r − <paramref name="firstRow"/>)·W when firstRow ≤ r &lt; H, else (rows above firstRow
    /// or at H and below) <paramref name="zeroRow"/> (≥ W + 16 zero floats). For a whole plane firstRow = 0 and rows
    /// is the plane; a band window holds input rows 2·i0 − 1 … with the rows outside the image already zero, so it passes
    /// firstRow = −1 (or lower) and H large enough. Output row i is at y + i·ow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Stride2Rows(float* rows, int firstRow, int H, int W, int oh, int ow, float* zeroRow, float* w, float bias, float lo, float hi, float* y)
    {
        var w00 = Vector256.Create(w[0]); var w01 = Vector256.Create(w[1]); var w02 = Vector256.Create(w[2]);
        var w10 = Vector256.Create(w[3]); var w11 = Vector256.Create(w[4]); var w12 = Vector256.Create(w[5]);
        var w20 = Vector256.Create(w[6]); var w21 = Vector256.Create(w[7]); var w22 = Vector256.Create(w[8]);
        var vb = Vector256.Create(bias); var vlo = Vector256.Create(lo); var vhi = Vector256.Create(hi);
        // The last vector of a row: output columns jt … ow − 1, input columns 2·jt … W − 1 (n of them, ≤ 16).
        int jt = (ow - 1) & ~7, n = W - 2 * jt;
        var iota = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var maskA = Vector256.LessThan(iota, Vector256.Create(n)).AsSingle();
        var maskB = Vector256.LessThan(iota, Vector256.Create(n - 8)).AsSingle();
        var maskY = Vector256.LessThan(iota, Vector256.Create(ow - jt)).AsSingle();
        // Lane j of the left taps' sum in place: the odd-column sum of output j − 1, whose lane is 0 1 4 5 2 3 6 7 [j − 1];
        // lane 0 takes lane 7 (output 7's odd column), the next vector's output 0 left tap.
        var up = Vector256.Create(7, 0, 1, 4, 5, 2, 3, 6);
        for (int i = 0; i < oh; i++)
        {
            int r = 2 * i - 1;
            float* top = r >= firstRow && r < H ? rows + (long)(r - firstRow) * W : zeroRow;
            float* mid = r + 1 >= firstRow && r + 1 < H ? rows + (long)(r + 1 - firstRow) * W : zeroRow;
            float* bot = r + 2 >= firstRow && r + 2 < H ? rows + (long)(r + 2 - firstRow) * W : zeroRow;
            float* yr = y + (long)i * ow;
            var carry = Vector256<float>.Zero;
            for (int j = 0; j < ow; j += 8)
            {
                Vector256<float> ta, tb, ma, mb, ba, bb;
                int c = 2 * j;
                if (j < jt || n >= 16)
                {
                    ta = Avx.LoadVector256(top + c); tb = Avx.LoadVector256(top + c + 8);
                    ma = Avx.LoadVector256(mid + c); mb = Avx.LoadVector256(mid + c + 8);
                    ba = Avx.LoadVector256(bot + c); bb = Avx.LoadVector256(bot + c + 8);
                }
                else
                {
                    ta = Avx.MaskLoad(top + c, maskA); tb = Avx.MaskLoad(top + c + 8, maskB);
                    ma = Avx.MaskLoad(mid + c, maskA); mb = Avx.MaskLoad(mid + c + 8, maskB);
                    ba = Avx.MaskLoad(bot + c, maskA); bb = Avx.MaskLoad(bot + c + 8, maskB);
                }
                // Even columns (centre taps) and odd columns (right taps; the left taps one output on), lanes 0 1 4 5 2 3 6 7.
                var centre = Fma.MultiplyAdd(Avx.Shuffle(ta, tb, 0b10_00_10_00), w01, vb);
                var odd = Avx.Shuffle(ta, tb, 0b11_01_11_01);
                var right = Avx.Multiply(odd, w02);
                var left = Avx.Multiply(odd, w00);
                centre = Fma.MultiplyAdd(Avx.Shuffle(ma, mb, 0b10_00_10_00), w11, centre);
                odd = Avx.Shuffle(ma, mb, 0b11_01_11_01);
                right = Fma.MultiplyAdd(odd, w12, right);
                left = Fma.MultiplyAdd(odd, w10, left);
                centre = Fma.MultiplyAdd(Avx.Shuffle(ba, bb, 0b10_00_10_00), w21, centre);
                odd = Avx.Shuffle(ba, bb, 0b11_01_11_01);
                right = Fma.MultiplyAdd(odd, w22, right);
                left = Fma.MultiplyAdd(odd, w20, left);
                var inOrder = Avx2.Permute4x64(Avx.Add(centre, right).AsDouble(), 0b11_01_10_00).AsSingle();
                var shifted = Avx2.PermuteVar8x32(left, up);
                var sum = Avx.Add(inOrder, Avx.Blend(shifted, carry, 0b0000_0001));
                carry = shifted;
                sum = DepthwiseSimd256.Clamp(sum, vlo, vhi);
                // A whole vector past the row's end lands in later rows (rewritten after), never past the plane.
                if (j < jt || (long)i * ow + j + 8 <= (long)oh * ow) Avx.Store(yr + j, sum);
                else Avx.MaskStore(yr + j, maskY, sum);
            }
        }
    }
}
