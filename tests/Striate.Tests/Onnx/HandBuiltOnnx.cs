using Google.Protobuf;
using Striate.Onnx;
using Striate.Onnx.Proto;
using static Striate.Onnx.OnnxProtos;

namespace Striate.Tests.Onnx;

/// <summary>
/// ONNX files written node by node in the test, for operators and attribute forms that neither Striate's exporter
/// nor the shared PyTorch file contain (auto_pad, Shape/Gather/Unsqueeze/Concat before Reshape, Gemm's alpha and beta,
/// MatMul + Add, Dropout, Constant nodes). ONNX Runtime runs the same bytes as the oracle.
/// </summary>
internal sealed class HandBuiltOnnx
{
    private readonly GraphProto _graph = new() { Name = "hand_built" };
    private readonly Generator _g;
    private int _next;

    public HandBuiltOnnx(ulong seed) => _g = new Generator(seed);

    public GraphProto Graph => _graph;

    public string Weight(string name, params int[] dims)
    {
        int n = dims.Aggregate(1, (p, d) => p * d);
        float scale = 1f / MathF.Sqrt(n / dims[0]);
        var data = Enumerable.Range(0, n).Select(_ => (2 * _g.NextFloat() - 1) * scale).ToArray();
        _graph.Initializer.Add(FloatTensor(name, data, dims));
        return name;
    }

    public string Positive(string name, int n)
    {
        _graph.Initializer.Add(FloatTensor(name, Enumerable.Range(0, n).Select(_ => 0.5f + _g.NextFloat()).ToArray(), [n]));
        return name;
    }

    public string IntInit(string name, params long[] values)
    {
        _graph.Initializer.Add(Int64Tensor(name, values));
        return name;
    }

    public string Scalar(string name, float value)
    {
        _graph.Initializer.Add(FloatTensor(name, [value], []));
        return name;
    }

    public string Node(string op, string[] inputs, params AttributeProto[] attributes)
    {
        string output = $"v{_next++}";
        var node = new NodeProto { OpType = op, Name = $"/{op}_{_next}" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    public byte[] Build(string input, int[] inputShape, string output, int opset = 13, bool symbolicBatch = false)
    {
        _graph.Input.Add(FloatValueInfo(input, inputShape, symbolicBatch ? "N" : null));
        _graph.Output.Add(new ValueInfoProto { Name = output, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        var model = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model.ToByteArray();
    }

    /// <summary>A model that runs every operator the importer reads, in the forms exporters write them.</summary>
    public static byte[] EveryImportedOp(bool symbolicBatch, int opset = 13)
    {
        var b = new HandBuiltOnnx(7);
        var c1 = b.Node("Conv", ["x", b.Weight("conv1.weight", 6, 3, 3, 3), b.Weight("conv1.bias", 6)], String("auto_pad", "SAME_UPPER"));
        var bn = b.Node("BatchNormalization", [c1, b.Positive("bn.weight", 6), b.Weight("bn.bias", 6), b.Weight("bn.running_mean", 6), b.Positive("bn.running_var", 6)],
            Float("epsilon", 1e-3f), Float("momentum", 0.9f));
        var r1 = b.Node("LeakyRelu", [bn], Float("alpha", 0.1f));
        var c2 = b.Node("Conv", [r1, b.Weight("onnx::Conv_7", 6, 3, 3, 3)], Int("group", 2), Ints("dilations", 2, 2), Ints("pads", 2, 2, 2, 2), Ints("kernel_shape", 3, 3));
        var clip = b.Node("Clip", [c2, b.Scalar("clip_min", 0f), b.Scalar("clip_max", 0.5f)]);
        var mixed = b.Node("Add", [b.Node("Mul", [b.Node("Tanh", [clip]), b.Node("Sigmoid", [r1])]), b.Node("Relu", [r1])]);
        var lrn = b.Node("LRN", [mixed], Int("size", 3), Float("alpha", 0.01f), Float("beta", 0.7f), Float("bias", 1.5f));
        var mp = b.Node("MaxPool", [lrn], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Int("ceil_mode", 1));
        var ap = b.Node("AveragePool", [lrn], Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Int("count_include_pad", 1));
        var cat = b.Node("Concat", [mp, ap], Int("axis", 1));                                       // [N, 12, 5, 5]
        var pooled = b.Node("Add", [b.Node("GlobalMaxPool", [cat]), b.Node("GlobalAveragePool", [cat])]);
        // x.view(x.size(0), -1) as torch.onnx writes it without constant folding.
        var batch = b.Node("Gather", [b.Node("Shape", [cat]), b.Node("Constant", [], new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Int64Tensor("", [0], []) })], Int("axis", 0));
        var target = b.Node("Concat", [b.Node("Unsqueeze", [batch, b.IntInit("axes0", 0)]), b.IntInit("minus_one", -1)], Int("axis", 0));
        var flat = b.Node("Reshape", [cat, target]);                                                // [N, 300]
        var dropped = b.Node("Dropout", [flat, b.Scalar("ratio", 0.3f)]);
        var linear = b.Node("Add", [b.Node("MatMul", [dropped, b.Weight("fc1.weight_t", 300, 10)]), b.Weight("fc1.bias", 10)]);
        var gemm = b.Node("Gemm", [b.Node("Flatten", [pooled], Int("axis", 1)), b.Weight("fc2.weight", 10, 12), b.Weight("fc2.bias", 10)],
            Int("transB", 1), Float("alpha", 0.5f), Float("beta", 2f));
        var sum = b.Node("Identity", [b.Node("Add", [linear, gemm])]);
        var three = b.Node("Constant", [], Float("value_float", 3f));
        var output = b.Node("Mul", [b.Node("Softmax", [sum], Int("axis", 1)), three]);
        return b.Build("x", [1, 3, 9, 8], output, opset, symbolicBatch);
    }
}
