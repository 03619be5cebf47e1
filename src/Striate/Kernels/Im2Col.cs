using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;

namespace Striate.Kernels;

/// <summary>
/// Lowers a convolution to a matrix multiply (Chellapilla, Puri &amp; Simard 2006, "High performance convolutional
/// neural networks for document processing"): every receptive field becomes one column, so
/// output [Cout/g, Hout·Wout] = weight [Cout/g, Cin/g·kH·kW] · col [Cin/g·kH·kW, Hout·Wout].
/// Shapes: image [Cin/g, H, W] (one group of one image); col rows (c, kh, kw), each Hout·Wout long, stored with
/// leading dimension ldCol so several images can sit side by side in one wide matrix.
/// </summary>
public static class Im2Col
{
    /// <summary>Writes the receptive fields of <paramref name="image"/> into <paramref name="col"/> (zeros where they hang over the padding).</summary>
    public static void Pack(in Conv2dGeometry g, ReadOnlySpan<float> image, Span<float> col, int ldCol)
        => PackRows(g, image, col, ldCol, 0, g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth);

    /// <summary>The adjoint of <c>Pack</c>: adds every column entry back onto the pixel it came from (image must be zeroed first for an overwrite).</summary>
    public static void Unpack(in Conv2dGeometry g, ReadOnlySpan<float> col, int ldCol, Span<float> image)
        => UnpackChannels(g, col, ldCol, image, 0, g.InChannelsPerGroup);

    /// <summary><c>Pack</c> restricted to col rows [r0, r1) (row = (c·kH + kh)·kW + kw), so threads can split one image.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackRows(in Conv2dGeometry g, ReadOnlySpan<float> image, Span<float> col, int ldCol, int r0, int r1)
    {
        if (r1 > r0) { PackRowsPointers(g, image, col, ldCol, r0, r1); return; }
        PackRowsGeneral(g, image, col, ldCol, r0, r1);
    }

    /// <summary>The general form of <see cref="PackRows"/> (span copies per output line); the twin of the pointer path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackRowsGeneral(in Conv2dGeometry g, ReadOnlySpan<float> image, Span<float> col, int ldCol, int r0, int r1)
    {
        int H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth;
        int kH = g.KernelHeight, kW = g.KernelWidth;
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, dh = g.DilationH, dw = g.DilationW;
        for (int r = r0; r < r1; r++)
        {
            int c = r / (kH * kW), kh = r / kW % kH, kw = r % kW;
            var plane = image.Slice(c * H * W, H * W); // x: [H, W]
            var row = col.Slice(r * ldCol, oh * ow);   // col row: [Hout, Wout]
            int xShift = kw * dw - pw;
            ValidRange(xShift, sw, W, ow, out int lo, out int hi);
            for (int i = 0; i < oh; i++)
            {
                var dst = row.Slice(i * ow, ow);
                int y = i * sh - ph + kh * dh;
                if ((uint)y >= (uint)H || lo >= hi) { dst.Clear(); continue; }
                dst[..lo].Clear();
                dst[hi..].Clear();
                var src = plane.Slice(y * W, W);
                if (sw == 1)
                    src.Slice(lo + xShift, hi - lo).CopyTo(dst[lo..hi]);
                else
                    for (int j = lo, x = lo * sw + xShift; j < hi; j++, x += sw) dst[j] = src[x];
            }
        }
    }

