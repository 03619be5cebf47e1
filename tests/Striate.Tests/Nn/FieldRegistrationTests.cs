using Striate.Functional;
using Striate.Nn;

namespace Striate.Tests.Nn;

/// <summary>
/// Children and parameters are registered from fields (as attribute assignment in PyTorch), named after the field;
/// explicit registration still decides names where given.
/// </summary>
public sealed class FieldRegistrationTests
{
    private sealed class Net : Module
    {
        private readonly Tensor _scale = Tensor.Ones(3).RequireGrad();   // a parameter: requires grad
        private readonly Tensor _offset = Tensor.Zeros(3);                // a constant: stays unregistered
        private readonly Conv2d _conv1 = new(1, 3, 3, generator: new Generator(1));
        public Linear Head { get; } = new(3, 2, generator: new Generator(2));
        private readonly Sequential _explicit;
        [NotRegistered] private readonly Module? _elsewhere;

        public Net(Module? elsewhere = null)
        {
            _explicit = RegisterModule("0", new Sequential(new ReLU()));
            _elsewhere = elsewhere;
        }

        public override Tensor Forward(Tensor x)
        {
            var y = _explicit.Call(_conv1.Call(x));                    // [N, 3, H-2, W-2]
            var pooled = F.AdaptiveAvgPool2d(y, 1).Flatten(1) * _scale + _offset;
            return Head.Call(pooled);
        }
    }

    [Fact]
    public void FieldsBecomeChildrenAndParametersUnderPyTorchStyleNames()
    {
        var net = new Net(new Linear(1, 1, generator: new Generator(3)));
        Assert.Equal(["scale", "conv1.weight", "conv1.bias", "head.weight", "head.bias"], net.StateDict().Select(e => e.Key));
        Assert.Equal(["0", "conv1", "head"], net.NamedChildren().Select(c => c.Key));
        Assert.Equal(3 + 3 * 9 + 3 + 3 * 2 + 2, net.ParameterCount());
        Assert.Equal([2, 2], net.Call(Tensor.Zeros(2, 1, 5, 5)).ShapeArray);
    }

    [Fact]
    public void AssigningAFieldAgainReplacesItsChild()
    {
        var holder = new Holder();
        Assert.Equal([4, 2], holder.StateDict().Single(e => e.Key == "layer.weight").Value.ShapeArray);
        holder.Layer = new Linear(2, 7, generator: new Generator(4));
        Assert.Equal([7, 2], holder.StateDict().Single(e => e.Key == "layer.weight").Value.ShapeArray);
        Assert.Single(holder.NamedChildren());
    }

    private sealed class Holder : Module
    {
        public Linear Layer { get; set; } = new(2, 4, generator: new Generator(5));
        public override Tensor Forward(Tensor x) => Layer.Call(x);
    }

    [Fact]
    public void AFieldWhoseNameIsTakenByAnotherMemberFailsNamingTheField()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new Clash().StateDict());
        Assert.Contains("field '_fc' would be registered as 'fc'", e.Message);
        Assert.Contains("[NotRegistered]", e.Message);
    }

    private sealed class Clash : Module
    {
        private readonly Linear _fc = new(2, 2, generator: new Generator(6));
        public Clash() => RegisterModule("fc", new Linear(3, 3, generator: new Generator(7)));
        public override Tensor Forward(Tensor x) => _fc.Call(x);
    }

    [Theory]
    [InlineData("_conv1", "conv1")]
    [InlineData("<Head>k__BackingField", "head")]
    [InlineData("<downSample>P", "down_sample")]
    [InlineData("m_BatchNorm2", "batch_norm2")]
    [InlineData("_fc", "fc")]
    [InlineData("layer4", "layer4")]
    [InlineData("SEBlock", "se_block")]
    public void FieldNamesAreSpelledAsPyTorchAttributes(string field, string expected) =>
        Assert.Equal(expected, Module.PyTorchName(field));

    // The bug this detects: a parent calls a child's Forward directly, so hooks on the child (Grad-CAM, the summary,
    // the NaN guard) silently never run.
    [Fact]
    public void CallingAHookedLayersForwardDirectlyFailsAndCallRunsTheHook()
    {
        var conv = new Conv2d(1, 2, 3, generator: new Generator(8));
        var direct = new Direct(conv);
        var x = Tensor.Zeros(1, 1, 5, 5);
        direct.Call(x); // no hooks: a direct call is harmless and allowed

        int ran = 0;
        using (conv.RegisterForwardHook((_, _, _) => ran++))
        {
            var e = Assert.Throws<InvalidOperationException>(() => direct.Call(x));
            Assert.Contains("Conv2d.Forward was called directly, which skips its 1 hook(s)", e.Message);
            Assert.Contains(".Call(x)", e.Message);
            new Sequential(conv).Call(x);
            Assert.Equal(1, ran);
        }
    }

    private sealed class Direct(Conv2d conv) : Module
    {
        public override Tensor Forward(Tensor x) => conv.Forward(x);
    }
}
