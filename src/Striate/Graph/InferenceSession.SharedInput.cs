using System.Runtime.CompilerServices;
using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>
    /// Whether 1×1 convolutions reading the same input at batch 1 run as one product (<see cref="SharedInputStep"/>);
    /// for benchmarks and tests.
    /// </summary>
    internal static bool MergeSharedInputPointwise = true;

    /// <summary>
    /// Whether a merged product stores its one placed member's rows (an Inception block's branch 1) straight into their
    /// block of the concatenation, instead of after the others' and copied there; read at each run, for benchmarks
    /// (STRIATE_BENCH_SHARED_SPLIT=0) and tests.
    /// </summary>
    internal static bool SharedInputSplitRows = true;

    private sealed partial class BufferPlan
    {
        // Per group (keyed as _siblings): how many leading members the product writes in place.
        private readonly Dictionary<Node, int> _inPlaceMembers = new(ReferenceEqualityComparer.Instance);

        /// <summary>
        /// The nodes in execution order, except that the 1×1 convolutions of a <see cref="SiblingGroups"/> group are
        /// moved up to follow its first one, so that they are consecutive (and the buffer plan sees their outputs born
        /// together, as the merged step writes them). Moving them up is safe: their only computed input is the
        /// first one's input, and every reader of their outputs came after them already.
        /// </summary>
        private static List<Node> GroupSiblings(IReadOnlyList<Node> nodes, Dictionary<Node, List<Node>> groups)
        {
            var order = new List<Node>(nodes.Count);
            var moved = new HashSet<Node>(ReferenceEqualityComparer.Instance);
            foreach (var n in nodes)
            {
                if (moved.Contains(n)) continue;
                order.Add(n);
                if (!groups.TryGetValue(n, out var members)) continue;
                foreach (var m in members.Skip(1))
                {
                    order.Add(m);
                    moved.Add(m);
                }
            }
            return order;
        }

        /// <summary>
        /// Places the outputs of each sibling group that no concatenation placed (an Inception block's reduces; branch 1
        /// lives in its block of the concatenation) one after another in the first one's root, in group order, with
        /// room after them for the placed members' rows: the merged product then writes them where they live, and only
        /// the placed members' rows are copied. Reorders each group's members so: unplaced first.
        /// </summary>
        private void PlaceSiblingOutputs(Dictionary<Value, (Value Root, int Offset)> placed, Value graphOutput)
        {
            foreach (var (head, members) in _siblings)
            {
                var free = members.Where(m => !placed.ContainsKey(m.Output) && !ReferenceEquals(m.Output, graphOutput)).ToList();
                if (free.Count == 0) continue;
                var root = free[0].Output;
                long offset = 0;
                foreach (var m in free)
                {
                    if (offset > 0) placed[m.Output] = (root, checked((int)offset));
                    offset += Numel(m.Output.Shape);
                }
                _rootFloats[root] = members.Sum(m => Numel(m.Output.Shape));
                _inPlaceMembers[head] = free.Count;
                var order = free.Concat(members.Where(m => !free.Contains(m))).ToList();
                members.Clear();
                members.AddRange(order);
            }
        }

        /// <summary>
        /// Groups of two or more 1×1 stride-1 convolutions at batch 1 reading the same computed input with the same
        /// activation and no residual (an Inception block's branch 1 and the reduces of branches 2 and 3), keyed by
        /// their first node, members in graph order.
        /// </summary>
        private static Dictionary<Node, List<Node>> SiblingGroups(IReadOnlyList<Node> nodes)
        {
            var groups = new Dictionary<Node, List<Node>>(ReferenceEqualityComparer.Instance);
            if (!MergeSharedInputPointwise) return groups;
            var byInput = new Dictionary<(Value, float, float), List<Node>>();
            foreach (var n in nodes)
            {
                if (!IsMergeablePointwise(n)) continue;
                var f = (FusedConv2dOp)n.Op;
                var key = (n.Inputs[0]!, f.ClampMin, f.ClampMax);
                (byInput.TryGetValue(key, out var l) ? l : byInput[key] = new()).Add(n);
            }
            foreach (var members in byInput.Values)
                if (members.Count > 1) groups[members[0]] = members;
            return groups;
        }

        /// <summary>A fused 1×1 stride-1 unpadded ungrouped convolution at batch 1, constant weight and bias, no residual.</summary>
        private static bool IsMergeablePointwise(Node n) =>
            n.Op is FusedConv2dOp { Groups: 1 } f && f.Stride == new Size2(1, 1) && f.Padding == new Size2(0, 0) && f.Dilation == new Size2(1, 1)
            && n.Inputs[0] is { HasData: false, Rank: 4 } x && x.Shape[0] == 1
            && n.Inputs[1] is { Data: { } w } && w.Size(2) == 1 && w.Size(3) == 1
            && (n.Inputs.Count < 3 || n.Inputs[2] == null || n.Inputs[2]!.Data != null)
            && (n.Inputs.Count < 4 || n.Inputs[3] == null);
    }

    /// <summary>
    /// 1×1 convolutions reading the same input at batch 1 as one product with their weights stacked (C_out the sum):
    /// GoogLeNet's Inception blocks read their input with three of them (branch 1 and the reduces before the 3×3s), the
    /// smallest with 16–48 output channels, too few rows to keep both threads busy on their own. One product reads the
    /// input once, in one fork. The buffer plan places the members that no concatenation placed one after another
    /// (<see cref="BufferPlan"/>.PlaceSiblingOutputs), so the product writes them in place; the rows of the one other
    /// (branch 1, in its block of the concatenation) the product stores in that block where its GEMM path can store
    /// rows in two places (<see cref="Conv2dKernels.TakesSplitPointwise"/>: AVX2), else copies them there. The copy,
    /// 100–400 KB per block on one thread, took 0.08–0.13 ms of GoogLeNet's 17.4 (Zen 3, AVX2).
    /// </summary>
    private sealed class SharedInputStep : Step
    {
        private readonly ConvStep[] _members;
        private readonly int[] _rowOffset;
        private readonly Conv2dGeometry _g;
        private readonly Tensor _w;
        private readonly Tensor _b;
        private readonly FusedConv2dOp _op;
        private readonly Segment _output;
        private readonly int _inPlace;

        /// <summary>
        /// The product of <paramref name="members"/> (in this order) into <paramref name="output"/>; the first
        /// <paramref name="inPlace"/> members' places are its first rows already, the others' rows are copied out.
        /// </summary>
        public SharedInputStep(ConvStep[] members, Segment output, int inPlace)
        {
            _members = members;
            _output = output;
            _inPlace = inPlace;
            _op = members[0].Op;
            var g0 = members[0].Geometry;
            int cin = g0.InChannels, cout = members.Sum(m => m.Geometry.OutChannels);
            _g = new Conv2dGeometry(1, cin, g0.InHeight, g0.InWidth, cout, 1, 1, 1, 1, 0, 0, 1, 1, 1);
            _w = Tensor.Zeros([cout, cin, 1, 1]);
            _b = Tensor.Zeros(cout);
            _rowOffset = new int[members.Length];
            int row = 0;
            for (int i = 0; i < members.Length; i++)
            {
                var m = members[i];
                _rowOffset[i] = row;
                int c = m.Geometry.OutChannels;
                m.Weight.ReadOnlySpan.CopyTo(_w.Span.Slice(row * cin, c * cin));
                if (m.Bias != null) m.Bias.ReadOnlySpan.CopyTo(_b.Span.Slice(row, c));
                row += c;
            }
        }

        /// <summary>Whether the members run as one product: each is a 1×1 product on the same input with the same activation.</summary>
        public static bool Takes(ConvStep[] members) =>
            members.Length > 1 && members.All(m => m.Algorithm == Conv2dAlgorithm.Pointwise && m.Residual == null && m.Geometry.Batch == 1 && m.Geometry.Groups == 1
                && m.Op.ClampMin.Equals(members[0].Op.ClampMin) && m.Op.ClampMax.Equals(members[0].Op.ClampMax)
                && m.X.Segment == members[0].X.Segment && m.X.Data == null
                && m.Geometry.InChannels == members[0].Geometry.InChannels && m.Geometry.InHeight == members[0].Geometry.InHeight
                && m.Geometry.InWidth == members[0].Geometry.InWidth);

        /// <summary>Whether the first <paramref name="count"/> members' places run on one after another from the first's, with room for all rows after it.</summary>
        public static bool LaidOut(ConvStep[] members, int count)
        {
            var first = members[0].Y;
            long offset = first.Offset, total = members.Sum(m => (long)m.Y.Length);
            for (int i = 0; i < count; i++)
            {
                if (!ReferenceEquals(members[i].Y.Array, first.Array) || members[i].Y.Offset != offset) return false;
                offset += members[i].Y.Length;
            }
            return first.Offset + total <= first.Array.Length;
        }

        /// <summary>"192→96+16+64 1×1 @28×28, 1 copied" (for profiles).</summary>
        public string Shape => $"{_g.InChannels}→{string.Join("+", _members.Select(m => m.Geometry.OutChannels))} 1×1 @{_g.InHeight}×{_g.InWidth}, {_members.Length - _inPlace} copied";

        public override unsafe void Prepare()
        {
            fixed (float* w = _w.ReadOnlySpan) Conv2dKernels.KeepGemmForwardWeights(_g, w, new WeightKey(_w, _w.Version));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            var y = _output.Span;
            if (SharedInputSplitRows && _inPlace > 0 && _inPlace == _members.Length - 1 && Conv2dKernels.TakesSplitPointwise(_g))
            {
                // The product's rows: the in-place members' in their places, the last member's in its own.
                Conv2dKernels.PointwiseForwardSplit(_g, _members[0].X.Span, _w.ReadOnlySpan, _b.ReadOnlySpan, EpilogueOf(_op, null),
                    y, _members[^1].Y.Span, _rowOffset[^1], new WeightKey(_w, _w.Version));
                return;
            }
            Conv2dKernels.Forward(_g, Conv2dAlgorithm.Pointwise, Conv2dDirect.BestWidth, _members[0].X.Span, _w.ReadOnlySpan, _b.ReadOnlySpan, y,
                EpilogueOf(_op, null), new WeightKey(_w, _w.Version));
            int plane = _g.OutHeight * _g.OutWidth;
            for (int i = _inPlace; i < _members.Length; i++)
            {
                var dst = _members[i].Y.Span;
                y.Slice(_rowOffset[i] * plane, dst.Length).CopyTo(dst);
            }
        }
    }
}
