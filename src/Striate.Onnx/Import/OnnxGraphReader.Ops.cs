using Striate.Graph;
using Striate.Onnx.Proto;

namespace Striate.Onnx;

internal sealed partial class OnnxGraphReader
{
    /// <summary>The operators the importer reads (for the message of an unknown one).</summary>
    public static readonly string[] Operators =
    [
        "Conv", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "MaxPool", "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Add", "Mul", "Concat", "Flatten", "Reshape", "Dropout",
        "LRN", "Softmax", "LogSoftmax", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Slice", "Cast",
    ];

    private void Import(NodeProto node)
    {
        switch (node.OpType)
        {
            case "Conv": Conv(node); break;
            case "BatchNormalization": BatchNormalization(node); break;
            case "Relu": Unary(node, new ReluOp()); break;
            case "Sigmoid": Unary(node, new SigmoidOp()); break;
            case "Tanh": Unary(node, new TanhOp()); break;
            case "LeakyRelu": Unary(node, new LeakyReluOp(new OnnxAttributes(node, _where, "alpha").Float("alpha", 0.01f)), checkAttributes: false); break;
            case "Clip": Clip(node); break;
            case "MaxPool": Pool(node, max: true); break;
            case "AveragePool": Pool(node, max: false); break;
            case "GlobalAveragePool": Global(node, new AdaptiveAvgPool2dOp(1)); break;
            case "GlobalMaxPool": Global(node, new AdaptiveMaxPool2dOp(1)); break;
            case "Gemm": Gemm(node); break;
            case "MatMul": MatMul(node); break;
            case "Add" or "Mul" or "Sub" or "Div": Arithmetic(node); break;
            case "Concat": Concat(node); break;
            case "Flatten": Flatten(node); break;
            case "Reshape": Reshape(node); break;
            case "Dropout": Dropout(node); break;
            case "LRN": Lrn(node); break;
            case "Softmax" or "LogSoftmax": Softmax(node); break;
            case "Identity": new OnnxAttributes(node, _where); SetOutput(node, In(node, 0)); break;
            case "Constant": Constant(node); break;
            case "Shape": Shape(node); break;
            case "Gather": Gather(node); break;
            case "Unsqueeze" or "Squeeze": Squeeze(node); break;
            case "Slice": Slice(node); break;
            case "Cast": Cast(node); break;
            default:
                throw _where.Unsupported($"the operator {node.OpType} is not supported; Striate imports {string.Join(", ", Operators)}.");
        }
    }

    private Item Computed(NodeProto node, int index, string what)
    {
        var item = In(node, index);
        if (!item.IsComputed) throw _where.Unsupported($"input {index} ('{node.Input[index]}') is a constant; Striate imports {node.OpType} on {what} computed from the input.");
        return item;
    }

    private void Unary(NodeProto node, Op op, bool checkAttributes = true)
    {
        if (checkAttributes) new OnnxAttributes(node, _where);
        var x = Computed(node, 0, "a tensor");
        SetOutput(node, Emit(node, op, [x.Graph], x.Batched));
    }

    private void Global(NodeProto node, Op op)
    {
        new OnnxAttributes(node, _where);
        var x = Computed(node, 0, "a tensor");
        if (x.Rank != 4) throw _where.Unsupported($"the input has rank {x.Rank}; Striate imports 2-D pooling (input [N, C, H, W]).");
        SetOutput(node, Emit(node, op, [x.Graph], x.Batched));
    }

