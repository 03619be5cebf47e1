using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>AVX2's 8-channel blocks to and from NCHW with the 8×8 transposes kept in registers.</summary>
internal static unsafe partial class ChannelBlocked
{
    /// <summary>
    /// For benchmarks: whether full 8-channel blocks are unblocked by <see cref="UnpackRuns8"/> and narrow rows packed by
    /// <see cref="PackRunsOfPixels8"/> (else through a stack block, with one epilogue call per channel, as 16-channel blocks are).
    /// </summary>
    internal static bool InRegisters8 = true;

    /// <summary>
    /// Pixels [p0, pEnd) (≥ 8 of them) of one full 8-channel block: dst[c, p] = act(plane[p, c] + bias[c] +
    /// residual[c, p]), 8 pixels at a time (the last run overlapping its neighbour). Each run is transposed in registers
    /// and its 8 channel vectors go through the epilogue straight to their planes: the general path stored the
    /// transposed block to the stack and made one epilogue call per channel, 8 floats each, and ResNet-18's batch-1 run
    /// on AVX2 spent 3–4 times the share of its time in unblocking that AVX-512 (16 floats per call) does. Returns pEnd.
    /// Shapes: plane [pixels][8]; dst, residual [8][plane2d] (the block's first channel); bias [8] or null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long UnpackRuns8(float* plane, long p0, long pEnd, float* dst, long plane2d, float* bias, float* residual, bool relu, float lo, float hi)
    {
        bool clamp = !float.IsNegativeInfinity(lo) || !float.IsPositiveInfinity(hi);
        for (; ; p0 += 8)
        {
            long at = Math.Min(p0, pEnd - 8);
            Transpose.Block8Vectors(plane + at * 8, 8, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
            float* d = dst + at, r = residual == null ? null : residual + at;
            Epilogue8(v0, 0, bias, r, d, plane2d, relu, clamp, lo, hi); Epilogue8(v1, 1, bias, r, d, plane2d, relu, clamp, lo, hi);
            Epilogue8(v2, 2, bias, r, d, plane2d, relu, clamp, lo, hi); Epilogue8(v3, 3, bias, r, d, plane2d, relu, clamp, lo, hi);
            Epilogue8(v4, 4, bias, r, d, plane2d, relu, clamp, lo, hi); Epilogue8(v5, 5, bias, r, d, plane2d, relu, clamp, lo, hi);
            Epilogue8(v6, 6, bias, r, d, plane2d, relu, clamp, lo, hi); Epilogue8(v7, 7, bias, r, d, plane2d, relu, clamp, lo, hi);
            if (at == pEnd - 8) return pEnd;
        }
    }

    /// <summary>Channel <paramref name="c"/>'s 8 pixels: d[c·plane2d ..] = act(v + bias[c] + r[c·plane2d ..]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Epilogue8(Vector256<float> v, int c, float* bias, float* r, float* d, long plane2d, bool relu, bool clamp, float lo, float hi)
    {
        if (bias != null) v += Vector256.Create(bias[c]);
        if (r != null) v += Vector256.Load(r + c * plane2d);
        if (relu) v = Vector256.Max(v, Vector256<float>.Zero);
        if (clamp)
        {
            // Comparisons with NaN are false, so NaN is kept (torch.clamp).
            v = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256.Create(lo)), Vector256.Create(lo), v);
            v = Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256.Create(hi)), Vector256.Create(hi), v);
        }
        Vector256.Store(v, d + c * plane2d);
    }

    /// <summary>
    /// <see cref="PackRunsOfPixels"/> for 8-channel blocks: each run of 8 pixels along the flattened plane is transposed in
    /// registers and its pixel vectors stored at their places in the padded plane, without the stack block between.
    /// Shapes: channels [8][H·W] (the block's first channel); plane [Hp][Wp][8].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool PackRunsOfPixels8(float* channels, in BlockedShape s, float* plane)
    {
        int W = s.Width;
        long pixels = (long)s.Height * W, pitch = s.RowPitch;
        float* origin = plane + s.PadH * pitch + s.PadW * 8; // pixel (0, 0)
        for (long p0 = 0; ; p0 += 8)
        {
            long at = Math.Min(p0, pixels - 8);
            Transpose.Block8Vectors(channels + at, (nint)pixels, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5, out var v6, out var v7);
            long row = at / W, col = at % W;
            // Pixel at + i is (row, col + i), wrapping to the next row past the last column.
            Put(v0); Put(v1); Put(v2); Put(v3); Put(v4); Put(v5); Put(v6); Put(v7);
            if (at == pixels - 8) return true;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            void Put(Vector256<float> v)
            {
                Vector256.Store(v, origin + row * pitch + col * 8);
                if (++col == W) { col = 0; row++; }
            }
        }
    }
}
