using Striate.Graph;
using Striate.Onnx.Proto;
using static Striate.Onnx.OnnxProtos;

namespace Striate.Onnx;

internal sealed partial class OnnxGraphWriter
{
    /// <summary>Writes the ONNX operators for one graph node and records the name of its output.</summary>
    private void Emit(Node node)
    {
        var x = node.Inputs.Count > 0 ? node.Inputs[0] : null;
        bool batched = x != null && _batched.Contains(x);
        string? output = node.Op switch
        {
            Conv2dOp c => Conv(node, c),
            BatchNormOp b => BatchNorm(node, b),
            ReluOp => Unary(node, "Relu"),
            LeakyReluOp l => Unary(node, "LeakyRelu", Float("alpha", l.NegativeSlope)),
            SigmoidOp => Unary(node, "Sigmoid"),
            TanhOp => Unary(node, "Tanh"),
            HardtanhOp h => AddNode("Clip", NodeName(node, "Clip"),
                [In(node, 0), FloatConstant(NodeName(node, "Clip") + "_min", [h.MinVal], []), FloatConstant(NodeName(node, "Clip") + "_max", [h.MaxVal], [])]),
            MaxPool2dOp m => Pool(node, "MaxPool", m.KernelSize, m.Stride, m.Padding, m.CeilMode, null),
            AvgPool2dOp a => AvgPool(node, a),
            AdaptiveAvgPool2dOp a => AdaptivePool(node, a.OutputSize, average: true),
            AdaptiveMaxPool2dOp a => AdaptivePool(node, a.OutputSize, average: false),
            LinearOp => Linear(node),
            AddOp => AddNode("Add", NodeName(node, "Add"), [In(node, 0), In(node, 1)]),
            SubOp => AddNode("Sub", NodeName(node, "Sub"), [In(node, 0), In(node, 1)]),
            MulOp => AddNode("Mul", NodeName(node, "Mul"), [In(node, 0), In(node, 1)]),
            DivOp => AddNode("Div", NodeName(node, "Div"), [In(node, 0), In(node, 1)]),
            ScaleOp s => WithScalar(node, "Mul", s.Scalar, scalarFirst: false),
            AddScalarOp s => WithScalar(node, "Add", s.Scalar, scalarFirst: false),
            RSubScalarOp s => WithScalar(node, "Sub", s.Scalar, scalarFirst: true),
            DivScalarOp s => WithScalar(node, "Div", s.Scalar, scalarFirst: false),
            RDivScalarOp s => WithScalar(node, "Div", s.Scalar, scalarFirst: true),
            NegOp => Unary(node, "Neg"),
            SumOp => Unary(node, "ReduceSum", Int("keepdims", 0)),
            MeanOp => Unary(node, "ReduceMean", Int("keepdims", 0)),
            ConcatOp c => AddNode("Concat", NodeName(node, "Concat"), node.Inputs.Select((_, i) => In(node, i)).ToList(), null, Int("axis", c.Dim)),
            ReshapeOp r => Reshape(node, r.Shape),
            FlattenOp f => Flatten(node, f),
            DropoutOp => throw Unsupported(node, "dropout ran in training mode; export the model in evaluation mode (the exporter traces in eval mode)"),
            LocalResponseNormOp l => Lrn(node, l),
            SoftmaxOp s => Unary(node, s.Log ? "LogSoftmax" : "Softmax", Int("axis", s.Dim)),
            InterpolateBilinearOp i => Resize(node, i),
            IdentityOp => In(node, 0),
            _ => throw Unsupported(node, $"Striate's ONNX exporter does not know the op {node.Op.GetType().Name}"),
        };
        _names[node.Output] = output;
        if (node.Op switch
        {
            SumOp or MeanOp => false,
            AddOp or SubOp or MulOp or DivOp => node.Inputs.Any(v => v != null && _batched.Contains(v)),
            ConcatOp c => c.Dim != 0 && batched,
            FlattenOp f => batched && f.StartDim != 0 && x!.Rank > 0,
            ReshapeOp => _batched.Contains(node.Output),
            LinearOp => batched && x!.Rank >= 2,
            _ => batched,
        }) _batched.Add(node.Output);
    }

    private string In(Node node, int index) =>
        NameOf(node.Inputs[index] ?? throw Unsupported(node, $"input {index} is missing"));