    /// <summary>
    /// <see cref="PackRows"/> on raw pointers: the output lines are short (10–28 floats in LeNet, 7 in ResNet's last
    /// stride-2 layers), so the per-line span slicing, Memmove calls and bounds checks of the general form cost more
    /// than the copy itself (ResNet-18's 1×1 stride-2 downsample on 14×14 spent 17 % of its forward in the general
    /// form's element loop).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackRowsPointers(in Conv2dGeometry g, ReadOnlySpan<float> image, Span<float> col, int ldCol, int r0, int r1)
    {
        int H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth;
        int kH = g.KernelHeight, kW = g.KernelWidth;
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, dh = g.DilationH, dw = g.DilationW;
        int channels = (r1 - 1) / (kH * kW) + 1;
        if (image.Length < (long)channels * H * W || col.Length < (long)(r1 - 1) * ldCol + (long)oh * ow)
            throw new ArgumentException("Im2Col.PackRows: span too short.");
        fixed (float* pImage = image, pCol = col)
        {
            for (int r = r0; r < r1; r++)
            {
                int c = r / (kH * kW), kh = r / kW % kH, kw = r % kW;
                float* plane = pImage + (long)c * H * W;
                float* row = pCol + (long)r * ldCol;
                int xShift = kw * dw - pw;
                ValidRange(xShift, sw, W, ow, out int lo, out int hi);
                for (int i = 0; i < oh; i++)
                {
                    float* dst = row + i * ow;
                    int y = i * sh - ph + kh * dh;
                    if ((uint)y >= (uint)H || lo >= hi)
                    {
                        new Span<float>(dst, ow).Clear();
                        continue;
                    }
                    for (int j = 0; j < lo; j++) dst[j] = 0f;
                    for (int j = hi; j < ow; j++) dst[j] = 0f;
                    float* src = plane + y * W + lo * sw + xShift;
                    if (sw == 1) CopyShort(src, dst + lo, hi - lo);
                    else CopyStrided(src, sw, dst + lo, hi - lo);
                }
            }
        }
    }

    // dst[j] = src[j·stride] for j in [0, n): a gather of every stride-th float, four at a time (short lines: a vector
    // permute would need two loads and an index vector per 8–16 outputs of lines 7–28 long).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void CopyStrided(float* src, int stride, float* dst, int n)
    {
        int j = 0;
        for (; j <= n - 4; j += 4, src += 4 * stride)
        {
            float a = src[0], b = src[stride], c = src[2 * stride], d = src[3 * stride];
            dst[j] = a; dst[j + 1] = b; dst[j + 2] = c; dst[j + 3] = d;
        }
        for (; j < n; j++, src += stride) dst[j] = *src;
    }

