using System.Runtime.CompilerServices;

namespace Striate.Kernels;

public static partial class Conv2dKernels
{
    // Below this many touched elements a fork costs more than it saves.
    private const long MinParallelElements = 1 << 15;

    /// <summary>Runs body(0..count) on the kernel threads (<see cref="Kernels.ParallelFor"/>) when the work is big enough, else inline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ParallelFor(int count, long elements, Action<int> body)
    {
        if (count <= 1 || elements < MinParallelElements || KernelThreads.Count == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        var loop = new DelegateBody { Body = body };
        Kernels.ParallelFor.Run(count, ref loop);
    }

    /// <summary>Runs body.Invoke(0..count) on the kernel threads when <paramref name="elements"/> is big enough, else inline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RunParallel<TBody>(int count, long elements, ref TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 1 || elements < MinParallelElements || KernelThreads.Count == 1)
        {
            for (int i = 0; i < count; i++) body.Invoke(i);
            return;
        }
        Kernels.ParallelFor.Run(count, ref body);
    }

    private struct DelegateBody : IParallelBody
    {
        public Action<int> Body;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index) => Body(index);
    }

    /// <summary>im2col of images n0..n0+b (group grp) into col [K, ld], image i in columns [i·P, (i+1)·P).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void PackImages(in Conv2dGeometry g, ReadOnlySpan<float> input, int n0, int b, int grp, float[] col, int ld)
    {
        var geom = g;
        int cg = g.InChannelsPerGroup, P = g.OutHeight * g.OutWidth, image = cg * g.InHeight * g.InWidth;
        int K = cg * g.KernelHeight * g.KernelWidth;
        // Split by col row, not by channel: the stem has only 3 channels but 147 rows.
        int rowsPerTask = Math.Max(1, Math.Min(K, 4096 / Math.Max(1, P)));
        int tasksPerImage = (K + rowsPerTask - 1) / rowsPerTask;
        fixed (float* pIn = input)
        {
            nint inAddr = (nint)pIn;
            int inLength = input.Length;
            ParallelFor(b * tasksPerImage, (long)K * P * b, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (t) =>
            {
                int i = t / tasksPerImage, r0 = t % tasksPerImage * rowsPerTask;
                var src = new ReadOnlySpan<float>((float*)inAddr, inLength).Slice(((n0 + i) * geom.InChannels + grp * cg) * geom.InHeight * geom.InWidth, image);
                Im2Col.PackRows(geom, src, col.AsSpan(i * P), ld, r0, Math.Min(K, r0 + rowsPerTask));
            });
        }
    }

    /// <summary>col2im of dcol [K, ld] back onto images n0..n0+b (group grp) of gradInput (accumulating).</summary>
    private static unsafe void UnpackImages(in Conv2dGeometry g, float[] col, int ld, int n0, int b, int grp, Span<float> gradInput)
    {
        var geom = g;
        int cg = g.InChannelsPerGroup, P = g.OutHeight * g.OutWidth, image = cg * g.InHeight * g.InWidth;
        long rowLength = (long)g.KernelHeight * g.KernelWidth * P;
        fixed (float* pOut = gradInput)
        {
            nint outAddr = (nint)pOut;
            int outLength = gradInput.Length;
            ParallelFor(b * cg, rowLength * b * cg, t =>
            {
                int i = t / cg, c = t % cg;
                var dst = new Span<float>((float*)outAddr, outLength).Slice(((n0 + i) * geom.InChannels + grp * cg) * geom.InHeight * geom.InWidth, image);
                Im2Col.UnpackChannels(geom, col.AsSpan(i * P), ld, dst, c, c + 1);
            });
        }
    }
}
