namespace Striate.Graph;

/// <summary>
/// Graph rewrites for an eval-mode forward, as ONNX Runtime applies them at load: batch norm folded into the
/// convolution before it, the rest of batch norm reduced to one multiply-add per channel, and the element-wise ops
/// after a convolution (residual add, ReLU, ReLU6) fused into its output store. Every rewrite keeps the graph
/// runnable by <see cref="GraphModule"/> (the fused ops run as their unfused parts there), so a rewritten graph can be
/// checked against the original op by op.
/// </summary>
/// <remarks>
/// Folding reads the weights and running statistics as they are when the pass runs and stores the result as
/// constants: the rewritten graph no longer follows later changes to the model's parameters.
/// Only batch norms traced in eval mode (running statistics) are folded.
/// </remarks>
public static class InferencePasses
{
    /// <summary>Runs every pass, in order; returns the graph.</summary>
    public static ForwardGraph Optimize(ForwardGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        FoldBatchNorm(graph);
        BatchNormToChannelAffine(graph);
        PoolBeforePointwise(graph);
        FuseActivations(graph);
        graph.Prune();
        graph.Validate();
        return graph;
    }

    /// <summary>
    /// Conv2d → BatchNorm (eval) becomes one Conv2d with w'[o] = w[o]·s[o] and b'[o] = (b[o] − mean[o])·s[o] + β[o],
    /// s = γ/√(var + eps) (computed in double), when the convolution's output feeds only the batch norm.
    /// Returns the number of batch norms folded.
    /// </summary>
    public static int FoldBatchNorm(ForwardGraph graph)
    {
        int folded = 0;
        foreach (var bn in graph.Nodes.ToList())
        {
            if (bn.Op is not BatchNormOp { Training: false } op) continue;
            if (bn.Inputs[0]?.Producer is not { Op: Conv2dOp conv } convNode || !OnlyFeeds(graph, convNode.Output, bn)) continue;
            var w = convNode.Inputs[1];
            var b = convNode.Inputs.Count > 2 ? convNode.Inputs[2] : null;
            if (w?.Data == null || (b != null && b.Data == null) || !StatisticsKnown(bn)) continue;
            var (scale, shift) = AffineOf(bn, op.Eps);
            int cout = w.Shape[0], perOut = w.Data.Numel / cout;
            var wf = Tensor.Zeros(w.ShapeArray);
            var bf = Tensor.Zeros(cout);
            var ws = w.Data.ReadOnlySpan;
            var bias = b != null ? b.Data!.ReadOnlySpan : default;
            var wd = wf.Span;
            var bd = bf.Span;
            for (int o = 0; o < cout; o++)
            {
                for (int i = 0; i < perOut; i++) wd[o * perOut + i] = (float)(ws[o * perOut + i] * scale[o]);
                bd[o] = (float)((bias.IsEmpty ? 0.0 : bias[o]) * scale[o] + shift[o]);
            }
            var wv = graph.AddConstant(wf, $"{w.Name}+{bn.ModulePath}");
            var bv = graph.AddConstant(bf, $"{b?.Name ?? convNode.ModulePath + ".bias"}+{bn.ModulePath}");
            graph.SetInputs(convNode, [convNode.Inputs[0], wv, bv]);
            graph.ReplaceUses(bn.Output, convNode.Output);
            graph.Remove(bn);
            folded++;
        }
        return folded;
    }

