using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>Whether a planar stem and the 3×3 depthwise convolution after it run as one step (<see cref="StemDepthwiseStep"/>); for benchmarks and tests.</summary>
    internal static bool DepthwiseIntoStem = true;

    /// <summary>Whether the 1×1 convolution after a stem → depthwise pair runs inside that step too (<see cref="StemDepthwiseStep"/>); for benchmarks and tests.</summary>
    internal static bool ProjectionIntoStem = true;

    /// <summary>
    /// A fused convolution on the planar stem path (3×3 stride 2 over few channels: MobileNet-V2's features.0) and the
    /// 3×3 stride-1 depthwise convolution that alone reads it (features.1's first), as one step: the kernel stages the
    /// stem's rows band by band for the depthwise while they are in the core's cache
    /// (<see cref="Conv2dDirect.ForwardPlanarDepthwise(GemmPath, in Conv2dGeometry, float*, float*, float*, float, float, float*, float*, float, float, float*, in PlanarProjection, int)"/>), so the stem's output (1.6 MB at 224×224) is neither written
    /// whole nor read back; a 1×1 convolution alone reading the depthwise's output (features.1's projection) may run in
    /// it too, band by band on the depthwise's rows while they are in cache. The values are those of the separate steps.
    /// The stem's output (and, with the projection, the depthwise's) keeps its planned place, unused.
    /// </summary>
    private sealed class StemDepthwiseStep(ConvStep stem, ConvStep dw, ConvStep? project = null) : Step
    {
        /// <summary>Whether <paramref name="stem"/> and <paramref name="dw"/> (reading only the stem's output) can run as one here.</summary>
        public static bool Takes(ConvStep stem, ConvStep dw) =>
            DepthwiseIntoStem && stem.Algorithm == Conv2dAlgorithm.Direct && dw.Algorithm == Conv2dAlgorithm.Depthwise
            && Conv2dDirect.IsSupported(Conv2dDirect.BestWidth) && stem.Residual == null && dw.Residual == null
            && Conv2dDirect.TakesPlanarDepthwise(stem.Geometry, dw.Geometry);

        /// <summary>
        /// Whether <paramref name="project"/>, reading only <paramref name="dw"/>'s output, can run inside the pair as well:
        /// a 1×1 stride-1 convolution without residual whose product reads packed weights (MobileNet-V2's features.1
        /// 32→16, 12.8 MFLOP on 1.6 MB that would otherwise be written and read back).
        /// </summary>
        public static bool TakesProjection(ConvStep dw, ConvStep project)
        {
            var (d, p) = (dw.Geometry, project.Geometry);
            return ProjectionIntoStem && project.Residual == null && p.Groups == 1 && p.KernelHeight == 1 && p.KernelWidth == 1
                && p.StrideH == 1 && p.StrideW == 1 && p.PadH == 0 && p.PadW == 0 && p.InChannels == d.OutChannels
                && p.InHeight == d.OutHeight && p.InWidth == d.OutWidth && p.Batch == d.Batch && Gemm.UsesPackedA(Gemm.BestPath, p.OutChannels);
        }

        private readonly GemmPath _path = Gemm.BestPath;
        private float[]? _packedProject;

        /// <summary>The projection's output, or the depthwise's when there is none: what the step writes.</summary>
        public Segment Output => project?.Y ?? dw.Y;

        public override void Prepare()
        {
            stem.Prepare();
            dw.Prepare();
            if (project != null && _packedProject == null)
            {
                var p = project.Geometry;
                var packed = GC.AllocateArray<float>(checked((int)Gemm.PackedALength(_path, p.OutChannels, p.InChannels)) + CacheLine.SlackFloats, pinned: true);
                unsafe
                {
                    fixed (float* pw = project.Weight.ReadOnlySpan) Gemm.PackA(_path, false, p.OutChannels, p.InChannels, 1f, pw, p.InChannels, Start(packed));
                }
                _packedProject = packed;
            }
        }

        private static ReadOnlySpan<float> Span(Tensor? t) => t == null ? default : t.ReadOnlySpan;

        private static unsafe float* Start(float[] a) => CacheLine.Align((float*)Unsafe.AsPointer(ref a[0]));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override unsafe void Run()
        {
            if (project != null) Prepare();
            // An empty span pins to null: no bias.
            fixed (float* x = stem.X.Span, w = stem.Weight.ReadOnlySpan, b = Span(stem.Bias), wd = dw.Weight.ReadOnlySpan, bd = Span(dw.Bias), y = dw.Y.Span,
                   bp = project == null ? default : Span(project.Bias), z = project == null ? default : project.Y.Span)
            {
                var projection = project == null ? default
                    : new PlanarProjection(_path, Start(_packedProject!), project.Geometry.OutChannels, bp, project.Op.ClampMin, project.Op.ClampMax, z);
                Conv2dDirect.ForwardPlanarDepthwise(Conv2dDirect.BestWidth, stem.Geometry, x, w, b, stem.Op.ClampMin, stem.Op.ClampMax,
                    wd, bd, dw.Op.ClampMin, dw.Op.ClampMax, y, projection);
            }
        }
    }
}