    /// <summary>
    /// Explicit or automatic (SAME_UPPER, SAME_LOWER, VALID) padding as one symmetric (H, W) pair; padding that differs
    /// before and after is refused.
    /// </summary>
    private Size2 Padding(OnnxAttributes a, int[] inputShape, Size2 kernel, Size2 stride, Size2 dilation)
    {
        string autoPad = a.String("auto_pad", "NOTSET");
        long[] pads;
        switch (autoPad)
        {
            case "NOTSET":
                pads = a.Ints("pads") ?? [0, 0, 0, 0];
                break;
            case "VALID":
                pads = [0, 0, 0, 0];
                break;
            case "SAME_UPPER" or "SAME_LOWER":
                pads = new long[4];
                int[] k = [kernel.H, kernel.W], s = [stride.H, stride.W], d = [dilation.H, dilation.W];
                for (int i = 0; i < 2; i++)
                {
                    long size = inputShape[2 + i], output = (size + s[i] - 1) / s[i];
                    long total = Math.Max(0, (output - 1) * s[i] + (long)(k[i] - 1) * d[i] + 1 - size);
                    long small = total / 2, large = total - small;
                    (pads[i], pads[2 + i]) = autoPad == "SAME_UPPER" ? (small, large) : (large, small);
                }
                break;
            default:
                throw _where.Unsupported($"auto_pad '{autoPad}' is not supported (NOTSET, VALID, SAME_UPPER, SAME_LOWER).");
        }
        if (pads.Length != 4 || pads.Any(p => p < 0 || p > int.MaxValue))
            throw _where.Unsupported($"pads = [{string.Join(", ", pads)}]: Striate imports 2-D operators with four non-negative pads.");
        if (pads[0] != pads[2] || pads[1] != pads[3])
            throw _where.Unsupported($"the padding differs before and after (pads = [{string.Join(", ", pads)}]{(autoPad != "NOTSET" ? $" from auto_pad {autoPad}" : "")}); Striate pads both sides equally.");
        return new Size2((int)pads[0], (int)pads[1]);
    }

    private void Conv(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides");
        var x = Computed(node, 0, "images");
        var w = In(node, 1);
        if (x.Rank != 4) throw _where.Unsupported($"the input has rank {x.Rank}; Striate imports 2-D convolutions (input [N, C, H, W]).");
        if (w.Rank != 4) throw _where.Malformed($"the weight '{node.Input[1]}' has shape {Tensor.FormatShape(w.Shape)}; a 2-D convolution's weight is [Cout, Cin/groups, kH, kW].");
        var kernel = new Size2(w.Shape[2], w.Shape[3]);
        if (a.Has("kernel_shape") && a.Pair("kernel_shape", kernel) != kernel)
            throw _where.Malformed($"kernel_shape {a.Pair("kernel_shape", kernel)} does not match the weight's {Tensor.FormatShape(w.Shape)}.");
        var stride = a.Pair("strides", 1);
        var dilation = a.Pair("dilations", 1);
        var padding = Padding(a, x.Shape, kernel, stride, dilation);
        int groups = a.Int32("group", 1);
        var b = Optional(node, 2);
        SetOutput(node, Emit(node, new Conv2dOp(stride, padding, dilation, groups), [x.Graph, AsValue(w), b == null ? null : AsValue(b)], x.Batched));
    }

