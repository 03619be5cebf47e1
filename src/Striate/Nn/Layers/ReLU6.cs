using Striate.Functional;

namespace Striate.Nn;

/// <summary>min(max(x, 0), 6), as torch.nn.ReLU6 (MobileNetV2, Sandler et al. 2018). Shapes: any → same.</summary>
public sealed class ReLU6(bool inplace = false) : Module
{
    /// <summary>Whether the input's array is overwritten, as nn.ReLU6(inplace=True).</summary>
    public bool Inplace { get; } = inplace;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return Inplace ? F.Relu6InPlace(input) : F.Relu6(input);
    }
    public override string ToString() => Inplace ? "ReLU6(inplace=True)" : "ReLU6()";
}
