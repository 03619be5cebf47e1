using Striate.Functional;

namespace Striate.Nn;

/// <summary>
/// Fully connected layer y = x·Wᵀ + b, as torch.nn.Linear.
/// Shapes: input [N, inFeatures] (or [*, inFeatures]) → output [N, outFeatures]; weight [outFeatures, inFeatures], bias [outFeatures].
/// </summary>
public sealed class Linear : Module
{
    public int InFeatures { get; }
    public int OutFeatures { get; private set; }

    /// <summary>Weight [outFeatures, inFeatures].</summary>
    public Tensor Weight { get; private set; }

    /// <summary>Bias [outFeatures], or null.</summary>
    public Tensor? Bias { get; private set; }

    /// <summary>Creates the layer with PyTorch's default initialization (Kaiming-uniform, a = √5; bias U(±1/√inFeatures)).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: inFeatures and outFeatures must be positive, got {inFeatures} and {outFeatures}.");
        (InFeatures, OutFeatures) = (inFeatures, outFeatures);
        Weight = RegisterParameter("weight", NewParameterTensor(outFeatures, inFeatures));
        if (bias) Bias = RegisterParameter("bias", NewParameterTensor(outFeatures));
        Init.DefaultLayerInit(Weight, Bias, generator);
    }

    /// <summary>New weight and bias for <paramref name="outFeatures"/> outputs, initialized as a new layer (<see cref="Module.ReplaceClassifier"/>).</summary>
    internal void ReplaceOutputs(int outFeatures, Generator? generator)
    {
        OutFeatures = outFeatures;
        Weight = NewParameterTensor(outFeatures, InFeatures);
        ReplaceParameter("weight", Weight);
        if (Bias != null)
        {
            Bias = NewParameterTensor(outFeatures);
            ReplaceParameter("bias", Bias);
        }
        Init.DefaultLayerInit(Weight, Bias, generator);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ExpectCall();
        return F.Linear(input, Weight, Bias);
    }

    public override string ToString() => $"Linear(in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias != null ? "True" : "False")})";
}
