using Striate.Kernels;
using System.Runtime.CompilerServices;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>
    /// Largest batch at which activations stay channel-blocked through the convolutions that can read and write them so
    /// (<see cref="BufferPlan.KeepBlockedThrough"/>; 0: never, and <see cref="BlockedActivationsMaxBatch"/>'s pairs as
    /// before): every ungrouped 1×1 runs <see cref="PointwiseBlocked"/> on blocked input, residual and output, and a
    /// batch-blocked direct 3×3 reads and writes blocked where its neighbours do (ResNet-50's bottlenecks: the 1×1 before
    /// each 3×3 writes its output with the 3×3's padding as border, the 1×1 after reads it; block outputs stay blocked for
    /// the next block's 1×1s). Where another step reads a blocked value, or a blocked 1×1 reads a value written NCHW, a
    /// layout step converts it (<see cref="ChannelBlocked.Unpack"/>, <see cref="ChannelBlocked.Pack"/>).
    /// STRIATE_BENCH_BLOCKED_THROUGH=N. 1 by default, where <see cref="BlockedThroughRule"/> keeps it (ResNet-18/34/50): on the
    /// 2-vCPU Zen 3 (AVX2; bench/RESULTS.md 2026-12-07 12:48–14:02, steps_b1 --procs 3, both orientations) ResNet-18 b1
    /// blocked ÷ plain (sum of steps, per round) 0.992 / 0.984 (CI 0.938–0.994) and 1 ÷ 1.030, wall clock 0.976 / 0.980 (CI
    /// 0.953–0.998) and 1 ÷ 1.015: 0.5–0.9 ms over layer1's 3×3s (the stem packed once), the stride-2 3×3s and the
    /// downsamples, less 0.08–0.10 ms of layout steps. Without the rule MobileNet-V2, GoogLeNet and DenseNet-121 ran
    /// 1.8–4.4 % slower (13:25–13:28), and ResNet-50 ~1 ms (2 %) slower in the sum of steps with s40's PointwiseBlocked
    /// (09:50–11:04; its 3×3s 0.72–0.77 ms faster, its 1×1s 1.6–2.0 ms slower than on the NCHW GEMMs), 0.920 of plain with
    /// pw8's (12:53–14:10), and on main f0a25b7 (pt1x1's faster NCHW 1×1s in the plain arm; steps_b1 --procs 3, 100
    /// rounds each way, 14:31) 0.956 (CI 0.930–0.980) and 1 ÷ 1.033 (1.019–1.059), Σ per-step −3.4 / −2.7 ms: on by
    /// <see cref="BlockedThroughPointwiseCost"/> 0. On AVX-512 the blocks are 16 channels (PointwiseBlocked.Avx512.cs): on a
    /// 2-vCPU Intel Xeon ResNet-50 b1 blocked ÷ plain 0.896 (CI 0.883–0.907), ResNet-18 0.968 (bench/RESULTS.md 2026-12-08, pw512).
    /// </summary>
    internal static int BlockedThroughMaxBatch = 1;

    /// <summary>
    /// Whether <see cref="BlockedThroughMaxBatch"/> keeps a model's plan only where it pays by count (else wherever the
    /// batch allows): isolated blocked 1×1s (input packed, output read only NCHW) go back to the NCHW path, and the plan stays
    /// where the layout passes it takes out of direct 3×3s beyond the direct pairs' plan (<see cref="BlockedActivationsMaxBatch"/>)
    /// outnumber its blocked 1×1s (<see cref="BlockedThroughPointwiseCost"/> each) and layout steps. At
    /// <see cref="BlockedThroughPointwiseCost"/> 0 (the default): ResNet-18 and ResNet-34 on (3 blocked 1×1s, 2 layout
    /// steps), ResNet-50 on (36, 2; off at cost 1: its 16 3×3s' 32 passes against 36 + 2), MobileNet-V2, GoogLeNet, DenseNet-121 and
    /// the others off (few or no direct 3×3s to keep blocked; forced on they ran 1.8–4.4 % slower, bench/RESULTS.md
    /// 2026-12-07 12:48–14:02). STRIATE_BENCH_BLOCKED_THROUGH_RULE=0.
    /// </summary>
    internal static bool BlockedThroughRule = true;

    /// <summary>
    /// What one blocked 1×1 costs in <see cref="BlockedThroughRule"/>'s count, in layout passes: 0 — with its prefetches
    /// (pw8, s42) PointwiseBlocked runs ResNet-50's 1×1s at least as fast as the NCHW GEMM path (suite, per core: blocked ÷
    /// step 0.888), so ResNet-50 stays blocked through (bench/RESULTS.md 2026-12-07 14:24–14:32). It was 1 while the
    /// blocked 1×1s ran ~0.05 ms each slower (09:50–11:04): ResNet-50 off. MobileNet-V2, GoogLeNet and DenseNet-121 stay
    /// off at either value. STRIATE_BENCH_BLOCKED_THROUGH_COST=N.
    /// </summary>
    internal static int BlockedThroughPointwiseCost = 0;

    /// <summary>
    /// Whether <see cref="BlockedThroughMaxBatch"/>'s plan packs a value written NCHW by another step (a pooled stem) that a
    /// direct 3×3 reads as its residual, with that 3×3's border, so the 3×3's output stays blocked: ResNet-18/34's layer1
    /// then runs blocked end to end (its first 3×3 reads the pack instead of packing the same value itself; else its
    /// blocks' second 3×3s write NCHW for the residual). STRIATE_BENCH_BLOCKED_THROUGH_PACK=0.
    /// </summary>
    internal static bool BlockedThroughPackResidual = true;

    /// <summary>Convolution steps that run <see cref="PointwiseBlocked"/> (<see cref="BlockedThroughMaxBatch"/>; for tests of the plan).</summary>
    internal int BlockedPointwiseSteps => _steps.Count(s => s is ConvStep { RunsPointwiseBlocked: true });

    /// <summary>Layout conversions per run (<see cref="BlockedThroughMaxBatch"/>; for tests of the plan).</summary>
    internal int LayoutSteps => _steps.Count(s => s is PackStep or UnpackStep);

    /// <summary>NCHW → channel-blocked (zero border, zero missing channels) for a blocked reader of a value written NCHW.</summary>
    private sealed class PackStep(Operand x, float[] blocked, BlockedShape shape) : Step
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override unsafe void Run()
        {
            fixed (float* px = x.Span, pb = blocked) ChannelBlocked.Pack(px, shape, CacheLine.Align(pb));
        }
    }

    /// <summary>Channel-blocked (any border) → NCHW for a reader that reads NCHW.</summary>
    private sealed class UnpackStep(float[] blocked, BlockedShape shape, Segment y) : Step
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override unsafe void Run()
        {
            fixed (float* pb = blocked, py = y.Span)
            {
                float* src = CacheLine.Align(pb);
                if (shape.PadH == 0 && shape.PadW == 0)
                {
                    ChannelBlocked.Unpack(src, shape, py, null, null, false);
                    return;
                }
                UnpackPadded(src, shape, py);
            }
        }

        /// <summary>The interior of a padded blocked tensor, element by element (no ResNet value needs it: a value read NCHW is planned without a border).</summary>
        private static unsafe void UnpackPadded(float* src, in BlockedShape s, float* dst)
        {
            for (int n = 0; n < s.Batch; n++)
                for (int c = 0; c < s.Channels; c++)
                {
                    float* plane = src + n * s.ImageStride + c / s.V * s.BlockStride + c % s.V;
                    float* d = dst + ((long)n * s.Channels + c) * s.Height * s.Width;
                    for (int h = 0; h < s.Height; h++)
                        for (int w = 0; w < s.Width; w++)
                            d[(long)h * s.Width + w] = plane[(h + s.PadH) * s.RowPitch + (long)(w + s.PadW) * s.V];
                }
        }
    }

    private sealed partial class BufferPlan
    {
        /// <summary>Floats held by the blocked-through buffers (<see cref="KeepBlockedThrough"/>).</summary>
        private long _blockedThroughFloats;

        /// <summary>The blocked form of one value: its border, where it is written (step index) and last read.</summary>
        private sealed class BlockedForm(Value value, BlockedShape shape)
        {
            public Value Value { get; } = value;
            public BlockedShape Shape { get; } = shape;
            public float[] Buffer { get; set; } = [];
            public int Birth { get; set; } = int.MaxValue;
            public int Death { get; set; } = -1;
        }

        /// <summary>
        /// Keeps activations channel-blocked through the convolutions that can take them so (see
        /// <see cref="BlockedThroughMaxBatch"/>). Each convolution step is one of: P, an ungrouped unpadded 1×1 with ReLU
        /// or no activation (<see cref="PointwiseBlocked"/>: input, residual and output all blocked, any border); D, a
        /// direct 3×3 with a batch-blocked schedule (<see cref="Conv2dDirect.TakesBlocked"/>; input blocked or not, output
        /// and residual both blocked or both NCHW); or another step (NCHW). A value written by P or D is written blocked
        /// unless, for D, a reader needs NCHW (a non-convolution step, the graph's output, a D reading it with another
        /// padding, a D whose output is NCHW reading it as residual) or, for D with a residual, that residual is not blocked
        /// with the same border; a P's output that a reader needs NCHW is unpacked right after it, and a value written NCHW
        /// that a P reads is packed right before the first such P. A blocked value's border is the padding of the D that
        /// reads it as input (0 when none does). Blocked values get buffers of their own, shared by values of the same
        /// blocked shape whose lifetimes do not overlap: every writer of such a buffer leaves its border and missing
        /// channels zero (D never writes them and computes zeros there; P and the pack write zeros), so the zeros it starts
        /// with stay. The values' NCHW places stay planned, unused where nothing reads them NCHW.
        /// </summary>
        private List<Step> KeepBlockedThrough(List<Step> steps, Dictionary<Node, Step?> built, Value graphOutput)
        {
            var width = Conv2dDirect.BestWidth;
            // The direct 3×3's block: 8 channels on AVX2, 16 on AVX-512 (PointwiseBlocked runs both).
            int block = Conv2dDirect.VectorLength(width);
            if (!PointwiseBlocked.TakesBlocks(block)) return steps;
            var inList = new HashSet<Step>(steps, ReferenceEqualityComparer.Instance);
            var convOf = new Dictionary<Node, ConvStep>(ReferenceEqualityComparer.Instance);
            var nodeOf = new Dictionary<ConvStep, Node>(ReferenceEqualityComparer.Instance);
            foreach (var (node, step) in built)
                if (step is ConvStep c && inList.Contains(c))
                {
                    convOf[node] = c;
                    nodeOf[c] = node;
                }
            bool ReluOrNone(ConvStep c) => !(c.Op.HasActivation && !c.Op.Relu);
            bool IsP(ConvStep c)
            {
                var g = c.Geometry;
                return g.Batch <= BlockedThroughMaxBatch && g.KernelHeight == 1 && g.KernelWidth == 1 && g.PadH == 0 && g.PadW == 0 && g.StrideH == g.StrideW
                    && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1 && ReluOrNone(c) && c.Algorithm != Conv2dAlgorithm.Depthwise;
            }
            bool IsD(ConvStep c)
            {
                var g = c.Geometry;
                return g.Batch <= BlockedThroughMaxBatch && c.Algorithm == Conv2dAlgorithm.Direct && g.PadH == g.PadW && ReluOrNone(c) && Conv2dDirect.TakesBlocked(width, g);
            }
            var pSteps = new HashSet<ConvStep>(nodeOf.Keys.Where(IsP), ReferenceEqualityComparer.Instance);
            var dSteps = new HashSet<ConvStep>(nodeOf.Keys.Where(IsD), ReferenceEqualityComparer.Instance);
            if (pSteps.Count == 0) return steps;

            // Values written NCHW by another step that a D reads as its residual (BlockedThroughPackResidual): packed with the
            // border they are read with, so that D's output can stay blocked (ResNet-18's stem output, layer1's residual).
            var written = new HashSet<Value>(pSteps.Concat(dSteps).Select(c => nodeOf[c].Output), ReferenceEqualityComparer.Instance);
            var residualPacks = new HashSet<Value>(ReferenceEqualityComparer.Instance);
            if (BlockedThroughPackResidual)
                foreach (var c in dSteps)
                    if (c.Residual != null && nodeOf[c].Inputs[3] is { } r && !written.Contains(r)) residualPacks.Add(r);
            var blocked = new HashSet<Value>(ReferenceEqualityComparer.Instance);
            var border = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
            var uses = new Dictionary<Value, IReadOnlyList<(Node Node, int Index)>>(ReferenceEqualityComparer.Instance);
            IReadOnlyList<(Node Node, int Index)> UsesOf(Value v) => uses.TryGetValue(v, out var u) ? u : uses[v] = _graph.Uses(v);
            int BorderOf(Value v) => border.GetValueOrDefault(v);
            // The padding a D reading v as its input asks for (the first such D), else the border of the blocked output of a D reading it as residual.
            int WantedBorder(Value v)
            {
                foreach (var (n, i) in UsesOf(v))
                    if (i == 0 && convOf.TryGetValue(n, out var c) && dSteps.Contains(c)) return c.Geometry.PadH;
                foreach (var (n, i) in UsesOf(v))
                    if (i == 3 && convOf.TryGetValue(n, out var c) && dSteps.Contains(c) && blocked.Contains(n.Output)) return BorderOf(n.Output);
                return 0;
            }
            // Whether node n reads v (its input i) blocked as v is written now.
            bool ReadsBlocked(Node n, int i, Value v)
            {
                if (!convOf.TryGetValue(n, out var c)) return false;
                if (pSteps.Contains(c) && (i == 0 || i == 3)) return true;
                if (dSteps.Contains(c) && i == 0 && c.Geometry.PadH == BorderOf(v)) return true;
                return dSteps.Contains(c) && i == 3 && blocked.Contains(n.Output) && BorderOf(n.Output) == BorderOf(v);
            }
            // Whether some reader of v reads it NCHW although v is written blocked.
            bool ReadNchw(Value v) => ReferenceEquals(v, graphOutput) || UsesOf(v).Any(u => !ReadsBlocked(u.Node, u.Index, v));
            // Values written blocked: every P's output, and D's while their readers allow it (only ever taken away).
            void FindBlocked()
            {
                blocked.Clear();
                border.Clear();
                foreach (var c in pSteps.Concat(dSteps))
                    if (!ReferenceEquals(nodeOf[c].Output, graphOutput)) blocked.Add(nodeOf[c].Output);
                blocked.UnionWith(residualPacks);
                for (bool changed = true; changed;)
                {
                    changed = false;
                    for (int pass = 0; pass < 4; pass++)
                    {
                        bool moved = false;
                        foreach (var v in blocked)
                        {
                            int b = WantedBorder(v);
                            if (BorderOf(v) != b) { border[v] = b; moved = true; }
                        }
                        if (!moved) break;
                    }
                    foreach (var c in dSteps)
                    {
                        var n = nodeOf[c];
                        if (!blocked.Contains(n.Output)) continue;
                        var r = c.Residual == null ? null : n.Inputs[3];
                        if (ReadNchw(n.Output) || (r != null && (!blocked.Contains(r) || BorderOf(r) != BorderOf(n.Output))))
                        {
                            blocked.Remove(n.Output);
                            border.Remove(n.Output);
                            changed = true;
                        }
                    }
                }
            }
            FindBlocked();
            // Isolated Ps (BlockedThroughRule): an input that needs a pack and no reader of the output that reads it blocked —
            // two layout passes around one blocked 1×1 (MobileNet-V2's expansions, GoogLeNet's branch 1×1s). They run the
            // NCHW path instead, and the plan is found again without them (a P that read an isolated P's output may be isolated now).
            if (BlockedThroughRule)
                for (bool pruned = true; pruned && pSteps.Count > 0;)
                {
                    var isolated = pSteps.Where(c => !blocked.Contains(nodeOf[c].Inputs[0]!) && (ReferenceEquals(nodeOf[c].Output, graphOutput)
                        || !UsesOf(nodeOf[c].Output).Any(u => ReadsBlocked(u.Node, u.Index, nodeOf[c].Output)))).ToList();
                    pruned = isolated.Count > 0;
                    foreach (var c in isolated) pSteps.Remove(c);
                    if (pruned) FindBlocked();
                }
            // A residual pack pays only where a D with a blocked output reads it as residual.
            if (residualPacks.RemoveWhere(r => !UsesOf(r).Any(u => u.Index == 3 && convOf.TryGetValue(u.Node, out var c) && dSteps.Contains(c) && blocked.Contains(u.Node.Output))) > 0)
                FindBlocked();
            if (pSteps.Count == 0) return steps;

            // Forms: each blocked value's (a residual pack's with its border), and a packed (border 0) one for each other NCHW value a P reads.
            var forms = new Dictionary<Value, BlockedForm>(ReferenceEqualityComparer.Instance);
            BlockedShape ShapeOf(Value v, int pad) => new(v.Shape[0], v.Shape[1], v.Shape[2], v.Shape[3], block, pad, pad);
            foreach (var v in blocked) forms[v] = new BlockedForm(v, ShapeOf(v, BorderOf(v)));
            var packs = new Dictionary<Value, BlockedForm>(ReferenceEqualityComparer.Instance);
            var unpacks = new Dictionary<ConvStep, BlockedForm>(ReferenceEqualityComparer.Instance);
            foreach (var c in pSteps)
            {
                var n = nodeOf[c];
                foreach (var v in c.Residual == null ? new[] { n.Inputs[0]! } : new[] { n.Inputs[0]!, n.Inputs[3]! })
                    if (!blocked.Contains(v) && !packs.ContainsKey(v)) packs[v] = forms[v] = new BlockedForm(v, ShapeOf(v, 0));
                if (blocked.Contains(n.Output) && ReadNchw(n.Output)) unpacks[c] = forms[n.Output];
            }
            foreach (var r in residualPacks) packs[r] = forms[r];

            // The rule (BlockedThroughRule): the plan stays only where the layout passes it takes out of direct steps (a blocked
            // input read, a blocked output written) beyond those of the direct pairs' plan outnumber what it adds — its blocked
            // 1×1s (BlockedThroughPointwiseCost passes each: 0 by default, PointwiseBlocked now as fast as the NCHW GEMM path
            // it replaces; 1 while it was slower) and its layout steps.
            if (BlockedThroughRule)
            {
                int handOffs = dSteps.Sum(c => (blocked.Contains(nodeOf[c].Inputs[0]!) && BorderOf(nodeOf[c].Inputs[0]!) == c.Geometry.PadH ? 1 : 0)
                    + (blocked.Contains(nodeOf[c].Output) ? 1 : 0));
                int gain = handOffs - 2 * DirectPairs(steps, built, graphOutput).Count;
                int cost = BlockedThroughPointwiseCost * pSteps.Count + packs.Count + unpacks.Count;
                if (gain <= cost) return steps;
            }

            // The steps with the layout steps in place: a pack before the first P or D reading its value, an unpack after its P.
            var result = new List<Step>(steps.Count + packs.Count + unpacks.Count);
            var packed = new HashSet<Value>(ReferenceEqualityComparer.Instance);
            foreach (var s in steps)
            {
                if (s is ConvStep c && (pSteps.Contains(c) || dSteps.Contains(c)))
                {
                    var n = nodeOf[c];
                    foreach (var v in new[] { n.Inputs[0], c.Residual == null ? null : n.Inputs[3] })
                        if (v != null && packs.TryGetValue(v, out var f) && packed.Add(v))
                        {
                            f.Birth = result.Count;
                            result.Add(new PackStep(OperandOf(v), [], f.Shape) { Node = $"{v.Reference} → blocked  # pack ({Describe(f.Shape)})" });
                        }
                }
                result.Add(s);
                if (s is ConvStep w && nodeOf.TryGetValue(w, out var wn) && forms.TryGetValue(wn.Output, out var own) && !packs.ContainsKey(wn.Output))
                    own.Birth = result.Count - 1;
                if (s is ConvStep u && unpacks.TryGetValue(u, out var uf))
                    result.Add(new UnpackStep([], uf.Shape, SegmentOf(uf.Value)) { Node = $"{uf.Value.Reference} → NCHW  # unpack ({Describe(uf.Shape)})" });
            }
            // Lifetimes: last step reading each form blocked.
            for (int i = 0; i < result.Count; i++)
            {
                if (result[i] is UnpackStep && i > 0 && result[i - 1] is ConvStep up && unpacks.TryGetValue(up, out var uf)) uf.Death = Math.Max(uf.Death, i);
                if (result[i] is not ConvStep c || !nodeOf.TryGetValue(c, out var n)) continue;
                if (pSteps.Contains(c))
                {
                    forms[n.Inputs[0]!].Death = Math.Max(forms[n.Inputs[0]!].Death, i);
                    if (c.Residual != null) forms[n.Inputs[3]!].Death = Math.Max(forms[n.Inputs[3]!].Death, i);
                }
                else if (dSteps.Contains(c))
                {
                    if (blocked.Contains(n.Inputs[0]!) && BorderOf(n.Inputs[0]!) == c.Geometry.PadH) forms[n.Inputs[0]!].Death = Math.Max(forms[n.Inputs[0]!].Death, i);
                    if (c.Residual != null && blocked.Contains(n.Output)) forms[n.Inputs[3]!].Death = Math.Max(forms[n.Inputs[3]!].Death, i);
                }
            }
            // Buffers: per blocked shape, reused by a form born after the last holder's last read.
            var pool = new Dictionary<BlockedShape, List<(float[] Buffer, int FreeAfter)>>();
            foreach (var f in forms.Values.OrderBy(f => f.Birth))
            {
                if (!pool.TryGetValue(f.Shape, out var list)) pool[f.Shape] = list = new();
                int k = list.FindIndex(e => e.FreeAfter < f.Birth);
                if (k < 0)
                {
                    list.Add((GC.AllocateArray<float>(checked((int)f.Shape.Length + CacheLine.SlackFloats), pinned: true), -1));
                    k = list.Count - 1;
                    _blockedThroughFloats += list[k].Buffer.Length;
                }
                f.Buffer = list[k].Buffer;
                list[k] = (f.Buffer, Math.Max(f.Death, f.Birth));
            }
            // Hand the buffers to the steps.
            for (int i = 0; i < result.Count; i++)
            {
                switch (result[i])
                {
                    case PackStep:
                    {
                        var f = packs.Values.First(p => p.Birth == i);
                        var x = OperandOf(f.Value);
                        result[i] = new PackStep(x, f.Buffer, f.Shape) { Node = result[i].Node };
                        break;
                    }
                    case UnpackStep:
                    {
                        var f = unpacks[(ConvStep)result[i - 1]];
                        result[i] = new UnpackStep(f.Buffer, f.Shape, SegmentOf(f.Value)) { Node = result[i].Node };
                        break;
                    }
                    case ConvStep c when nodeOf.TryGetValue(c, out var n):
                    {
                        if (pSteps.Contains(c))
                        {
                            var fx = forms[n.Inputs[0]!];
                            var fy = forms[n.Output];
                            var fr = c.Residual == null ? null : forms[n.Inputs[3]!];
                            c.RunPointwise(fx.Buffer, fx.Shape, fy.Buffer, fy.Shape, fr?.Buffer, fr?.Shape ?? default);
                        }
                        else if (dSteps.Contains(c))
                        {
                            var x = n.Inputs[0]!;
                            if (blocked.Contains(x) && BorderOf(x) == c.Geometry.PadH) c.BlockInput(forms[x].Buffer);
                            if (blocked.Contains(n.Output))
                            {
                                c.BlockOutput(forms[n.Output].Buffer, BorderOf(n.Output));
                                if (c.Residual != null) c.BlockResidual(forms[n.Inputs[3]!].Buffer);
                            }
                        }
                        break;
                    }
                }
            }
            return result;
        }

        private static string Describe(BlockedShape s) => $"{s.Batch}×{s.Channels}×{s.Height}×{s.Width}/{s.V} border {s.PadH}";
    }
}
