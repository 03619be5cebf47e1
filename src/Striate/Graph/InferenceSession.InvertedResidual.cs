using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    private sealed partial class BufferPlan
    {
        /// <summary>
        /// One step per node, except that an inverted-residual block (1×1 expansion → 3×3 depthwise → 1×1 projection,
        /// each intermediate read only by the next) on a large enough map becomes one <see cref="InvertedResidualStep"/>
        /// that runs it in bands. The intermediates keep their planned places (unused by the fused step).
        /// </summary>
        private Step[] MakeSteps(List<Node> nodes, Value graphOutput)
        {
            var steps = new List<Step>(nodes.Count);
            // One scratch output for the merged 1×1 products whose members the plan could not lay out in place (they
            // run one after another).
            long scratch = _siblings.Values.Select(g => g.Sum(n => Numel(n.Output.Shape))).DefaultIfEmpty(0).Max();
            // Each node's step is built once: a fusion check that fails leaves it to the next check or to the plain step.
            var built = new Dictionary<Node, Step?>(ReferenceEqualityComparer.Instance);
            Step? StepOf(Node n) => built.TryGetValue(n, out var s) ? s : built[n] = StepFor(n);
            for (int i = 0; i < nodes.Count; i++)
            {
                // The group's nodes are consecutive (GroupSiblings), in graph order; the product takes them in the
                // order PlaceSiblingOutputs laid them out.
                if (_siblings.TryGetValue(nodes[i], out var members) && i + members.Count <= nodes.Count
                    && nodes.Skip(i).Take(members.Count).All(members.Contains)
                    && members.Select(StepOf).ToArray() is var parts && parts.All(p => p is ConvStep)
                    && parts.Cast<ConvStep>().ToArray() is var convs && SharedInputStep.Takes(convs))
                {
                    int inPlace = _inPlaceMembers.GetValueOrDefault(nodes[i]);
                    int total = convs.Sum(c => c.Y.Length);
                    Segment output;
                    if (inPlace > 0 && SharedInputStep.LaidOut(convs, inPlace)) output = new Segment(convs[0].Y.Array, convs[0].Y.Offset, total);
                    else
                    {
                        inPlace = 0;
                        if (_scratch.Length == 0) _scratch = GC.AllocateArray<float>(checked((int)scratch), pinned: true);
                        output = new Segment(_scratch, 0, total);
                    }
                    var merged = new SharedInputStep(convs, output, inPlace);
                    merged.Node = $"{string.Join(", ", members.Select(m => m.Output.Reference))} = SharedInput1x1  # {string.Join(", ", members.Select(m => m.ModulePath))} (SharedInput {merged.Shape})";
                    steps.Add(merged);
                    i += members.Count - 1;
                    continue;
                }
                if (i + 2 < nodes.Count && IsInvertedResidual(nodes[i], nodes[i + 1], nodes[i + 2], graphOutput)
                    && StepOf(nodes[i]) is ConvStep expand && StepOf(nodes[i + 1]) is ConvStep dw && StepOf(nodes[i + 2]) is ConvStep project
                    && InvertedResidualStep.Takes(expand, dw, project))
                {
                    var block = new InvertedResidualStep(expand, dw, project);
                    block.Node = $"{nodes[i + 2].Output.Reference} = InvertedResidual  # {nodes[i].ModulePath} (InvertedResidual {block.Shape})";
                    steps.Add(block);
                    i += 2;
                    continue;
                }
                if (i + 1 < nodes.Count && nodes[i].Op is ChannelAffineOp && nodes[i + 1].Op is FusedConv2dOp
                    && FeedsOnly(nodes[i], nodes[i + 1], graphOutput)
                    && StepOf(nodes[i]) is AffineStep affine && StepOf(nodes[i + 1]) is ConvStep conv && AffineConvStep.Takes(affine, conv))
                {
                    var fused = new AffineConvStep(affine, conv);
                    fused.Node = $"{nodes[i + 1].Output.Reference} = ChannelAffine → FusedConv2d  # {nodes[i + 1].ModulePath} (AffineConv {conv.Shape})";
                    steps.Add(fused);
                    i += 1;
                    continue;
                }
                if (i + 1 < nodes.Count && nodes[i].Op is ChannelAffineOp && nodes[i + 1].Op is AvgPool2dOp avgPool
                    && FeedsOnly(nodes[i], nodes[i + 1], graphOutput)
                    && StepOf(nodes[i]) is AffineStep pooledAffine && AffinePoolStep.Takes(pooledAffine, avgPool, nodes[i + 1].Output.Shape))
                {
                    var fused = new AffinePoolStep(pooledAffine, SegmentOf(nodes[i + 1].Output));
                    fused.Node = $"{nodes[i + 1].Output.Reference} = ChannelAffine → AvgPool2d  # {nodes[i + 1].ModulePath} (AffinePool {string.Join('×', pooledAffine.X.Shape)})";
                    steps.Add(fused);
                    i += 1;
                    continue;
                }
                if (i + 1 < nodes.Count && nodes[i].Op is FusedConv2dOp && nodes[i + 1].Op is FusedConv2dOp
                    && FeedsOnly(nodes[i], nodes[i + 1], graphOutput)
                    && StepOf(nodes[i]) is ConvStep stem && StepOf(nodes[i + 1]) is ConvStep stemDw && StemDepthwiseStep.Takes(stem, stemDw))
                {
                    if (i + 2 < nodes.Count && nodes[i + 2].Op is FusedConv2dOp && FeedsOnly(nodes[i + 1], nodes[i + 2], graphOutput)
                        && StepOf(nodes[i + 2]) is ConvStep stemProject && StemDepthwiseStep.TakesProjection(stemDw, stemProject))
                    {
                        var whole = new StemDepthwiseStep(stem, stemDw, stemProject);
                        whole.Node = $"{nodes[i + 2].Output.Reference} = FusedConv2d → depthwise → 1×1  # {nodes[i].ModulePath} (StemDepthwise {stem.Shape} → {stemDw.Shape} → {stemProject.Shape})";
                        steps.Add(whole);
                        i += 2;
                        continue;
                    }
                    var fused = new StemDepthwiseStep(stem, stemDw);
                    fused.Node = $"{nodes[i + 1].Output.Reference} = FusedConv2d → depthwise  # {nodes[i].ModulePath} (StemDepthwise {stem.Shape} → {stemDw.Shape})";
                    steps.Add(fused);
                    i += 1;
                    continue;
                }
                if (i + 1 < nodes.Count && nodes[i].Op is FusedConv2dOp && nodes[i + 1].Op is MaxPool2dOp pool
                    && FeedsOnly(nodes[i], nodes[i + 1], graphOutput)
                    && StepOf(nodes[i]) is ConvStep pooledConv && ConvPoolStep.Takes(pooledConv, pool, nodes[i + 1].Output.Shape) is { } window)
                {
                    var fused = new ConvPoolStep(pooledConv, window, SegmentOf(nodes[i + 1].Output));
                    fused.Node = $"{nodes[i + 1].Output.Reference} = FusedConv2d → MaxPool2d  # {nodes[i].ModulePath} (ConvPool {pooledConv.Shape})";
                    steps.Add(fused);
                    i += 1;
                    continue;
                }
                if (StepOf(nodes[i]) is { } step) steps.Add(step);
            }
            var through = KeepBlockedThrough(steps, built, graphOutput);
            if (ReferenceEquals(through, steps)) KeepBlockedBetweenDirectSteps(steps, built, graphOutput);
            return through.ToArray();
        }

        /// <summary>e → d → p are fused convolutions, d reading only e's output and p d's, neither read by anything else.</summary>
        private bool IsInvertedResidual(Node e, Node d, Node p, Value graphOutput) =>
            e.Op is FusedConv2dOp && d.Op is FusedConv2dOp && p.Op is FusedConv2dOp
            && FeedsOnly(e, d, graphOutput) && FeedsOnly(d, p, graphOutput)
            && d.Inputs.Count > 3 && d.Inputs[3] == null && e.Inputs.Count > 3 && e.Inputs[3] == null;

        /// <summary>
        /// <paramref name="a"/>'s output is <paramref name="b"/>'s input, read by nothing else and not the graph's output:
        /// a step fusing the two never writes it.
        /// </summary>
        private bool FeedsOnly(Node a, Node b, Value graphOutput) =>
            ReferenceEquals(b.Inputs[0], a.Output) && !ReferenceEquals(a.Output, graphOutput) && _graph.Uses(a.Output).Count == 1;
    }

    /// <summary>
    /// Smallest map (H·W at the block's input) whose inverted-residual blocks run in bands (<see cref="InvertedResidualStep"/>);
    /// for benchmarks and tests (0 takes every map, <see cref="int.MaxValue"/> none).
    /// </summary>
    internal static int BandedBlockMinPixels = 28 * 28;

    /// <summary>
    /// An inverted-residual block at batch 1 run in bands of rows (<see cref="InvertedResidualBands"/>): the expanded
    /// and depthwise results never leave L2 as whole tensors. Taken where they would not fit it: maps of at least
    /// <see cref="BandedBlockMinPixels"/> pixels (MobileNet-V2's blocks on 112×112, 56×56 and 28×28: 3–11 % faster than three steps, AVX-512 and AVX2). On 14×14
    /// they ran 2–6 % slower and on 7×7 20–40 % (each thread's GEMMs get half the map's columns, 98 or 24, padded to
    /// 32-column tiles; the three steps' GEMMs split rows instead).
    /// </summary>
    private sealed unsafe class InvertedResidualStep : Step
    {
        private readonly ConvStep _expand, _dw, _project;
        private readonly InvertedResidualGeometry _g;
        private readonly InvertedResidualBands.Clamps _clamps;
        private readonly GemmPath _path = Gemm.BestPath;
        private float[]? _packedExpand, _packedProject;

        public InvertedResidualStep(ConvStep expand, ConvStep dw, ConvStep project)
        {
            (_expand, _dw, _project) = (expand, dw, project);
            var ge = expand.Geometry;
            _g = new InvertedResidualGeometry(ge.InChannels, ge.OutChannels, project.Geometry.OutChannels, ge.InHeight, ge.InWidth, dw.Geometry.StrideH);
            _clamps = new InvertedResidualBands.Clamps(expand.Op.ClampMin, expand.Op.ClampMax, dw.Op.ClampMin, dw.Op.ClampMax, project.Op.ClampMin, project.Op.ClampMax);
        }

        /// <summary>"16→96→24 s2 @112×112" (for profiles).</summary>
        public string Shape => $"{_g.InChannels}→{_g.Hidden}→{_g.OutChannels} s{_g.Stride} @{_g.Height}×{_g.Width}";

        /// <summary>
        /// Whether the three convolutions form a block the banded kernel runs: batch 1, 1×1 stride-1 unpadded products
        /// with packed weights (more than GEMM's few rows), a 3×3 depthwise of stride 1 or 2 and padding 1 between them
        /// with the vector kernels available, on a map of at least <see cref="BandedBlockMinPixels"/>.
        /// </summary>
        public static bool Takes(ConvStep expand, ConvStep dw, ConvStep project)
        {
            var (e, d, p) = (expand.Geometry, dw.Geometry, project.Geometry);
            return e.Batch == 1 && IsPointwise(e) && IsPointwise(p)
                && d.Groups == d.InChannels && d.OutChannels == d.InChannels && d.InChannels == e.OutChannels && p.InChannels == d.OutChannels
                && d.KernelHeight == 3 && d.KernelWidth == 3 && d.PadH == 1 && d.PadW == 1 && d.StrideH == d.StrideW && d.StrideH is 1 or 2
                && d.DilationH == 1 && d.DilationW == 1
                && DepthwiseConv2d.VectorWidth() > 0 && (long)e.InHeight * e.InWidth >= BandedBlockMinPixels
                && Gemm.UsesPackedA(Gemm.BestPath, e.OutChannels) && Gemm.UsesPackedA(Gemm.BestPath, p.OutChannels);
        }

        private static bool IsPointwise(in Conv2dGeometry g) =>
            g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadH == 0 && g.PadW == 0 && g.Groups == 1;

        /// <summary>Packs both products' weights as GEMM's A, once (the session's weights are folded constants).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // Run calls it every run (a no-op after the first)
        public override void Prepare()
        {
            _packedExpand ??= Pack(_expand.Weight, _g.Hidden, _g.InChannels);
            _packedProject ??= Pack(_project.Weight, _g.OutChannels, _g.Hidden);
        }

        private float[] Pack(Tensor w, int m, int k)
        {
            var packed = GC.AllocateArray<float>(checked((int)Gemm.PackedALength(_path, m, k)) + CacheLine.SlackFloats, pinned: true);
            fixed (float* pw = w.ReadOnlySpan) Gemm.PackA(_path, false, m, k, 1f, pw, k, Start(packed));
            return packed;
        }

        private static ReadOnlySpan<float> Span(Tensor? t) => t == null ? default : t.ReadOnlySpan;

        private static float* Start(float[] a) => CacheLine.Align((float*)Unsafe.AsPointer(ref a[0]));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per run: tier 1 would come after the warm-up runs
        public override void Run()
        {
            Prepare();
            // An empty span pins to null: no bias, no residual.
            fixed (float* x = _expand.X.Span, be = Span(_expand.Bias), wd = _dw.Weight.ReadOnlySpan, bd = Span(_dw.Bias), bp = Span(_project.Bias),
                   r = _project.Residual == null ? default : _project.Residual.Span, y = _project.Y.Span)
                InvertedResidualBands.Forward(_path, KernelThreads.Count, _g, x, Start(_packedExpand!), be, wd, bd, Start(_packedProject!), bp, r, _clamps, y);
        }
    }
}