    // dst[0..n) = src[0..n) for short n: whole vectors plus one overlapping last vector (same values written twice).
    private static unsafe void CopyShort(float* src, float* dst, int n)
    {
        if (n >= 16 && Vector512.IsHardwareAccelerated)
        {
            int j = 0;
            for (; j <= n - 16; j += 16) Vector512.Store(Vector512.Load(src + j), dst + j);
            if (j < n) Vector512.Store(Vector512.Load(src + n - 16), dst + n - 16);
        }
        else if (n >= 8)
        {
            int j = 0;
            for (; j <= n - 8; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
            if (j < n) Vector256.Store(Vector256.Load(src + n - 8), dst + n - 8);
        }
        else if (n >= 4)
        {
            Vector128.Store(Vector128.Load(src), dst);
            Vector128.Store(Vector128.Load(src + n - 4), dst + n - 4);
        }
        else
            for (int j = 0; j < n; j++) dst[j] = src[j];
    }

    /// <summary><c>Unpack</c> restricted to channels [c0, c1) of the group (each channel writes only its own plane).</summary>
    internal static void UnpackChannels(in Conv2dGeometry g, ReadOnlySpan<float> col, int ldCol, Span<float> image, int c0, int c1)
    {
        if (c1 > c0) { UnpackChannelsPointers(g, col, ldCol, image, c0, c1); return; }
        UnpackChannelsGeneral(g, col, ldCol, image, c0, c1);
    }

    /// <summary>The general form of <see cref="UnpackChannels"/> (span adds per output line); the twin of the pointer path.</summary>
    internal static void UnpackChannelsGeneral(in Conv2dGeometry g, ReadOnlySpan<float> col, int ldCol, Span<float> image, int c0, int c1)
    {
        int H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth;
        int kH = g.KernelHeight, kW = g.KernelWidth;
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, dh = g.DilationH, dw = g.DilationW;
        for (int c = c0; c < c1; c++)
        {
            var plane = image.Slice(c * H * W, H * W); // dx: [H, W]
            for (int kh = 0; kh < kH; kh++)
            for (int kw = 0; kw < kW; kw++)
            {
                var row = col.Slice(((c * kH + kh) * kW + kw) * ldCol, oh * ow); // dcol row: [Hout, Wout]
                int xShift = kw * dw - pw;
                ValidRange(xShift, sw, W, ow, out int lo, out int hi);
                if (lo >= hi) continue;
                for (int i = 0; i < oh; i++)
                {
                    int y = i * sh - ph + kh * dh;
                    if ((uint)y >= (uint)H) continue;
                    var src = row.Slice(i * ow, ow);
                    var dst = plane.Slice(y * W, W);
                    if (sw == 1)
                    {
                        var d = dst.Slice(lo + xShift, hi - lo);
                        SpanMath.Add(d, src[lo..hi], d);
                    }
                    else
                        for (int j = lo, x = lo * sw + xShift; j < hi; j++, x += sw) dst[x] += src[j];
                }
            }
        }
    }

    /// <summary><see cref="UnpackChannels"/> on raw pointers (short lines; see <c>PackRowsPointers</c>).</summary>
    private static unsafe void UnpackChannelsPointers(in Conv2dGeometry g, ReadOnlySpan<float> col, int ldCol, Span<float> image, int c0, int c1)
    {
        int H = g.InHeight, W = g.InWidth, oh = g.OutHeight, ow = g.OutWidth;
        int kH = g.KernelHeight, kW = g.KernelWidth;
        int sh = g.StrideH, sw = g.StrideW, ph = g.PadH, pw = g.PadW, dh = g.DilationH, dw = g.DilationW;
        if (image.Length < (long)c1 * H * W || col.Length < (long)(c1 * kH * kW - 1) * ldCol + (long)oh * ow)
            throw new ArgumentException("Im2Col.UnpackChannels: span too short.");
        fixed (float* pImage = image, pCol = col)
        {
            for (int c = c0; c < c1; c++)
            {
                float* plane = pImage + (long)c * H * W;
                for (int kh = 0; kh < kH; kh++)
                for (int kw = 0; kw < kW; kw++)
                {
                    float* row = pCol + (long)((c * kH + kh) * kW + kw) * ldCol;
                    int xShift = kw * dw - pw;
                    ValidRange(xShift, sw, W, ow, out int lo, out int hi);
                    if (lo >= hi) continue;
                    for (int i = 0; i < oh; i++)
                    {
                        int y = i * sh - ph + kh * dh;
                        if ((uint)y >= (uint)H) continue;
                        float* src = row + i * ow + lo, dst = plane + y * W + lo * sw + xShift;
                        if (sw == 1) AddShort(src, dst, hi - lo);
                        else for (int j = 0; j < hi - lo; j++) dst[j * sw] += src[j];
                    }
                }
            }
        }
    }

    // dst[0..n) += src[0..n) for short n: whole vectors, then single elements (no overlap: adds must not repeat).
    private static unsafe void AddShort(float* src, float* dst, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j <= n - 16; j += 16) Vector512.Store(Vector512.Load(dst + j) + Vector512.Load(src + j), dst + j);
        for (; j <= n - 8; j += 8) Vector256.Store(Vector256.Load(dst + j) + Vector256.Load(src + j), dst + j);
        for (; j < n; j++) dst[j] += src[j];
    }

    /// <summary>
    /// Output columns j in [lo, hi) whose input column j·stride + shift lies inside [0, width).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ValidRange(int shift, int stride, int width, int outWidth, out int lo, out int hi)
    {
        // j ≥ ceil(−shift / stride) and j ≤ floor((width − 1 − shift) / stride).
        lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
        int last = width - 1 - shift;
        hi = last < 0 ? 0 : Math.Min(outWidth, last / stride + 1);
        if (lo > outWidth) lo = outWidth;
    }
}