    // x ∘ s or s ∘ x with s a rank-0 constant (ONNX broadcasts it as PyTorch does).
    private string WithScalar(Node node, string opType, float scalar, bool scalarFirst)
    {
        string name = NodeName(node, opType);
        string constant = FloatConstant(name + "_scalar", [scalar], []);
        return AddNode(opType, name, scalarFirst ? [constant, In(node, 0)] : [In(node, 0), constant]);
    }

    private string Unary(Node node, string opType, params AttributeProto[] attributes) =>
        AddNode(opType, NodeName(node, opType), [In(node, 0)], null, attributes);

    private string Conv(Node node, Conv2dOp c)
    {
        var weight = node.Inputs[1]!;
        var inputs = new List<string> { In(node, 0), In(node, 1) };
        if (node.Inputs.Count > 2 && node.Inputs[2] != null) inputs.Add(In(node, 2));
        return AddNode("Conv", NodeName(node, "Conv"), inputs, null,
            Ints("dilations", c.Dilation.H, c.Dilation.W),
            Int("group", c.Groups),
            Ints("kernel_shape", weight.Shape[2], weight.Shape[3]),
            Ints("pads", c.Padding.H, c.Padding.W, c.Padding.H, c.Padding.W),
            Ints("strides", c.Stride.H, c.Stride.W));
    }

    private string BatchNorm(Node node, BatchNormOp b)
    {
        if (b.Training)
            throw Unsupported(node, "batch norm ran in training mode (on batch statistics); export the model in evaluation mode");
        int channels = node.Inputs[1]!.Shape[0];
        string name = NodeName(node, "BatchNormalization");
        string scale = node.Inputs.Count > 3 && node.Inputs[3] != null ? In(node, 3) : FloatConstant(name + "_scale", Enumerable.Repeat(1f, channels).ToArray(), [channels]);
        string bias = node.Inputs.Count > 4 && node.Inputs[4] != null ? In(node, 4) : FloatConstant(name + "_bias", new float[channels], [channels]);
        // ONNX's momentum weighs the old running value (running·m + batch·(1 − m)); PyTorch's weighs the batch.
        return AddNode("BatchNormalization", name, [In(node, 0), scale, bias, In(node, 1), In(node, 2)], null,
            Float("epsilon", b.Eps), Float("momentum", 1 - b.Momentum));
    }

    private string Pool(Node node, string opType, Size2 kernel, Size2 stride, Size2 padding, bool ceilMode, bool? countIncludePad, string? input = null)
    {
        var attributes = new List<AttributeProto>
        {
            Ints("kernel_shape", kernel.H, kernel.W),
            Ints("pads", padding.H, padding.W, padding.H, padding.W),
            Ints("strides", stride.H, stride.W),
        };
        if (ceilMode) attributes.Add(Int("ceil_mode", 1));
        if (countIncludePad == true) attributes.Add(Int("count_include_pad", 1));
        return AddNode(opType, NodeName(node, opType), [input ?? In(node, 0)], null, attributes.ToArray());
    }

    private string AvgPool(Node node, AvgPool2dOp a)
    {
        if (a.DivisorOverride == 0) return Pool(node, "AveragePool", a.KernelSize, a.Stride, a.Padding, a.CeilMode, a.CountIncludePad);
        if (a.CeilMode)
            throw Unsupported(node, "divisor_override with ceil_mode has no ONNX form (windows past the edge would be rescaled wrongly)");
        // A fixed divisor d: average over the whole window (padding included), then rescale by window size / d.
        string averaged = Pool(node, "AveragePool", a.KernelSize, a.Stride, a.Padding, false, countIncludePad: true);
        float factor = (float)(a.KernelSize.H * a.KernelSize.W) / a.DivisorOverride;
        return AddNode("Mul", NodeName(node, "Mul"), [averaged, FloatConstant(NodeName(node, "Mul") + "_divisor", [factor], [])]);
    }

