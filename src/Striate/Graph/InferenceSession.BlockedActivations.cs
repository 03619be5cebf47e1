using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>
    /// Largest batch at which a channel-blocked direct 3×3 step hands its output to the direct step that alone reads it
    /// still blocked (<see cref="BufferPlan.KeepBlockedBetweenDirectSteps"/>; 0: never): the first skips unblocking its
    /// output, the second packing its input. ResNet-18's conv1 → conv2 of each basic block. STRIATE_BENCH_BLOCKED_ACTIVATIONS=N.
    /// 1 by default: ResNet-18 b1 on the 2-vCPU Zen 3 (AVX2; bench/RESULTS.md 2026-12-07 08:06–08:13, steps_b1 --procs 3,
    /// five runs of 40–100 rounds, both orientations) ran the @56 and @28 conv2s 0.02–0.07 ms faster each (their pack
    /// gone; 12 of those 20 step intervals leave out 0 on the blocked side, 1 on the other), the conv1s even (their
    /// in-place epilogue costs what the in-task unblocking did); whole runs (sum of steps, blocked ÷ plain) 0.988 (CI
    /// leaving out 1), 0.995, 0.997, 1.000 and 1.002.
    /// Not at larger batches, unmeasured there: the whole blocked output is then written by the tasks, not each task's
    /// output in its thread's scratch (<see cref="Conv2dDirect"/>'s TaskOutput, which kept batch-32 outputs out of memory).
    /// </summary>
    internal static int BlockedActivationsMaxBatch = 1;

    /// <summary>Steps that hand their output on channel-blocked (<see cref="BlockedActivationsMaxBatch"/>; for tests of the plan).</summary>
    internal int BlockedHandOffs => _steps.Count(s => s is ConvStep { WritesBlocked: true });

    /// <summary>Floats of <see cref="BufferFloats"/> held by the blocked hand-off buffers (one per blocked shape).</summary>
    internal long BlockedHandOffFloats { get; private init; }

    private sealed partial class BufferPlan
    {
        /// <summary>One zeroed blocked buffer per blocked shape (batch, channels, height, width, border): see <see cref="KeepBlockedBetweenDirectSteps"/>.</summary>
        private readonly Dictionary<(int N, int C, int H, int W, int Pad), float[]> _blocked = new();

        /// <summary>Floats held by the blocked hand-off buffers (beside the planned buffers; the first step's planned NCHW output stays too, unused).</summary>
        public long BlockedFloats => _blocked.Values.Sum(b => (long)b.Length) + _blockedThroughFloats;

        /// <summary>
        /// Pairs of consecutive convolution steps a → b where a's output is b's input and nothing else's (not the graph's
        /// output), both on the channel-blocked direct path with a batch-blocked schedule (<see cref="Conv2dDirect.TakesBlocked"/>),
        /// a without residual, both with ReLU or no activation: a writes its output blocked with b's padding as border
        /// (bias and ReLU applied in place by its tasks) and b reads it as its blocked input, so the unblocking store of a
        /// and the pack of b disappear (bench/RESULTS.md 2026-12-07 04:21–05:08: 0.9–2.4 ms over ResNet-18's 16 direct
        /// 3×3s at batch 1). b still writes NCHW (with its residual) for the readers after it.
        /// The blocked value lives in a buffer of its own, one per blocked shape: it is only ever written inside its border
        /// and missing channels come out zero (zero weights and bias), so the zeros the array starts with are the border for
        /// every run, and pairs of the same shape share it (a pair's steps are consecutive: no other pair runs between them).
        /// a's planned NCHW output place stays, unused.
        /// </summary>
        private void KeepBlockedBetweenDirectSteps(List<Step> steps, Dictionary<Node, Step?> built, Value graphOutput)
        {
            var width = Conv2dDirect.BestWidth;
            foreach (var (a, b) in DirectPairs(steps, built, graphOutput))
            {
                Conv2dGeometry ga = a.Geometry, gb = b.Geometry;
                var key = (ga.Batch, ga.OutChannels, ga.OutHeight, ga.OutWidth, gb.PadH);
                if (!_blocked.TryGetValue(key, out var buffer))
                {
                    var shape = new BlockedShape(ga.Batch, ga.OutChannels, ga.OutHeight, ga.OutWidth, Conv2dDirect.VectorLength(width), gb.PadH, gb.PadW);
                    _blocked[key] = buffer = GC.AllocateArray<float>(checked((int)shape.Length + CacheLine.SlackFloats), pinned: true);
                }
                a.BlockOutput(buffer, gb.PadH);
                b.BlockInput(buffer);
            }
        }

        /// <summary>The pairs <see cref="KeepBlockedBetweenDirectSteps"/> hands on blocked (none at batches above <see cref="BlockedActivationsMaxBatch"/>).</summary>
        private List<(ConvStep A, ConvStep B)> DirectPairs(List<Step> steps, Dictionary<Node, Step?> built, Value graphOutput)
        {
            var width = Conv2dDirect.BestWidth;
            var nodeOf = new Dictionary<Step, Node>(ReferenceEqualityComparer.Instance);
            foreach (var (node, step) in built)
                if (step != null) nodeOf[step] = node;
            var pairs = new List<(ConvStep, ConvStep)>();
            for (int i = 0; i + 1 < steps.Count; i++)
            {
                if (steps[i] is not ConvStep a || steps[i + 1] is not ConvStep b || !nodeOf.TryGetValue(a, out var na) || !nodeOf.TryGetValue(b, out var nb)) continue;
                Conv2dGeometry ga = a.Geometry, gb = b.Geometry;
                if (ga.Batch > BlockedActivationsMaxBatch || a.Residual != null || !HandsOnBlocked(a, width) || !HandsOnBlocked(b, width) || gb.PadH != gb.PadW
                    || !FeedsOnly(na, nb, graphOutput) || nb.Inputs.Skip(1).Any(v => ReferenceEquals(v, na.Output)))
                    continue;
                pairs.Add((a, b));
                i++; // b writes NCHW: it starts no pair
            }
            return pairs;
        }

        /// <summary>The step runs the channel-blocked direct kernel with a whole blocked batch and a ReLU or no activation.</summary>
        private static bool HandsOnBlocked(ConvStep c, GemmPath width) =>
            c.Algorithm == Conv2dAlgorithm.Direct && !(c.Op.HasActivation && !c.Op.Relu) && Conv2dDirect.TakesBlocked(width, c.Geometry);
    }
}