    /// <summary>
    /// Every remaining eval-mode batch norm on a batched input of rank 3 or more becomes
    /// <see cref="ChannelAffineOp"/> (x·scale + shift per channel). Returns the number rewritten.
    /// </summary>
    public static int BatchNormToChannelAffine(ForwardGraph graph)
    {
        int rewritten = 0;
        foreach (var bn in graph.Nodes.ToList())
        {
            if (bn.Op is not BatchNormOp { Training: false } op || bn.Inputs[0] is not { Rank: >= 3 } x || !StatisticsKnown(bn)) continue;
            var (scale, shift) = AffineOf(bn, op.Eps);
            int c = x.Shape[1];
            var shape = new int[x.Rank - 1];
            Array.Fill(shape, 1);
            shape[0] = c;
            var s = Tensor.Zeros(shape);
            var t = Tensor.Zeros(shape);
            for (int i = 0; i < c; i++)
            {
                s.Span[i] = (float)scale[i];
                t.Span[i] = (float)shift[i];
            }
            var sv = graph.AddConstant(s, $"{bn.ModulePath}.scale");
            var tv = graph.AddConstant(t, $"{bn.ModulePath}.shift");
            var affine = graph.InsertBefore(bn, new ChannelAffineOp(false), [x, sv, tv], bn.Output.ShapeArray);
            graph.ReplaceUses(bn.Output, affine.Output);
            graph.Remove(bn);
            rewritten++;
        }
        return rewritten;
    }

    /// <summary>Whether <see cref="Optimize"/> runs <see cref="PoolBeforePointwise"/>; for benchmarks and tests.</summary>
    internal static bool PoolsBeforePointwise = true;

    /// <summary>
    /// 1×1 convolution (stride 1, no padding, no activation) → average pool with no padding becomes average pool → the
    /// same convolution, when the pool alone reads the convolution and has fewer output pixels than input pixels. Both
    /// are linear per pixel and the pool's weights in each window sum to 1 (no padding, no divisor override), so
    /// pool(W·x + b) = W·pool(x) + b: the convolution then runs on the pooled map. DenseNet's transitions (norm → ReLU →
    /// 1×1 → 2×2/2 average) do a quarter of their multiply-adds this way, ~2.9 → ~0.75 ms of a DenseNet-121 batch-1 run.
    /// The values differ from the original order by rounding only. Returns the number of pairs swapped.
    /// </summary>
    public static int PoolBeforePointwise(ForwardGraph graph)
    {
        if (!PoolsBeforePointwise) return 0;
        int swapped = 0;
        foreach (var pool in graph.Nodes.ToList())
        {
            if (pool.Op is not AvgPool2dOp { Padding: { H: 0, W: 0 }, DivisorOverride: 0 } || pool.Inputs[0]?.Producer is not { Op: Conv2dOp conv } convNode
                || !OnlyFeeds(graph, convNode.Output, pool) || conv.Stride != new Size2(1, 1) || conv.Padding != new Size2(0, 0)
                || convNode.Inputs[1] is not { Rank: 4 } w || w.Shape[2] != 1 || w.Shape[3] != 1 || convNode.Inputs[0] is not { Rank: 4 } x
                || pool.Output.Rank != 4 || 2L * pool.Output.Shape[2] * pool.Output.Shape[3] > (long)x.Shape[2] * x.Shape[3])
                continue;
            int[] pooledShape = [x.Shape[0], x.Shape[1], pool.Output.Shape[2], pool.Output.Shape[3]];
            var pooled = graph.InsertBefore(convNode, pool.Op, [x], pooledShape, pool.ModulePath, pool.ModuleType);
            var moved = graph.InsertBefore(pool, conv, [pooled.Output, .. convNode.Inputs.Skip(1)], pool.Output.ShapeArray, convNode.ModulePath, convNode.ModuleType);
            graph.ReplaceUses(pool.Output, moved.Output);
            graph.Remove(pool);
            graph.Remove(convNode);
            swapped++;
        }
        return swapped;
    }