    /// <summary>
    /// Adaptive pooling: the identity, a global pool, or a pool with kernel = stride when the output divides the input.
    /// Otherwise PyTorch's windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉) overlap or differ in size: an average is then the product
    /// P_H · X · P_Wᵀ with averaging matrices (two MatMuls), a maximum a max over each row band, then each column band.
    /// </summary>
    private string AdaptivePool(Node node, Size2 outputSize, bool average)
    {
        var x = node.Inputs[0]!;
        int h = x.Shape[2], w = x.Shape[3];
        if (outputSize.H == h && outputSize.W == w) return In(node, 0);
        if (outputSize.H == 1 && outputSize.W == 1) return Unary(node, average ? "GlobalAveragePool" : "GlobalMaxPool");
        if (h % outputSize.H == 0 && w % outputSize.W == 0)
        {
            var k = new Size2(h / outputSize.H, w / outputSize.W);
            return Pool(node, average ? "AveragePool" : "MaxPool", k, k, 0, false, null);
        }
        return average ? AdaptiveAverageByProducts(node, h, w, outputSize) : AdaptiveMaxByBands(node, h, w, outputSize);
    }

    private static (int Start, int End) AdaptiveWindow(int i, int n, int m) => (i * n / m, ((i + 1) * n + m - 1) / m);

    private string AdaptiveAverageByProducts(Node node, int h, int w, Size2 outputSize)
    {
        string name = NodeName(node, "MatMul");
        var pw = new float[w * outputSize.W]; // P_Wᵀ: [W, outW]
        for (int j = 0; j < outputSize.W; j++)
        {
            var (s, e) = AdaptiveWindow(j, w, outputSize.W);
            for (int c = s; c < e; c++) pw[c * outputSize.W + j] = 1f / (e - s);
        }
        var ph = new float[outputSize.H * h]; // P_H: [outH, H]
        for (int i = 0; i < outputSize.H; i++)
        {
            var (s, e) = AdaptiveWindow(i, h, outputSize.H);
            for (int r = s; r < e; r++) ph[i * h + r] = 1f / (e - s);
        }
        string columns = AddNode("MatMul", name, [In(node, 0), FloatConstant(name + "_columns", pw, [w, outputSize.W])]);
        return AddNode("MatMul", name, [FloatConstant(name + "_rows", ph, [outputSize.H, h]), columns]);
    }

    private string AdaptiveMaxByBands(Node node, int h, int w, Size2 outputSize)
    {
        string rows = MaxBands(node, In(node, 0), axis: 2, h, outputSize.H);
        return MaxBands(node, rows, axis: 3, w, outputSize.W);
    }

    /// <summary>For each of <paramref name="m"/> windows along <paramref name="axis"/>: Slice, then ReduceMax keeping the axis; then Concat.</summary>
    private string MaxBands(Node node, string input, int axis, int n, int m)
    {
        if (n == m) return input;
        string name = NodeName(node, "AdaptiveMax");
        var parts = new List<string>();
        string axes = Int64Constant(name + "_axes", [axis]);
        for (int i = 0; i < m; i++)
        {
            var (s, e) = AdaptiveWindow(i, n, m);
            string slice = AddNode("Slice", name + "/Slice", [input, Int64Constant(name + "_start", [s]), Int64Constant(name + "_end", [e]), axes]);
            parts.Add(Opset >= 18
                ? AddNode("ReduceMax", name + "/ReduceMax", [slice, axes], null, Int("keepdims", 1))
                : AddNode("ReduceMax", name + "/ReduceMax", [slice], null, Ints("axes", axis), Int("keepdims", 1)));
        }
        return AddNode("Concat", name + "/Concat", parts, null, Int("axis", axis));
    }

    private string Linear(Node node)
    {
        var x = node.Inputs[0]!;
        bool hasBias = node.Inputs.Count > 2 && node.Inputs[2] != null;
        if (x.Rank == 2)
        {
            var inputs = new List<string> { In(node, 0), In(node, 1) };
            if (hasBias) inputs.Add(In(node, 2));
            return AddNode("Gemm", NodeName(node, "Gemm"), inputs, null, Float("alpha", 1f), Float("beta", 1f), Int("transB", 1));
        }
        // Other ranks: x · Wᵀ (+ b) with MatMul's broadcasting over the leading dimensions.
        string transposed = AddNode("Transpose", NodeName(node, "Transpose"), [In(node, 1)], null, Ints("perm", 1, 0));
        string product = AddNode("MatMul", NodeName(node, "MatMul"), [In(node, 0), transposed]);
        return hasBias ? AddNode("Add", NodeName(node, "Add"), [product, In(node, 2)]) : product;
    }

