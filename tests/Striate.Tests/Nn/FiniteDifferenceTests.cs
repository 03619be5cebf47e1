using Striate.Functional;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Nn;

/// <summary>
/// Gradients of composed modules checked element by element against central finite differences, with the loss
/// summed and the quotient formed in double. The network itself runs in float32 (Striate has no double tensors), so
/// the step is large (1e-2) and tolerances match (see <see cref="FiniteDifference"/>). Smooth activations (tanh) keep
/// the difference quotient free of ReLU kinks; batch norm runs in training mode, so batch statistics are part of
/// what is differentiated.
/// </summary>
public sealed class FiniteDifferenceTests
{
    /// <summary>A ResNet basic block with a strided 1×1 projection shortcut (He et al. 2016), tanh in place of ReLU.</summary>
    private sealed class ResidualBlock : Module
    {
        private readonly Conv2d _conv1, _conv2, _shortcut;
        private readonly BatchNorm2d _bn1, _bn2;

        public ResidualBlock(int inChannels, int outChannels, int stride, Generator g)
        {
            _conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, 3, stride, 1, bias: false, generator: g));
            _bn1 = RegisterModule("bn1", new BatchNorm2d(outChannels));
            _conv2 = RegisterModule("conv2", new Conv2d(outChannels, outChannels, 3, 1, 1, bias: false, generator: g));
            _bn2 = RegisterModule("bn2", new BatchNorm2d(outChannels));
            _shortcut = RegisterModule("shortcut", new Conv2d(inChannels, outChannels, 1, stride, generator: g));
        }

        public override Tensor Forward(Tensor x)
        {
            var y = F.Tanh(_bn1.Call(_conv1.Call(x)));
            y = _bn2.Call(_conv2.Call(y));
            return F.Tanh(F.Add(y, _shortcut.Call(x)));
        }
    }

    /// <summary>An inception-like block (Szegedy et al. 2015): four branches concatenated along channels.</summary>
    private sealed class InceptionBlock : Module
    {
        private readonly Conv2d _b1, _b2a, _b2b, _b3a, _b3b, _b4;
        private readonly MaxPool2d _pool = new(3, 1, 1);

        public InceptionBlock(int inChannels, Generator g)
        {
            _b1 = RegisterModule("b1", new Conv2d(inChannels, 2, 1, generator: g));
            _b2a = RegisterModule("b2a", new Conv2d(inChannels, 2, 1, generator: g));
            _b2b = RegisterModule("b2b", new Conv2d(2, 3, 3, padding: 1, generator: g));
            _b3a = RegisterModule("b3a", new Conv2d(inChannels, 1, 1, generator: g));
            _b3b = RegisterModule("b3b", new Conv2d(1, 2, 5, padding: 2, generator: g));
            _b4 = RegisterModule("b4", new Conv2d(inChannels, 2, 1, generator: g));
        }

        public override Tensor Forward(Tensor x) => F.Concat(
            F.Tanh(_b1.Call(x)),
            F.Tanh(_b2b.Call(F.Tanh(_b2a.Call(x)))),
            F.Tanh(_b3b.Call(F.Tanh(_b3a.Call(x)))),
            F.Tanh(_b4.Call(_pool.Call(x))));
    }

    private sealed class Network(Module block, int features, Generator g) : Module
    {
        private readonly Module _block = block;
        private readonly AdaptiveAvgPool2d _pool = new(2);
        private readonly Linear _head = new(features * 4, 5, generator: g);

        public Network Build()
        {
            RegisterModule("block", _block);
            RegisterModule("head", _head);
            return this;
        }

        public override Tensor Forward(Tensor x) => _head.Call(_pool.Call(_block.Call(x)).Flatten(1));
    }

    [Fact]
    public void ResidualBlockWithProjectionShortcutHasExactGradients()
    {
        var g = new Generator(7);
        var net = new Network(new ResidualBlock(3, 4, 2, g), 4, g).Build();
        CheckGradients(net, Tensor.Randn([3, 3, 8, 8], g));
    }

    [Fact]
    public void InceptionBlockConcatenatingBranchesHasExactGradients()
    {
        var g = new Generator(11);
        var net = new Network(new InceptionBlock(3, g), 9, g).Build();
        CheckGradients(net, Tensor.Randn([2, 3, 7, 7], g));
    }

    /// <summary>Every element of the input and of every parameter against central differences of Σ output·r.</summary>
    private static void CheckGradients(Module net, Tensor input)
    {
        var tensors = net.Parameters().Prepend(input).ToArray();
        FiniteDifference.Check(_ => net.Call(input), tensors, net.GetType().Name);
    }
}
