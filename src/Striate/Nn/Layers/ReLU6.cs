using Striate.Functional;

namespace Striate.Nn;

/// <summary>min(max(x, 0), 6), as torch.nn.ReLU6 (MobileNetV2, Sandler et al. 2018). Shapes: any → same.</summary>
public sealed class ReLU6 : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.Relu6(input);
    }
    public override string ToString() => "ReLU6()";
}