    private void BatchNormalization(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "epsilon", "momentum", "training_mode", "spatial", "is_test");
        if (a.Int("training_mode", 0) != 0) throw _where.Unsupported("training_mode = 1 is not supported; export the model in evaluation mode.");
        if (a.Int("spatial", 1) != 1) throw _where.Unsupported("spatial = 0 is not supported.");
        OnlyFirstOutput(node);
        var x = Computed(node, 0, "a tensor");
        var (scale, bias, mean, variance) = (In(node, 1), In(node, 2), In(node, 3), In(node, 4));
        // ONNX's momentum weighs the old running value (running·m + batch·(1 − m)); PyTorch's (and Striate's) the batch.
        var op = new BatchNormOp(a.Float("epsilon", 1e-5f), 1 - a.Float("momentum", 0.9f), Training: false);
        SetOutput(node, Emit(node, op, [x.Graph, AsValue(mean, buffer: true), AsValue(variance, buffer: true), AsValue(scale), AsValue(bias)], x.Batched));
    }

    private void Clip(NodeProto node)
    {
        float min = float.NegativeInfinity, max = float.PositiveInfinity;
        if (_opset < 11)
        {
            var a = new OnnxAttributes(node, _where, "min", "max");
            (min, max) = (a.Float("min", min), a.Float("max", max));
        }
        else
        {
            new OnnxAttributes(node, _where);
            if (Optional(node, 1) is { } lo) min = Scalar(lo, "min");
            if (Optional(node, 2) is { } hi) max = Scalar(hi, "max");
        }
        var x = Computed(node, 0, "a tensor");
        Op op = min == 0 && float.IsPositiveInfinity(max) ? new ReluOp() : new HardtanhOp(min, max);
        SetOutput(node, Emit(node, op, [x.Graph], x.Batched));
    }

    /// <summary>A constant input holding one number.</summary>
    private float Scalar(Item item, string role)
    {
        if (item.IsComputed) throw _where.Unsupported($"{role} is computed by the model; Striate imports it as a constant.");
        int n = item.Floats?.Length ?? item.Ints!.Length;
        if (n != 1) throw _where.Malformed($"{role} must hold one number, got shape {Tensor.FormatShape(item.Dims)}.");
        return item.Floats?[0] ?? item.Ints![0];
    }

    private void Pool(NodeProto node, bool max)
    {
        var a = max
            ? new OnnxAttributes(node, _where, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides")
            : new OnnxAttributes(node, _where, "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides");
        OnlyFirstOutput(node);
        var x = Computed(node, 0, "images");
        if (x.Rank != 4) throw _where.Unsupported($"the input has rank {x.Rank}; Striate imports 2-D pooling (input [N, C, H, W]).");
        if (!a.Has("kernel_shape")) throw _where.Malformed("the attribute kernel_shape is missing.");
        var kernel = a.Pair("kernel_shape", 1);
        var stride = a.Pair("strides", 1);
        var dilation = a.Pair("dilations", 1);
        if (dilation != new Size2(1, 1)) throw _where.Unsupported($"dilations {dilation} are not supported for pooling (only 1).");
        var padding = Padding(a, x.Shape, kernel, stride, dilation);
        bool ceil = a.Int("ceil_mode", 0) != 0;
        Op op = max ? new MaxPool2dOp(kernel, stride, padding, ceil)
            : new AvgPool2dOp(kernel, stride, padding, ceil, a.Int("count_include_pad", 0) != 0, 0);
        SetOutput(node, Emit(node, op, [x.Graph], x.Batched));
    }

    private void Gemm(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "alpha", "beta", "transA", "transB", "broadcast");
        if (a.Int("transA", 0) != 0) throw _where.Unsupported("transA = 1 is not supported.");
        var x = Computed(node, 0, "a matrix");
        var b = In(node, 1);
        if (b.IsComputed) throw _where.Unsupported("input 1 (B) is computed by the model; Striate imports Gemm with constant weights.");
        if (x.Rank != 2 || b.Rank != 2) throw _where.Malformed($"Gemm multiplies matrices, got {Tensor.FormatShape(x.Shape)} and {Tensor.FormatShape(b.Shape)}.");
        bool transB = a.Int("transB", 0) != 0;
        float alpha = a.Float("alpha", 1f), beta = a.Float("beta", 1f);
        var weight = LinearWeight(b, transposed: !transB, alpha);
        int outFeatures = weight.Shape[0];
        Value? bias = null;
        if (Optional(node, 2) is { } c)
        {
            if (c.IsComputed) throw _where.Unsupported("input 2 (C) is computed by the model; Striate imports Gemm with a constant bias.");
            int n = c.Floats?.Length ?? c.Ints!.Length;
            if (n != outFeatures && n != 1)
                throw _where.Malformed($"the bias C of shape {Tensor.FormatShape(c.Dims)} does not broadcast to {outFeatures} outputs per row (Striate imports a bias of one value per output).");
            var values = c.Floats ?? c.Ints!.Select(v => (float)v).ToArray();
            if (n == outFeatures && c.Dims.Length == 1 && beta == 1f) bias = AsValue(c);
            else
            {
                var data = new float[outFeatures];
                for (int i = 0; i < outFeatures; i++) data[i] = beta * values[n == 1 ? 0 : i];
                bias = c.Initializer != null ? State(c.Initializer, data, [outFeatures], false) : _graph.AddConstant(Tensor.Wrap(data, outFeatures));
            }
        }
        SetOutput(node, Emit(node, new LinearOp(), [x.Graph, weight, bias], x.Batched));
    }

    /// <summary>
    /// The [out, in] weight of a Linear from a constant matrix: as it is, or transposed (MatMul's and Gemm's [in, out]),
    /// times <paramref name="scale"/>; an initializer stays a parameter under its name.
    /// </summary>
    private Value LinearWeight(Item b, bool transposed, float scale = 1f)
    {
        if (!transposed && scale == 1f) return AsValue(b);
        var src = b.Floats ?? b.Ints!.Select(v => (float)v).ToArray();
        int rows = b.Dims[0], cols = b.Dims[1];
        var data = new float[src.Length];
        int[] dims = transposed ? [cols, rows] : [rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                data[transposed ? c * rows + r : r * cols + c] = scale * src[r * cols + c];
        return b.Initializer != null ? State(b.Initializer, data, dims, false) : _graph.AddConstant(Tensor.Wrap(data, dims));
    }

    private void MatMul(NodeProto node)
    {
        new OnnxAttributes(node, _where);
        var (x, b) = (In(node, 0), In(node, 1));
        if (x.IsComputed && b.IsConstant && b.Rank == 2)
        {
            if (x.Rank < 1 || x.Shape[^1] != b.Dims[0])
                throw _where.Malformed($"MatMul of {Tensor.FormatShape(x.Shape)} and {Tensor.FormatShape(b.Dims)}: the inner sizes differ.");
            SetOutput(node, Emit(node, new LinearOp(), [x.Graph, LinearWeight(b, transposed: true), null], x.Batched));
            return;
        }
        if (x.IsConstant && b.IsComputed && AdaptiveAverage(node, x, b)) return;
        throw _where.Unsupported(x.IsComputed && b.IsComputed
            ? "MatMul of two computed tensors is not supported; Striate imports MatMul by a constant matrix (a linear layer)."
            : $"MatMul of {(x.IsComputed ? "a computed" : "a constant")} {Tensor.FormatShape(x.Shape)} and {(b.IsComputed ? "a computed" : "a constant")} {Tensor.FormatShape(b.Shape)} is not supported; Striate imports MatMul by a constant matrix on the right.");
    }

    /// <summary>
    /// P_H · (X · P_Wᵀ) with PyTorch's adaptive-average matrices (how Striate's exporter writes an adaptive average
    /// pool whose output does not divide its input) becomes AdaptiveAvgPool2d again.
    /// </summary>
    private bool AdaptiveAverage(NodeProto node, Item rows, Item y)
    {
        var producer = y.Graph!.Producer;
        if (rows.Rank != 2 || producer?.Op is not LinearOp || producer.Inputs[2] != null || producer.Inputs[1]?.Data is not { } columnsT || y.Rank != 4) return false;
        var x = producer.Inputs[0]!;
        if (x.Rank != 4) return false;
        int h = x.Shape[2], w = x.Shape[3], outH = rows.Dims[0], outW = columnsT.Size(0);
        if (rows.Dims[1] != h || columnsT.Size(1) != w || !IsAdaptiveMatrix(rows.Floats!, outH, h) || !IsAdaptiveMatrix(columnsT.ReadOnlySpan, outW, w)) return false;
        if (_graph.Uses(y.Graph).Count > 0 || !UsedOnce(node.Input[1])) return false;
        _graph.Remove(producer);
        SetOutput(node, Emit(node, new AdaptiveAvgPool2dOp((outH, outW)), [x], y.Batched));
        return true;
    }

    /// <summary>True when row i of <paramref name="m"/> ([outputs, inputs]) averages PyTorch's adaptive window i.</summary>
    private static bool IsAdaptiveMatrix(ReadOnlySpan<float> m, int outputs, int inputs)
    {
        if (m.Length != outputs * inputs) return false;
        for (int i = 0; i < outputs; i++)
        {
            int s = i * inputs / outputs, e = ((i + 1) * inputs + outputs - 1) / outputs;
            for (int j = 0; j < inputs; j++)
                if (Math.Abs(m[i * inputs + j] - (j >= s && j < e ? 1f / (e - s) : 0f)) > 1e-6f) return false;
        }
        return true;
    }

    private void Arithmetic(NodeProto node)
    {
        new OnnxAttributes(node, _where);
        var (a, b) = (In(node, 0), In(node, 1));
        if (a.IsConstant && b.IsConstant) { SetOutput(node, FoldArithmetic(node.OpType, a, b)); return; }
        if (node.OpType is "Sub" or "Div")
        {
            // x − c and x / c with a constant scalar: x · (−1) + … is not needed by CNN exporters except x / c.
            if (node.OpType == "Div" && a.IsComputed && b.IsConstant && (b.Floats?.Length ?? b.Ints!.Length) == 1)
            {
                SetOutput(node, Emit(node, new ScaleOp(1f / Scalar(b, "the divisor")), [a.Graph], a.Batched));
                return;
            }
            throw _where.Unsupported($"{node.OpType} of computed tensors is not supported; Striate imports it on constants (shape arithmetic) and Div by a constant scalar.");
        }
        var (x, c) = a.IsComputed ? (a, b) : (b, a);
        if (c.IsConstant && (c.Floats?.Length ?? c.Ints!.Length) == 1 && node.OpType == "Mul")
        {
            SetOutput(node, Emit(node, new ScaleOp(Scalar(c, "the factor")), [x.Graph], x.Batched));
            return;
        }
        // x·W (a MatMul that became a Linear without bias) + b → the Linear's bias, a parameter under b's name.
        if (node.OpType == "Add" && c.IsConstant && c.Rank == 1 && x.Graph!.Producer is { Op: LinearOp } linear && linear.Inputs[2] == null
            && linear.Inputs[1]!.Shape[0] == c.Dims[0] && UsedOnce(a.IsComputed ? node.Input[0] : node.Input[1]) && _graph.Uses(x.Graph).Count == 0)
        {
            var inputs = linear.Inputs.ToArray();
            inputs[2] = AsValue(c);
            _graph.Remove(linear);
            SetOutput(node, Emit(node, new LinearOp(), inputs, x.Batched));
            return;
        }
        Op op = node.OpType == "Add" ? new AddOp() : new MulOp();
        SetOutput(node, Emit(node, op, [AsValue(a), AsValue(b)], a.IsComputed && a.Batched || b.IsComputed && b.Batched));
    }

    private void Concat(NodeProto node)
    {
        var attrs = new OnnxAttributes(node, _where, "axis");
        if (!attrs.Has("axis")) throw _where.Malformed("the attribute axis is missing.");
        var items = Enumerable.Range(0, node.Input.Count).Select(i => In(node, i)).ToList();
        if (items.Count == 0) throw _where.Malformed("Concat has no inputs.");
        int rank = items[0].Rank;
        int axis = Axis(attrs.Int("axis", 0), rank);
        if (items.All(i => i.IsConstant)) { SetOutput(node, FoldConcat(items, axis)); return; }
        bool batched = axis != 0 && items.Any(i => i.IsComputed && i.Batched);
        SetOutput(node, Emit(node, new ConcatOp(axis), items.Select(i => (Value?)AsValue(i)).ToArray(), batched));
    }

    private int Axis(long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1)) throw _where.Malformed($"axis {axis} is out of range for rank {rank}.");
        return (int)a;
    }

    private void Flatten(NodeProto node)
    {
        var attrs = new OnnxAttributes(node, _where, "axis");
        var x = In(node, 0);
        int rank = x.Rank;
        long raw = attrs.Int("axis", 1);
        int axis = (int)(raw < 0 ? raw + rank : raw);
        if (axis < 0 || axis > rank) throw _where.Malformed($"axis {raw} is out of range for rank {rank}.");
        if (x.IsConstant)
        {
            int lead = x.Dims.Take(axis).Aggregate(1, (p, d) => p * d);
            SetOutput(node, Reshaped(x, [lead, x.Dims.Skip(axis).Aggregate(1, (p, d) => p * d)]));
            return;
        }
        if (axis == 0) { SetOutput(node, Emit(node, new ReshapeOp([1, -1]), [x.Graph], false)); return; }
        if (axis == 1) { SetOutput(node, Emit(node, new FlattenOp(1, -1), [x.Graph], x.Batched)); return; }
        // [d0·…·d(axis−1), rest]: merge the leading dimensions, then the trailing ones.
        var lead2 = Emit(node, new FlattenOp(0, axis - 1), [x.Graph], false);
        _probes[lead2.Graph!] = lead2.Probe!;
        SetOutput(node, Emit(node, new FlattenOp(1, -1), [lead2.Graph], false));
    }

    private void Reshape(NodeProto node)
    {
        var attrs = new OnnxAttributes(node, _where, "allowzero", "shape");
        var x = In(node, 0);
        long[] target;
        bool[] flags;
        if (_opset < 5 || attrs.Has("shape"))
        {
            target = attrs.Ints("shape") ?? throw _where.Malformed("the attribute shape is missing.");
            flags = new bool[target.Length];
        }
        else
        {
            var s = In(node, 1);
            if (s.IsComputed || s.Ints == null)
                throw _where.Unsupported($"the target shape '{node.Input[1]}' is {(s.IsComputed ? "computed from the input's values" : "not integers")}; Striate imports Reshape to a shape known when the file is read (constants and Shape/Gather/Concat arithmetic).");
            if (s.Rank != 1) throw _where.Malformed($"the target shape must be 1-D, got {Tensor.FormatShape(s.Dims)}.");
            (target, flags) = (s.Ints, s.BatchFlags ?? new bool[s.Ints.Length]);
        }
        bool allowZero = attrs.Int("allowzero", 0) != 0;
        if (allowZero && target.Contains(0)) throw _where.Unsupported("allowzero = 1 with a 0 in the target shape is not supported.");
        if (target.Any(d => d < -1 || d > int.MaxValue) || target.Count(d => d == -1) > 1)
            throw _where.Malformed($"the target shape [{string.Join(", ", target)}] is not valid (sizes ≥ 0, at most one −1).");
        var shape = target.Select(d => (int)d).ToArray();
        if (x.IsConstant)
        {
            var dims = OpExecutorShape(shape, x.Dims);
            SetOutput(node, Reshaped(x, dims));
            return;
        }
        // Keep the batch: a target whose first entry is the input's batch size (from Shape, or equal to it) copies dimension 0.
        bool batched = false;
        if (x.Batched && shape.Length > 0 && (flags[0] || shape[0] == x.Shape[0] || shape[0] == 0)) { shape[0] = 0; batched = true; }
        SetOutput(node, Emit(node, new ReshapeOp(shape), [x.Graph], batched));
    }

    /// <summary>A reshape target resolved against <paramref name="dims"/> (0 copies, −1 infers), checked.</summary>
    private int[] OpExecutorShape(int[] target, int[] dims)
    {
        var result = (int[])target.Clone();
        long known = 1, total = dims.Aggregate(1L, (p, d) => p * d);
        int infer = -1;
        for (int i = 0; i < result.Length; i++)
        {
            if (result[i] == 0) result[i] = i < dims.Length ? dims[i] : throw _where.Malformed($"the target shape copies dimension {i} of a rank-{dims.Length} tensor.");
            if (result[i] == -1) infer = i; else known *= result[i];
        }
        if (infer >= 0 && known > 0 && total % known == 0) result[infer] = (int)(total / known);
        if (result.Aggregate(1L, (p, d) => p * d) != total)
            throw _where.Malformed($"cannot reshape {Tensor.FormatShape(dims)} to [{string.Join(", ", target)}].");
        return result;
    }

    private void Dropout(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "ratio", "seed", "is_test");
        OnlyFirstOutput(node);
        float ratio = _opset < 12 ? a.Float("ratio", 0.5f) : Optional(node, 1) is { } r ? Scalar(r, "ratio") : 0.5f;
        if (Optional(node, 2) is { } mode && Scalar(mode, "training_mode") != 0)
            throw _where.Unsupported("training_mode = true is not supported; export the model in evaluation mode.");
        if (ratio < 0 || ratio >= 1) throw _where.Malformed($"ratio {ratio} is outside [0, 1).");
        var x = Computed(node, 0, "a tensor");
        // Dropout runs when the imported module trains and is the identity in evaluation mode, as in PyTorch.
        SetOutput(node, ratio == 0 ? x : Emit(node, new DropoutOp(ratio), [x.Graph], x.Batched));
    }

    private void Lrn(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "alpha", "beta", "bias", "size");
        if (!a.Has("size")) throw _where.Malformed("the attribute size is missing.");
        int size = a.Int32("size", 1);
        // ONNX centres the window with ⌊(size−1)/2⌋ channels before, PyTorch with ⌊size/2⌋: the same for odd sizes only.
        if (size <= 0 || size % 2 == 0) throw _where.Unsupported($"size = {size}: Striate imports LRN with an odd size (PyTorch and ONNX centre even windows differently).");
        var x = Computed(node, 0, "a tensor");
        SetOutput(node, Emit(node, new LocalResponseNormOp(size, a.Float("alpha", 1e-4f), a.Float("beta", 0.75f), a.Float("bias", 1f)), [x.Graph], x.Batched));
    }

    private void Softmax(NodeProto node)
    {
        var a = new OnnxAttributes(node, _where, "axis");
        var x = Computed(node, 0, "a tensor");
        int axis = Axis(a.Int("axis", _opset >= 13 ? -1 : 1), x.Rank);
        // Before opset 13, Softmax flattened the dimensions from axis on: the same as PyTorch's only on the last axis.
        if (_opset < 13 && axis != x.Rank - 1)
            throw _where.Unsupported($"axis {axis} of a rank-{x.Rank} input: before opset 13 this means a softmax over the flattened dimensions {axis}.., which Striate imports only for the last axis.");
        SetOutput(node, Emit(node, new SoftmaxOp(axis, node.OpType == "LogSoftmax"), [x.Graph], x.Batched && axis != 0));
    }
}
