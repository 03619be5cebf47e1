using Striate.Autograd;
using Striate.IO;
using Striate.IO.Pth;
using Striate.Models;
using Striate.Tests.TestSupport;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// .pth files PyTorch wrote, read back: every dtype, views of one shared storage (offsets, strides, stride 0), both
/// formats, pickle protocols 1, 2 and 4, deflated and zip64 archives, a big-endian archive, and a real model.
/// </summary>
public sealed class PthFileTests
{
    public static TheoryData<string> ViewsFiles => new(PthFixtures.ViewsFiles);

    [Theory]
    [MemberData(nameof(ViewsFiles))]
    public void EveryTensorMatchesWhatPyTorchSaved(string file)
    {
        var pth = PthFile.Load(PthFixtures.PathOf(file));
        var expected = SafetensorsFile.Load(PthFixtures.PathOf("views.expected.safetensors"));
        Assert.Equal(expected.Names, pth.Names);
        foreach (var name in expected.Names)
        {
            var tensor = pth[name];
            Assert.Equal(expected.GetShape(name), tensor.Shape);
            if (expected.GetDtype(name) == SafetensorsDtype.I64)
            {
                Assert.True(tensor.IsInteger && tensor.Value.IsInteger, $"{name} should keep exact integers");
                Assert.Equal(expected.GetInt64(name), tensor.Integers);
                Assert.Equal(expected.GetInt64(name).Select(v => (float)v), tensor.Value.ToArray());
            }
            else
            {
                Assert.False(tensor.IsInteger || tensor.Value.IsInteger, $"{name} is floating point");
                // F64 in the expected file holds PyTorch's exact values; float32 is what Striate keeps.
                Assert.Equal(expected.GetTensor(name).ToArray(), tensor.Value.ToArray());
            }
        }
        Assert.Equal(PthDtype.F64, pth["f64"].Dtype);
        Assert.Equal(PthDtype.BF16, pth["bf16"].Dtype);
        Assert.Equal(PthDtype.Bool, pth["bool"].Dtype);
        Assert.Equal(PthDtype.I64, pth["bn.num_batches_tracked"].Dtype);
        Assert.Equal(file.Contains("legacy") ? PthFormat.Legacy : PthFormat.Zip, pth.Format);
        Assert.Null(pth.Key);
    }

    [Fact]
    public void ViewsOfOneStorageCopyTheirOwnElements()
    {
        var pth = PthFile.Load(PthFixtures.PathOf("views.pth"));
        // base = arange(12).reshape(3, 4) + 0.25
        Assert.Equal([0.25f, 4.25f, 8.25f, 1.25f, 5.25f, 9.25f, 2.25f, 6.25f, 10.25f, 3.25f, 7.25f, 11.25f], pth["shared.t"].Value.ToArray());
        Assert.Equal([4.25f, 5.25f, 6.25f, 7.25f], pth["shared.row"].Value.ToArray());
        Assert.Equal([2.25f, 6.25f, 10.25f], pth["shared.col"].Value.ToArray());
        Assert.Equal([5.25f, 6.25f, 9.25f, 10.25f], pth["shared.block"].Value.ToArray());
        Assert.Equal([0f, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], pth["expanded"].Value.ToArray());
        Assert.Equal([4, 3], pth["shared.t"].Shape);
        Assert.Equal(Array.Empty<int>(), pth["scalar"].Shape);
        Assert.Equal([0, 3], pth["empty"].Shape);
        // Each tensor is its own copy: writing one leaves the views of the same storage alone.
        pth["shared.base"].Value.Span[5] = -1;
        Assert.Equal(5.25f, pth["shared.block"].Value.ReadOnlySpan[0]);
    }

    [Fact]
    public void IntegerNamesAreTheIntegerAndBoolTensors()
    {
        var pth = PthFile.Load(PthFixtures.PathOf("views_legacy.pth"));
        Assert.Equal(new[] { "bn.num_batches_tracked", "bool", "i16", "i32", "i64", "i8", "u8" }, pth.IntegerNames.Order(StringComparer.Ordinal));
        Assert.Equal(1000, pth["bn.num_batches_tracked"].Integers![0]);
    }

    [Fact]
    public void ParseReadsTheSameBytesFromMemory()
    {
        var fromFile = PthFile.Load(PthFixtures.PathOf("views.pth"));
        var fromMemory = PthFile.Parse(PthFixtures.Bytes("views.pth"), "in-memory views.pth");
        Assert.Equal(fromFile.Names, fromMemory.Names);
        foreach (var t in fromFile.Tensors) Assert.Equal(t.Value.ToArray(), fromMemory[t.Name].Value.ToArray());
        Assert.Equal("in-memory views.pth", fromMemory.SourceName);
    }

    [Fact]
    public void SignatureTellsPthFromSafetensors()
    {
        Assert.True(PthFile.IsPthFile(PthFixtures.PathOf("views.pth")));
        Assert.True(PthFile.IsPthFile(PthFixtures.PathOf("views_legacy.pth")));
        Assert.True(PthFile.IsPthFile(PthFixtures.PathOf("views_p1.pth")));
        Assert.False(PthFile.IsPthFile(PthFixtures.PathOf("views.expected.safetensors")));
        var e = Assert.Throws<PthFormatException>(() => PthFile.Load(PthFixtures.PathOf("views.expected.safetensors")));
        Assert.Contains("safetensors", e.Message);
    }

    [Fact]
    public void AFloat16LeNetGivesPyTorchsLogits()
    {
        var io = SafetensorsFile.Load(PthFixtures.PathOf("lenet_relu_f16.io.safetensors"));
        var pth = PthFile.Load(PthFixtures.PathOf("lenet_relu_f16.pth"));
        Assert.All(pth.Tensors, t => Assert.Equal(PthDtype.F16, t.Dtype));
        var model = ModelRegistry.Create(io.Metadata["model"], new ModelOptions(1, 10, Generator: new Generator(0)));
        model.LoadStateDict(pth.ToStateDict());
        model.Eval();
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var logits = model.Call(io.GetTensor("__input__"));
        Close.Assert(io.GetTensor("__logits__"), logits, 1e-4, 1e-5, "lenet-relu logits from a float16 .pth");
    }
}
