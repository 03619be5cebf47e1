using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>
    /// Whether a 1×1 convolution that adds a residual writes its output over that residual when nothing reads it later
    /// (ResNet's conv3 of every bottleneck block); for benchmarks and tests (STRIATE_BENCH_RESIDUAL_IN_PLACE=0).
    /// </summary>
    internal static bool ResidualInPlace = true;

    /// <summary>A window of one planned buffer: where one value lives during a run.</summary>
    internal readonly record struct Segment(float[] Array, int Offset, int Length)
    {
        public Span<float> Span => Array.AsSpan(Offset, Length);
        public ReadOnlySpan<float> ReadOnly => new(Array, Offset, Length);
    }

    /// <summary>
    /// Places every value of the graph and turns its nodes into <see cref="Step"/>s. Each value has a root and an
    /// offset in it: itself at 0; for a view — flatten, reshape, identity — the place of the value it views; for an
    /// in-place op, the place of the input it overwrites; for a part of a concatenation whose parts are contiguous
    /// blocks of the result (a batch-1 channel concat), its block inside the concatenation's root, so that its producer
    /// writes it where the concatenation wants it and the copy disappears (DenseNet's dense blocks: every layer's
    /// concatenation is then a prefix of the block's last one and costs nothing). Each root gets a slot when the first
    /// value placed in it is produced and gives it back after the last reader of any of them, and a slot is reused by
    /// the next root that fits it (best fit; a slot grows to the largest root it ever holds). The output's slot is never
    /// given back; the input's is, after its last reader, like any other. A step that fuses two nodes and still reads the
    /// first node's input while it writes the second node's output must therefore keep that input placed until the
    /// second node (as <see cref="KeepStemInputsForTheirDepthwise"/> does): otherwise the output may take its slot.
    /// </summary>
    private sealed partial class BufferPlan
    {
        private readonly ForwardGraph _graph;
        private readonly Dictionary<Value, Value> _root = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Value, int> _offset = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Value, int> _slotOf = new(ReferenceEqualityComparer.Instance);
        private readonly List<long> _capacity = new();
        private readonly List<int> _free = new();
        private readonly Dictionary<Value, int> _lastUse = new(ReferenceEqualityComparer.Instance);
        private float[][] _buffers = [];
        private readonly Dictionary<Node, List<Node>> _siblings;
        private float[] _scratch = [];
        private readonly Dictionary<Value, long> _rootFloats = new(ReferenceEqualityComparer.Instance);

        public Step[] Steps { get; }
        public Segment Input { get; }
        public Segment Output { get; }
        public long Floats { get; }

        /// <summary>The planned buffers (for placement reports).</summary>
        public IReadOnlyList<float[]> Buffers => _buffers;

        public BufferPlan(ForwardGraph graph)
        {
            _graph = graph;
            _siblings = SiblingGroups(graph.Nodes);
            IReadOnlyList<Node> nodes = _siblings.Count == 0 ? graph.Nodes : GroupSiblings(graph.Nodes, _siblings);
            var input = graph.Inputs[0];
            var output = graph.Outputs[0];
            if (output.HasData || output.Kind == ValueKind.Input)
                throw new ArgumentException("InferenceSession: the graph's output must be computed by a node.", nameof(graph));

            // Roots: concatenation parts live in their block of the concatenation; views share their input's place;
            // in-place ops share it when the input is not read again.
            _root[input] = input;
            _offset[input] = 0;
            var lastReader = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < nodes.Count; i++)
                foreach (var v in nodes[i].Inputs)
                    if (v != null) lastReader[v] = i;
            KeepStemInputsForTheirDepthwise(nodes, lastReader);
            var placed = PlaceConcatenationParts(nodes, output);
            PlaceSiblingOutputs(placed, output);
            for (int i = 0; i < nodes.Count; i++)
            {
                var n = nodes[i];
                var (root, offset) = (n.Output, 0);
                if (placed.TryGetValue(n.Output, out var block)) (root, offset) = block;
                else if (IsView(n) && n.Inputs[0] is { HasData: false } viewed) (root, offset) = (_root[viewed], _offset[viewed]);
                else if (InPlaceCandidate(n, lastReader, i, output) is { } overwritten) (root, offset) = (_root[overwritten], _offset[overwritten]);
                _root[n.Output] = root;
                _offset[n.Output] = offset;
            }
            // The last node reading each root (through any of its values); the output's root is read after the run.
            foreach (var v in _root.Keys)
                if (lastReader.TryGetValue(v, out int at))
                    _lastUse[_root[v]] = Math.Max(_lastUse.GetValueOrDefault(_root[v], -1), at);
            var outputRoot = _root[output];
            _lastUse[outputRoot] = int.MaxValue;

            // Slots: the input first, then each root when its producer runs; freed after its last use.
            Allocate(input);
            var rootsBy = new Dictionary<int, List<Value>>();
            foreach (var (root, at) in _lastUse)
                if (at != int.MaxValue) (rootsBy.TryGetValue(at, out var l) ? l : rootsBy[at] = new()).Add(root);
            for (int i = 0; i < nodes.Count; i++)
            {
                var n = nodes[i];
                if (!_slotOf.ContainsKey(_root[n.Output])) Allocate(_root[n.Output]);
                if (rootsBy.TryGetValue(i, out var dying))
                    foreach (var r in dying)
                        if (!ReferenceEquals(r, outputRoot) && _slotOf.TryGetValue(r, out int slot)) _free.Add(slot);
            }
            _buffers = _capacity.Select(c => GC.AllocateUninitializedArray<float>(checked((int)Math.Max(c, 1)), pinned: true)).ToArray();
            // Written once now so the first run does not take a page fault on every fresh page of every buffer
            // (uninitialized arrays from the OS are untouched until written).
            foreach (var buffer in _buffers) Array.Clear(buffer);
            Input = SegmentOf(input);
            Output = SegmentOf(output);
            Steps = MakeSteps(nodes.Where(n => !IsView(n)).ToList(), output);
            Floats = _capacity.Sum() + _scratch.Length + BlockedFloats;
        }

        /// <summary>
        /// Where each concatenation part that can be written in place lives: its block inside the root of the
        /// concatenation that reads it. Concatenations are visited last first, so a concatenation that is itself a part
        /// of a later one (nested, as the book's DenseNet builds them) already knows its place and hands its parts
        /// places inside it; a concatenation whose parts all sit, in order and contiguous, in one root already (a dense
        /// layer's input: a prefix of the block's last concatenation) becomes a view of them. Only concatenations whose
        /// parts are contiguous blocks of the result qualify (the dimensions before the concatenated one are all 1: at
        /// batch 1 a channel slice of NCHW is one block; at a larger batch each image's slice is apart, and the parts
        /// are copied). A part already placed elsewhere (read by two concatenations), a graph input, constant or
        /// output, or a view of another value is copied as before.
        /// </summary>
        private static Dictionary<Value, (Value Root, int Offset)> PlaceConcatenationParts(IReadOnlyList<Node> nodes, Value graphOutput)
        {
            var placed = new Dictionary<Value, (Value Root, int Offset)>(ReferenceEqualityComparer.Instance);
            for (int i = nodes.Count - 1; i >= 0; i--)
            {
                var n = nodes[i];
                if (n.Op is not ConcatOp c || n.Inputs.Any(v => v == null)) continue;
                int dim = c.Dim < 0 ? c.Dim + n.Output.Rank : c.Dim;
                if (n.Output.Shape.Take(dim).Any(d => d != 1)) continue;
                var parts = n.Inputs.Select(v => v!).ToArray();
                var offsets = new int[parts.Length];
                for (int k = 1; k < parts.Length; k++) offsets[k] = offsets[k - 1] + checked((int)Numel(parts[k - 1].Shape));

                if (!placed.ContainsKey(n.Output) && Placeable(n, graphOutput) && placed.TryGetValue(parts[0], out var first)
                    && parts.Select((p, k) => placed.TryGetValue(p, out var at) && ReferenceEquals(at.Root, first.Root) && at.Offset == first.Offset + offsets[k]).All(b => b))
                {
                    placed[n.Output] = first; // already laid out in order: the concatenation is a view of its parts
                    continue;
                }
                var (root, offset) = placed.TryGetValue(n.Output, out var self) ? self : (n.Output, 0);
                for (int k = 0; k < parts.Length; k++)
                    if (!placed.ContainsKey(parts[k]) && parts[k].Producer is { } producer && Placeable(producer, graphOutput))
                        placed[parts[k]] = (root, offset + offsets[k]);
            }
            return placed;
        }

        /// <summary>True when <paramref name="producer"/>'s output may be written into a block of another root: it is computed (not a view) and not the graph's output.</summary>
        private static bool Placeable(Node producer, Value graphOutput) => !IsView(producer) && !ReferenceEquals(producer.Output, graphOutput);

        private static bool IsView(Node n) => n.Op is FlattenOp or ReshapeOp or IdentityOp && n.Inputs[0] is { HasData: false };

        /// <summary>The input that <paramref name="n"/> may overwrite with its output (same size, read by no later node), or null.</summary>
        private Value? InPlaceCandidate(Node n, Dictionary<Value, int> lastReader, int index, Value graphOutput)
        {
            // A convolution whose store adds a residual may write over it (Conv2dKernels.ResidualMayShareOutput): the output's
            // lines are then the residual's, just read, instead of lines of another buffer taken from L3 or memory. Only a
            // convolution that runs as a step of its own (MayRunFused): a fused step runs in bands of rows, and a band's
            // output written over the residual would destroy rows of it that the step still reads (MobileNet-V2's
            // inverted-residual blocks read their input, the projection's residual, for the next band's expansion).
            if (ResidualInPlace && n.Op is FusedConv2dOp f && !MayRunFused(n, graphOutput) && n.Inputs.Count > 3 && n.Inputs[3] is { HasData: false } r
                && r.Shape.SequenceEqual(n.Output.Shape) && n.Inputs[0] is { HasData: false } x0 && !ReferenceEquals(_root[x0], _root[r])
                && n.Inputs[1] is { Shape.Count: 4 } w && x0.Shape.Count == 4
                && Conv2dKernels.ResidualMayShareOutput(new Conv2dGeometry(x0.Shape[0], x0.Shape[1], x0.Shape[2], x0.Shape[3], w.Shape[0], w.Shape[2], w.Shape[3],
                    f.Stride.H, f.Stride.W, f.Padding.H, f.Padding.W, f.Dilation.H, f.Dilation.W, f.Groups)))
            {
                return DeadAfter(r, lastReader, index, graphOutput) ? r : null;
            }
            if (n.Op is not (ReluOp or HardtanhOp or ChannelAffineOp or AddOp or LeakyReluOp)) return null;
            int candidates = n.Op is AddOp ? 2 : 1;
            for (int k = 0; k < candidates; k++)
            {
                if (n.Inputs[k] is not { HasData: false } x || !x.Shape.SequenceEqual(n.Output.Shape)) continue;
                if (n.Op is AddOp && n.Inputs[1 - k] is { } other && ReferenceEquals(_root[other], _root[x])) continue;
                if (DeadAfter(x, lastReader, index, graphOutput)) return x;
            }
            return null;
        }

        /// <summary>
        /// Whether <paramref name="x"/>'s buffer is free to overwrite at node <paramref name="index"/>: every value sharing
        /// its root is read by no later node, and none of them is the graph's output.
        /// </summary>
        private bool DeadAfter(Value x, Dictionary<Value, int> lastReader, int index, Value graphOutput)
        {
            var root = _root[x];
            return _root.Where(p => ReferenceEquals(p.Value, root)).All(p => lastReader.GetValueOrDefault(p.Key, -1) <= index
                && !ReferenceEquals(p.Key, graphOutput));
        }

        /// <summary>
        /// Whether <see cref="MakeSteps"/> may run the residual-adding convolution <paramref name="n"/> inside a step with
        /// the nodes before it (a superset of what it fuses): it follows a grouped convolution (<see cref="InvertedResidualStep"/>,
        /// <see cref="StemDepthwiseStep"/>) or a batch norm (<see cref="AffineConvStep"/>) that feeds only it. (Merged 1×1
        /// products take no convolution with a residual.) ResNet's conv3, after its ungrouped 3×3, runs alone.
        /// </summary>
        private bool MayRunFused(Node n, Value graphOutput) =>
            n.Inputs[0]?.Producer is { } p && FeedsOnly(p, n, graphOutput) && p.Op is ChannelAffineOp or FusedConv2dOp { Groups: > 1 };

        /// <summary>
        /// A stem that may run with the depthwise convolution after it as one step (<see cref="StemDepthwiseStep"/>) reads
        /// its input while that step writes the depthwise's output (or the output of the 1×1 after it, which the step may
        /// take too): the input stays placed until the last of them has run, so no output can take its slot (a superset of
        /// what MakeSteps fuses: ≤ 4 input channels, a grouped reader, an ungrouped reader of that).
        /// </summary>
        private static void KeepStemInputsForTheirDepthwise(IReadOnlyList<Node> nodes, Dictionary<Value, int> lastReader)
        {
            var index = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < nodes.Count; i++) index[nodes[i]] = i;
            var steps = nodes.Where(n => !IsView(n)).ToList();
            for (int i = 0; i + 1 < steps.Count; i++)
            {
                Node a = steps[i], b = steps[i + 1];
                if (a.Op is FusedConv2dOp { Groups: 1 } && b.Op is FusedConv2dOp { Groups: > 1 } && ReferenceEquals(b.Inputs[0], a.Output)
                    && a.Inputs[0] is { } x && x.Shape.Count == 4 && x.Shape[1] <= 4)
                {
                    // The step may take the ungrouped convolution reading the depthwise's output as well: keep x until it has run.
                    Node last = i + 2 < steps.Count && steps[i + 2] is { Op: FusedConv2dOp { Groups: 1 } } c && ReferenceEquals(c.Inputs[0], b.Output) ? c : b;
                    foreach (var v in a.Inputs)
                        if (v != null) lastReader[v] = Math.Max(lastReader.GetValueOrDefault(v, -1), index[last]);
                }
            }
        }

        private void Allocate(Value root)
        {
            long need = _rootFloats.TryGetValue(root, out long floats) ? floats : Numel(root.Shape);
            int best = -1;
            foreach (int s in _free)
                if (_capacity[s] >= need && (best < 0 || _capacity[s] < _capacity[best])) best = s;
            if (best < 0 && _free.Count > 0) best = _free.MaxBy(s => _capacity[s]);
            if (best >= 0)
            {
                _free.Remove(best);
                _capacity[best] = Math.Max(_capacity[best], need);
            }
            else
            {
                best = _capacity.Count;
                _capacity.Add(need);
            }
            _slotOf[root] = best;
        }

        private static long Numel(IReadOnlyList<int> shape)
        {
            long n = 1;
            foreach (int d in shape) n *= d;
            return n;
        }

        private Segment SegmentOf(Value v) => new(_buffers[_slotOf[_root[v]]], _offset[v], checked((int)Numel(v.Shape)));

        /// <summary>An operand of a step: a planned segment for computed values, the tensor itself for parameters and constants.</summary>
        private Operand OperandOf(Value v) => v.Data is { } data ? new Operand(v.ShapeArray, data, default) : new Operand(v.ShapeArray, null, SegmentOf(v));

        /// <summary>The step computing <paramref name="n"/>, or null for a concatenation whose parts all sit in place already.</summary>
        private Step? StepFor(Node n)
        {
            var ins = n.Inputs.Select(v => v == null ? null : OperandOf(v)).ToArray();
            var y = SegmentOf(n.Output);
            var step = Step.For(n, ins, y);
            if (step is ConcatStep { CopiesNothing: true }) return null;
            step.Node = $"{n.Output.Reference} = {n.Op}  # {n.ModulePath} ({(step is ConvStep conv ? $"{conv.Algorithm} {conv.Shape}" : step.GetType().Name)})";
            return step;
        }
    }
}