    /// <summary>
    /// Conv2d [→ Add] [→ Relu | Hardtanh] becomes one <see cref="FusedConv2dOp"/>, and ChannelAffine → Relu one
    /// ChannelAffine with ReLU, wherever each intermediate result feeds only the next op. The added tensor must have
    /// the convolution's output shape (no broadcasting). Returns the number of ops fused away.
    /// </summary>
    public static int FuseActivations(ForwardGraph graph)
    {
        int fused = 0;
        foreach (var node in graph.Nodes.ToList())
        {
            if (node.Op is ChannelAffineOp { Relu: false } && SoleUser(graph, node.Output) is { Op: ReluOp } relu)
            {
                Replace(graph, [node, relu], new ChannelAffineOp(true), node.Inputs);
                fused++;
                continue;
            }
            if (node.Op is not Conv2dOp conv) continue;
            var op = new FusedConv2dOp(conv);
            var chain = new List<Node> { node };
            Value? residual = null;
            if (SoleUser(graph, node.Output) is { Op: AddOp } add && add.Inputs[0] is { } a && add.Inputs[1] is { } b
                && a.Shape.SequenceEqual(b.Shape) && !ReferenceEquals(a, b))
            {
                residual = ReferenceEquals(a, node.Output) ? b : a;
                chain.Add(add);
            }
            switch (SoleUser(graph, chain[^1].Output))
            {
                case { Op: ReluOp } r:
                    op = op with { ClampMin = 0f, ClampMax = float.PositiveInfinity };
                    chain.Add(r);
                    break;
                case { Op: HardtanhOp h } r:
                    op = op with { ClampMin = h.MinVal, ClampMax = h.MaxVal };
                    chain.Add(r);
                    break;
            }
            var ins = node.Inputs;
            Replace(graph, chain, op, [ins[0], ins[1], ins.Count > 2 ? ins[2] : null, residual]);
            fused += chain.Count - 1;
        }
        return fused;
    }

    /// <summary>
    /// Replaces <paramref name="chain"/> (each node the sole reader of the one before) by one node computing
    /// <paramref name="op"/> on <paramref name="inputs"/>, placed where the chain's last node was (where every input,
    /// such as a residual computed after the convolution, is defined), under the first node's module path.
    /// </summary>
    private static void Replace(ForwardGraph graph, List<Node> chain, Op op, IReadOnlyList<Value?> inputs)
    {
        var last = chain[^1];
        var fused = graph.InsertBefore(last, op, inputs, last.Output.ShapeArray, chain[0].ModulePath, chain[0].ModuleType);
        graph.ReplaceUses(last.Output, fused.Output);
        for (int i = chain.Count - 1; i >= 0; i--) graph.Remove(chain[i]);
    }

    /// <summary>The one node reading <paramref name="value"/> (once), or null when it has other readers or is a graph output.</summary>
    private static Node? SoleUser(ForwardGraph graph, Value value)
    {
        if (graph.Outputs.Contains(value)) return null;
        var uses = graph.Uses(value);
        return uses.Count == 1 ? uses[0].Node : null;
    }

    private static bool OnlyFeeds(ForwardGraph graph, Value value, Node reader) => ReferenceEquals(SoleUser(graph, value), reader);

    private static bool StatisticsKnown(Node bn) =>
        bn.Inputs[1]?.Data != null && bn.Inputs[2]?.Data != null &&
        (bn.Inputs.Count <= 3 || bn.Inputs[3] == null || bn.Inputs[3]!.Data != null) &&
        (bn.Inputs.Count <= 4 || bn.Inputs[4] == null || bn.Inputs[4]!.Data != null);

    /// <summary>Per channel: scale = γ/√(var + eps), shift = β − mean·scale (γ = 1, β = 0 when absent).</summary>
    private static (double[] Scale, double[] Shift) AffineOf(Node bn, float eps)
    {
        var mean = bn.Inputs[1]!.Data!.ReadOnlySpan;
        var variance = bn.Inputs[2]!.Data!.ReadOnlySpan;
        var gamma = bn.Inputs.Count > 3 && bn.Inputs[3] != null ? bn.Inputs[3]!.Data!.ReadOnlySpan : default;
        var beta = bn.Inputs.Count > 4 && bn.Inputs[4] != null ? bn.Inputs[4]!.Data!.ReadOnlySpan : default;
        var scale = new double[mean.Length];
        var shift = new double[mean.Length];
        Kernels.BatchNorm.FoldEval(mean, variance, gamma, beta, eps, scale, shift);
        return (scale, shift);
    }
}
