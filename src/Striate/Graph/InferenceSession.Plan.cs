namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>A window of one planned buffer: where one value lives during a run.</summary>
    internal readonly record struct Segment(float[] Array, int Offset, int Length)
    {
        public Span<float> Span => Array.AsSpan(Offset, Length);
        public ReadOnlySpan<float> ReadOnly => new(Array, Offset, Length);
    }

    /// <summary>
    /// Places every value of the graph and turns its nodes into <see cref="Step"/>s. Each value has a root (itself, or
    /// for a view — flatten, reshape, identity — the value it views; for an in-place op, the input it overwrites);
    /// each root gets a slot when its producer runs and gives it back after its last reader, and a slot is reused by
    /// the next root that fits it (best fit; a slot grows to the largest root it ever holds). The input and the output
    /// keep their own slots.
    /// </summary>
    private sealed class BufferPlan
    {
        private readonly ForwardGraph _graph;
        private readonly Dictionary<Value, Value> _root = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Value, int> _slotOf = new(ReferenceEqualityComparer.Instance);
        private readonly List<long> _capacity = new();
        private readonly List<int> _free = new();
        private readonly Dictionary<Value, int> _lastUse = new(ReferenceEqualityComparer.Instance);
        private float[][] _buffers = [];

        public Step[] Steps { get; }
        public Segment Input { get; }
        public Segment Output { get; }
        public long Floats { get; }

        public BufferPlan(ForwardGraph graph)
        {
            _graph = graph;
            var nodes = graph.Nodes;
            var input = graph.Inputs[0];
            var output = graph.Outputs[0];
            if (output.HasData || output.Kind == ValueKind.Input)
                throw new ArgumentException("InferenceSession: the graph's output must be computed by a node.", nameof(graph));

            // Roots: views share their input's root; in-place ops share it when the input is not read again.
            _root[input] = input;
            var lastReader = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < nodes.Count; i++)
                foreach (var v in nodes[i].Inputs)
                    if (v != null) lastReader[v] = i;
            for (int i = 0; i < nodes.Count; i++)
            {
                var n = nodes[i];
                Value root = n.Output;
                if (IsView(n) && n.Inputs[0] is { HasData: false } viewed) root = _root[viewed];
                else if (InPlaceCandidate(n, lastReader, i, output) is { } overwritten) root = _root[overwritten];
                _root[n.Output] = root;
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
                if (ReferenceEquals(_root[n.Output], n.Output)) Allocate(n.Output);
                if (rootsBy.TryGetValue(i, out var dying))
                    foreach (var r in dying)
                        if (!ReferenceEquals(r, outputRoot) && _slotOf.TryGetValue(r, out int slot)) _free.Add(slot);
            }
            _buffers = _capacity.Select(c => GC.AllocateUninitializedArray<float>(checked((int)Math.Max(c, 1)), pinned: true)).ToArray();
            // Written once now so the first run does not take a page fault on every fresh page of every buffer
            // (uninitialized arrays from the OS are untouched until written).
            foreach (var buffer in _buffers) Array.Clear(buffer);
            Floats = _capacity.Sum();
            Input = SegmentOf(input);
            Output = SegmentOf(output);
            Steps = nodes.Where(n => !IsView(n)).Select(StepFor).ToArray();
        }

        private static bool IsView(Node n) => n.Op is FlattenOp or ReshapeOp or IdentityOp && n.Inputs[0] is { HasData: false };

        /// <summary>The input that <paramref name="n"/> may overwrite with its output (same size, read by no later node), or null.</summary>
        private Value? InPlaceCandidate(Node n, Dictionary<Value, int> lastReader, int index, Value graphOutput)
        {
            if (n.Op is not (ReluOp or HardtanhOp or ChannelAffineOp or AddOp or LeakyReluOp)) return null;
            int candidates = n.Op is AddOp ? 2 : 1;
            for (int k = 0; k < candidates; k++)
            {
                if (n.Inputs[k] is not { HasData: false } x || !x.Shape.SequenceEqual(n.Output.Shape)) continue;
                if (n.Op is AddOp && n.Inputs[1 - k] is { } other && ReferenceEquals(_root[other], _root[x])) continue;
                var root = _root[x];
                // Every value sharing the root must be dead after this node, and the root must not be the graph's output.
                bool dead = _root.Where(p => ReferenceEquals(p.Value, root)).All(p => lastReader.GetValueOrDefault(p.Key, -1) <= index
                    && !ReferenceEquals(p.Key, graphOutput));
                if (dead) return x;
            }
            return null;
        }

        private void Allocate(Value root)
        {
            long need = Numel(root.Shape);
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

        private Segment SegmentOf(Value v) => new(_buffers[_slotOf[_root[v]]], 0, checked((int)Numel(v.Shape)));

        /// <summary>An operand of a step: a planned segment for computed values, the tensor itself for parameters and constants.</summary>
        private Operand OperandOf(Value v) => v.Data is { } data ? new Operand(v.ShapeArray, data, default) : new Operand(v.ShapeArray, null, SegmentOf(v));

        private Step StepFor(Node n)
        {
            var ins = n.Inputs.Select(v => v == null ? null : OperandOf(v)).ToArray();
            var y = SegmentOf(n.Output);
            var step = Step.For(n, ins, y);
            step.Node = $"{n.Output.Reference} = {n.Op}  # {n.ModulePath} ({(step is ConvStep conv ? $"{conv.Algorithm} {conv.Shape}" : step.GetType().Name)})";
            return step;
        }
    }
}
