using Google.Protobuf;
using Striate.Onnx;
using Striate.Onnx.Proto;
using static Striate.Onnx.OnnxProtos;

namespace Striate.Tests.Onnx;

/// <summary>
/// Malformed and unsupported ONNX files: each gives one clear error naming the file (and the node, its operator and
/// the opset where there is one): InvalidDataException for a broken file, NotSupportedException for what Striate does
/// not import. Nothing crashes, nothing allocates more than the file holds.
/// </summary>
public sealed class OnnxImportMalformedTests(ITestOutputHelper output)
{
    private static ModelProto Proto() => ModelProto.Parser.ParseFrom(HandBuiltOnnx.EveryImportedOp(symbolicBatch: true));

    private T Refused<T>(ModelProto proto, string expected) where T : Exception => Refused<T>(proto.ToByteArray(), expected);

    private T Refused<T>(byte[] bytes, string expected) where T : Exception
    {
        var e = Assert.Throws<T>(() => OnnxModel.Load(bytes, "m.onnx"));
        output.WriteLine($"{typeof(T).Name}: {e.Message}");
        Assert.StartsWith("m.onnx", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void AFileTruncatedAnywhereIsRefused()
    {
        var bytes = HandBuiltOnnx.EveryImportedOp(symbolicBatch: true);
        var g = new Random(5);
        var cuts = new[] { 0, 1, 2, bytes.Length - 1, bytes.Length - 2 }.Concat(Enumerable.Range(0, 60).Select(_ => g.Next(bytes.Length))).ToList();
        foreach (int cut in cuts)
        {
            var e = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(bytes.AsSpan(0, cut), "m.onnx"));
            Assert.StartsWith("m.onnx: ", e.Message);
            if (cut == cuts[^1]) output.WriteLine($"cut at {cut} of {bytes.Length}: {e.Message}");
        }
        Refused<InvalidDataException>(bytes[..(bytes.Length / 2)], "not a valid ONNX file");
        Refused<InvalidDataException>([], "holds no graph");
        Refused<InvalidDataException>("this is not an ONNX file at all\n"u8.ToArray(), "m.onnx");
    }

    [Fact]
    public void AMissingInitializerIsNamedWithItsNode()
    {
        var proto = Proto();
        proto.Graph.Initializer.Remove(proto.Graph.Initializer.Single(t => t.Name == "conv1.weight"));
        Refused<InvalidDataException>(proto, "node '/Conv_1' (Conv, opset 13): input 1 'conv1.weight' is not produced by any node, initializer or graph input");
    }

    [Fact]
    public void ShapesThatDoNotFitAreNamedWithTheirNode()
    {
        var proto = Proto();
        int i = proto.Graph.Initializer.IndexOf(proto.Graph.Initializer.Single(t => t.Name == "conv1.weight"));
        proto.Graph.Initializer[i] = FloatTensor("conv1.weight", new float[6 * 4 * 9], [6, 4, 3, 3]);
        var e = Refused<InvalidDataException>(proto, "node '/Conv_1' (Conv, opset 13): Conv2d(");
        Assert.Contains("[6, 4, 3, 3]", e.Message);

        proto = Proto();
        i = proto.Graph.Initializer.IndexOf(proto.Graph.Initializer.Single(t => t.Name == "fc1.weight_t"));
        proto.Graph.Initializer[i] = FloatTensor("fc1.weight_t", new float[299 * 10], [299, 10]);
        Refused<InvalidDataException>(proto, "(MatMul, opset 13): MatMul of [1, 300] and [299, 10]: the inner sizes differ");

        proto = Proto();
        proto.Graph.Initializer.Single(t => t.Name == "bn.weight").Dims[0] = 7; // dims say 7, raw_data holds 6 floats
        Refused<InvalidDataException>(proto, "tensor 'bn.weight' has dims [7] (7 elements of 4 bytes) but raw_data holds 24 bytes");

        proto = Proto();
        proto.Graph.Initializer.Single(t => t.Name == "bn.weight").Dims[0] = 1L << 40;
        Refused<InvalidDataException>(proto, "tensor 'bn.weight' has dimension 1099511627776 at index 0");
    }

    [Fact]
    public void AnUnsupportedOperatorOrAttributeIsNamedWithNodeOperatorAndOpset()
    {
        var proto = Proto();
        proto.Graph.Node.First(n => n.OpType == "Tanh").OpType = "Resize";
        Refused<NotSupportedException>(proto, "node '/Tanh_6' (Resize, opset 13): the operator Resize is not supported; Striate imports Conv, BatchNormalization");

        proto = Proto();
        proto.Graph.Node.First(n => n.OpType == "Conv").Attribute.Add(Int("foo", 1));
        Refused<NotSupportedException>(proto, "node '/Conv_1' (Conv, opset 13): attribute 'foo' is not supported (Striate imports auto_pad, dilations,");

        proto = Proto();
        var conv = proto.Graph.Node.First(n => n.OpType == "Conv");
        conv.Attribute.Clear();
        conv.Attribute.Add(Ints("pads", 0, 0, 1, 1));
        Refused<NotSupportedException>(proto, "(Conv, opset 13): the padding differs before and after (pads = [0, 0, 1, 1])");

        proto = Proto();
        proto.Graph.Node.First(n => n.OpType == "LRN").Attribute.Single(a => a.Name == "size").I = 4;
        Refused<NotSupportedException>(proto, "(LRN, opset 13): size = 4: Striate imports LRN with an odd size");

        proto = Proto();
        proto.Graph.Node.First(n => n.OpType == "Conv").Domain = "com.microsoft";
        Refused<NotSupportedException>(proto, "the operator domain 'com.microsoft' is not supported");

        proto = Proto();
        proto.OpsetImport[0].Version = 6;
        Refused<NotSupportedException>(proto, "m.onnx: opset 6 is not supported; Striate imports opsets 7 to 22");

        proto = Proto();
        var weight = proto.Graph.Initializer.Single(t => t.Name == "conv1.weight");
        weight.ClearRawData();
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        Refused<NotSupportedException>(proto, "tensor 'conv1.weight' keeps its data in an external file");
    }

    [Fact]
    public void AGraphWithoutItsOpsetOrWithSeveralInputsIsRefused()
    {
        var proto = Proto();
        proto.OpsetImport.Clear();
        Refused<InvalidDataException>(proto, "declares no opset for the default ONNX domain");

        proto = Proto();
        proto.Graph.Input.Add(FloatValueInfo("second", [1, 2], null));
        Refused<NotSupportedException>(proto, "the graph has 2 inputs ('x', 'second'); Striate imports models with one input");
    }
}