    private string Reshape(Node node, int[] shape)
    {
        var x = node.Inputs[0]!;
        var target = shape.Select(d => (long)d).ToArray();
        // Keep the batch symbolic: a target that starts with the input's batch size copies dimension 0 (ONNX's 0).
        if (_batched.Contains(x) && x.Rank > 0 && target.Length > 0 && target[0] == x.Shape[0])
        {
            target[0] = 0;
            _batched.Add(node.Output);
        }
        else if (_options.DynamicBatch && _batched.Contains(x))
            throw Unsupported(node, $"the reshape of {Tensor.FormatShape(x.ShapeArray)} to {Tensor.FormatShape(shape)} mixes the batch dimension into others, so it cannot be exported with a dynamic batch");
        string name = NodeName(node, "Reshape");
        return AddNode("Reshape", name, [In(node, 0), Int64Constant(name + "_shape", target)]);
    }

    private string Flatten(Node node, FlattenOp f)
    {
        var x = node.Inputs[0]!;
        int rank = Math.Max(x.Rank, 1);
        int s = f.StartDim < 0 ? f.StartDim + rank : f.StartDim, e = f.EndDim < 0 ? f.EndDim + rank : f.EndDim;
        if (x.Rank >= 2 && s == 1 && e == x.Rank - 1) return Unary(node, "Flatten", Int("axis", 1));
        // Otherwise a reshape: copy the leading dimensions (0), infer the merged one (−1), keep the trailing ones.
        var target = new List<long>();
        for (int d = 0; d < s; d++) target.Add(0);
        target.Add(-1);
        for (int d = e + 1; d < x.Rank; d++) target.Add(x.Shape[d]);
        string name = NodeName(node, "Reshape");
        return AddNode("Reshape", name, [In(node, 0), Int64Constant(name + "_shape", target.ToArray())]);
    }

    private string Lrn(Node node, LocalResponseNormOp l)
    {
        // PyTorch pads the channel window by ⌊size/2⌋ before and ⌊(size−1)/2⌋ after; ONNX by ⌊(size−1)/2⌋ before and
        // ⌈(size−1)/2⌉ after. Both agree for odd sizes only.
        if (l.Size % 2 == 0)
            throw Unsupported(node, $"an even size ({l.Size}) centres PyTorch's channel window differently from ONNX's LRN; use an odd size");
        return Unary(node, "LRN", Int("size", l.Size), Float("alpha", l.Alpha), Float("beta", l.Beta), Float("bias", l.K));
    }

    private string Resize(Node node, InterpolateBilinearOp i)
    {
        var x = node.Inputs[0]!;
        string name = NodeName(node, "Resize");
        // align_corners = False: source = (destination + 0.5) / scale − 0.5, as PyTorch (pytorch_half_pixel also maps a
        // length-1 output to source 0, as PyTorch does).
        var attributes = new[] { String("mode", "linear"), String("coordinate_transformation_mode", "pytorch_half_pixel") };
        if (i.ScaleFactorH > 0)
        {
            string scales = FloatConstant(name + "_scales", [1f, 1f, (float)i.ScaleFactorH, (float)i.ScaleFactorW], [4]);
            if ((float)i.ScaleFactorH != i.ScaleFactorH || (float)i.ScaleFactorW != i.ScaleFactorW)
                throw Unsupported(node, $"the scale factors ({i.ScaleFactorH}, {i.ScaleFactorW}) are not float32 numbers, which ONNX's Resize takes");
            return AddNode("Resize", name, [In(node, 0), "", scales], null, attributes);
        }
        string sizes;
        if (Opset >= 18)
            return AddNode("Resize", name, [In(node, 0), "", "", Int64Constant(name + "_sizes", [i.OutputSize.H, i.OutputSize.W])], null,
                [.. attributes, Ints("axes", 2, 3)]);
        if (_options.DynamicBatch && _batched.Contains(x))
        {
            // sizes = Shape(x)[0:2] ++ [outH, outW], so the batch stays symbolic.
            string shape = AddNode("Shape", name + "/Shape", [In(node, 0)]);
            string leading = AddNode("Slice", name + "/Slice", [shape, Int64Constant(name + "_start", [0]), Int64Constant(name + "_end", [2])]);
            sizes = AddNode("Concat", name + "/Concat", [leading, Int64Constant(name + "_spatial", [i.OutputSize.H, i.OutputSize.W])], null, Int("axis", 0));
        }
        else sizes = Int64Constant(name + "_sizes", [x.Shape[0], x.Shape[1], i.OutputSize.H, i.OutputSize.W]);
        return AddNode("Resize", name, [In(node, 0), "", "", sizes], null, attributes);
    }
}
